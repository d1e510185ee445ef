/**
 * The HorizontalPodAutoscaler's arithmetic (pkg/controller/podautoscaler's replica calculator and behavior
 * normalization), pure so it can be tested with real metric objects: a resource metric's replica count from pod
 * usage against requests (tolerance 10%, missing pods as 0% when scaling up and 100% when scaling down, pods
 * not ready yet left out of a CPU scale-up), then the behavior: stabilization windows over past recommendations and
 * the Pods/Percent rate policies over past scale events, then min/max.
 */
import { parseQuantity } from '@berth/common/quantity';
import type { Pod } from '../framework/types.js';

export const TOLERANCE = 0.1;

/** One pod's usage of a resource as metrics.k8s.io reports it (sum of its containers), in base units. */
export type PodUsage = Map<string, number>;

export interface ResourceReplicas {
  replicas: number;
  /** Average utilization in percent of requests (Utilization targets). */
  utilization?: number;
  /** Average usage per pod, base units (cores or bytes). */
  averageValue: number;
}

export class MetricError extends Error {}

const quantity = (q: string | number | undefined | null): number =>
  q === undefined || q === null ? NaN : parseQuantity(q);

/** The pod's request for `resource` (sum over containers); throws when a container has none (as upstream). */
export function podRequest(p: Pod, resource: string): number {
  let sum = 0;
  for (const c of p.spec?.containers ?? []) {
    const r = quantity(c.resources?.requests?.[resource]);
    if (Number.isNaN(r))
      throw new MetricError(
        `missing request for ${resource} in container ${c.name} of Pod ${p.metadata?.name}`,
      );
    sum += r;
  }
  return sum;
}

/**
 * GetResourceReplicas / GetRawResourceReplicas: `target` is a utilization percentage or an average value per pod.
 * `pods` are the target's pods (selector matched), `usage` the metrics by pod name.
 */
export function resourceReplicas(
  current: number,
  pods: Pod[],
  usage: PodUsage,
  resource: string,
  target: { utilization?: number; averageValue?: number },
  now: number,
  /** Each pod's metric window (ms), for the CPU readiness rule. */
  windows: Map<string, number> = new Map(),
): ResourceReplicas {
  const live = pods.filter((p) => !p.metadata?.deletionTimestamp && p.status?.phase !== 'Failed');
  if (!live.length) throw new MetricError('no pods returned by selector while calculating replica count');
  const ready: Pod[] = [];
  const unready: Pod[] = [];
  const missing: Pod[] = [];
  for (const p of live) {
    const name = p.metadata?.name ?? '';
    if (!usage.has(name)) missing.push(p);
    // CPU of a pod that is not ready (or only just became so) is not trusted for a scale-up.
    else if (resource === 'cpu' && cpuUnready(p, now, windows.get(name) ?? 0)) unready.push(p);
    else ready.push(p);
  }
  if (!ready.length && !unready.length)
    throw new MetricError(`did not receive metrics for targeted pods (pods might be unready)`);
  const sumOf = (ps: Pod[], f: (p: Pod) => number) => ps.reduce((s, p) => s + f(p), 0);
  const use = (p: Pod) => usage.get(p.metadata?.name ?? '') ?? 0;
  const ratioOf = (ps: Pod[], extraUse = 0, extraReq = 0, extraCount = 0) => {
    const u = sumOf(ps, use) + extraUse;
    if (target.utilization !== undefined) {
      const req = sumOf(ps, (p) => podRequest(p, resource)) + extraReq;
      if (req <= 0) throw new MetricError(`no pods with a ${resource} request`);
      return {
        ratio: (u * 100) / req / target.utilization,
        util: Math.trunc((u * 100) / req),
        avg: u / (ps.length + extraCount),
      };
    }
    const avg = u / (ps.length + extraCount);
    return { ratio: avg / (target.averageValue ?? 1), util: undefined, avg };
  };
  const base = ratioOf(ready);
  const result = (replicas: number): ResourceReplicas => ({
    replicas,
    ...(base.util !== undefined ? { utilization: base.util } : {}),
    averageValue: base.avg,
  });
  if (!missing.length && !unready.length) {
    if (Math.abs(1 - base.ratio) <= TOLERANCE) return result(current);
    return result(Math.ceil(base.ratio * ready.length));
  }
  if (!ready.length) return result(current);
  // Missing pods count as 0% for a scale-up and as 100% of their request (or the target) for a scale-down.
  let extraUse = 0;
  let extraReq = 0;
  let extraCount = 0;
  if (base.ratio < 1) {
    for (const p of missing) {
      const req = target.utilization !== undefined ? podRequest(p, resource) : 0;
      extraUse +=
        target.utilization !== undefined ? (req * target.utilization) / 100 : (target.averageValue ?? 0);
      extraReq += req;
      extraCount++;
    }
  } else if (base.ratio > 1) {
    for (const p of [...missing, ...unready]) {
      extraReq += target.utilization !== undefined ? podRequest(p, resource) : 0;
      extraCount++;
    }
  }
  const again = ratioOf(ready, extraUse, extraReq, extraCount);
  // A recomputed ratio that flips direction or falls within tolerance means: stay.
  if (Math.abs(1 - again.ratio) <= TOLERANCE || base.ratio > 1 !== again.ratio > 1) return result(current);
  const replicas = Math.ceil(again.ratio * (ready.length + extraCount));
  return result(
    base.ratio < 1 && replicas > current
      ? current
      : base.ratio > 1 && replicas < current
        ? current
        : replicas,
  );
}

/**
 * Whether a pod's CPU sample is left out of a scale-up: it has no Ready condition or start time; within 5 minutes
 * of starting, it is not ready or became ready less than one metric window ago; later, it never became ready.
 */
function cpuUnready(p: Pod, now: number, windowMs: number): boolean {
  const ready = (p.status?.conditions ?? []).find((c) => c.type === 'Ready');
  const start = Date.parse(String(p.status?.startTime ?? '')) || 0;
  if (!ready || !start) return true;
  const t = Date.parse(String(ready.lastTransitionTime ?? '')) || 0;
  if (start + 5 * 60_000 > now) return ready.status === 'False' || now < t + windowMs;
  return ready.status === 'False' && start + 30_000 > t;
}

export interface Policy {
  type: 'Pods' | 'Percent';
  value: number;
  periodSeconds: number;
}
export interface Rules {
  stabilizationWindowSeconds: number;
  selectPolicy: 'Max' | 'Min' | 'Disabled';
  policies: Policy[];
}
export interface Behavior {
  scaleUp: Rules;
  scaleDown: Rules;
}

/** SetDefaults_HorizontalPodAutoscalerBehavior. */
export function defaultBehavior(
  b?: { scaleUp?: Partial<Rules>; scaleDown?: Partial<Rules> } | null,
): Behavior {
  const up = b?.scaleUp ?? {};
  const down = b?.scaleDown ?? {};
  return {
    scaleUp: {
      stabilizationWindowSeconds: up.stabilizationWindowSeconds ?? 0,
      selectPolicy: up.selectPolicy ?? 'Max',
      policies: up.policies?.length
        ? up.policies
        : [
            { type: 'Pods', value: 4, periodSeconds: 15 },
            { type: 'Percent', value: 100, periodSeconds: 15 },
          ],
    },
    scaleDown: {
      stabilizationWindowSeconds: down.stabilizationWindowSeconds ?? 300,
      selectPolicy: down.selectPolicy ?? 'Max',
      policies: down.policies?.length ? down.policies : [{ type: 'Percent', value: 100, periodSeconds: 15 }],
    },
  };
}

export interface Recommendation {
  at: number;
  replicas: number;
}
export interface ScaleEvent {
  at: number;
  /** Replicas added (scale-up) or removed (scale-down). */
  change: number;
}

const TOO_MANY = {
  reason: 'TooManyReplicas',
  message: 'the desired replica count is more than the maximum replica count',
};
const TOO_FEW = {
  reason: 'TooFewReplicas',
  message: 'the desired replica count is less than the minimum replica count',
};

export interface Normalized {
  replicas: number;
  /** AbleToScale's reason when the recommendation was held: ScaleUpStabilized / ScaleDownStabilized. */
  stabilized?: 'ScaleUpStabilized' | 'ScaleDownStabilized';
  /** ScalingLimited's reason and message. */
  limited: { reason: string; message: string } | undefined;
}

/**
 * normalizeDesiredReplicasWithBehaviors: stabilize (the highest recommendation within the scale-down window, the
 * lowest within the scale-up window), then limit the change by the policies over the events in their periods,
 * then clamp to [min, max].
 */
export function normalize(
  current: number,
  desired: number,
  min: number,
  max: number,
  behavior: Behavior,
  recommendations: Recommendation[],
  events: { up: ScaleEvent[]; down: ScaleEvent[] },
  now: number,
): Normalized {
  let upRec = desired;
  let downRec = desired;
  for (const r of recommendations) {
    if (r.at > now - behavior.scaleUp.stabilizationWindowSeconds * 1000) upRec = Math.min(upRec, r.replicas);
    if (r.at > now - behavior.scaleDown.stabilizationWindowSeconds * 1000)
      downRec = Math.max(downRec, r.replicas);
  }
  let stabilizedValue = current;
  if (stabilizedValue < upRec) stabilizedValue = upRec;
  if (stabilizedValue > downRec) stabilizedValue = downRec;
  const stabilized =
    stabilizedValue !== desired
      ? desired > stabilizedValue
        ? ('ScaleUpStabilized' as const)
        : ('ScaleDownStabilized' as const)
      : undefined;
  let replicas = stabilizedValue;
  let limited: Normalized['limited'];
  if (replicas !== current) {
    const dir = replicas > current ? 'up' : 'down';
    const s = dir === 'up' ? 1 : -1;
    const limit = scaleLimit(dir, current, behavior, events, now);
    if (s * limit < s * replicas) {
      replicas = limit;
      limited = {
        reason: dir === 'up' ? 'ScaleUpLimit' : 'ScaleDownLimit',
        message: `the desired replica count is ${dir === 'up' ? 'increasing' : 'decreasing'} faster than the maximum scale rate`,
      };
    }
  }
  // [min, max] last; validation keeps min <= max, so one clamp serves both directions.
  if (replicas > max) {
    replicas = max;
    limited = TOO_MANY;
  } else if (replicas < min) {
    replicas = min;
    limited = TOO_FEW;
  }
  return { replicas, ...(stabilized ? { stabilized } : {}), limited };
}

const changeIn = (events: ScaleEvent[], periodSeconds: number, now: number) =>
  events.filter((e) => e.at > now - periodSeconds * 1000).reduce((s, e) => s + e.change, 0);

/**
 * calculateScaleUpLimitWithScalingRules / calculateScaleDownLimitWithScalingRules: each policy's bound from the
 * replicas its period started with (this direction's events undone, the other's redone); selectPolicy Max takes
 * the bound allowing the largest change, Min the smallest; never a change against the direction.
 */
function scaleLimit(
  dir: 'up' | 'down',
  current: number,
  behavior: Behavior,
  events: { up: ScaleEvent[]; down: ScaleEvent[] },
  now: number,
): number {
  const rules = dir === 'up' ? behavior.scaleUp : behavior.scaleDown;
  if (rules.selectPolicy === 'Disabled') return current;
  // s orients every comparison: "more change" is larger s·replicas.
  const s = dir === 'up' ? 1 : -1;
  const [same, other] = dir === 'up' ? [events.up, events.down] : [events.down, events.up];
  const most = (a: number, b: number) => (s * a >= s * b ? a : b);
  const least = (a: number, b: number) => (s * a <= s * b ? a : b);
  const pick = rules.selectPolicy === 'Min' ? least : most;
  let result = rules.selectPolicy === 'Min' ? s * Infinity : -s * Infinity;
  for (const p of rules.policies) {
    const start =
      current - s * (changeIn(same, p.periodSeconds, now) - changeIn(other, p.periodSeconds, now));
    const limit = p.type === 'Pods' ? start + s * p.value : Math.ceil(start * (1 + (s * p.value) / 100));
    result = pick(result, limit);
  }
  return most(result, current);
}
