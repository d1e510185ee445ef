/**
 * The PodStatus the kubelet writes (generateAPIPodStatus and the status manager): the runtime's container statuses
 * with the kubelet's defaults (PodInitializing while init containers run, init containers ready once they
 * succeeded, volumeMounts), the phase, and the kubelet-owned conditions in its order (PodReadyToStartContainers,
 * Initialized, Ready, ContainersReady, PodScheduled) after any condition others own; lastTransitionTime moves only
 * when a condition's status changes. startTime is set once; pod IPs survive the sandbox. Written only on change.
 */
import type { RuntimePodStatus } from './provider.js';
import type { ContainerStatus, Pod, PodStatus } from './types.js';

type Condition = NonNullable<PodStatus['conditions']>[number];
type Spec = NonNullable<Pod['spec']>;

const KUBELET_CONDITIONS = new Set([
  'PodReadyToStartContainers',
  'Initialized',
  'Ready',
  'ContainersReady',
  'PodScheduled',
]);

export interface TerminalOverride {
  phase: 'Succeeded' | 'Failed';
  reason?: string;
  message?: string;
}

const isSidecar = (spec: Spec, name: string) =>
  (spec.initContainers ?? []).some((c) => c.name === name && c.restartPolicy === 'Always');

/** The runtime's statuses with the kubelet's presentation rules applied. */
function presentStatuses(pod: Pod, rs: RuntimePodStatus) {
  const spec = pod.spec ?? { containers: [] };
  const hasInit = (spec.initContainers ?? []).length > 0;
  const fix = (s: ContainerStatus, init: boolean): ContainerStatus => {
    const out = { ...s };
    if (hasInit && !out.containerID && out.state?.waiting?.reason === 'ContainerCreating')
      out.state = { waiting: { reason: 'PodInitializing' } };
    if (init && !isSidecar(spec, s.name)) out.ready = out.state?.terminated?.exitCode === 0;
    const c = [...(spec.initContainers ?? []), ...spec.containers].find((x) => x.name === s.name);
    if (out.containerID && c?.volumeMounts?.length)
      out.volumeMounts = c.volumeMounts.map((m) => ({
        name: m.name,
        mountPath: m.mountPath,
        ...(m.readOnly ? { readOnly: true, recursiveReadOnly: 'Disabled' } : {}),
      }));
    return out;
  };
  return {
    init: rs.initContainerStatuses.map((s) => fix(s, true)),
    app: rs.containerStatuses.map((s) => fix(s, false)),
  };
}

const names = (l: string[]) => `[${l.join(' ')}]`;

function containersReady(spec: Spec, all: ContainerStatus[], phase: string): Condition {
  const unknown: string[] = [];
  const unready: string[] = [];
  const check = (name: string) => {
    const s = all.find((x) => x.name === name);
    if (!s) unknown.push(name);
    else if (!s.ready) unready.push(name);
  };
  for (const c of spec.initContainers ?? []) if (c.restartPolicy === 'Always') check(c.name);
  for (const c of spec.containers) check(c.name);
  if ((phase === 'Succeeded' && !unknown.length) || phase === 'Failed')
    return {
      type: 'ContainersReady',
      status: 'False',
      reason: phase === 'Succeeded' ? 'PodCompleted' : 'PodFailed',
    };
  const msgs = [
    ...(unknown.length ? [`containers with unknown status: ${names(unknown)}`] : []),
    ...(unready.length ? [`containers with unready status: ${names(unready)}`] : []),
  ];
  if (msgs.length)
    return {
      type: 'ContainersReady',
      status: 'False',
      reason: 'ContainersNotReady',
      message: msgs.join(', '),
    };
  return { type: 'ContainersReady', status: 'True' };
}

function podReady(pod: Pod, cr: Condition, others: Condition[]): Condition {
  if (cr.status !== 'True')
    return {
      type: 'Ready',
      status: cr.status,
      ...(cr.reason ? { reason: cr.reason } : {}),
      ...(cr.message ? { message: cr.message } : {}),
    };
  const missing: string[] = [];
  for (const g of pod.spec?.readinessGates ?? []) {
    const c = others.find((x) => x.type === g.conditionType);
    if (!c)
      missing.push(`corresponding condition of pod readiness gate "${g.conditionType}" does not exist.`);
    else if (c.status !== 'True')
      missing.push(`the status of pod readiness gate "${g.conditionType}" is not "True", but ${c.status}`);
  }
  if (missing.length)
    return { type: 'Ready', status: 'False', reason: 'ReadinessGatesNotReady', message: missing.join(', ') };
  return { type: 'Ready', status: 'True' };
}

function initialized(spec: Spec, all: ContainerStatus[], phase: string): Condition {
  const unknown: string[] = [];
  const incomplete: string[] = [];
  for (const c of spec.initContainers ?? []) {
    const s = all.find((x) => x.name === c.name);
    if (!s) unknown.push(c.name);
    else if (c.restartPolicy === 'Always' ? !s.started : !s.ready) incomplete.push(c.name);
  }
  if (phase === 'Succeeded' && !unknown.length)
    return { type: 'Initialized', status: 'True', reason: 'PodCompleted' };
  const appStarted = spec.containers.some((c) => {
    const s = all.find((x) => x.name === c.name);
    return !!(s?.state?.running || s?.state?.terminated || s?.lastState?.terminated);
  });
  if (appStarted) return { type: 'Initialized', status: 'True' };
  const msgs = [
    ...(unknown.length ? [`containers with unknown status: ${names(unknown)}`] : []),
    ...(incomplete.length ? [`containers with incomplete status: ${names(incomplete)}`] : []),
  ];
  if (msgs.length)
    return {
      type: 'Initialized',
      status: 'False',
      reason: 'ContainersNotInitialized',
      message: msgs.join(', '),
    };
  return { type: 'Initialized', status: 'True' };
}

export interface StatusInput {
  pod: Pod;
  rs: RuntimePodStatus;
  now: string;
  terminal?: TerminalOverride;
}

export function apiPodStatus(i: StatusInput): PodStatus {
  const { pod, rs } = i;
  const old = pod.status ?? {};
  const spec = pod.spec ?? { containers: [] };
  const { init, app } = presentStatuses(pod, rs);
  const phase = i.terminal?.phase ?? rs.phase;
  const all = [...init, ...app];
  const others = (old.conditions ?? []).filter((c) => !KUBELET_CONDITIONS.has(c.type));
  const cr = containersReady(spec, all, phase);
  const mine: Condition[] = [
    { type: 'PodReadyToStartContainers', status: rs.sandboxReady ? 'True' : 'False' },
    initialized(spec, all, phase),
    podReady(pod, cr, others),
    cr,
    { type: 'PodScheduled', status: 'True' },
  ];
  const conditions = [...others, ...mine].map((c) => {
    const prev = (old.conditions ?? []).find((o) => o.type === c.type);
    const lastTransitionTime =
      prev && prev.status === c.status && prev.lastTransitionTime ? prev.lastTransitionTime : i.now;
    return KUBELET_CONDITIONS.has(c.type) ? { ...c, lastProbeTime: null, lastTransitionTime } : c;
  });
  const podIP = rs.podIP || old.podIP || '';
  const podIPs = rs.podIPs.length ? rs.podIPs.map((ip) => ({ ip })) : (old.podIPs ?? []);
  const reason = i.terminal?.reason ?? old.reason;
  const message = i.terminal?.message ?? old.message;
  const out: PodStatus = {
    phase,
    conditions: conditions as PodStatus['conditions'],
    ...(reason ? { reason } : {}),
    ...(message ? { message } : {}),
    ...(old.nominatedNodeName ? { nominatedNodeName: old.nominatedNodeName } : {}),
    hostIP: rs.hostIP,
    hostIPs: rs.hostIP ? [{ ip: rs.hostIP }] : [],
    ...(podIP ? { podIP, podIPs } : {}),
    startTime: old.startTime ?? rs.startedAt ?? i.now,
    ...((spec.initContainers ?? []).length ? { initContainerStatuses: init } : {}),
    containerStatuses: app,
    ...((spec.ephemeralContainers ?? []).length
      ? {
          ephemeralContainerStatuses: (rs.ephemeralContainerStatuses ?? []).map((s) => ({
            ...s,
            ready: false,
          })),
        }
      : {}),
    qosClass: rs.qosClass,
    ...(old.resourceClaimStatuses ? { resourceClaimStatuses: old.resourceClaimStatuses } : {}),
  };
  return out;
}

/** JSON with object keys sorted and nulls dropped: equality that ignores how the API server stored it. */
export function stableJson(v: unknown): string {
  return JSON.stringify(v, (_k, val: unknown) =>
    val && typeof val === 'object' && !Array.isArray(val)
      ? Object.fromEntries(
          Object.entries(val as Record<string, unknown>)
            .filter(([, x]) => x !== null && x !== undefined)
            .sort(([a], [b]) => (a < b ? -1 : 1)),
        )
      : val,
  );
}

export const statusEqual = (a: PodStatus | undefined, b: PodStatus): boolean =>
  stableJson(a ?? {}) === stableJson(b);

/** The kubelet's getPhase for a pod being deleted once nothing runs: Succeeded if every container exited 0. */
export function terminatedPhase(rs: RuntimePodStatus): 'Succeeded' | 'Failed' {
  const ok = rs.containerStatuses.every((s) => {
    const t = s.state?.terminated ?? s.lastState?.terminated;
    return t !== undefined && t.exitCode === 0;
  });
  return ok && rs.containerStatuses.length > 0 ? 'Succeeded' : 'Failed';
}
