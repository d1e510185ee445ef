/**
 * The CRD lifecycle, as apiextensions-apiserver's controllers run it, over a narrow store seam (CrdStore: the API
 * server wires it to its in-process client):
 *   naming + establishing   status.acceptedNames, NamesAccepted and Established, then the types are served;
 *   spec changes            served again (new versions added, dropped ones removed, schemas replaced);
 *   deletion                (deletionTimestamp with the cleanup finalizer) Terminating, every custom resource
 *                           deleted, the finalizer removed, the types taken out of service.
 * Reconciles every CRD at start (the served table is rebuilt from the store after a restart), then follows a watch.
 */
import type { Logger } from '../../log.js';
import type { ResourceType } from '../../registry/types.js';
import { customInfo } from './resource.js';
import { serveCrd, servedTypes, unserveCrd, type ServedTypes } from './serve.js';
import { CLEANUP_FINALIZER, crdStatus, isEstablished, terminating } from './strategy.js';
import type { CustomResourceDefinition } from './types.js';
import { deepEqual } from './values.js';

export interface CrdStore {
  list(): Promise<CustomResourceDefinition[]>;
  /** Calls back for every later change; `deleted` when the object is gone from the store. */
  watch(onChange: (crd: CustomResourceDefinition, deleted: boolean) => void): Promise<{ stop(): void }>;
  /** Writes status (the status subresource), returning the stored object; throws Conflict on a stale version. */
  updateStatus(crd: CustomResourceDefinition): Promise<CustomResourceDefinition>;
  /** Removes a finalizer (the object may then disappear). */
  removeFinalizer(crd: CustomResourceDefinition, finalizer: string): Promise<void>;
  /** Deletes every object of the given types (all versions share one storage prefix); returns how many remain. */
  deleteAll(types: ResourceType[]): Promise<number>;
}

export interface CrdControllerOptions {
  store: CrdStore;
  served: ServedTypes;
  log?: Logger;
  now?: () => Date;
}

const nameOf = (c: CustomResourceDefinition): string => c.metadata?.name ?? '';

export class CrdController {
  private readonly known = new Map<string, CustomResourceDefinition>();
  private watch?: { stop(): void };
  /** One reconcile at a time per CRD; a change while one runs queues one more. */
  private readonly running = new Map<string, Promise<void>>();
  private readonly again = new Set<string>();

  constructor(private readonly opts: CrdControllerOptions) {}

  async start(): Promise<void> {
    for (const crd of await this.opts.store.list()) this.known.set(nameOf(crd), crd);
    // Serve the established ones first (a restart must not briefly drop them), then settle the rest.
    for (const crd of this.known.values())
      if (isEstablished(crd) && !crd.metadata?.deletionTimestamp) serveCrd(crd, this.opts.served);
    await Promise.all([...this.known.keys()].map((n) => this.enqueue(n)));
    this.watch = await this.opts.store.watch((crd, deleted) => this.changed(crd, deleted));
  }

  stop(): void {
    this.watch?.stop();
  }

  /** Resolves when no reconcile is running (tests). */
  async idle(): Promise<void> {
    while (this.running.size) await Promise.all(this.running.values());
  }

  private changed(crd: CustomResourceDefinition, deleted: boolean): void {
    const name = nameOf(crd);
    if (deleted) {
      this.known.delete(name);
      unserveCrd(name, this.opts.served);
      return;
    }
    this.known.set(name, crd);
    void this.enqueue(name);
  }

  private enqueue(name: string): Promise<void> {
    if (this.running.has(name)) {
      this.again.add(name);
      return this.running.get(name) as Promise<void>;
    }
    const run = (async () => {
      do {
        this.again.delete(name);
        const crd = this.known.get(name);
        if (!crd) break;
        try {
          await this.reconcile(crd);
        } catch (e) {
          this.opts.log?.warn('crd reconcile failed', { crd: name, error: (e as Error).message });
          if ((e as { reason?: string }).reason === 'Conflict') this.again.add(name);
        }
      } while (this.again.has(name));
      this.running.delete(name);
    })();
    this.running.set(name, run);
    return run;
  }

  private async reconcile(crd: CustomResourceDefinition): Promise<void> {
    const now = this.opts.now?.() ?? new Date();
    const name = nameOf(crd);
    if (crd.metadata?.deletionTimestamp) return this.finalize(crd, now);
    const others = [...this.known.values()].filter((c) => nameOf(c) !== name);
    const status = crdStatus(crd, others, now);
    let current = crd;
    if (!deepEqual(withoutTimes(status), withoutTimes(crd.status ?? {}))) {
      current = await this.opts.store.updateStatus({ ...crd, status });
      this.known.set(name, current);
    }
    if (isEstablished(current)) serveCrd(current, this.opts.served);
  }

  private async finalize(crd: CustomResourceDefinition, now: Date): Promise<void> {
    const name = nameOf(crd);
    if (!(crd.metadata?.finalizers ?? []).includes(CLEANUP_FINALIZER)) return;
    const types = servedTypes(name).length
      ? servedTypes(name)
      : isEstablished(crd)
        ? serveCrd(crd, this.opts.served)
        : [];
    for (const t of types) {
      const info = customInfo(t);
      if (info) info.terminating = true;
    }
    let current = crd;
    const pending = (crd.status?.conditions ?? []).find((c) => c.type === 'Terminating');
    if (!pending) current = await this.opts.store.updateStatus({ ...crd, status: terminating(crd, now, 1) });
    const remaining = types.length ? await this.opts.store.deleteAll(types) : 0;
    if (remaining > 0) {
      // Objects held by their own finalizers: look again shortly.
      setTimeout(() => void this.enqueue(name), 1000).unref();
      return;
    }
    if (pending?.reason !== 'InstanceDeletionCompleted')
      current = await this.opts.store.updateStatus({ ...current, status: terminating(current, now, 0) });
    unserveCrd(name, this.opts.served);
    await this.opts.store.removeFinalizer(current, CLEANUP_FINALIZER);
  }
}

function withoutTimes(status: NonNullable<CustomResourceDefinition['status']>): unknown {
  return {
    ...status,
    conditions: (status.conditions ?? []).map((c) => ({ ...c, lastTransitionTime: undefined })),
  };
}
