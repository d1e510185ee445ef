/**
 * One step of a pod toward its spec (the kubelet's computePodActions + SyncPod): a sandbox when there is none
 * running, the volumes, init containers one at a time in order, then the app containers; restarts per
 * restartPolicy with the CrashLoopBackOff back-off; a changed container spec replaces the container. Everything is
 * read back from the engine first, so a sync after a restart adopts what runs and never starts a pod twice.
 */
import { promises as fsp } from 'node:fs';
import type { ContainerInspect } from '@berth/common/api/containers';
import type { Backoff } from './backoff.js';
import { containerCreateRequest, hostsFile, hostsPath } from './container-config.js';
import type { EngineClient } from './engine/client.js';
import { containerEnv, type PodFacts } from './env.js';
import { StartError, type WaitingReason } from './errors.js';
import { ensureImage } from './images.js';
import type { PodInputs } from './inputs.js';
import { ANN_HASH, annotation, containerHash, containerName } from './naming.js';
import type { PauseImageSource } from './pause-image.js';
import { inspectPod, type PodView } from './pod-view.js';
import { runHandler } from './probes.js';
import type { EventRecorder, SyncResult } from './provider.js';
import { runSandbox, sandboxIP, type PodNetworkConfig, ensurePodNetwork } from './sandbox.js';
import { qosClass } from './security.js';
import { restartCountOf } from './status.js';
import { stopContainer } from './stop.js';
import type { Container, Pod } from './types.js';
import { containerMounts } from './volumes/mounts.js';
import { podDir, preparePodVolumes, type VolumeSource } from './volumes/prepare.js';

export interface SyncContext {
  engine: EngineClient;
  root: string;
  network: PodNetworkConfig;
  pause: PauseImageSource;
  nodeName: string;
  hostIP: string;
  nodeMemory?: number;
  crashBackoff: Backoff;
  pullBackoff: Backoff;
  /** When each image's last pull failed, by `uid/name/image`. */
  pullBackoffAt: Map<string, number>;
  /** Why a container waits, by `uid/name` (the kubelet's reason cache). */
  waiting: Map<string, { reason: WaitingReason; message: string }>;
  /** Highest restart count seen, by `uid/name`: survives a `docker rm -f` of the last instance. */
  restartCounts: Map<string, number>;
  record: EventRecorder;
}

const key = (pod: Pod, name: string) => `${pod.metadata!.uid}/${name}`;
const podRef = (pod: Pod) =>
  `${pod.metadata!.name}_${pod.metadata!.namespace ?? 'default'}(${pod.metadata!.uid})`;
const fieldPath = (pod: Pod, c: Container) =>
  (pod.spec?.initContainers ?? []).some((x) => x.name === c.name)
    ? `spec.initContainers{${c.name}}`
    : (pod.spec?.ephemeralContainers ?? []).some((x) => x.name === c.name)
      ? `spec.ephemeralContainers{${c.name}}`
      : `spec.containers{${c.name}}`;

interface PodState {
  view: PodView;
  sandbox: ContainerInspect;
  facts: PodFacts;
  volumes: Map<string, VolumeSource>;
  retryAfterMs?: number;
}

function shouldRestart(pod: Pod, c: Container, info: ContainerInspect): boolean {
  const policy = c.restartPolicy ?? pod.spec?.restartPolicy ?? 'Always';
  if (policy === 'Always') return true;
  if (policy === 'OnFailure') return info.State.ExitCode !== 0;
  return false;
}

async function ensureSandbox(
  ctx: SyncContext,
  pod: Pod,
  inputs: PodInputs,
  view: PodView,
): Promise<ContainerInspect | undefined> {
  const current = view.sandboxes[0];
  if (current?.State.Running) return current;
  const everRan = [...view.containers.values()].some((l) => l.length > 0);
  // A finished Never pod keeps its dead sandbox: nothing will run in it again.
  if (current && everRan && (pod.spec?.restartPolicy ?? 'Always') === 'Never') return undefined;
  // A new sandbox means new namespaces: whatever still runs in the old ones (or in a sandbox removed behind the
  // kubelet's back) is killed and re-created in the new one. The event only when there was a sandbox to replace.
  if (current)
    ctx.record(pod, {
      type: 'Normal',
      reason: 'SandboxChanged',
      message: 'Pod sandbox changed, it will be killed and re-created.',
    });
  if (current || everRan) {
    for (const l of view.containers.values())
      for (const info of l)
        if (info.State.Running)
          await stopContainer({ engine: ctx.engine, info, pod, podIP: '', gracePeriodSeconds: 0 });
  }
  const attempt = current ? (Number(/_(\d+)$/.exec(current.Name)?.[1] ?? 0) || 0) + 1 : 0;
  try {
    if (!pod.spec?.hostNetwork) await ensurePodNetwork(ctx.engine, ctx.network);
    const pause = await ctx.pause.ensure();
    return await runSandbox(ctx.engine, {
      pod,
      attempt,
      pauseImage: pause.ref,
      network: ctx.network.name,
      inputs,
    });
  } catch (err) {
    ctx.record(pod, {
      type: 'Warning',
      reason: 'FailedCreatePodSandBox',
      message: `Failed to create pod sandbox: ${(err as Error).message}`,
    });
    throw err;
  }
}

/** Starts one container instance; a StartError is recorded as the container's waiting reason and an event. */
async function startContainer(
  ctx: SyncContext,
  pod: Pod,
  c: Container,
  init: boolean,
  st: PodState,
  inputs: PodInputs,
): Promise<boolean> {
  const k = key(pod, c.name);
  const fp = fieldPath(pod, c);
  const emit = (type: 'Normal' | 'Warning', reason: string, message: string) =>
    ctx.record(pod, { type, reason, message, fieldPath: fp });
  const prev = st.view.containers.get(c.name)?.[0];
  // The count goes on across instances removed behind the kubelet's back (docker rm -f) and across restarts of
  // berth-kube: the engine's last instance, this process's memory, or the status the pod last reported.
  const reported = [
    ...(pod.status?.containerStatuses ?? []),
    ...(pod.status?.initContainerStatuses ?? []),
  ].find((x) => x.name === c.name && x.containerID);
  const seen = [
    prev ? restartCountOf(prev) : undefined,
    ctx.restartCounts.get(k),
    reported?.restartCount,
  ].filter((x): x is number => x !== undefined);
  const restartCount = seen.length ? Math.max(...seen) + 1 : 0;
  const pullKey = `${k}/${c.image}`;
  try {
    const last = ctx.waiting.get(k);
    if (last && (last.reason === 'ErrImagePull' || last.reason === 'ImagePullBackOff')) {
      const at = ctx.pullBackoffAt.get(pullKey) ?? 0;
      if (ctx.pullBackoff.inBackoffSince(pullKey, at)) {
        st.retryAfterMs = Math.min(st.retryAfterMs ?? Infinity, ctx.pullBackoff.remaining(pullKey, at));
        emit('Normal', 'BackOff', `Back-off pulling image "${c.image}"`);
        throw new StartError('ImagePullBackOff', `Back-off pulling image "${c.image}"`);
      }
    }
    let image;
    try {
      image = await ensureImage(ctx.engine, pod, c, inputs, (e) => emit(e.type, e.reason, e.message));
    } catch (err) {
      if (err instanceof StartError && err.reason === 'ErrImagePull') {
        const now = Date.now();
        ctx.pullBackoff.next(pullKey, now);
        ctx.pullBackoffAt.set(pullKey, now);
        st.retryAfterMs = Math.min(st.retryAfterMs ?? Infinity, ctx.pullBackoff.delay(pullKey));
        emit('Warning', 'Failed', err.message);
      }
      throw err;
    }
    const { env, invalidNames } = containerEnv(pod, c, inputs, st.facts);
    if (invalidNames.length)
      emit(
        'Warning',
        'InvalidEnvironmentVariableNames',
        `Keys [${invalidNames.join(', ')}] from the EnvFrom were skipped since they are considered invalid environment variable names.`,
      );
    const mounts = await containerMounts(ctx.engine, c, st.volumes, env);
    const req = await containerCreateRequest({
      pod,
      container: c,
      init,
      restartCount,
      sandboxId: st.sandbox.Id,
      image,
      env,
      mounts,
      qos: qosClass(pod),
      root: ctx.root,
      ...(ctx.nodeMemory ? { nodeMemory: ctx.nodeMemory } : {}),
    });
    let id: string;
    try {
      id = (await ctx.engine.containerCreate(containerName(pod, c.name, restartCount), req)).Id;
    } catch (err) {
      throw new StartError('CreateContainerError', (err as Error).message);
    }
    ctx.restartCounts.set(k, restartCount);
    emit('Normal', 'Created', `Created container ${c.name}`);
    try {
      await ctx.engine.containerStart(id);
    } catch (err) {
      throw new StartError(
        'RunContainerError',
        `failed to start container "${id}": ${(err as Error).message}`,
      );
    }
    emit('Normal', 'Started', `Started container ${c.name}`);
    ctx.waiting.delete(k);
    if (c.lifecycle?.postStart) {
      const r = await runHandler(
        c.lifecycle.postStart,
        { engine: ctx.engine, containerId: id, container: c, podIP: st.facts.podIP ?? '' },
        30,
      );
      if (r.result === 'failure') {
        emit('Warning', 'FailedPostStartHook', `PostStartHook failed: ${r.output}`);
        const info = await ctx.engine.containerInspect(id);
        if (info)
          await stopContainer({ engine: ctx.engine, info, pod, container: c, podIP: st.facts.podIP ?? '' });
        throw new StartError('PostStartHookError', r.output);
      }
    }
    // Keep the previous instance (logs --previous), drop older ones.
    for (const old of (st.view.containers.get(c.name) ?? []).slice(1))
      await ctx.engine.containerRemove(old.Id, { force: true }).catch(() => undefined);
    return true;
  } catch (err) {
    if (!(err instanceof StartError)) throw err;
    ctx.waiting.set(k, { reason: err.reason, message: err.message });
    if (err.reason !== 'ImagePullBackOff' && err.reason !== 'ErrImagePull')
      emit('Warning', err.eventReason, `Error: ${err.message}`);
    else emit('Warning', 'Failed', `Error: ${err.reason}`);
    return false;
  }
}

/** A dead container may start again now, or is backing off (CrashLoopBackOff). */
function mayRestart(ctx: SyncContext, pod: Pod, c: Container, info: ContainerInspect, st: PodState): boolean {
  const k = key(pod, c.name);
  const finished = Date.parse(info.State.FinishedAt) || Date.now();
  if (ctx.crashBackoff.inBackoffSince(k, finished)) {
    const delay = ctx.crashBackoff.delay(k) / 1000;
    ctx.waiting.set(k, {
      reason: 'CrashLoopBackOff',
      message: `back-off ${delay}s restarting failed container=${c.name} pod=${podRef(pod)}`,
    });
    ctx.record(pod, {
      type: 'Warning',
      reason: 'BackOff',
      message: `Back-off restarting failed container ${c.name} in pod ${podRef(pod)}`,
      fieldPath: fieldPath(pod, c),
    });
    st.retryAfterMs = Math.min(st.retryAfterMs ?? Infinity, ctx.crashBackoff.remaining(k, finished));
    return false;
  }
  ctx.crashBackoff.next(k, finished);
  return true;
}

export async function syncPod(ctx: SyncContext, pod: Pod, inputs: PodInputs): Promise<SyncResult> {
  const uid = pod.metadata!.uid!;
  let view = await inspectPod(ctx.engine, uid);
  const sandbox = await ensureSandbox(ctx, pod, inputs, view);
  if (!sandbox) return { terminal: true };
  if (sandbox.Id !== view.sandboxes[0]?.Id) view = await inspectPod(ctx.engine, uid);
  const podIP = pod.spec?.hostNetwork ? ctx.hostIP : sandboxIP(sandbox, ctx.network.name);
  const facts: PodFacts = { podIP, podIPs: podIP ? [podIP] : [], hostIP: ctx.hostIP, nodeName: ctx.nodeName };
  let volumes: Map<string, VolumeSource>;
  try {
    volumes = await preparePodVolumes({ root: ctx.root, engine: ctx.engine, pod, inputs, facts });
  } catch (err) {
    if (!(err instanceof StartError)) throw err;
    ctx.record(pod, { type: 'Warning', reason: err.eventReason, message: err.message });
    return { terminal: false, retryAfterMs: 2000 };
  }
  await fsp.mkdir(podDir(ctx.root, uid), { recursive: true });
  await fsp.writeFile(hostsPath(ctx.root, uid), hostsFile(pod, podIP, inputs.clusterDns?.domain), {
    mode: 0o644,
  });
  const st: PodState = { view, sandbox, facts, volumes };
  const result = (terminal: boolean): SyncResult => ({
    terminal,
    ...(st.retryAfterMs !== undefined && Number.isFinite(st.retryAfterMs)
      ? { retryAfterMs: Math.ceil(st.retryAfterMs) }
      : {}),
  });

  for (const c of pod.spec?.initContainers ?? []) {
    const sidecar = c.restartPolicy === 'Always';
    const cur = view.containers.get(c.name)?.[0];
    if (!cur) {
      if (!(await startContainer(ctx, pod, c, true, st, inputs)) || !sidecar) return result(false);
      continue;
    }
    if (cur.State.Running) {
      if (sidecar) continue;
      return result(false);
    }
    if (!sidecar && cur.State.Status === 'exited' && cur.State.ExitCode === 0) continue;
    if (!sidecar && (pod.spec?.restartPolicy ?? 'Always') === 'Never') return result(true);
    if (mayRestart(ctx, pod, c, cur, st)) await startContainer(ctx, pod, c, true, st, inputs);
    if (!sidecar) return result(false);
  }

  let alive = 0;
  for (const c of pod.spec?.containers ?? []) {
    const cur = view.containers.get(c.name)?.[0];
    if (!cur) {
      // Started or waiting to (a pull back-off, a missing ConfigMap): either way not finished.
      await startContainer(ctx, pod, c, false, st, inputs);
      alive++;
      continue;
    }
    if (cur.State.Running) {
      if (annotation(cur.Config.Labels, ANN_HASH) !== containerHash(c)) {
        ctx.record(pod, {
          type: 'Normal',
          reason: 'Killing',
          message: `Container ${c.name} definition changed, will be restarted`,
          fieldPath: fieldPath(pod, c),
        });
        await stopContainer({ engine: ctx.engine, info: cur, pod, container: c, podIP });
        await startContainer(ctx, pod, c, false, st, inputs);
      }
      alive++;
      continue;
    }
    if (!shouldRestart(pod, c, cur)) continue;
    alive++;
    if (mayRestart(ctx, pod, c, cur, st)) await startContainer(ctx, pod, c, false, st, inputs);
  }
  // Ephemeral containers (kubectl debug) start once in a running pod and are never restarted.
  if (alive)
    for (const e of pod.spec?.ephemeralContainers ?? [])
      if (!view.containers.get(e.name)?.length) await startContainer(ctx, pod, e, false, st, inputs);
  return result(alive === 0);
}
