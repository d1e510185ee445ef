/**
 * Deletion as kube-apiserver's genericregistry.Store.Delete does it: preconditions, graceful deletion (a
 * deletionTimestamp in the future for pods), finalizers holding the object (deletionTimestamp now, grace 0), the
 * garbage collector's `orphan` and `foregroundDeletion` finalizers chosen from propagationPolicy, and the
 * two-phase delete of namespaces (Terminating, emptied by the namespace controller, then gone).
 */
import { conflict, isKubeError } from '../../errors.js';
import { validateDeleteOptions } from './options.js';
import type { KubeObject } from '../types.js';
import { decode, deepCopy, encode } from './codec.js';
import type { DeleteOptions, DeleteResult, RequestContext } from './context.js';
import { metaOf, rfc3339 } from './metadata.js';
import { ResourceStore } from './resource-store.js';

export const ORPHAN_FINALIZER = 'orphan';
export const FOREGROUND_FINALIZER = 'foregroundDeletion';

export class DeletableStore extends ResourceStore {
  private isNamespaces(): boolean {
    return this.type.group === '' && this.type.plural === 'namespaces';
  }

  /** The GC finalizers this delete asks for (deletionFinalizersForGarbageCollection). */
  private gcFinalizers(obj: KubeObject, opts: DeleteOptions): string[] {
    const have = obj.metadata?.finalizers ?? [];
    let orphan: boolean;
    let foreground: boolean;
    if (opts.orphanDependents !== undefined) {
      orphan = opts.orphanDependents;
      foreground = false;
    } else if (opts.propagationPolicy) {
      orphan = opts.propagationPolicy === 'Orphan';
      foreground = opts.propagationPolicy === 'Foreground';
    } else if (have.includes(ORPHAN_FINALIZER) || have.includes(FOREGROUND_FINALIZER)) {
      orphan = have.includes(ORPHAN_FINALIZER);
      foreground = have.includes(FOREGROUND_FINALIZER);
    } else {
      orphan = this.type.strategy.defaultPropagation === 'Orphan';
      foreground = false;
    }
    const out = have.filter((f) => f !== ORPHAN_FINALIZER && f !== FOREGROUND_FINALIZER);
    if (orphan) out.push(ORPHAN_FINALIZER);
    if (foreground) out.push(FOREGROUND_FINALIZER);
    return out;
  }

  private checkPreconditions(obj: KubeObject, opts: DeleteOptions): void {
    const p = opts.preconditions;
    if (!p) return;
    const meta = metaOf(obj);
    const resource = this.type.kind;
    if (p.uid !== undefined && p.uid !== meta.uid)
      throw conflict(
        resource,
        meta.name ?? '',
        `the UID in the precondition (${p.uid}) does not match the UID in record (${meta.uid}). The object might have been deleted and then recreated`,
        this.type.group || undefined,
      );
    if (p.resourceVersion !== undefined && p.resourceVersion !== meta.resourceVersion)
      throw conflict(
        resource,
        meta.name ?? '',
        `the ResourceVersion in the precondition (${p.resourceVersion}) does not match the ResourceVersion in record (${meta.resourceVersion}). The object might have been modified`,
        this.type.group || undefined,
      );
  }

  async delete(
    ctx: RequestContext,
    namespace: string | undefined,
    name: string,
    opts: DeleteOptions = {},
  ): Promise<DeleteResult> {
    validateDeleteOptions(opts);
    const key = this.key(namespace, name);
    for (let attempt = 0; attempt < 16; attempt++) {
      const kv = await this.deps.store.get(key);
      if (!kv) throw this.notFound(name);
      const current = decode(this.type, kv);
      this.checkPreconditions(current, opts);
      const attrs = this.attributes('DELETE', ctx, namespace, name);
      await this.deps.admission.admit(attrs, undefined, current);
      await this.deps.admission.validate(attrs, undefined, current);
      const plan = this.isNamespaces() ? this.planNamespace(current, ctx) : this.plan(current, opts, ctx);
      try {
        if (plan.kind === 'pending') return { object: current, deleted: false };
        if (plan.kind === 'update') {
          if (ctx.dryRun) return { object: plan.object, deleted: false };
          const written = await this.deps.store.update(key, encode(this.type, plan.object), kv.modRevision);
          return { object: decode(this.type, written), deleted: false };
        }
        if (ctx.dryRun) return { object: current, deleted: true };
        await this.deps.store.delete(key, kv.modRevision);
        return { object: current, deleted: true };
      } catch (e) {
        if (isKubeError(e, 'Conflict')) {
          // A precondition on resourceVersion means "only this version": no retry on a newer one.
          if (opts.preconditions?.resourceVersion) throw e;
          continue;
        }
        if (isKubeError(e, 'NotFound')) throw this.notFound(name);
        throw e;
      }
    }
    throw conflict(
      this.type.plural,
      name,
      'too many concurrent writes while deleting',
      this.type.group || undefined,
    );
  }

  /**
   * What a delete does to `current`: nothing more (already being deleted gracefully), an update (deletionTimestamp
   * and finalizers), or the delete itself.
   */
  private plan(
    current: KubeObject,
    opts: DeleteOptions,
    ctx: RequestContext,
  ): { kind: 'pending' | 'delete' } | { kind: 'update'; object: KubeObject } {
    const now = ctx.now ?? new Date();
    const obj = deepCopy(current);
    const meta = metaOf(obj);
    const requested =
      opts.gracePeriodSeconds !== undefined && opts.gracePeriodSeconds < 0 ? 1 : opts.gracePeriodSeconds;
    let graceful = false;
    if (meta.deletionTimestamp) {
      const period = meta.deletionGracePeriodSeconds;
      if (period !== undefined && period > 0) {
        // Only a shorter grace period may follow; otherwise the pending graceful deletion stands.
        if (requested === undefined || requested >= period) return { kind: 'pending' };
        const start = Date.parse(meta.deletionTimestamp) - period * 1000;
        meta.deletionTimestamp = rfc3339(new Date(start + requested * 1000));
        meta.deletionGracePeriodSeconds = requested;
        graceful = requested > 0;
        if (!graceful && !(meta.finalizers ?? []).length) return { kind: 'delete' };
      }
    } else if (this.type.strategy.gracePeriod) {
      const grace = this.type.strategy.gracePeriod(obj, requested);
      if (grace !== undefined && grace > 0) {
        meta.deletionTimestamp = rfc3339(new Date(now.getTime() + grace * 1000));
        meta.deletionGracePeriodSeconds = grace;
        if (meta.generation) meta.generation++;
        graceful = true;
      }
    }
    const before = meta.finalizers ?? [];
    const finalizers =
      meta.deletionTimestamp && !graceful && before.length ? before : this.gcFinalizers(obj, opts);
    const changedFinalizers =
      finalizers.length !== before.length || finalizers.some((f, i) => f !== before[i]);
    if (changedFinalizers) meta.finalizers = finalizers;
    if (!finalizers.length) delete meta.finalizers;
    if (graceful) return { kind: 'update', object: obj };
    if (finalizers.length) {
      // markAsDeleting: finalizers hold the object; its deletion starts now, with no grace left.
      if (!meta.deletionTimestamp && meta.generation) meta.generation++;
      if (!meta.deletionTimestamp || Date.parse(meta.deletionTimestamp) > now.getTime())
        meta.deletionTimestamp = rfc3339(now);
      meta.deletionGracePeriodSeconds = 0;
      if (
        !changedFinalizers &&
        current.metadata?.deletionTimestamp &&
        current.metadata.deletionGracePeriodSeconds === 0
      )
        return { kind: 'pending' };
      return { kind: 'update', object: obj };
    }
    return { kind: 'delete' };
  }

  /** Namespaces: the first delete marks it Terminating; it goes once spec and metadata finalizers are empty. */
  private planNamespace(
    current: KubeObject,
    ctx: RequestContext,
  ): { kind: 'pending' | 'delete' } | { kind: 'update'; object: KubeObject } {
    const meta = metaOf(current);
    const specFinalizers = ((current.spec as { finalizers?: string[] } | undefined)?.finalizers ?? []).length;
    if (!meta.deletionTimestamp) {
      const obj = deepCopy(current);
      const m = metaOf(obj);
      m.deletionTimestamp = rfc3339(ctx.now ?? new Date());
      m.deletionGracePeriodSeconds = 0;
      obj.status = { ...(obj.status as object), phase: 'Terminating' };
      if (!specFinalizers && !(m.finalizers ?? []).length) return { kind: 'delete' };
      return { kind: 'update', object: obj };
    }
    if (specFinalizers)
      throw conflict(
        'namespaces',
        meta.name ?? '',
        'The system is ensuring all content is removed from this namespace.  Upon completion, this namespace will automatically be purged by the system.',
      );
    if ((meta.finalizers ?? []).length) return { kind: 'pending' };
    return { kind: 'delete' };
  }

  /** The handler answers a delete with this (the object, or a Success Status for most kinds). */
  deleteResponse(r: DeleteResult): KubeObject {
    if (this.type.returnDeletedObject || !r.deleted) return r.object;
    const meta = r.object.metadata ?? {};
    return {
      kind: 'Status',
      apiVersion: 'v1',
      metadata: {},
      status: 'Success',
      details: {
        name: meta.name,
        ...(this.type.group ? { group: this.type.group } : {}),
        kind: this.type.plural,
        uid: meta.uid,
      },
    };
  }
}

export function isStatusObject(o: KubeObject): boolean {
  return o.kind === 'Status' && o.apiVersion === 'v1';
}
