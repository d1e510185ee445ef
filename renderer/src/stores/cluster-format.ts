/**
 * Columns as kubectl 1.32 prints them (pkg/printers/internalversion): a pod's READY, STATUS (the reason that
 * matters: CrashLoopBackOff, ImagePullBackOff, OOMKilled, Init:0/1, Terminating), RESTARTS with the last
 * restart's age, AGE in kubectl's short units, and the workloads' ready counts.
 */
import type { KubeObject } from '@berth/common';

interface ContainerState {
  waiting?: { reason?: string; message?: string };
  running?: { startedAt?: string };
  terminated?: { reason?: string; exitCode?: number; signal?: number; finishedAt?: string };
}
export interface ContainerStatus {
  name: string;
  ready: boolean;
  restartCount: number;
  image?: string;
  state?: ContainerState;
  lastState?: ContainerState;
  started?: boolean;
}
export interface PodStatus {
  phase?: string;
  reason?: string;
  message?: string;
  podIP?: string;
  hostIP?: string;
  startTime?: string;
  conditions?: {
    type: string;
    status: string;
    reason?: string;
    message?: string;
    lastTransitionTime?: string;
  }[];
  containerStatuses?: ContainerStatus[];
  initContainerStatuses?: ContainerStatus[];
}
export interface PodSpec {
  nodeName?: string;
  containers: {
    name: string;
    image?: string;
    ports?: { containerPort: number; protocol?: string; name?: string }[];
  }[];
  initContainers?: { name: string; image?: string }[];
}
export type Pod = KubeObject & {
  spec: PodSpec & Record<string, unknown>;
  status?: PodStatus & Record<string, unknown>;
};

/** kubectl's HumanDuration: 45s, 5m12s, 3h4m, 2d5h, 400d, 3y20d. */
export function kubeAge(from: string | undefined, now = Date.now()): string {
  if (!from) return '<unknown>';
  const t = Date.parse(from);
  if (Number.isNaN(t)) return '<unknown>';
  // The page's clock ticks every few seconds: an object newer than the last tick is 0s old, not kubectl's
  // '<invalid>' (which is for clocks that disagree).
  const s = Math.max(0, Math.floor((now - t) / 1000));
  if (s < 120) return `${s}s`;
  const m = Math.floor(s / 60);
  if (m < 10) return s % 60 === 0 ? `${m}m` : `${m}m${s % 60}s`;
  if (m < 180) return `${m}m`;
  const h = Math.floor(s / 3600);
  if (h < 8) return m % 60 === 0 ? `${h}h` : `${h}h${m % 60}m`;
  if (h < 48) return `${h}h`;
  if (h < 24 * 8) return h % 24 === 0 ? `${Math.floor(h / 24)}d` : `${Math.floor(h / 24)}d${h % 24}h`;
  if (h < 24 * 365 * 2) return `${Math.floor(h / 24)}d`;
  if (h < 24 * 365 * 8) {
    const dy = Math.floor(h / 24) % 365;
    return dy === 0 ? `${Math.floor(h / 24 / 365)}y` : `${Math.floor(h / 24 / 365)}y${dy}d`;
  }
  return `${Math.floor(h / 24 / 365)}y`;
}

export function podReady(p: Pod): string {
  const cs = p.status?.containerStatuses ?? [];
  return `${cs.filter((c) => c.ready).length}/${p.spec.containers.length}`;
}

/** RESTARTS: the sum, and "(5m ago)" since the most recent restart, as kubectl 1.32. */
export function podRestarts(p: Pod, now = Date.now()): string {
  let n = 0;
  let last = 0;
  for (const c of p.status?.containerStatuses ?? []) {
    n += c.restartCount;
    const f = c.lastState?.terminated?.finishedAt;
    if (f) last = Math.max(last, Date.parse(f));
  }
  return last && n > 0 ? `${n} (${kubeAge(new Date(last).toISOString(), now)} ago)` : String(n);
}

function terminatedText(t: NonNullable<ContainerState['terminated']>): string {
  if (t.reason) return t.reason;
  return t.signal ? `Signal:${t.signal}` : `ExitCode:${t.exitCode ?? 0}`;
}

/** STATUS as kubectl prints it (printPod). */
export function podStatus(p: Pod): string {
  const st = p.status ?? {};
  let reason = st.reason || st.phase || 'Unknown';
  const inits = p.spec.initContainers ?? [];
  let initializing = false;
  (st.initContainerStatuses ?? []).forEach((c, i) => {
    if (initializing) return;
    const t = c.state?.terminated;
    if (t && t.exitCode === 0) return;
    if (t)
      reason = t.reason
        ? `Init:${t.reason}`
        : t.signal
          ? `Init:Signal:${t.signal}`
          : `Init:ExitCode:${t.exitCode}`;
    else if (c.state?.waiting?.reason && c.state.waiting.reason !== 'PodInitializing')
      reason = `Init:${c.state.waiting.reason}`;
    else reason = `Init:${i}/${inits.length}`;
    initializing = true;
  });
  if (!initializing) {
    let hasRunning = false;
    const cs = st.containerStatuses ?? [];
    for (let i = cs.length - 1; i >= 0; i--) {
      const c = cs[i];
      if (c.state?.waiting?.reason) reason = c.state.waiting.reason;
      else if (c.state?.terminated) reason = terminatedText(c.state.terminated);
      else if (c.ready && c.state?.running) hasRunning = true;
    }
    if (reason === 'Completed' && hasRunning)
      reason = st.conditions?.some((c) => c.type === 'Ready' && c.status === 'True') ? 'Running' : 'NotReady';
  }
  if (p.metadata.deletionTimestamp) reason = st.reason === 'NodeLost' ? 'Unknown' : 'Terminating';
  return reason;
}

/** How a status reads at a glance: ok, pending, failed or done. */
export function statusTone(s: string): 'ok' | 'warn' | 'bad' | 'idle' {
  if (s === 'Running') return 'ok';
  if (s === 'Completed' || s === 'Succeeded' || s === 'Terminating') return 'idle';
  if (/BackOff|Err|Error|OOMKilled|Failed|Invalid|Unknown|ExitCode|Signal|NotReady|Evicted/.test(s))
    return 'bad';
  return 'warn';
}

export function podImages(p: Pod): string {
  return p.spec.containers.map((c) => c.image ?? '').join(', ');
}

type Num = number | undefined;
const n = (v: unknown): number => (typeof v === 'number' ? v : 0);

/** READY / UP-TO-DATE / AVAILABLE and friends, per workload kind, as kubectl's columns. */
export function workloadReady(o: KubeObject): string {
  const spec = o.spec ?? {};
  const st = o.status ?? {};
  switch (o.kind) {
    case 'Deployment':
    case 'StatefulSet':
    case 'ReplicaSet':
      return `${n(st.readyReplicas)}/${(spec.replicas as Num) ?? 1}`;
    case 'DaemonSet':
      return `${n(st.numberReady)}/${n(st.desiredNumberScheduled)}`;
    case 'Job':
      return `${n(st.succeeded)}/${(spec.completions as Num) ?? 1}`;
    case 'CronJob':
      return `${((st.active as unknown[] | undefined) ?? []).length} active`;
    default:
      return '';
  }
}

/** A second column per kind: what kubectl shows beside READY. */
export function workloadDetail(o: KubeObject): string {
  const spec = o.spec ?? {};
  const st = o.status ?? {};
  switch (o.kind) {
    case 'Deployment':
      return `${n(st.updatedReplicas)} up-to-date · ${n(st.availableReplicas)} available`;
    case 'DaemonSet':
      return `${n(st.currentNumberScheduled)} current · ${n(st.numberAvailable)} available`;
    case 'Job': {
      const cond = (st.conditions as { type: string; status: string }[] | undefined) ?? [];
      if (cond.some((c) => c.type === 'Complete' && c.status === 'True')) return 'Complete';
      if (cond.some((c) => c.type === 'Failed' && c.status === 'True')) return 'Failed';
      return 'Running';
    }
    case 'CronJob':
      return `${typeof spec.schedule === 'string' ? spec.schedule : ''}${spec.suspend ? ' · suspended' : ''}`;
    default:
      return '';
  }
}

export function workloadImages(o: KubeObject): string {
  const spec = o.spec ?? {};
  const tmpl = (o.kind === 'CronJob'
    ? ((spec.jobTemplate as KubeObject | undefined)?.spec?.template as KubeObject | undefined)
    : (spec.template as KubeObject | undefined)) ?? { metadata: { name: '' } };
  const cs = (tmpl.spec?.containers as { image?: string }[] | undefined) ?? [];
  return cs.map((c) => c.image ?? '').join(', ');
}

/** `app=web,tier!=db` style filters over labels, and free text over name and images. */
export function matchesLabels(labels: Record<string, string> | undefined, selector: string): boolean {
  const l = labels ?? {};
  for (const raw of selector
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean)) {
    const ne = raw.indexOf('!=');
    if (ne > 0) {
      if (l[raw.slice(0, ne).trim()] === raw.slice(ne + 2).trim()) return false;
      continue;
    }
    const eq = raw.indexOf('=');
    if (eq > 0) {
      const k = raw.slice(0, eq).trim();
      const v = raw
        .slice(eq + 1)
        .replace(/^=/, '')
        .trim();
      if (l[k] !== v) return false;
    } else if (raw.startsWith('!')) {
      if (raw.slice(1) in l) return false;
    } else if (!(raw in l)) return false;
  }
  return true;
}

/** A YAML view and edit: managedFields hidden (the server keeps them), as `kubectl edit` does not. */
export function forEditing(o: KubeObject): KubeObject {
  const { managedFields: _mf, ...metadata } = o.metadata;
  void _mf;
  return { ...o, metadata };
}
