/**
 * The DaemonSet controller, as pkg/controller/daemon: one pod per node that should run the daemon (placement.ts),
 * created pinned to its node by node affinity and bound by the scheduler; pods on nodes that no longer qualify,
 * failed pods and duplicates are deleted. Template changes roll out per node (RollingUpdate within maxUnavailable,
 * or with maxSurge a new pod beside the old until it is available; OnDelete waits for the user), tracked by
 * ControllerRevisions whose hash the pods carry in `controller-revision-hash`. Status as `kubectl get ds` and
 * `kubectl rollout status ds` read it.
 */
import { isKubeError } from '../../errors.js';
import type { ResourceClient } from '../../client/index.js';
import { deepEqual } from '../../registry/generic/metadata.js';
import type { KubeObject } from '../../registry/types.js';
import { fromStructured, type LabelSelector } from '../../selectors/labels.js';
import { claim, controllingOwnerKey, matchingOwnerKeys, ownerStillThere } from '../framework/claim.js';
import { QueueController, type ControllerContext } from '../framework/controller.js';
import { Expectations } from '../framework/expectations.js';
import { keyOf, type Informer } from '../framework/informer.js';
import {
  controllerOf,
  isAvailable,
  isReady,
  podFromTemplate,
  podPrefix,
  untilAvailable,
} from '../framework/pods.js';
import { compact, omitZero } from '../framework/status.js';
import type { ControllerRevision, DaemonSet, Node, Pod } from '../framework/types.js';
import { scaled } from '../deployment/util.js';
import { REVISION_HASH_LABEL, RevisionHistory } from '../history/revisions.js';
import { daemonTolerations, pinToNode, shouldRunOn, targetNode } from './placement.js';

const TEMPLATE_GENERATION = 'pod-template-generation';

type DsStatus = NonNullable<DaemonSet['status']>;

const byAge = (a: Pod, b: Pod) =>
  (Date.parse(a.metadata?.creationTimestamp ?? '') || 0) -
    (Date.parse(b.metadata?.creationTimestamp ?? '') || 0) ||
  (a.metadata?.name ?? '').localeCompare(b.metadata?.name ?? '');

export class DaemonSetController extends QueueController {
  private readonly sets: Informer<DaemonSet>;
  private readonly pods: Informer<Pod>;
  private readonly nodes: Informer<Node>;
  private readonly rc: ResourceClient<DaemonSet>;
  private readonly podClient: ResourceClient<Pod>;
  private readonly history: RevisionHistory;
  private readonly expectations: Expectations;

  constructor(ctx: ControllerContext) {
    super('daemonset', ctx, 'daemonset-controller');
    this.expectations = new Expectations(() => ctx.now());
    this.rc = ctx.client.resource<DaemonSet>('apps/v1', 'daemonsets');
    this.podClient = ctx.client.resource<Pod>('v1', 'pods');
    this.sets = ctx.informers.for<DaemonSet>('apps/v1', 'daemonsets');
    this.pods = ctx.informers.for<Pod>('v1', 'pods');
    this.nodes = ctx.informers.for<Node>('v1', 'nodes');
    this.history = new RevisionHistory(
      ctx.client.resource<ControllerRevision>('apps/v1', 'controllerrevisions'),
      ctx.informers.for<ControllerRevision>('apps/v1', 'controllerrevisions'),
      this.rc,
      (hash) => ({ [REVISION_HASH_LABEL]: hash }),
    );
    this.sets.on({
      add: (s) => this.enqueue(keyOf(s)),
      update: (_o, s) => this.enqueue(keyOf(s)),
      delete: (s) => {
        this.expectations.forget(keyOf(s));
        this.enqueue(keyOf(s));
      },
    });
    const podEvent = (p: Pod, created: boolean, gone: boolean) => {
      const key = this.ownerKey(p);
      if (key) {
        if (created) this.expectations.creationObserved(key);
        if (gone) this.expectations.deletionObserved(key, keyOf(p));
        this.enqueue(key);
      } else if (!controllerOf(p)) for (const k of this.matching(p)) this.enqueue(k);
    };
    this.pods.on({
      add: (p) => podEvent(p, true, !!p.metadata?.deletionTimestamp),
      update: (old, p) => {
        const before = this.ownerKey(old);
        if (before && before !== this.ownerKey(p)) this.enqueue(before);
        podEvent(p, false, !!p.metadata?.deletionTimestamp && !old.metadata?.deletionTimestamp);
      },
      delete: (p) => podEvent(p, false, true),
    });
    // A node's labels, taints or existence decide where daemons run: look at every set again.
    const all = () => {
      for (const s of this.sets.list()) this.enqueue(keyOf(s));
    };
    this.nodes.on({
      add: all,
      update: (old, n) => {
        if (
          old === n ||
          !deepEqual(old.metadata?.labels, n.metadata?.labels) ||
          !deepEqual(old.spec?.taints, n.spec?.taints) ||
          old.spec?.unschedulable !== n.spec?.unschedulable
        )
          all();
      },
      delete: all,
    });
  }

  protected initialKeys(): string[] {
    return this.sets.list().map(keyOf);
  }

  private ownerKey(p: Pod): string | undefined {
    return controllingOwnerKey(p, 'DaemonSet', this.sets);
  }

  private matching(p: Pod): string[] {
    return matchingOwnerKeys(p, this.sets, selectorOf);
  }

  protected async sync(key: string): Promise<void> {
    const ds = this.sets.get(key);
    if (!ds) {
      this.expectations.forget(key);
      return;
    }
    const selector = selectorOf(ds);
    if (!selector.length) return;
    const ns = ds.metadata?.namespace ?? '';
    const pods = await claim(this.pods.list(ns), {
      owner: ds,
      selector,
      rc: this.podClient,
      canAdopt: ownerStillThere(this.rc as unknown as ResourceClient<KubeObject>, ds),
    });
    if (ds.metadata?.deletionTimestamp) return;
    const { all, update, collisionCount } = await this.history.ensure(ds, selector);
    const hash = update.metadata?.labels?.[REVISION_HASH_LABEL] ?? '';
    const byNode = new Map<string, Pod[]>();
    for (const p of pods) {
      const n = targetNode(p);
      if (n) byNode.set(n, [...(byNode.get(n) ?? []), p]);
    }
    const nodes = this.nodes.list();
    if (this.expectations.satisfied(key)) await this.manage(key, ds, nodes, byNode, hash);
    await this.writeStatus(ds, nodes, byNode, hash, collisionCount);
    const inUse = new Set([
      update.metadata?.name ?? '',
      ...pods.map((p) => `${ds.metadata?.name}-${p.metadata?.labels?.[REVISION_HASH_LABEL]}`),
    ]);
    await this.history.truncate(all, ds.spec?.revisionHistoryLimit ?? 10, inUse);
  }

  private async manage(
    key: string,
    ds: DaemonSet,
    nodes: Node[],
    byNode: Map<string, Pod[]>,
    hash: string,
  ): Promise<void> {
    const create: string[] = [];
    const remove: Pod[] = [];
    for (const node of nodes) {
      const name = node.metadata?.name ?? '';
      const [shouldRun, shouldContinue] = shouldRunOn(ds.spec?.template, node);
      const daemons = byNode.get(name) ?? [];
      if (shouldRun && !daemons.length) create.push(name);
      else if (shouldContinue) {
        const live = daemons.filter((p) => !p.metadata?.deletionTimestamp);
        // A failed daemon is replaced on the next pass.
        for (const p of live) if (p.status?.phase === 'Failed') remove.push(p);
        const running = live.filter((p) => p.status?.phase !== 'Failed').sort(byAge);
        if (!allowsSurge(ds) && running.length > 1) remove.push(...running.slice(1));
      } else remove.push(...daemons.filter((p) => !p.metadata?.deletionTimestamp));
      // Pods on nodes that are gone are the pod GC's; elsewhere nothing else removes them.
    }
    for (const [n, daemons] of byNode)
      if (!nodes.some((x) => x.metadata?.name === n))
        remove.push(...daemons.filter((p) => !p.metadata?.deletionTimestamp));
    if ((ds.spec?.updateStrategy?.type ?? 'RollingUpdate') === 'RollingUpdate') {
      const [c, r] = this.rollingUpdate(ds, nodes, byNode, hash);
      create.push(...c);
      remove.push(...r.filter((p) => !remove.includes(p)));
    }
    this.expectations.expectCreations(key, create.length);
    this.expectations.expectDeletions(key, remove.map(keyOf));
    await Promise.all([
      ...create.map((n) => this.createPod(key, ds, n, hash)),
      ...remove.map((p) => this.deletePod(key, ds, p)),
    ]);
  }

  /** Nodes to give a new pod (surge) and old pods to delete, within maxUnavailable and maxSurge. */
  private rollingUpdate(
    ds: DaemonSet,
    nodes: Node[],
    byNode: Map<string, Pod[]>,
    hash: string,
  ): [string[], Pod[]] {
    const minReady = ds.spec?.minReadySeconds ?? 0;
    const now = this.now();
    const desired = nodes.filter((n) => shouldRunOn(ds.spec?.template, n)[0]);
    const ru = ds.spec?.updateStrategy?.rollingUpdate;
    const maxSurge = scaled(ru?.maxSurge, desired.length, true, '0');
    let maxUnavailable = scaled(ru?.maxUnavailable, desired.length, true, '1');
    if (!maxSurge && !maxUnavailable) maxUnavailable = 1;
    const create: string[] = [];
    const remove: Pod[] = [];
    let unavailable = 0;
    let surging = 0;
    const candidates: Array<{ node: string; old: Pod[]; fresh?: Pod }> = [];
    for (const node of desired) {
      const name = node.metadata?.name ?? '';
      const live = (byNode.get(name) ?? []).filter((p) => !p.metadata?.deletionTimestamp);
      const fresh = live.find((p) => p.metadata?.labels?.[REVISION_HASH_LABEL] === hash);
      const old = live.filter((p) => p !== fresh);
      const available = live.some((p) => isAvailable(p, minReady, now));
      if (!available) unavailable++;
      if (fresh && old.length) surging++;
      if (!old.length) continue;
      // An old pod that is not available anyway can go now.
      if (!old.some((p) => isAvailable(p, minReady, now)) && !fresh) remove.push(...old);
      else candidates.push({ node: name, old, ...(fresh ? { fresh } : {}) });
    }
    for (const c of candidates) {
      if (maxSurge > 0) {
        if (c.fresh && isAvailable(c.fresh, minReady, now)) remove.push(...c.old);
        else if (!c.fresh && surging < maxSurge) {
          create.push(c.node);
          surging++;
        }
      } else if (unavailable < maxUnavailable) {
        remove.push(...c.old);
        unavailable++;
      }
    }
    return [create, remove];
  }

  private async createPod(key: string, ds: DaemonSet, node: string, hash: string): Promise<void> {
    const pod = podFromTemplate(ds.spec?.template, ds.metadata?.namespace ?? '', ds, {
      generateName: podPrefix(ds.metadata?.name ?? ''),
    });
    pod.metadata!.labels = {
      ...(pod.metadata?.labels ?? {}),
      [REVISION_HASH_LABEL]: hash,
      [TEMPLATE_GENERATION]: String(ds.metadata?.generation ?? 1),
    };
    pod.spec!.tolerations = daemonTolerations(ds.spec?.template);
    pinToNode(pod, node);
    try {
      const created = await this.podClient.create(pod);
      this.recorder.event(ds, 'Normal', 'SuccessfulCreate', `Created pod: ${created.metadata?.name}`);
    } catch (e) {
      this.expectations.lowerCreations(key);
      if (!isKubeError(e, 'Forbidden') || !/being terminated/.test((e as Error).message))
        this.recorder.event(ds, 'Warning', 'FailedCreate', `Error creating: ${(e as Error).message}`);
      this.log.warn('daemon pod not created', { daemonset: key, node, error: (e as Error).message });
    }
  }

  private async deletePod(key: string, ds: DaemonSet, p: Pod): Promise<void> {
    try {
      await this.podClient.delete(p.metadata?.name ?? '', {
        namespace: p.metadata?.namespace ?? '',
        preconditions: { uid: p.metadata?.uid ?? '' },
      });
      this.recorder.event(ds, 'Normal', 'SuccessfulDelete', `Deleted pod: ${p.metadata?.name}`);
    } catch (e) {
      this.expectations.deletionObserved(key, keyOf(p));
      if (isKubeError(e, 'NotFound') || isKubeError(e, 'Conflict')) return;
      this.recorder.event(ds, 'Warning', 'FailedDelete', `Error deleting: ${(e as Error).message}`);
    }
  }

  private async writeStatus(
    ds: DaemonSet,
    nodes: Node[],
    byNode: Map<string, Pod[]>,
    hash: string,
    collisionCount: number,
  ): Promise<void> {
    const minReady = ds.spec?.minReadySeconds ?? 0;
    const now = this.now();
    const s = {
      desiredNumberScheduled: 0,
      currentNumberScheduled: 0,
      numberMisscheduled: 0,
      numberReady: 0,
      numberAvailable: 0,
      updatedNumberScheduled: 0,
      numberUnavailable: 0,
    };
    for (const node of nodes) {
      const daemons = [...(byNode.get(node.metadata?.name ?? '') ?? [])].sort(byAge);
      const [shouldRun] = shouldRunOn(ds.spec?.template, node);
      if (!shouldRun) {
        if (daemons.length) s.numberMisscheduled++;
        continue;
      }
      s.desiredNumberScheduled++;
      if (!daemons.length) continue;
      s.currentNumberScheduled++;
      const pod = daemons[0];
      if (isReady(pod)) {
        s.numberReady++;
        if (isAvailable(pod, minReady, now)) s.numberAvailable++;
        const wait = untilAvailable(pod, minReady, now);
        if (wait !== undefined) this.enqueueAfter(keyOf(ds), wait + 50);
      }
      if (daemons.some((p) => p.metadata?.labels?.[REVISION_HASH_LABEL] === hash)) s.updatedNumberScheduled++;
    }
    s.numberUnavailable = s.desiredNumberScheduled - s.numberAvailable;
    const status: DsStatus = omitZero(
      {
        ...s,
        observedGeneration: ds.metadata?.generation ?? 0,
        ...(collisionCount ? { collisionCount } : {}),
      },
      ['desiredNumberScheduled', 'currentNumberScheduled', 'numberMisscheduled', 'numberReady'],
    );
    if (deepEqual(compact(ds.status), compact(status))) return;
    try {
      await this.rc.updateStatus({ ...ds, status });
    } catch (e) {
      if (isKubeError(e, 'NotFound') || isKubeError(e, 'Conflict')) return;
      throw e;
    }
  }
}

const allowsSurge = (ds: DaemonSet): boolean =>
  (ds.spec?.updateStrategy?.type ?? 'RollingUpdate') === 'RollingUpdate' &&
  scaled(ds.spec?.updateStrategy?.rollingUpdate?.maxSurge, 1, true, '0') > 0;

function selectorOf(s: DaemonSet): LabelSelector {
  return fromStructured(s.spec?.selector as Parameters<typeof fromStructured>[0]);
}
