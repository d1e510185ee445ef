/**
 * The kubelet's probe workers (pkg/kubelet/prober): one loop per running container instance and probe kind. The
 * first probe runs at once and then every periodSeconds, skipped while the container is younger than
 * initialDelaySeconds and, for liveness and readiness, until a startup probe has succeeded. A result flips after
 * successThreshold successes or failureThreshold failures. Readiness starts as failure; every failed probe is an
 * `Unhealthy` event; a liveness or startup failure puts the worker on hold and asks the kubelet to kill the
 * container (the next instance gets fresh workers).
 */
import type { Logger } from '../log.js';
import type { PodRuntime, ProbeStates, RuntimePodStatus } from './provider.js';
import type { Container, Pod, Probe } from './types.js';

export type ProbeKind = 'startup' | 'liveness' | 'readiness';

export interface ProberHooks {
  /** A result changed: the pod's status should be recomputed. */
  changed(uid: string): void;
  /** A liveness or startup probe failed for good: kill the container. */
  failed(pod: Pod, container: Container, kind: 'liveness' | 'startup'): void;
  unhealthy(pod: Pod, container: Container, message: string): void;
}

interface Worker {
  kind: ProbeKind;
  uid: string;
  container: Container;
  containerId: string;
  startedAt: number;
  probe: Probe;
  successes: number;
  failures: number;
  /** undefined: no result yet. */
  result?: boolean;
  onHold: boolean;
  timer?: NodeJS.Timeout;
  stopped: boolean;
}

const TITLE: Record<ProbeKind, string> = { startup: 'Startup', liveness: 'Liveness', readiness: 'Readiness' };

export class ProbeManager {
  /** By container id, then kind. */
  private readonly workers = new Map<string, Map<ProbeKind, Worker>>();
  private readonly pods = new Map<string, Pod>();

  constructor(
    private readonly runtime: PodRuntime,
    private readonly hooks: ProberHooks,
    private readonly log: Logger,
  ) {}

  /** Starts workers for newly running containers and stops those of instances that are gone. */
  update(pod: Pod, rs: RuntimePodStatus): void {
    const uid = pod.metadata!.uid!;
    this.pods.set(uid, pod);
    const live = new Set<string>();
    const specs = [...(pod.spec?.initContainers ?? []), ...(pod.spec?.containers ?? [])];
    for (const s of [...rs.initContainerStatuses, ...rs.containerStatuses]) {
      const started = s.state?.running?.startedAt;
      const id = s.containerID?.replace(/^docker:\/\//, '');
      const c = specs.find((x) => x.name === s.name);
      if (!started || !id || !c) continue;
      live.add(id);
      if (this.workers.has(id)) continue;
      const kinds = new Map<ProbeKind, Worker>();
      const add = (kind: ProbeKind, probe: Probe | undefined) => {
        if (!probe) return;
        kinds.set(kind, {
          kind,
          uid,
          container: c,
          containerId: id,
          startedAt: Date.parse(started),
          probe,
          successes: 0,
          failures: 0,
          ...(kind === 'readiness' ? { result: false } : {}),
          onHold: false,
          stopped: false,
        });
      };
      add('startup', c.startupProbe);
      add('liveness', c.livenessProbe);
      add('readiness', c.readinessProbe);
      if (!kinds.size) continue;
      this.workers.set(id, kinds);
      for (const w of kinds.values()) this.schedule(w, 0);
    }
    for (const [id, kinds] of this.workers)
      if (!live.has(id) && [...kinds.values()][0]?.uid === uid) this.stopWorkers(id);
  }

  /** Readiness and startup by container for the runtime's status. */
  states(uid: string): ProbeStates {
    return (_name, containerId) => {
      const kinds = containerId ? this.workers.get(containerId) : undefined;
      if (!kinds || [...kinds.values()][0]?.uid !== uid) return undefined;
      const startup = kinds.get('startup');
      const readiness = kinds.get('readiness');
      const started = startup ? startup.result === true : true;
      return { started, ready: started && (readiness ? readiness.result === true : true) };
    };
  }

  removePod(uid: string): void {
    this.pods.delete(uid);
    for (const [id, kinds] of this.workers) if ([...kinds.values()][0]?.uid === uid) this.stopWorkers(id);
  }

  stop(): void {
    for (const id of [...this.workers.keys()]) this.stopWorkers(id);
    this.pods.clear();
  }

  private stopWorkers(id: string): void {
    for (const w of this.workers.get(id)?.values() ?? []) {
      w.stopped = true;
      clearTimeout(w.timer);
    }
    this.workers.delete(id);
  }

  private schedule(w: Worker, ms: number): void {
    if (w.stopped) return;
    w.timer = setTimeout(() => void this.tick(w), ms);
    w.timer.unref();
  }

  private async tick(w: Worker): Promise<void> {
    const period = Math.max(1, w.probe.periodSeconds ?? 10) * 1000;
    const pod = this.pods.get(w.uid);
    if (w.stopped || !pod) return;
    const startup = this.workers.get(w.containerId)?.get('startup');
    const blocked =
      w.onHold ||
      (w.kind !== 'startup' && startup !== undefined && startup.result !== true) ||
      Date.now() - w.startedAt < (w.probe.initialDelaySeconds ?? 0) * 1000;
    if (blocked) return this.schedule(w, period);
    let ok: boolean;
    let output: string;
    let errored = false;
    try {
      const r = await this.runtime.probe(pod, w.container.name, w.probe);
      ok = r.result === 'success';
      output = r.output.trim();
    } catch (err) {
      ok = false;
      errored = true;
      output = (err as Error).message;
    }
    if (w.stopped) return;
    const before = w.result;
    if (ok) {
      w.failures = 0;
      if (++w.successes >= Math.max(1, w.probe.successThreshold ?? 1)) w.result = true;
    } else {
      w.successes = 0;
      this.hooks.unhealthy(
        pod,
        w.container,
        `${TITLE[w.kind]} probe ${errored ? 'errored' : 'failed'}: ${output}`,
      );
      if (++w.failures >= Math.max(1, w.probe.failureThreshold ?? 3)) w.result = false;
    }
    if (w.result !== before) {
      this.log.debug('probe result changed', {
        pod: pod.metadata?.name,
        container: w.container.name,
        kind: w.kind,
        result: w.result,
      });
      if (w.kind !== 'liveness') this.hooks.changed(w.uid);
    }
    if (w.kind === 'startup' && w.result === true) {
      // Started: the startup worker's job is done; the others run from here on.
      w.stopped = true;
      return;
    }
    if ((w.kind === 'liveness' || w.kind === 'startup') && w.result === false) {
      w.onHold = true;
      this.hooks.failed(pod, w.container, w.kind);
    }
    this.schedule(w, period);
  }
}
