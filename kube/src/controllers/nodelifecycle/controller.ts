/**
 * The node lifecycle controller, as pkg/controller/nodelifecycle with the taint-eviction controller:
 * - health: a node whose kubelet has neither renewed its Lease nor posted status for the grace period (40 s) gets
 *   its conditions set to Unknown ("Kubelet stopped posting node status.");
 * - TaintNodesByCondition: NoSchedule taints from the conditions (not-ready, unreachable, memory-, disk-,
 *   pid-pressure, network-unavailable) and from spec.unschedulable (what `kubectl cordon` sets);
 * - taint-based eviction: Ready False or Unknown adds the NoExecute `not-ready`/`unreachable` taint, and pods on
 *   the node that do not tolerate it are deleted at once, those that tolerate it for tolerationSeconds (300 s from
 *   the DefaultTolerationSeconds admission plugin) when that has passed since the taint was added.
 */
import { isKubeError } from '../../errors.js';
import type { ResourceClient } from '../../client/index.js';
import { deepEqual } from '../../registry/generic/metadata.js';
import { tolerates, type Taint } from '../../scheduler/filters.js';
import { nowRfc3339 } from '../framework/conditions.js';
import { QueueController, type ControllerContext } from '../framework/controller.js';
import { keyOf, type Informer } from '../framework/informer.js';
import type { Condition, Node, Obj, Pod } from '../framework/types.js';

export const NOT_READY = 'node.kubernetes.io/not-ready';
export const UNREACHABLE = 'node.kubernetes.io/unreachable';
export const UNSCHEDULABLE = 'node.kubernetes.io/unschedulable';

/** nodeConditionToTaintKeyStatusMap. */
const CONDITION_TAINTS: Record<string, Record<string, string>> = {
  Ready: { False: NOT_READY, Unknown: UNREACHABLE },
  MemoryPressure: { True: 'node.kubernetes.io/memory-pressure' },
  DiskPressure: { True: 'node.kubernetes.io/disk-pressure' },
  NetworkUnavailable: { True: 'node.kubernetes.io/network-unavailable' },
  PIDPressure: { True: 'node.kubernetes.io/pid-pressure' },
};
const CONDITION_TAINT_KEYS = new Set([...Object.values(CONDITION_TAINTS).flatMap((m) => Object.values(m))]);

type Lease = Obj<{ spec?: { renewTime?: string; holderIdentity?: string } }>;
type NodeTaint = Taint & { timeAdded?: string };

export interface NodeLifecycleOptions {
  /** How long a silent kubelet is trusted (node-monitor-grace-period, 40 s). */
  gracePeriodMs?: number;
}

export class NodeLifecycleController extends QueueController {
  private readonly nodes: Informer<Node>;
  private readonly leases: Informer<Lease>;
  private readonly pods: Informer<Pod>;
  private readonly nodeClient: ResourceClient<Node>;
  private readonly podClient: ResourceClient<Pod>;
  private readonly grace: number;
  private readonly startedAt: number;

  constructor(ctx: ControllerContext, o: NodeLifecycleOptions = {}) {
    super('nodelifecycle', ctx, 'node-controller');
    this.grace = o.gracePeriodMs ?? 40_000;
    this.startedAt = ctx.now();
    this.nodeClient = ctx.client.resource<Node>('v1', 'nodes');
    this.podClient = ctx.client.resource<Pod>('v1', 'pods');
    this.nodes = ctx.informers.for<Node>('v1', 'nodes');
    this.leases = ctx.informers.for<Lease>('coordination.k8s.io/v1', 'leases');
    this.pods = ctx.informers.for<Pod>('v1', 'pods');
    this.nodes.on({
      add: (n) => this.enqueue(keyOf(n)),
      update: (_o, n) => this.enqueue(keyOf(n)),
    });
    this.leases.on({
      add: (l) => this.leaseChanged(l),
      update: (_o, l) => this.leaseChanged(l),
    });
    // A pod landing on a node with NoExecute taints must be looked at.
    const podSeen = (p: Pod) => {
      const n = p.spec?.nodeName ? this.nodes.get(p.spec.nodeName) : undefined;
      if (n?.spec?.taints?.some((t) => t.effect === 'NoExecute')) this.enqueue(keyOf(n));
    };
    this.pods.on({ add: podSeen, update: (_o, p) => podSeen(p) });
  }

  private leaseChanged(l: Lease): void {
    if (l.metadata?.namespace === 'kube-node-lease' && this.nodes.get(l.metadata.name ?? ''))
      this.enqueue(l.metadata.name ?? '');
  }

  protected initialKeys(): string[] {
    return this.nodes.list().map(keyOf);
  }

  protected async sync(key: string): Promise<void> {
    let node = this.nodes.get(key);
    if (!node) return;
    node = await this.monitorHealth(node);
    node = await this.reconcileTaints(node);
    await this.evict(node);
  }

  /** The newest sign of life: lease renewal, a status heartbeat, or (for a node we just met) our own start. */
  private lastSeen(node: Node): number {
    const lease = this.leases.getIn('kube-node-lease', node.metadata?.name ?? '');
    const ready = node.status?.conditions?.find((c) => c.type === 'Ready');
    return Math.max(
      this.startedAt,
      Date.parse(lease?.spec?.renewTime ?? '') || 0,
      Date.parse(ready?.lastHeartbeatTime ?? '') || 0,
      Date.parse(node.metadata?.creationTimestamp ?? '') || 0,
    );
  }

  private async monitorHealth(node: Node): Promise<Node> {
    const silent = this.now() - this.lastSeen(node);
    const conditions = (node.status?.conditions ?? []) as Condition[];
    if (silent < this.grace) {
      this.enqueueAfter(keyOf(node), this.grace - silent + 100);
      return node;
    }
    const ready = conditions.find((c) => c.type === 'Ready');
    if (ready?.status === 'Unknown') return node;
    const now = nowRfc3339(this.now());
    const types = ['Ready', 'MemoryPressure', 'DiskPressure', 'PIDPressure'];
    const next = types.map((type) => {
      const cur = conditions.find((c) => c.type === type);
      return {
        ...(cur ?? { type }),
        type,
        status: 'Unknown',
        reason: 'NodeStatusUnknown',
        message: 'Kubelet stopped posting node status.',
        lastHeartbeatTime: cur?.lastHeartbeatTime ?? now,
        lastTransitionTime: now,
      };
    });
    const status = {
      ...(node.status ?? {}),
      conditions: [...conditions.filter((c) => !types.includes(c.type)), ...next],
    };
    this.log.info('node stopped posting status', { node: node.metadata?.name });
    this.recorder.event(
      node,
      'Normal',
      'NodeNotReady',
      `Node ${node.metadata?.name} status is now: NodeNotReady`,
    );
    return this.write(node, () => this.nodeClient.updateStatus({ ...node, status }));
  }

  /** The condition and cordon taints the node should carry, in place of the ones it has. */
  private async reconcileTaints(node: Node): Promise<Node> {
    const conditions = (node.status?.conditions ?? []) as Condition[];
    const want: NodeTaint[] = [];
    for (const c of conditions) {
      const key = CONDITION_TAINTS[c.type]?.[c.status];
      if (key) want.push({ key, effect: 'NoSchedule' });
    }
    if (node.spec?.unschedulable) want.push({ key: UNSCHEDULABLE, effect: 'NoSchedule' });
    const ready = conditions.find((c) => c.type === 'Ready')?.status;
    const noExecute = ready === 'False' ? NOT_READY : ready === 'Unknown' ? UNREACHABLE : undefined;
    const have = (node.spec?.taints ?? []) as NodeTaint[];
    const managed = (t: NodeTaint) =>
      (t.effect === 'NoSchedule' && (t.key === UNSCHEDULABLE || CONDITION_TAINT_KEYS.has(t.key))) ||
      (t.effect === 'NoExecute' && (t.key === NOT_READY || t.key === UNREACHABLE));
    const kept = have.filter((t) => !managed(t));
    const next: NodeTaint[] = [...kept];
    for (const t of want) next.push(have.find((h) => h.key === t.key && h.effect === t.effect) ?? t);
    if (noExecute)
      next.push(
        have.find((h) => h.key === noExecute && h.effect === 'NoExecute') ?? {
          key: noExecute,
          effect: 'NoExecute',
          timeAdded: nowRfc3339(this.now()),
        },
      );
    const sortKey = (t: NodeTaint) => `${t.key}\u0000${t.effect}`;
    if (deepEqual(have.map(sortKey).sort(), next.map(sortKey).sort())) return node;
    const spec = { ...(node.spec ?? {}), taints: next.length ? next : undefined };
    return this.write(node, () => this.nodeClient.update({ ...node, spec }));
  }

  private async write(node: Node, fn: () => Promise<Node>): Promise<Node> {
    try {
      return await fn();
    } catch (e) {
      // A newer node is on its way through the informer; its sync looks again.
      if (isKubeError(e, 'Conflict') || isKubeError(e, 'NotFound')) return node;
      throw e;
    }
  }

  /** NoExecute: pods that do not tolerate a taint go now; tolerating ones when their tolerationSeconds ran out. */
  private async evict(node: Node): Promise<void> {
    const taints = ((node.spec?.taints ?? []) as NodeTaint[]).filter((t) => t.effect === 'NoExecute');
    if (!taints.length) return;
    const name = node.metadata?.name ?? '';
    const now = this.now();
    let soonest = Infinity;
    for (const p of this.pods.list()) {
      if (p.spec?.nodeName !== name || p.metadata?.deletionTimestamp) continue;
      if (p.status?.phase === 'Succeeded' || p.status?.phase === 'Failed') continue;
      let deadline = Infinity;
      let evict = false;
      for (const t of taints) {
        const tols = (p.spec?.tolerations ?? []).filter((x) => tolerates(x, t));
        if (!tols.length) {
          evict = true;
          break;
        }
        // The smallest tolerationSeconds of the matching tolerations; none set means forever.
        const secs = Math.min(...tols.map((x) => x.tolerationSeconds ?? Infinity));
        if (secs === Infinity) continue;
        const added = Date.parse(t.timeAdded ?? '') || now;
        deadline = Math.min(deadline, added + Math.max(0, secs) * 1000);
      }
      if (!evict && deadline > now) {
        soonest = Math.min(soonest, deadline);
        continue;
      }
      await this.deletePod(p);
    }
    if (soonest !== Infinity) this.enqueueAfter(keyOf(node), soonest - now + 50);
  }

  private async deletePod(p: Pod): Promise<void> {
    const ns = p.metadata?.namespace ?? '';
    this.recorder.event(
      p,
      'Normal',
      'TaintManagerEviction',
      `Marking for deletion Pod ${ns}/${p.metadata?.name}`,
    );
    try {
      await this.podClient.delete(p.metadata?.name ?? '', {
        namespace: ns,
        preconditions: { uid: p.metadata?.uid ?? '' },
      });
    } catch (e) {
      if (!isKubeError(e, 'NotFound') && !isKubeError(e, 'Conflict')) throw e;
    }
  }
}
