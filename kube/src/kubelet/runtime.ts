/**
 * The engine-backed PodRuntime: pods as berthd containers over the Engine API only. No pod state is kept that the
 * engine cannot give back (labels, names, inspect), apart from the kubelet's back-offs and waiting reasons; so a new
 * EngineRuntime over the same engine adopts the running pods, as berthd's runtime adopts its containers.
 */
import type { Duplex, Readable } from 'node:stream';
import { Backoff } from './backoff.js';
import { EngineClient } from './engine/client.js';
import type { PodInputs } from './inputs.js';
import { LABEL_TYPE, TYPE_SANDBOX } from './naming.js';
import { PauseImageSource } from './pause-image.js';
import { syncPod, type SyncContext } from './pod-sync.js';
import { inspectPod, listPodGroups } from './pod-view.js';
import { runHandler, type ProbeResult } from './probes.js';
import type {
  EventRecorder,
  LogOptions,
  PodRuntime,
  PodStats,
  ProbeStates,
  RuntimePod,
  RuntimePodStatus,
  StreamOptions,
  StreamSession,
  SyncResult,
} from './provider.js';
import { DEFAULT_POD_NETWORK, ensurePodNetwork, sandboxIP, type PodNetworkConfig } from './sandbox.js';
import { qosClass } from './security.js';
import { containerStatus, k8sTime, podPhase } from './status.js';
import { stopContainer } from './stop.js';
import { attachSession, containerLogs, execSession, lastLogLines, podStats, portForward } from './streams.js';
import { imageIdFor } from './images.js';
import type { Container, ContainerStatus, Pod, Probe } from './types.js';
import {
  cleanupPodVolumes,
  memoryVolumeName,
  POD_VOLUME_LABEL,
  refreshPodVolumes,
} from './volumes/prepare.js';

export interface EngineRuntimeOptions {
  /** unix:///path/to/engine.sock */
  engine: string | EngineClient;
  /** The kubelet's data directory (pods/<uid>/volumes, etc-hosts, termination logs). */
  root: string;
  nodeName: string;
  hostIP: string;
  network?: PodNetworkConfig;
  pauseBinary?: string;
  nodeMemory?: number;
  record?: EventRecorder;
  /** CrashLoopBackOff and image pull back-off (the kubelet's 10 s doubling to 5 min). */
  backoff?: { initialMs: number; maxMs: number };
}

export class EngineRuntime implements PodRuntime {
  readonly engine: EngineClient;
  private readonly ctx: SyncContext;
  private readonly locks = new Map<string, Promise<unknown>>();
  private readonly imageIds = new Map<string, { id: string; at: number }>();

  constructor(o: EngineRuntimeOptions) {
    this.engine = typeof o.engine === 'string' ? new EngineClient(o.engine) : o.engine;
    const b = o.backoff ?? { initialMs: 10_000, maxMs: 300_000 };
    this.ctx = {
      engine: this.engine,
      root: o.root,
      network: o.network ?? DEFAULT_POD_NETWORK,
      pause: new PauseImageSource(this.engine, ...(o.pauseBinary ? [o.pauseBinary] : [])),
      nodeName: o.nodeName,
      hostIP: o.hostIP,
      ...(o.nodeMemory ? { nodeMemory: o.nodeMemory } : {}),
      crashBackoff: new Backoff(b.initialMs, b.maxMs),
      pullBackoff: new Backoff(b.initialMs, b.maxMs),
      pullBackoffAt: new Map(),
      waiting: new Map(),
      restartCounts: new Map(),
      record: o.record ?? (() => undefined),
    };
  }

  get network(): PodNetworkConfig {
    return this.ctx.network;
  }

  /** Readies what every pod needs (the pause image, the pod network), so the first pod does not wait for it. */
  async prepare(): Promise<void> {
    await this.ctx.pause.ensure();
    await ensurePodNetwork(this.engine, this.ctx.network);
  }

  /**
   * One line per pod of what the engine runs for it (container ids and states), for the kubelet's relist: a pod
   * whose line changed between two relists needs a sync.
   */
  async podStates(): Promise<Map<string, string>> {
    const out = new Map<string, string>();
    for (const g of await listPodGroups(this.engine))
      out.set(
        g.uid,
        g.summaries
          .map((s) => `${s.Id}:${s.State}`)
          .sort()
          .join(','),
      );
    return out;
  }

  /** One operation per pod at a time: a sync and a kill of the same pod never interleave. */
  private async locked<T>(uid: string, fn: () => Promise<T>): Promise<T> {
    const prev = this.locks.get(uid) ?? Promise.resolve();
    const run = prev.then(fn, fn);
    const tail = run.catch(() => undefined);
    this.locks.set(uid, tail);
    try {
      return await run;
    } finally {
      if (this.locks.get(uid) === tail) this.locks.delete(uid);
    }
  }

  syncPod(pod: Pod, inputs: PodInputs): Promise<SyncResult> {
    return this.locked(pod.metadata!.uid!, () => syncPod(this.ctx, pod, inputs));
  }

  killPod(pod: Pod, gracePeriodSeconds?: number): Promise<void> {
    const uid = pod.metadata!.uid!;
    return this.locked(uid, async () => {
      const view = await inspectPod(this.engine, uid);
      const podIP = view.sandboxes[0] ? sandboxIP(view.sandboxes[0], this.ctx.network.name) : '';
      const all = [...(pod.spec?.initContainers ?? []), ...(pod.spec?.containers ?? [])];
      await Promise.all(
        [...view.containers.entries()].flatMap(([name, list]) =>
          list
            .filter((i) => i.State.Running)
            .map((info) => {
              const container = all.find((c) => c.name === name);
              this.ctx.record(pod, {
                type: 'Normal',
                reason: 'Killing',
                message: `Stopping container ${name}`,
                fieldPath: (pod.spec?.initContainers ?? []).some((c) => c.name === name)
                  ? `spec.initContainers{${name}}`
                  : `spec.containers{${name}}`,
              });
              return stopContainer({
                engine: this.engine,
                info,
                pod,
                ...(container ? { container } : {}),
                podIP,
                ...(gracePeriodSeconds !== undefined ? { gracePeriodSeconds } : {}),
                onHookFailure: (m) =>
                  this.ctx.record(pod, {
                    type: 'Warning',
                    reason: 'FailedPreStopHook',
                    message: `PreStopHook failed: ${m}`,
                  }),
              });
            }),
        ),
      );
      for (const s of view.sandboxes)
        if (s.State.Running)
          await stopContainer({ engine: this.engine, info: s, podIP, gracePeriodSeconds: 2 });
    });
  }

  killContainer(pod: Pod, name: string, gracePeriodSeconds?: number, message?: string): Promise<void> {
    return this.locked(pod.metadata!.uid!, async () => {
      const view = await inspectPod(this.engine, pod.metadata!.uid!);
      const info = view.containers.get(name)?.[0];
      if (!info?.State.Running) return;
      const init = (pod.spec?.initContainers ?? []).some((c) => c.name === name);
      const container = [...(pod.spec?.initContainers ?? []), ...(pod.spec?.containers ?? [])].find(
        (c) => c.name === name,
      );
      this.ctx.record(pod, {
        type: 'Normal',
        reason: 'Killing',
        message: message ?? `Stopping container ${name}`,
        fieldPath: init ? `spec.initContainers{${name}}` : `spec.containers{${name}}`,
      });
      await stopContainer({
        engine: this.engine,
        info,
        pod,
        ...(container ? { container } : {}),
        podIP: view.sandboxes[0] ? sandboxIP(view.sandboxes[0], this.ctx.network.name) : '',
        ...(gracePeriodSeconds !== undefined ? { gracePeriodSeconds } : {}),
        onHookFailure: (m) =>
          this.ctx.record(pod, {
            type: 'Warning',
            reason: 'FailedPreStopHook',
            message: `PreStopHook failed: ${m}`,
          }),
      });
    });
  }

  removePod(uid: string): Promise<void> {
    return this.locked(uid, async () => {
      const list = await this.engine.containerList({ all: true, labels: { 'io.kubernetes.pod.uid': uid } });
      // Containers before their sandbox: they hold its namespaces.
      const ordered = [...list].sort(
        (a, b) =>
          Number(a.Labels[LABEL_TYPE] === TYPE_SANDBOX) - Number(b.Labels[LABEL_TYPE] === TYPE_SANDBOX),
      );
      for (const s of ordered)
        await this.engine.containerRemove(s.Id, { force: true }).catch(() => undefined);
      const vols = await this.engine.http
        .json<{ Volumes: { Name: string }[] | null }>('GET', '/volumes', {
          query: { filters: JSON.stringify({ label: [`${POD_VOLUME_LABEL}=${uid}`] }) },
        })
        .catch(() => ({ Volumes: [] }));
      await cleanupPodVolumes(
        this.ctx.root,
        this.engine,
        uid,
        (vols.Volumes ?? []).map((v) => v.Name),
      );
      this.ctx.crashBackoff.forget(`${uid}/`);
      this.ctx.pullBackoff.forget(`${uid}/`);
      for (const m of [this.ctx.waiting, this.ctx.restartCounts, this.ctx.pullBackoffAt])
        for (const k of m.keys()) if (k.startsWith(`${uid}/`)) m.delete(k);
    });
  }

  async podStatus(pod: Pod, probes?: ProbeStates): Promise<RuntimePodStatus> {
    const uid = pod.metadata!.uid!;
    const view = await inspectPod(this.engine, uid);
    const sandbox = view.sandboxes[0];
    const podIP = pod.spec?.hostNetwork
      ? this.ctx.hostIP
      : sandbox?.State.Running
        ? sandboxIP(sandbox, this.ctx.network.name)
        : '';
    const imageIds = this.imageIds;
    const statusOf = async (c: NonNullable<Pod['spec']>['containers'][number]): Promise<ContainerStatus> => {
      const instances = view.containers.get(c.name) ?? [];
      let imageID = '';
      if (instances[0]) {
        const img = instances[0].Image;
        // An image id's digests change only with a pull or tag: remembered for a minute (idle pods cost no inspect).
        const key = `${img}|${c.image ?? ''}`;
        const hit = imageIds.get(key);
        if (hit && Date.now() - hit.at < 60_000) imageID = hit.id;
        else {
          imageID = imageIdFor(await this.engine.imageInspect(img), c.image ?? '');
          imageIds.set(key, { id: imageID, at: Date.now() });
          if (imageIds.size > 512) imageIds.delete(imageIds.keys().next().value!);
        }
      }
      const p = probes?.(c.name, instances[0]?.Id);
      const waiting = this.ctx.waiting.get(`${uid}/${c.name}`);
      return containerStatus({
        container: c,
        instances,
        imageID,
        ...(waiting ? { waiting } : {}),
        ready: p?.ready ?? !c.readinessProbe,
        started: p?.started ?? !c.startupProbe,
        fallbackLogs: (info) => lastLogLines(this.engine, info.Id),
      });
    };
    const initContainerStatuses = await Promise.all((pod.spec?.initContainers ?? []).map(statusOf));
    const containerStatuses = await Promise.all((pod.spec?.containers ?? []).map(statusOf));
    const ephemeralContainerStatuses = await Promise.all(
      (pod.spec?.ephemeralContainers ?? []).map((c) => statusOf(c as Container)),
    );
    const starts = [...view.containers.values(), view.sandboxes]
      .flat()
      .map((i) => k8sTime(i.State.StartedAt))
      .filter((x): x is string => x !== undefined)
      .sort();
    return {
      podIP,
      podIPs: podIP ? [podIP] : [],
      hostIP: this.ctx.hostIP,
      sandboxReady: sandbox?.State.Running === true,
      initContainerStatuses,
      containerStatuses,
      ...(ephemeralContainerStatuses.length ? { ephemeralContainerStatuses } : {}),
      qosClass: qosClass(pod),
      phase: podPhase(pod, initContainerStatuses, containerStatuses),
      ...(starts[0] ? { startedAt: starts[0] } : {}),
    };
  }

  async listPods(): Promise<RuntimePod[]> {
    return (await listPodGroups(this.engine)).map((g) => ({
      uid: g.uid,
      name: g.name,
      namespace: g.namespace,
      running: g.summaries.some((s) => s.State === 'running'),
      containerIds: g.summaries.map((s) => s.Id),
    }));
  }

  async removeOrphans(keep: Set<string>): Promise<string[]> {
    const gone: string[] = [];
    for (const p of await this.listPods()) {
      if (keep.has(p.uid)) continue;
      await this.removePod(p.uid);
      gone.push(p.uid);
    }
    return gone;
  }

  async refreshVolumes(pod: Pod, inputs: PodInputs): Promise<string[]> {
    const view = await inspectPod(this.engine, pod.metadata!.uid!);
    const sb = view.sandboxes[0];
    const podIP = pod.spec?.hostNetwork ? this.ctx.hostIP : sb ? sandboxIP(sb, this.ctx.network.name) : '';
    return refreshPodVolumes({
      root: this.ctx.root,
      engine: this.engine,
      pod,
      inputs,
      facts: { podIP, podIPs: podIP ? [podIP] : [], hostIP: this.ctx.hostIP, nodeName: this.ctx.nodeName },
    });
  }

  /** The newest instance of a container, or the kubelet's error when there is none (relayed by the API server). */
  async runningContainer(pod: Pod, name: string) {
    const view = await inspectPod(this.engine, pod.metadata!.uid!);
    const info = view.containers.get(name)?.[0];
    if (!info) throw new Error(`container not found ("${name}")`);
    return { info, view };
  }

  async probe(pod: Pod, container: string, probe: Probe): Promise<ProbeResult> {
    const { info, view } = await this.runningContainer(pod, container);
    const c = [...(pod.spec?.initContainers ?? []), ...(pod.spec?.containers ?? [])].find(
      (x) => x.name === container,
    )!;
    const sb = view.sandboxes[0];
    const podIP = pod.spec?.hostNetwork ? '127.0.0.1' : sb ? sandboxIP(sb, this.ctx.network.name) : '';
    return runHandler(
      probe,
      { engine: this.engine, containerId: info.Id, container: c, podIP },
      probe.timeoutSeconds ?? 1,
    );
  }

  async logs(pod: Pod, o: LogOptions, signal?: AbortSignal): Promise<Readable> {
    const view = await inspectPod(this.engine, pod.metadata!.uid!);
    return containerLogs(this.engine, pod, view, o, signal);
  }

  async exec(pod: Pod, cmd: string[], o: StreamOptions): Promise<StreamSession> {
    const { info } = await this.runningContainer(pod, o.container);
    return execSession(this.engine, info, cmd, o);
  }

  async attach(pod: Pod, o: StreamOptions): Promise<StreamSession> {
    const { info } = await this.runningContainer(pod, o.container);
    return attachSession(this.engine, info, o);
  }

  async portForward(pod: Pod, port: number): Promise<Duplex> {
    const view = await inspectPod(this.engine, pod.metadata!.uid!);
    const sb = view.sandboxes[0];
    if (!sb?.State.Running) throw new Error(`pod ${pod.metadata!.name} has no running sandbox`);
    return portForward(this.engine, sb.Id, (await this.ctx.pause.ensure()).path, port);
  }

  async stats(pod: Pod): Promise<PodStats> {
    return podStats(this.engine, await inspectPod(this.engine, pod.metadata!.uid!));
  }

  /** Names of the engine volumes a pod's memory emptyDirs use (for tests and cleanup). */
  memoryVolumes(pod: Pod): string[] {
    return (pod.spec?.volumes ?? [])
      .filter((v) => v.emptyDir?.medium === 'Memory')
      .map((v) => memoryVolumeName(pod.metadata!.uid!, v.name));
  }
}
