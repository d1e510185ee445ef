/**
 * The kubelet's pod workers: one per pod uid, each running its syncs one at a time (a sync asked for while one runs
 * runs right after it). A sync is the kubelet's SyncPod: resolve the pod's inputs, let the runtime advance it,
 * read its status back, update the probes and write the API status when it changed. Terminal pods stop their
 * sandbox and are left alone; a pod being deleted is killed within its grace period, its final status written,
 * its containers removed, then the pod object deleted (grace 0, uid precondition), as the kubelet does; a pod gone
 * from the API is killed and removed; activeDeadlineSeconds fails the pod with DeadlineExceeded. Each pod is synced
 * again when something concerns it (the API, the engine's events, probes, its ConfigMaps and Secrets), when a
 * back-off expires, and at least every resync period.
 */
import { isKubeError } from '../errors.js';
import type { Client } from '../client/index.js';
import type { Logger } from '../log.js';
import { typedApi } from './api.js';
import {
  apiPodStatus,
  stableJson,
  statusEqual,
  terminatedPhase,
  type TerminalOverride,
} from './api-status.js';
import { rfc3339, type EventRecorder } from './events.js';
import { references, type InputsResolver, type PodReferences } from './pod-inputs.js';
import type { ProbeManager } from './prober.js';
import type { PodRuntime, RuntimePodStatus } from './provider.js';
import type { Pod, PodStatus } from './types.js';

export interface PodWorkersDeps {
  runtime: PodRuntime;
  client: Client;
  resolver: InputsResolver;
  prober: ProbeManager;
  recorder: EventRecorder;
  log: Logger;
  /** False while berthd does not answer: syncs wait for it (the kubelet kicks every pod when it is back). */
  engineUp(): boolean;
  resyncMs: number;
  /** Called when a worker has removed its pod for good. */
  onRemoved?(uid: string): void;
}

interface Worker {
  uid: string;
  pod: Pod;
  /** Deleted from the API server (a DELETED event). */
  gone: boolean;
  busy: boolean;
  again: boolean;
  timer?: NodeJS.Timeout;
  dueAt: number;
  failures: number;
  /** Reached a terminal phase and its sandbox is stopped: nothing runs for it any more. */
  finished: boolean;
  done: boolean;
  refs?: { rv: string; refs: PodReferences };
}

/** A config error (missing ConfigMap...) is retried this often; the watches also retry at once on a change. */
const WAITING_RETRY_MS = 10_000;
const RETRYABLE_WAITING = new Set([
  'CreateContainerConfigError',
  'CreateContainerError',
  'RunContainerError',
  'InvalidImageName',
  'ErrImageNeverPull',
  'PostStartHookError',
]);
const DEADLINE_MESSAGE = 'Pod was active on the node longer than the specified deadline';

const terminalPhase = (p: Pod) => p.status?.phase === 'Succeeded' || p.status?.phase === 'Failed';
const rvNumber = (p: Pod) => Number(p.metadata?.resourceVersion ?? 0) || 0;

/** What in a pod, apart from its status, makes a sync worthwhile when it changes. */
const syncRelevant = (p: Pod) =>
  stableJson({
    spec: p.spec,
    labels: p.metadata?.labels,
    annotations: p.metadata?.annotations,
    deletionTimestamp: p.metadata?.deletionTimestamp,
    deletionGracePeriodSeconds: p.metadata?.deletionGracePeriodSeconds,
  });

export class PodWorkers {
  private readonly workers = new Map<string, Worker>();
  private stopped = false;

  constructor(private readonly d: PodWorkersDeps) {}

  /** The API server's pod (added or changed). */
  update(pod: Pod): void {
    const uid = pod.metadata!.uid!;
    let w = this.workers.get(uid);
    if (!w) {
      w = {
        uid,
        pod,
        gone: false,
        busy: false,
        again: false,
        dueAt: 0,
        failures: 0,
        finished: false,
        done: false,
      };
      this.workers.set(uid, w);
      this.kick(uid);
      return;
    }
    if (w.done || rvNumber(pod) < rvNumber(w.pod)) return;
    const relevant = syncRelevant(pod) !== syncRelevant(w.pod);
    w.pod = pod;
    if (relevant) this.kick(uid);
  }

  /** The pod is gone from the API server. */
  remove(pod: Pod): void {
    const w = this.workers.get(pod.metadata!.uid!);
    if (!w || w.done) return;
    w.gone = true;
    w.pod = { ...pod, status: w.pod.status ?? {} };
    this.kick(w.uid);
  }

  has(uid: string): boolean {
    return this.workers.has(uid);
  }

  uids(): string[] {
    return [...this.workers.keys()];
  }

  /** Pods of `namespace` that reference ConfigMap or Secret `name`. */
  referencing(kind: 'configMaps' | 'secrets', namespace: string, name: string): string[] {
    const out: string[] = [];
    for (const w of this.workers.values()) {
      if (w.done || (w.pod.metadata?.namespace ?? 'default') !== namespace) continue;
      const rv = w.pod.metadata?.resourceVersion ?? '';
      if (w.refs?.rv !== rv) w.refs = { rv, refs: references(w.pod) };
      if (w.refs.refs[kind].has(name)) out.push(w.uid);
    }
    return out;
  }

  /** Sync the pod within `ms` (sooner if already due sooner). */
  kick(uid: string, ms = 0): void {
    const w = this.workers.get(uid);
    if (!w || w.done || this.stopped) return;
    const at = Date.now() + ms;
    if (w.timer && w.dueAt <= at) return;
    clearTimeout(w.timer);
    w.dueAt = at;
    w.timer = setTimeout(() => {
      w.timer = undefined;
      void this.run(w);
    }, ms);
    w.timer.unref();
  }

  kickAll(): void {
    for (const uid of this.workers.keys()) this.kick(uid);
  }

  stop(): void {
    this.stopped = true;
    for (const w of this.workers.values()) clearTimeout(w.timer);
  }

  /** Resolves when no sync runs or is due within `ms` (tests). */
  async idle(ms = 50): Promise<void> {
    const busy = () =>
      [...this.workers.values()].some((w) => w.busy || (w.timer !== undefined && w.dueAt - Date.now() < ms));
    while (busy()) await new Promise((r) => setTimeout(r, 10));
  }

  private async run(w: Worker): Promise<void> {
    if (w.busy) {
      w.again = true;
      return;
    }
    w.busy = true;
    let next: number | undefined;
    try {
      next = await this.sync(w);
      w.failures = 0;
    } catch (err) {
      w.failures++;
      this.d.log[w.failures === 1 ? 'warn' : 'debug']('pod sync failed; retrying', {
        pod: `${w.pod.metadata?.namespace}/${w.pod.metadata?.name}`,
        attempt: w.failures,
        error: (err as Error).message,
      });
      next = Math.min(500 * 2 ** w.failures, 30_000);
    } finally {
      w.busy = false;
    }
    if (w.done) {
      this.workers.delete(w.uid);
      this.d.onRemoved?.(w.uid);
      return;
    }
    if (w.again) {
      w.again = false;
      this.kick(w.uid);
    } else if (next !== undefined) this.kick(w.uid, next);
    else if (!w.finished) this.kick(w.uid, this.d.resyncMs * (0.9 + Math.random() * 0.2));
  }

  /** One pass for the pod; resolves to when it wants the next one (undefined: the resync period). */
  private async sync(w: Worker): Promise<number | undefined> {
    if (!this.d.engineUp()) return undefined;
    const pod = w.pod;
    if (w.gone) return this.teardown(w);
    if (pod.metadata?.deletionTimestamp) return this.terminate(w);
    if (terminalPhase(pod)) {
      if (!w.finished) await this.finish(w);
      return undefined;
    }
    const deadline = this.deadlineLeft(pod);
    if (deadline !== undefined && deadline <= 0) return this.deadlineExceeded(w);
    const t0 = performance.now();
    const inputs = await this.d.resolver.resolve(pod);
    const result = await this.d.runtime.syncPod(pod, inputs);
    const t1 = performance.now();
    const rs = await this.d.runtime.podStatus(pod, this.d.prober.states(w.uid));
    if (w.gone || w.pod.metadata?.deletionTimestamp) return 0;
    this.d.prober.update(pod, rs);
    const t2 = performance.now();
    const status = await this.writeStatus(w, rs);
    this.d.log.debug('pod synced', {
      pod: `${pod.metadata?.namespace}/${pod.metadata?.name}`,
      phase: status.phase,
      syncMs: Math.round(t1 - t0),
      statusMs: Math.round(t2 - t1),
      writeMs: Math.round(performance.now() - t2),
    });
    if (status.phase === 'Succeeded' || status.phase === 'Failed') {
      await this.finish(w);
      return undefined;
    }
    const waits = [...rs.initContainerStatuses, ...rs.containerStatuses].some((s) =>
      RETRYABLE_WAITING.has(s.state?.waiting?.reason ?? ''),
    );
    const candidates = [result.retryAfterMs, waits ? WAITING_RETRY_MS : undefined, deadline].filter(
      (x): x is number => x !== undefined,
    );
    return candidates.length ? Math.max(0, Math.min(...candidates)) : undefined;
  }

  /** ms until activeDeadlineSeconds passes (from status.startTime), or undefined without a deadline. */
  private deadlineLeft(pod: Pod): number | undefined {
    const ads = pod.spec?.activeDeadlineSeconds;
    const start = pod.status?.startTime ? Date.parse(pod.status.startTime) : undefined;
    if (ads === undefined || ads === null || start === undefined || Number.isNaN(start)) return undefined;
    return start + ads * 1000 - Date.now();
  }

  /** Writes the pod's status if it changed; retries a conflict against the newest object. */
  private async writeStatus(
    w: Worker,
    rs: RuntimePodStatus,
    terminal?: TerminalOverride,
  ): Promise<PodStatus> {
    const pods = typedApi<Pod>(this.d.client, 'v1', 'pods');
    for (let attempt = 0; ; attempt++) {
      const status = apiPodStatus({
        pod: w.pod,
        rs,
        now: rfc3339(new Date()),
        ...(terminal ? { terminal } : {}),
      });
      if (statusEqual(w.pod.status, status)) return status;
      try {
        const updated = await pods.updateStatus({ ...w.pod, status });
        if (rvNumber(updated) >= rvNumber(w.pod)) w.pod = updated;
        return status;
      } catch (err) {
        if (isKubeError(err, 'NotFound')) return status;
        if (!isKubeError(err, 'Conflict') || attempt >= 3) throw err;
        const fresh = await pods.get(w.pod.metadata!.name!, {
          namespace: w.pod.metadata!.namespace ?? 'default',
        });
        if (fresh.metadata?.uid !== w.uid) return status;
        w.pod = fresh;
      }
    }
  }

  /** A terminal pod: stop whatever still runs (sidecars, the sandbox); keep the dead containers for logs. */
  private async finish(w: Worker): Promise<void> {
    this.d.prober.removePod(w.uid);
    await this.d.runtime.killPod(w.pod);
    w.finished = true;
  }

  private async deadlineExceeded(w: Worker): Promise<undefined> {
    this.d.recorder.pod(w.pod, { type: 'Normal', reason: 'DeadlineExceeded', message: DEADLINE_MESSAGE });
    this.d.prober.removePod(w.uid);
    await this.d.runtime.killPod(w.pod);
    const rs = await this.d.runtime.podStatus(w.pod);
    await this.writeStatus(w, rs, { phase: 'Failed', reason: 'DeadlineExceeded', message: DEADLINE_MESSAGE });
    w.finished = true;
    return undefined;
  }

  /** Graceful deletion: kill within the grace period, report the final status, clean up, delete the object. */
  private async terminate(w: Worker): Promise<undefined> {
    const pod = w.pod;
    const grace = pod.metadata?.deletionGracePeriodSeconds ?? pod.spec?.terminationGracePeriodSeconds ?? 30;
    this.d.prober.removePod(w.uid);
    await this.d.runtime.killPod(pod, grace);
    const rs = await this.d.runtime.podStatus(pod);
    const phase = terminalPhase(pod) ? (pod.status!.phase as 'Succeeded' | 'Failed') : terminatedPhase(rs);
    await this.writeStatus(w, rs, { phase });
    await this.d.runtime.removePod(w.uid);
    try {
      await typedApi<Pod>(this.d.client, 'v1', 'pods').delete(pod.metadata!.name!, {
        namespace: pod.metadata!.namespace ?? 'default',
        gracePeriodSeconds: 0,
        preconditions: { uid: w.uid },
      });
    } catch (err) {
      if (!isKubeError(err, 'NotFound') && !isKubeError(err, 'Conflict')) throw err;
    }
    w.done = true;
    this.d.log.debug('pod terminated and removed', {
      pod: `${pod.metadata?.namespace}/${pod.metadata?.name}`,
    });
    return undefined;
  }

  /** Gone from the API (force-deleted, or deleted while finished): kill and remove what is left. */
  private async teardown(w: Worker): Promise<undefined> {
    const pod = w.pod;
    const grace = pod.metadata?.deletionGracePeriodSeconds ?? pod.spec?.terminationGracePeriodSeconds ?? 30;
    this.d.prober.removePod(w.uid);
    // The kubelet's minimum grace period (2 s) applies to a forced deletion too.
    if (!w.finished) await this.d.runtime.killPod(pod, Math.max(2, grace));
    await this.d.runtime.removePod(w.uid);
    w.done = true;
    return undefined;
  }
}
