/**
 * The HorizontalPodAutoscaler controller (autoscaling/v2; v1 objects are the same objects converted), as
 * kube-controller-manager's podautoscaler: every 15 s it reads the target's replicas and selector, the pods'
 * usage from metrics.k8s.io (the kubelet's PodMetrics, through the `PodMetricsSource` seam), computes the
 * replicas each Resource metric wants, applies the behavior (stabilization windows, rate policies) and
 * min/max, and scales through the target's scale subresource. Status: currentReplicas, desiredReplicas,
 * currentMetrics, lastScaleTime and the AbleToScale / ScalingActive / ScalingLimited conditions; events
 * SuccessfulRescale, FailedGetScale, FailedGetResourceMetric, FailedRescale.
 */
import { isKubeError } from '../../errors.js';
import type { ResourceClient } from '../../client/index.js';
import { deepEqual } from '../../registry/generic/metadata.js';
import type { KubeObject } from '../../registry/types.js';
import { fromStructured, matchesLabels, type LabelSelector } from '../../selectors/labels.js';
import { parseQuantity } from '@berth/common/quantity';
import { nowRfc3339, setCondition } from '../framework/conditions.js';
import { QueueController, type ControllerContext } from '../framework/controller.js';
import { keyOf, splitKey, type Informer } from '../framework/informer.js';
import type { Condition, HorizontalPodAutoscaler, Pod } from '../framework/types.js';
import {
  defaultBehavior,
  MetricError,
  normalize,
  resourceReplicas,
  type PodUsage,
  type Recommendation,
  type ScaleEvent,
} from './replicas.js';

/** A pod's metrics as metrics.k8s.io serves them (PodMetrics). */
export interface PodMetrics {
  metadata?: { name?: string; namespace?: string };
  /** The sample's window, a Go duration as metrics-server writes it ("1s", "15.2s"). */
  window?: string;
  containers: Array<{ name: string; usage: Record<string, string> }>;
}

/** Where the autoscaler reads pod usage: the kubelet's metrics.k8s.io in berth-kube, a stand-in in tests. */
export type PodMetricsSource = (namespace: string, selector: LabelSelector) => Promise<PodMetrics[]>;

const TARGETS: Record<string, string> = {
  Deployment: 'deployments',
  ReplicaSet: 'replicasets',
  StatefulSet: 'statefulsets',
  ReplicationController: 'replicationcontrollers',
};

interface Scalable extends KubeObject {
  spec?: { replicas?: number; selector?: unknown };
  status?: { replicas?: number };
}

type HPAStatus = NonNullable<HorizontalPodAutoscaler['status']>;
type MetricStatus = NonNullable<HPAStatus['currentMetrics']>[number];

export class HorizontalPodAutoscalerController extends QueueController {
  private readonly hpas: Informer<HorizontalPodAutoscaler>;
  private readonly pods: Informer<Pod>;
  private readonly rc: ResourceClient<HorizontalPodAutoscaler>;
  private readonly recommendations = new Map<string, Recommendation[]>();
  private readonly scaleEvents = new Map<string, { up: ScaleEvent[]; down: ScaleEvent[] }>();

  constructor(
    ctx: ControllerContext,
    private readonly metrics: () => PodMetricsSource | undefined,
    private readonly syncMs = 15_000,
  ) {
    super('horizontalpodautoscaling', ctx, 'horizontal-pod-autoscaler');
    this.rc = ctx.client.resource<HorizontalPodAutoscaler>('autoscaling/v2', 'horizontalpodautoscalers');
    this.hpas = ctx.informers.for<HorizontalPodAutoscaler>('autoscaling/v2', 'horizontalpodautoscalers');
    this.pods = ctx.informers.for<Pod>('v1', 'pods');
    this.hpas.on({
      add: (h) => this.enqueue(keyOf(h)),
      update: (old, h) => {
        if (old === h || old.metadata?.generation !== h.metadata?.generation) this.enqueue(keyOf(h));
      },
      delete: (h) => {
        this.recommendations.delete(keyOf(h));
        this.scaleEvents.delete(keyOf(h));
      },
    });
  }

  protected initialKeys(): string[] {
    return this.hpas.list().map(keyOf);
  }

  protected async sync(key: string): Promise<void> {
    const hpa = this.hpas.get(key);
    if (!hpa) return;
    try {
      await this.reconcile(key, hpa);
    } finally {
      this.enqueueAfter(key, this.syncMs);
    }
  }

  private async reconcile(key: string, hpa: HorizontalPodAutoscaler): Promise<void> {
    const now = this.now();
    const spec = hpa.spec!;
    const { namespace } = splitKey(key);
    const ref = spec.scaleTargetRef;
    let conditions = (hpa.status?.conditions ?? []) as Condition[];
    const status: HPAStatus = {
      ...hpa.status,
      observedGeneration: hpa.metadata?.generation,
      currentReplicas: hpa.status?.currentReplicas ?? 0,
      desiredReplicas: hpa.status?.desiredReplicas ?? 0,
    };
    const cond = (type: string, ok: boolean, reason: string, message: string) => {
      const t = nowRfc3339(now);
      conditions = setCondition(conditions, {
        type,
        status: ok ? 'True' : 'False',
        reason,
        message,
        lastTransitionTime: t,
      });
    };
    const finish = async () => {
      status.conditions = conditions;
      if (deepEqual(hpa.status, status)) return;
      try {
        await this.rc.updateStatus({ ...hpa, status });
      } catch (e) {
        if (!isKubeError(e, 'NotFound')) throw e;
      }
    };

    const plural = TARGETS[ref.kind];
    let target: Scalable | undefined;
    let scaleError = plural ? '' : `no scale subresource for ${ref.kind}`;
    if (plural) {
      try {
        target = await this.ctx.client
          .resource<Scalable>(ref.apiVersion ?? 'apps/v1', plural)
          .get(ref.name, { namespace });
      } catch (e) {
        scaleError = (e as Error).message;
      }
    }
    if (!target) {
      const msg = `the HPA controller was unable to get the target's current scale: ${scaleError}`;
      this.recorder.event(hpa, 'Warning', 'FailedGetScale', scaleError);
      cond('AbleToScale', false, 'FailedGetScale', msg);
      return finish();
    }
    cond(
      'AbleToScale',
      true,
      'SucceededGetScale',
      "the HPA controller was able to get the target's current scale",
    );
    const current = target.spec?.replicas ?? 1;
    status.currentReplicas = target.status?.replicas ?? 0;
    if (current === 0 && (spec.minReplicas ?? 1) > 0) {
      status.desiredReplicas = 0;
      cond(
        'ScalingActive',
        false,
        'ScalingDisabled',
        'scaling is disabled since the replica count of the target is zero',
      );
      return finish();
    }

    const selector = fromStructured(target.spec?.selector as Parameters<typeof fromStructured>[0]);
    const pods = this.pods.list(namespace).filter((p) => matchesLabels(selector, p.metadata?.labels));
    const desired = await this.desired(hpa, current, pods, selector, now);
    status.currentMetrics = desired.metrics.length ? desired.metrics : undefined;
    if (desired.replicas === undefined) {
      cond('ScalingActive', false, desired.errorReason, desired.error);
      return finish();
    }
    cond(
      'ScalingActive',
      true,
      'ValidMetricFound',
      `the HPA was able to successfully calculate a replica count from ${desired.name}`,
    );

    const recs = (this.recommendations.get(key) ?? []).filter((r) => r.at > now - 3_600_000);
    const events = this.scaleEvents.get(key) ?? { up: [], down: [] };
    const behavior = defaultBehavior(spec.behavior as Parameters<typeof defaultBehavior>[0]);
    const n = normalize(
      current,
      desired.replicas,
      spec.minReplicas ?? 1,
      spec.maxReplicas,
      behavior,
      recs,
      events,
      now,
    );
    recs.push({ at: now, replicas: desired.replicas });
    this.recommendations.set(key, recs);
    if (n.limited) cond('ScalingLimited', true, n.limited.reason, n.limited.message);
    else
      cond('ScalingLimited', false, 'DesiredWithinRange', 'the desired count is within the acceptable range');

    if (n.replicas !== current) {
      const reason = n.replicas > current ? `${desired.name} above target` : 'All metrics below target';
      try {
        await this.ctx.client
          .resource(ref.apiVersion ?? 'apps/v1', plural)
          .patch(ref.name, 'merge', { spec: { replicas: n.replicas } }, { namespace, subresource: 'scale' });
      } catch (e) {
        const msg = `New size: ${n.replicas}; reason: ${reason}; error: ${(e as Error).message}`;
        this.recorder.event(hpa, 'Warning', 'FailedRescale', msg);
        cond(
          'AbleToScale',
          false,
          'FailedUpdateScale',
          `the HPA controller was unable to update the target scale: ${(e as Error).message}`,
        );
        return finish();
      }
      this.recorder.event(hpa, 'Normal', 'SuccessfulRescale', `New size: ${n.replicas}; reason: ${reason}`);
      cond(
        'AbleToScale',
        true,
        'SucceededRescale',
        `the HPA controller was able to update the target scale to ${n.replicas}`,
      );
      const change = { at: now, change: Math.abs(n.replicas - current) };
      (n.replicas > current ? events.up : events.down).push(change);
      events.up = events.up.filter((e) => e.at > now - 3_600_000);
      events.down = events.down.filter((e) => e.at > now - 3_600_000);
      this.scaleEvents.set(key, events);
      status.lastScaleTime = nowRfc3339(now);
    } else if (n.stabilized === 'ScaleDownStabilized')
      cond(
        'AbleToScale',
        true,
        'ScaleDownStabilized',
        'recent recommendations were higher than current one, applying the highest recent recommendation',
      );
    else if (n.stabilized === 'ScaleUpStabilized')
      cond(
        'AbleToScale',
        true,
        'ScaleUpStabilized',
        'recent recommendations were lower than current one, applying the lowest recent recommendation',
      );
    else cond('AbleToScale', true, 'ReadyForNewScale', 'recommended size matches current size');
    status.desiredReplicas = n.replicas;
    return finish();
  }

  /** computeReplicasForMetrics: the largest count any metric asks for, with each metric's current value. */
  private async desired(
    hpa: HorizontalPodAutoscaler,
    current: number,
    pods: Pod[],
    selector: LabelSelector,
    now: number,
  ): Promise<{
    replicas?: number;
    name: string;
    metrics: MetricStatus[];
    error: string;
    errorReason: string;
  }> {
    const out = {
      replicas: undefined as number | undefined,
      name: '',
      metrics: [] as MetricStatus[],
      error: '',
      errorReason: '',
    };
    const fail = (reason: string, msg: string) => {
      this.recorder.event(hpa, 'Warning', reason, msg);
      out.error ||= `the HPA was unable to compute the replica count: ${msg}`;
      out.errorReason ||= reason;
    };
    let usage: { byResource: Map<string, PodUsage>; windows: Map<string, number> } | undefined;
    // No metric given: the default policy, 80% CPU (as SetDefaults_HorizontalPodAutoscaler for v1 objects).
    const metrics: NonNullable<NonNullable<HorizontalPodAutoscaler['spec']>['metrics']> = hpa.spec?.metrics
      ?.length
      ? hpa.spec.metrics
      : [
          {
            type: 'Resource',
            resource: { name: 'cpu', target: { type: 'Utilization', averageUtilization: 80 } },
          },
        ];
    for (const m of metrics) {
      if (m.type !== 'Resource' || !m.resource) {
        fail('FailedGetExternalMetric', `unable to get metric of type ${m.type}: not served by this cluster`);
        continue;
      }
      const name = m.resource.name;
      const t = m.resource.target;
      const utilization = t.type === 'Utilization' ? (t.averageUtilization ?? 0) : undefined;
      const averageValue =
        t.type === 'AverageValue' && t.averageValue ? parseQuantity(String(t.averageValue)) : undefined;
      const metricName =
        utilization !== undefined
          ? `${name} resource utilization (percentage of request)`
          : `${name} resource`;
      try {
        usage ??= await this.usage(hpa.metadata?.namespace ?? '', selector);
        const byPod = usage.byResource.get(name) ?? new Map<string, number>();
        const r = resourceReplicas(
          current,
          pods,
          byPod,
          name,
          { utilization, averageValue },
          now,
          usage.windows,
        );
        out.metrics.push({
          type: 'Resource',
          resource: {
            name,
            current: {
              ...(r.utilization !== undefined ? { averageUtilization: r.utilization } : {}),
              averageValue: formatAverage(r.averageValue),
            },
          },
        });
        if (out.replicas === undefined || r.replicas > out.replicas) {
          out.replicas = r.replicas;
          out.name = metricName;
        }
      } catch (e) {
        if (!(e instanceof MetricError) && !(e instanceof Error)) throw e;
        fail('FailedGetResourceMetric', `failed to get ${name} utilization: ${e.message}`);
        out.metrics.push({ type: 'Resource', resource: { name, current: {} } });
      }
    }
    return out;
  }

  /** Usage by resource, then by pod name, summed over containers. */
  private async usage(
    namespace: string,
    selector: LabelSelector,
  ): Promise<{ byResource: Map<string, PodUsage>; windows: Map<string, number> }> {
    const source = this.metrics();
    if (!source)
      throw new MetricError(
        'unable to get metrics for resource: the server could not find the requested resource (get pods.metrics.k8s.io)',
      );
    const out = new Map<string, PodUsage>();
    const windows = new Map<string, number>();
    for (const pm of await source(namespace, selector)) {
      windows.set(pm.metadata?.name ?? '', (Number.parseFloat(pm.window ?? '0') || 0) * 1000);
      for (const c of pm.containers)
        for (const [res, q] of Object.entries(c.usage)) {
          const byPod = out.get(res) ?? new Map<string, number>();
          out.set(res, byPod);
          const name = pm.metadata?.name ?? '';
          byPod.set(name, (byPod.get(name) ?? 0) + parseQuantity(q));
        }
    }
    return { byResource: out, windows };
  }
}

/** A milli-quantity as resource.NewMilliQuantity prints it: "250m", or whole units when exact. */
function formatAverage(v: number): string {
  const milli = Math.round(v * 1000);
  return milli % 1000 === 0 ? String(milli / 1000) : `${milli}m`;
}
