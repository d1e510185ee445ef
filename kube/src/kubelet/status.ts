/**
 * Container statuses from the engine's inspect, as a kubelet over cri-dockerd reports them: state (waiting with the
 * kubelet's reason, running since, terminated with exit code, reason OOMKilled/Error/Completed/ContainerCannotRun,
 * the termination message), lastState, restartCount, imageID and `docker://` containerID; and the pod phase.
 */
import { promises as fsp } from 'node:fs';
import type { ContainerInspect } from '@berth/common/api/containers';
import { ANN_RESTART_COUNT, ANN_TERMINATION_MESSAGE_PATH, annotation } from './naming.js';
import type { Container, ContainerStatus, Pod } from './types.js';

type State = NonNullable<ContainerStatus['state']>;
type Terminated = NonNullable<State['terminated']>;

/** Kubernetes times are RFC 3339 seconds; Docker's carry nanoseconds, and a zero time means never. */
export function k8sTime(docker: string | undefined): string | undefined {
  if (!docker || docker.startsWith('0001-01-01')) return undefined;
  const t = Date.parse(docker);
  if (Number.isNaN(t)) return undefined;
  return new Date(Math.floor(t / 1000) * 1000).toISOString().replace('.000Z', 'Z');
}

export const restartCountOf = (info: { Config: { Labels?: Record<string, string> | null } }): number =>
  Number(annotation(info.Config.Labels, ANN_RESTART_COUNT) ?? 0) || 0;

const MAX_MESSAGE = 4096;

/** The termination message file's content, read from the host side of its bind mount. */
async function terminationMessage(info: ContainerInspect): Promise<string> {
  const target = annotation(info.Config.Labels, ANN_TERMINATION_MESSAGE_PATH) ?? '/dev/termination-log';
  const m = info.Mounts?.find((x) => x.Destination === target && x.Type === 'bind');
  if (!m) return '';
  try {
    const h = await fsp.open(m.Source, 'r');
    try {
      const buf = Buffer.alloc(MAX_MESSAGE);
      const { bytesRead } = await h.read(buf, 0, MAX_MESSAGE, 0);
      return buf.subarray(0, bytesRead).toString('utf8');
    } finally {
      await h.close();
    }
  } catch {
    return '';
  }
}

export async function terminatedState(
  info: ContainerInspect,
  fallbackLogs?: () => Promise<string>,
): Promise<Terminated> {
  const s = info.State;
  const neverStarted = !k8sTime(s.StartedAt);
  let reason = s.OOMKilled ? 'OOMKilled' : s.ExitCode === 0 ? 'Completed' : 'Error';
  let message = await terminationMessage(info);
  if (neverStarted && s.Error) {
    reason = 'ContainerCannotRun';
    message = s.Error;
  } else if (!message && s.ExitCode !== 0 && fallbackLogs) message = await fallbackLogs();
  const startedAt = k8sTime(s.StartedAt);
  const finishedAt = k8sTime(s.FinishedAt);
  return {
    exitCode: s.ExitCode,
    reason,
    ...(message ? { message } : {}),
    ...(startedAt ? { startedAt } : {}),
    ...(finishedAt ? { finishedAt } : {}),
    containerID: `docker://${info.Id}`,
  };
}

export interface StatusInput {
  container: Container;
  /** Newest instance first. */
  instances: ContainerInspect[];
  imageID: string;
  /** Why the container waits, when the kubelet could not (re)start it. */
  waiting?: { reason: string; message?: string };
  ready: boolean;
  started: boolean;
  fallbackLogs?: (info: ContainerInspect) => Promise<string>;
}

export async function containerStatus(i: StatusInput): Promise<ContainerStatus> {
  const [cur, prev] = i.instances;
  const logsFor = (info: ContainerInspect) =>
    i.container.terminationMessagePolicy === 'FallbackToLogsOnError' && i.fallbackLogs
      ? () => i.fallbackLogs!(info)
      : undefined;
  let state: State;
  let lastState: State = {};
  if (!cur)
    state = {
      waiting: {
        reason: i.waiting?.reason ?? 'ContainerCreating',
        ...(i.waiting?.message ? { message: i.waiting.message } : {}),
      },
    };
  else if (cur.State.Running) state = { running: { startedAt: k8sTime(cur.State.StartedAt)! } };
  else if (cur.State.Status === 'created') state = { waiting: { reason: 'ContainerCreating' } };
  else {
    const term = await terminatedState(cur, logsFor(cur));
    if (i.waiting) {
      // Waiting to restart (CrashLoopBackOff...): the run that just ended is the last state.
      state = {
        waiting: { reason: i.waiting.reason, ...(i.waiting.message ? { message: i.waiting.message } : {}) },
      };
      lastState = { terminated: term };
    } else state = { terminated: term };
  }
  if (prev && !lastState.terminated && !prev.State.Running)
    lastState = { terminated: await terminatedState(prev, logsFor(prev)) };
  const running = state.running !== undefined;
  return {
    name: i.container.name,
    state,
    lastState,
    ready: running && i.ready,
    restartCount: cur ? restartCountOf(cur) : 0,
    image: i.container.image ?? '',
    imageID: cur ? i.imageID : '',
    ...(cur ? { containerID: `docker://${cur.Id}` } : {}),
    started: running && i.started,
  };
}

export type PodPhase = 'Pending' | 'Running' | 'Succeeded' | 'Failed' | 'Unknown';

/** The kubelet's getPhase over the statuses it computed. */
export function podPhase(pod: Pod, init: ContainerStatus[], app: ContainerStatus[]): PodPhase {
  const policy = pod.spec?.restartPolicy ?? 'Always';
  const specInit = pod.spec?.initContainers ?? [];
  for (const c of specInit) {
    if (c.restartPolicy === 'Always') continue;
    const s = init.find((x) => x.name === c.name);
    const t = s?.state?.terminated;
    if (t && t.exitCode !== 0 && policy === 'Never') return 'Failed';
    if (!t || t.exitCode !== 0) return 'Pending';
  }
  let unknown = 0;
  let running = 0;
  let waiting = 0;
  let stopped = 0;
  let succeeded = 0;
  for (const c of pod.spec?.containers ?? []) {
    const s = app.find((x) => x.name === c.name);
    if (!s) unknown++;
    else if (s.state?.running) running++;
    else if (s.state?.terminated) {
      stopped++;
      if (s.state.terminated.exitCode === 0) succeeded++;
    } else if (s.state?.waiting) {
      if (s.lastState?.terminated) stopped++;
      else waiting++;
    } else unknown++;
  }
  if (waiting > 0) return 'Pending';
  if (running > 0 && unknown === 0) return 'Running';
  if (running === 0 && stopped > 0 && unknown === 0) {
    if (policy === 'Always') return 'Running';
    if (stopped === succeeded) return 'Succeeded';
    if (policy === 'Never') return 'Failed';
    return 'Running';
  }
  return 'Pending';
}
