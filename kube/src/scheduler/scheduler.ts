/**
 * berth-kube's scheduler, kube-scheduler's cycle for the pods whose schedulerName is `default-scheduler`: take the
 * highest-priority pending pod, filter the nodes (snapshot of the informers plus the pods it bound that the watch
 * has not shown yet), score those that fit, and bind asynchronously (claims of WaitForFirstConsumer classes first
 * get their node). A pod that fits nowhere gets kube-scheduler's FitError text as a `FailedScheduling` event and
 * the PodScheduled=False/Unschedulable condition, may preempt lower-priority pods, and waits for a change in the
 * cluster to be tried again.
 */
import { isKubeError } from '../errors.js';
import type { Client } from '../client/index.js';
import type { Logger } from '../log.js';
import { EventRecorder } from '../controllers/framework/events.js';
import { keyOf, type Informer, type InformerFactory } from '../controllers/framework/informer.js';
import { nowRfc3339 } from '../controllers/framework/conditions.js';
import type {
  Condition,
  Namespace,
  Node,
  PersistentVolume,
  PersistentVolumeClaim,
  Pod,
  StorageClass,
} from '../controllers/framework/types.js';
import { deepEqual } from '../registry/generic/metadata.js';
import { NODE_FILTERS, POD_FILTERS, runFilters, type FilterStatus } from './filters.js';
import { fitMessage, preempt, priorityOf } from './preemption.js';
import { SchedulingQueue } from './queue.js';
import { pickNode } from './score.js';
import { buildSnapshot, type NodeInfo, type Snapshot } from './snapshot.js';
import {
  SELECTED_NODE,
  volumeFilter,
  volumePreFilter,
  type VolumeInformers,
  type VolumeState,
} from './volumes.js';

export const SCHEDULER_NAME = 'default-scheduler';
const BIND_VOLUMES_TIMEOUT_MS = 10 * 60_000;

export interface SchedulerOptions {
  client: Client;
  informers: InformerFactory;
  log: Logger;
  /** First back-off after a failed attempt (tests shorten it). */
  backoffMs?: number;
}

/** A pod's spec and metadata without status and bookkeeping: what a scheduling decision depends on. */
function schedulingView(p: Pod): unknown {
  const meta = { ...p.metadata };
  delete meta.resourceVersion;
  delete meta.managedFields;
  delete meta.generation;
  return { meta, spec: p.spec };
}

export class Scheduler {
  private readonly pods: Informer<Pod>;
  private readonly nodes: Informer<Node>;
  private readonly namespaces: Informer<Namespace>;
  private readonly volumes: VolumeInformers;
  private readonly queue: SchedulingQueue;
  private readonly recorder: EventRecorder;
  private readonly log: Logger;
  /** Pods bound by this scheduler that the informer still shows unbound. */
  private readonly assumed = new Map<string, Pod>();
  private readonly binding = new Set<Promise<void>>();
  private loop?: Promise<void>;
  private stopped = false;
  private busy = 0;

  constructor(private readonly o: SchedulerOptions) {
    this.log = o.log;
    this.queue = new SchedulingQueue(Date.now, o.backoffMs);
    this.recorder = new EventRecorder(o.client, SCHEDULER_NAME, this.log);
    this.pods = o.informers.for<Pod>('v1', 'pods');
    this.nodes = o.informers.for<Node>('v1', 'nodes');
    this.namespaces = o.informers.for<Namespace>('v1', 'namespaces');
    this.volumes = {
      pvcs: o.informers.for<PersistentVolumeClaim>('v1', 'persistentvolumeclaims'),
      pvs: o.informers.for<PersistentVolume>('v1', 'persistentvolumes'),
      classes: o.informers.for<StorageClass>('storage.k8s.io/v1', 'storageclasses'),
    };
    this.pods.on({
      add: (p) => this.podChanged(undefined, p),
      update: (old, p) => this.podChanged(old, p),
      delete: (p) => this.podGone(p),
    });
    this.nodes.on({
      add: () => this.queue.moveAll(),
      update: (old, n) => {
        if (old === n) return;
        const view = (x: Node) => [
          x.spec,
          x.metadata?.labels,
          x.status?.allocatable,
          x.status?.conditions?.map((c) => c.status),
        ];
        if (!deepEqual(view(old), view(n))) this.queue.moveAll();
      },
      delete: () => this.queue.moveAll(),
    });
    for (const inf of [this.volumes.pvcs, this.volumes.pvs, this.volumes.classes] as Array<
      Informer<PersistentVolume>
    >)
      inf.on({ add: () => this.queue.moveAll(), update: (a, b) => a !== b && this.queue.moveAll() });
  }

  private wants(p: Pod): boolean {
    return (
      !p.spec?.nodeName &&
      !p.metadata?.deletionTimestamp &&
      (p.spec?.schedulerName ?? SCHEDULER_NAME) === SCHEDULER_NAME &&
      !p.spec?.schedulingGates?.length &&
      p.status?.phase !== 'Succeeded' &&
      p.status?.phase !== 'Failed'
    );
  }

  private podChanged(old: Pod | undefined, p: Pod): void {
    const key = keyOf(p);
    if (p.spec?.nodeName) {
      this.assumed.delete(key);
      this.queue.remove(key);
      // A bound pod that finished or changed its labels may free room or satisfy affinity.
      if (
        old?.spec?.nodeName &&
        old !== p &&
        ((p.status?.phase !== old.status?.phase &&
          (p.status?.phase === 'Succeeded' || p.status?.phase === 'Failed')) ||
          !deepEqual(old.metadata?.labels, p.metadata?.labels))
      )
        this.queue.moveAll();
      return;
    }
    if (!this.wants(p)) {
      this.queue.remove(key);
      return;
    }
    if (old && old !== p && this.queue.has(key) && deepEqual(schedulingView(old), schedulingView(p))) return;
    if (old === p && this.queue.has(key)) return;
    this.queue.add(key, priorityOf(p));
  }

  private podGone(p: Pod): void {
    const key = keyOf(p);
    this.assumed.delete(key);
    this.queue.remove(key);
    if (p.spec?.nodeName) this.queue.moveAll();
  }

  async start(): Promise<void> {
    await this.o.informers.start();
    this.loop = this.run();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.queue.close();
    await this.loop;
    await Promise.allSettled([...this.binding]);
  }

  /** Resolves when nothing is ready to be scheduled or being bound (tests). */
  async idle(): Promise<void> {
    for (;;) {
      const q = this.queue.pending();
      if (!q.active && !q.inFlight && !this.busy && !this.binding.size) break;
      await new Promise((r) => setTimeout(r, 5));
    }
    await this.recorder.flush();
  }

  pending(): ReturnType<SchedulingQueue['pending']> {
    return this.queue.pending();
  }

  private async run(): Promise<void> {
    for (;;) {
      const key = await this.queue.pop();
      if (key === undefined || this.stopped) return;
      this.busy++;
      try {
        await this.scheduleOne(key);
      } catch (e) {
        this.log.error('scheduling attempt failed', { pod: key, error: e as Error });
        this.queue.failed(key, false);
      } finally {
        this.busy--;
      }
    }
  }

  private snapshot(): Snapshot {
    const pods = this.pods.list().map((p) => (!p.spec?.nodeName && this.assumed.get(keyOf(p))) || p);
    return buildSnapshot(this.nodes.list(), pods, this.namespaces.list());
  }

  private async scheduleOne(key: string): Promise<void> {
    const pod = this.pods.get(key);
    if (!pod || !this.wants(pod) || this.assumed.has(key)) {
      this.queue.done(key);
      return;
    }
    const snap = this.snapshot();
    if (!snap.nodes.length) return this.failure(pod, 'no nodes available to schedule pods', 'Unschedulable');
    const vol = volumePreFilter(pod, this.volumes);
    const statuses = new Map<string, FilterStatus>();
    if ('code' in vol) {
      for (const ni of snap.nodes) statuses.set(ni.name, vol);
      const post = preempt(pod, snap, statuses, () => vol);
      const msg = fitMessage(snap.nodes.length, statuses, vol.reasons.join(', '));
      return this.failure(
        pod,
        `${msg} preemption: ${'message' in post ? post.message : ''}.`,
        'Unschedulable',
      );
    }
    const check = (p: Pod, ni: NodeInfo) =>
      runFilters(NODE_FILTERS, p, ni, snap) ??
      volumeFilter(vol, ni, this.volumes) ??
      runFilters(POD_FILTERS, p, ni, snap);
    const feasible: NodeInfo[] = [];
    for (const ni of snap.nodes) {
      const s = check(pod, ni);
      if (s) statuses.set(ni.name, s);
      else feasible.push(ni);
    }
    if (feasible.length) {
      const chosen = pickNode(pod, feasible, snap);
      this.assumed.set(key, { ...pod, spec: { ...pod.spec!, nodeName: chosen.name } });
      const b = this.bind(pod, chosen.name, vol).finally(() => this.binding.delete(b));
      this.binding.add(b);
      return;
    }
    const msg = fitMessage(snap.nodes.length, statuses);
    const post = preempt(pod, snap, statuses, check);
    if ('victims' in post) {
      await this.preemptVictims(pod, post.node.name, post.victims);
      return this.failure(pod, msg, 'Unschedulable', post.node.name);
    }
    return this.failure(pod, `${msg} preemption: ${post.message}.`, 'Unschedulable');
  }

  private async preemptVictims(pod: Pod, node: string, victims: Pod[]): Promise<void> {
    const pods = this.o.client.resource<Pod>('v1', 'pods');
    for (const v of victims) {
      const m = v.metadata ?? {};
      const scope = { namespace: m.namespace ?? '' };
      try {
        await pods.patch(
          m.name ?? '',
          'strategic',
          {
            status: {
              conditions: [
                {
                  type: 'DisruptionTarget',
                  status: 'True',
                  reason: 'PreemptionByScheduler',
                  message: `${SCHEDULER_NAME}: preempting to accommodate a higher priority pod`,
                  lastTransitionTime: nowRfc3339(),
                },
              ],
            },
          },
          { ...scope, subresource: 'status' },
        );
        await pods.delete(m.name ?? '', { ...scope, preconditions: { uid: m.uid ?? '' } });
        this.recorder.event(
          v,
          'Normal',
          'Preempted',
          `Preempted by pod ${pod.metadata?.uid} on node ${node}`,
        );
      } catch (e) {
        if (!isKubeError(e, 'NotFound') && !isKubeError(e, 'Conflict')) throw e;
      }
    }
  }

  /** FailedScheduling: the event, the PodScheduled condition (when it changed) and the queue. */
  private async failure(pod: Pod, message: string, reason: string, nominated?: string): Promise<void> {
    const key = keyOf(pod);
    this.queue.failed(key, reason === 'Unschedulable');
    this.recorder.event(pod, 'Warning', 'FailedScheduling', message);
    const cur = (pod.status?.conditions as Condition[] | undefined)?.find((c) => c.type === 'PodScheduled');
    const unchanged =
      cur?.status === 'False' &&
      cur.reason === reason &&
      cur.message === message &&
      (nominated === undefined || pod.status?.nominatedNodeName === nominated);
    if (unchanged) return;
    const condition = {
      type: 'PodScheduled',
      status: 'False',
      lastProbeTime: null,
      lastTransitionTime:
        cur?.status === 'False' && cur.lastTransitionTime ? cur.lastTransitionTime : nowRfc3339(),
      reason,
      message,
    };
    try {
      await this.o.client
        .resource<Pod>('v1', 'pods')
        .patch(
          pod.metadata?.name ?? '',
          'strategic',
          { status: { conditions: [condition], ...(nominated ? { nominatedNodeName: nominated } : {}) } },
          { namespace: pod.metadata?.namespace ?? '', subresource: 'status' },
        );
    } catch (e) {
      if (!isKubeError(e, 'NotFound'))
        this.log.warn('pod condition not written', { pod: key, error: e as Error });
    }
  }

  private async bind(pod: Pod, node: string, vol: VolumeState): Promise<void> {
    const key = keyOf(pod);
    const m = pod.metadata ?? {};
    let stage = 'PreBind plugin "VolumeBinding"';
    try {
      await this.bindVolumes(pod, node, vol);
      stage = 'Bind plugin "DefaultBinder"';
      await this.o.client.bindPod(m.namespace ?? '', m.name ?? '', node, m.uid);
      this.recorder.event(
        pod,
        'Normal',
        'Scheduled',
        `Successfully assigned ${m.namespace}/${m.name} to ${node}`,
      );
      this.queue.done(key);
    } catch (e) {
      this.assumed.delete(key);
      if (isKubeError(e, 'NotFound') || !this.pods.get(key)) {
        this.queue.done(key);
        return;
      }
      this.log.warn('binding failed', { pod: key, node, error: e as Error });
      await this.failure(pod, `running ${stage}: ${(e as Error).message}`, 'SchedulerError');
    }
  }

  /** Delayed claims get the chosen node; then every claim must be bound before the pod is. */
  private async bindVolumes(pod: Pod, node: string, vol: VolumeState): Promise<void> {
    if (!vol.delayed.length) return;
    const pvcs = this.o.client.resource<PersistentVolumeClaim>('v1', 'persistentvolumeclaims');
    for (const { claim } of vol.delayed) {
      if (claim.metadata?.annotations?.[SELECTED_NODE] === node) continue;
      await pvcs.patch(
        claim.metadata?.name ?? '',
        'merge',
        { metadata: { annotations: { [SELECTED_NODE]: node } } },
        { namespace: claim.metadata?.namespace ?? '' },
      );
    }
    const deadline = Date.now() + BIND_VOLUMES_TIMEOUT_MS;
    const ns = pod.metadata?.namespace ?? '';
    for (;;) {
      if (this.stopped) throw new Error('scheduler stopping');
      if (!this.pods.get(keyOf(pod))) throw new Error('pod deleted while binding volumes');
      const unbound = vol.delayed.filter(({ claim }) => {
        const c = this.volumes.pvcs.getIn(ns, claim.metadata?.name ?? '');
        return c?.status?.phase !== 'Bound';
      });
      if (!unbound.length) return;
      if (Date.now() > deadline) throw new Error('binding volumes: context deadline exceeded');
      await new Promise((r) => setTimeout(r, 50));
    }
  }
}
