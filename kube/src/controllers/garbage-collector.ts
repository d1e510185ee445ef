/**
 * The garbage collector, as kube-controller-manager's: a graph of every object's ownerReferences, kept from
 * watches of every served resource, and three duties:
 *   - an object whose owners are all gone is deleted (Background; Foreground when an owner went that way);
 *     references to owners that are gone are dropped when other owners remain;
 *   - an owner held by the `orphan` finalizer has the references to it removed from its dependents, then the
 *     finalizer removed;
 *   - an owner held by `foregroundDeletion` has its dependents deleted (foreground too), and loses the
 *     finalizer once no dependent with blockOwnerDeletion remains.
 * It works through the in-process client, so its writes pass admission like any other.
 */
import { isKubeError } from '../errors.js';
import type { Client } from '../client/index.js';
import type { Logger } from '../log.js';
import { apiVersionOf, parseApiVersion } from '../registry/catalog.js';
import { FOREGROUND_FINALIZER, ORPHAN_FINALIZER } from '../registry/generic/deletion.js';
import type { WatchSession } from '../registry/generic/context.js';
import type { KubeObject, OwnerReference, ResourceType } from '../registry/types.js';
import type { Controller } from './framework/controller.js';
import { WorkQueue } from './workqueue.js';

interface Node {
  uid: string;
  apiVersion: string;
  plural: string;
  namespace?: string;
  name: string;
  owners: OwnerReference[];
  deleting: boolean;
  finalizers: string[];
}

export class GarbageCollector implements Controller {
  readonly name = 'garbagecollector';
  private readonly nodes = new Map<string, Node>();
  private readonly dependents = new Map<string, Set<string>>();
  /** Owners that left in foreground: their dependents are deleted in foreground too. */
  private readonly foregroundGone = new Set<string>();
  private readonly watches = new Map<ResourceType, WatchSession>();
  private readonly queue: WorkQueue;
  private unsubscribe?: () => void;

  constructor(
    private readonly client: Client,
    private readonly log: Logger,
  ) {
    this.queue = new WorkQueue((uid) => this.process(uid), log, 2);
  }

  async start(): Promise<void> {
    const catalog = this.client.catalog;
    for (const t of catalog.all()) await this.watchType(t);
    this.unsubscribe = catalog.onChange((c) => {
      if (c.added) void this.watchType(c.added);
      if (c.removed) {
        this.watches.get(c.removed)?.stop();
        this.watches.delete(c.removed);
      }
    });
  }

  stop(): void {
    this.unsubscribe?.();
    for (const w of this.watches.values()) w.stop();
    this.watches.clear();
    this.queue.stop();
  }

  /** Resolves once the queue is empty (tests). */
  idle(): Promise<void> {
    return this.queue.idle();
  }

  private async watchType(t: ResourceType): Promise<void> {
    if (t.virtual || !t.verbs.includes('watch') || this.watches.has(t)) return;
    // One version per stored resource is enough: others are views of the same objects.
    if (t.storedAs) return;
    const rc = this.client.resource(apiVersionOf(t), t.plural);
    const start = async (resourceVersion?: string): Promise<void> => {
      const session = await rc.watch({ ...(resourceVersion ? { resourceVersion } : {}) }, (e) => {
        if (e.type === 'ERROR') {
          // Fell behind compaction: start over from the current state.
          setTimeout(
            () =>
              void start().catch((err: unknown) =>
                this.log.warn('gc rewatch failed', { error: err as Error }),
              ),
            100,
          );
          return;
        }
        if (e.type === 'BOOKMARK') return;
        this.observe(t, e.object, e.type === 'DELETED');
      });
      this.watches.set(t, session);
    };
    await start();
  }

  private observe(t: ResourceType, obj: KubeObject, deleted: boolean): void {
    const m = obj.metadata ?? {};
    const uid = m.uid;
    if (!uid) return;
    const before = this.nodes.get(uid);
    for (const o of before?.owners ?? []) this.dependents.get(o.uid)?.delete(uid);
    if (deleted) {
      this.nodes.delete(uid);
      if (before?.finalizers.includes(FOREGROUND_FINALIZER)) this.foregroundGone.add(uid);
      // Its dependents may now be orphans; its owner may now have no blocking dependents.
      for (const d of this.dependents.get(uid) ?? []) this.queue.add(d);
      for (const o of before?.owners ?? []) if (this.nodes.has(o.uid)) this.queue.add(o.uid);
      return;
    }
    const node: Node = {
      uid,
      apiVersion: apiVersionOf(t),
      plural: t.plural,
      ...(m.namespace ? { namespace: m.namespace } : {}),
      name: m.name ?? '',
      owners: m.ownerReferences ?? [],
      deleting: !!m.deletionTimestamp,
      finalizers: m.finalizers ?? [],
    };
    this.nodes.set(uid, node);
    for (const o of node.owners) {
      let set = this.dependents.get(o.uid);
      if (!set) this.dependents.set(o.uid, (set = new Set()));
      set.add(uid);
      // An owner that is being deleted in the foreground waits for this dependent.
      if (this.nodes.get(o.uid)?.deleting) this.queue.add(o.uid);
    }
    if (
      node.owners.length ||
      (node.deleting &&
        (node.finalizers.includes(ORPHAN_FINALIZER) || node.finalizers.includes(FOREGROUND_FINALIZER)))
    )
      this.queue.add(uid);
  }

  private resourceFor(ref: { apiVersion: string; kind: string }): ResourceType | undefined {
    const { group, version } = parseApiVersion(ref.apiVersion);
    return this.client.catalog.kindAnyVersion(group, ref.kind, version);
  }

  /** Whether an owner reference still points at a live object (same uid), asking the API when the graph does not know. */
  private async ownerExists(dep: Node, ref: OwnerReference): Promise<boolean> {
    if (this.nodes.has(ref.uid)) return true;
    const t = this.resourceFor(ref);
    if (!t) return false;
    try {
      const o = await this.client
        .resource(apiVersionOf(t), t.plural)
        .get(ref.name, t.namespaced ? { namespace: dep.namespace ?? '' } : {});
      return o.metadata?.uid === ref.uid;
    } catch (e) {
      if (isKubeError(e, 'NotFound')) return false;
      throw e;
    }
  }

  private async process(uid: string): Promise<void> {
    const node = this.nodes.get(uid);
    if (!node) return;
    if (node.deleting && node.finalizers.includes(ORPHAN_FINALIZER)) return this.orphanDependents(node);
    if (node.deleting && node.finalizers.includes(FOREGROUND_FINALIZER)) return this.deleteDependents(node);
    if (node.owners.length && !node.deleting) return this.checkOwners(node);
  }

  private async checkOwners(node: Node): Promise<void> {
    const gone: OwnerReference[] = [];
    for (const ref of node.owners) if (!(await this.ownerExists(node, ref))) gone.push(ref);
    if (!gone.length) return;
    const rc = this.client.resource(node.apiVersion, node.plural);
    const scope = node.namespace ? { namespace: node.namespace } : {};
    if (gone.length === node.owners.length) {
      const foreground = gone.some((r) => this.foregroundGone.has(r.uid));
      this.log.debug('gc deleting orphan', { name: node.name, plural: node.plural });
      try {
        await rc.delete(node.name, {
          ...scope,
          propagationPolicy: foreground ? 'Foreground' : 'Background',
          preconditions: { uid: node.uid },
        });
      } catch (e) {
        if (!isKubeError(e, 'NotFound') && !isKubeError(e, 'Conflict')) throw e;
      }
      return;
    }
    const goneUids = new Set(gone.map((g) => g.uid));
    await this.mutate(node, (o) => {
      o.metadata!.ownerReferences = (o.metadata?.ownerReferences ?? []).filter((r) => !goneUids.has(r.uid));
    });
  }

  private async orphanDependents(owner: Node): Promise<void> {
    for (const d of [...(this.dependents.get(owner.uid) ?? [])]) {
      const dep = this.nodes.get(d);
      if (!dep) continue;
      await this.mutate(dep, (o) => {
        const refs = (o.metadata?.ownerReferences ?? []).filter((r) => r.uid !== owner.uid);
        if (refs.length) o.metadata!.ownerReferences = refs;
        else delete o.metadata!.ownerReferences;
      });
    }
    await this.removeFinalizer(owner, ORPHAN_FINALIZER);
  }

  private async deleteDependents(owner: Node): Promise<void> {
    let blocking = 0;
    for (const d of [...(this.dependents.get(owner.uid) ?? [])]) {
      const dep = this.nodes.get(d);
      if (!dep) continue;
      const ref = dep.owners.find((r) => r.uid === owner.uid);
      if (ref?.blockOwnerDeletion) blocking++;
      if (dep.deleting) continue;
      try {
        await this.client.resource(dep.apiVersion, dep.plural).delete(dep.name, {
          ...(dep.namespace ? { namespace: dep.namespace } : {}),
          propagationPolicy: 'Foreground',
          preconditions: { uid: dep.uid },
        });
      } catch (e) {
        if (!isKubeError(e, 'NotFound') && !isKubeError(e, 'Conflict')) throw e;
      }
    }
    // Dependents still holding the owner come back through observe() when they go.
    if (!blocking) await this.removeFinalizer(owner, FOREGROUND_FINALIZER);
  }

  private async removeFinalizer(node: Node, finalizer: string): Promise<void> {
    await this.mutate(node, (o) => {
      const rest = (o.metadata?.finalizers ?? []).filter((f) => f !== finalizer);
      if (rest.length) o.metadata!.finalizers = rest;
      else delete o.metadata!.finalizers;
    });
  }

  /** Read-modify-write with the object's uid as precondition; a conflict retries on the fresh object. */
  private async mutate(node: Node, change: (o: KubeObject) => void): Promise<void> {
    const rc = this.client.resource(node.apiVersion, node.plural);
    const scope = node.namespace ? { namespace: node.namespace } : {};
    for (let i = 0; i < 5; i++) {
      let o: KubeObject;
      try {
        o = await rc.get(node.name, scope);
      } catch (e) {
        if (isKubeError(e, 'NotFound')) return;
        throw e;
      }
      if (o.metadata?.uid !== node.uid) return;
      change(o);
      try {
        await rc.update(o, scope);
        return;
      } catch (e) {
        if (isKubeError(e, 'NotFound')) return;
        if (!isKubeError(e, 'Conflict')) throw e;
      }
    }
    throw new Error(`gc: too many conflicts updating ${node.plural}/${node.name}`);
  }
}
