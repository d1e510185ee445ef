/**
 * A small shared informer over the in-process client: list, then watch from the list's resourceVersion; a watch
 * that ends is resumed from the last revision seen; an ERROR (410 Expired: the revision was compacted) means a
 * relist, whose differences with the cache are delivered as adds, updates and deletes. Objects are keyed by uid,
 * so a pod deleted and re-created under the same name is two objects.
 */
import type { ResourceClient } from '../client/index.js';
import type { Logger } from '../log.js';
import type { WatchSession } from '../registry/generic/context.js';
import type { KubeObject } from '../registry/types.js';

export interface InformerHandlers<T> {
  add?(obj: T): void;
  update?(obj: T, old: T): void;
  delete?(obj: T): void;
}

export interface InformerOptions {
  namespace?: string;
  fieldSelector?: string;
  labelSelector?: string;
}

/** What the informer reads of an object. */
export interface Named {
  metadata?: { uid?: string; name?: string; namespace?: string; resourceVersion?: string };
}

const uidOf = (o: Named): string => o.metadata?.uid ?? `${o.metadata?.namespace}/${o.metadata?.name}`;

export class Informer<T extends Named> {
  private readonly cache = new Map<string, T>();
  /** namespace/name → uid of the object that has the name now. */
  private readonly names = new Map<string, string>();
  private session?: WatchSession;
  private rv = '';
  private stopped = false;
  private retry?: NodeJS.Timeout;

  constructor(
    private readonly rc: ResourceClient<KubeObject>,
    private readonly opts: InformerOptions,
    private readonly handlers: InformerHandlers<T>,
    private readonly log: Logger,
  ) {}

  /** Resolves after the first list has been delivered. */
  async start(): Promise<void> {
    await this.relist();
  }

  stop(): void {
    this.stopped = true;
    clearTimeout(this.retry);
    this.session?.stop();
  }

  get(uid: string): T | undefined {
    return this.cache.get(uid);
  }

  /** The object named `name` in `namespace` (cluster-scoped: namespace ''). */
  byName(namespace: string, name: string): T | undefined {
    const uid = this.names.get(`${namespace}/${name}`);
    return uid ? this.cache.get(uid) : undefined;
  }

  private put(uid: string, obj: T): void {
    this.cache.set(uid, obj);
    this.names.set(`${obj.metadata?.namespace ?? ''}/${obj.metadata?.name}`, uid);
  }

  private drop(uid: string, obj: T): void {
    this.cache.delete(uid);
    const k = `${obj.metadata?.namespace ?? ''}/${obj.metadata?.name}`;
    if (this.names.get(k) === uid) this.names.delete(k);
  }

  list(): T[] {
    return [...this.cache.values()];
  }

  private scoped() {
    return {
      ...(this.opts.namespace ? { namespace: this.opts.namespace } : {}),
      ...(this.opts.fieldSelector ? { fieldSelector: this.opts.fieldSelector } : {}),
      ...(this.opts.labelSelector ? { labelSelector: this.opts.labelSelector } : {}),
    };
  }

  private async relist(): Promise<void> {
    const list = await this.rc.list(this.scoped());
    const fresh = new Map((list.items as unknown as T[]).map((o) => [uidOf(o), o]));
    for (const [uid, old] of this.cache)
      if (!fresh.has(uid)) {
        this.drop(uid, old);
        this.handlers.delete?.(old);
      }
    for (const [uid, obj] of fresh) {
      const old = this.cache.get(uid);
      this.put(uid, obj);
      if (!old) this.handlers.add?.(obj);
      else if (old.metadata?.resourceVersion !== obj.metadata?.resourceVersion)
        this.handlers.update?.(obj, old);
    }
    this.rv = list.metadata.resourceVersion;
    await this.watch();
  }

  private later(fn: () => Promise<void>, ms: number): void {
    if (this.stopped) return;
    clearTimeout(this.retry);
    this.retry = setTimeout(() => {
      fn().catch((err: unknown) => {
        this.log.warn('informer restart failed; retrying', { error: (err as Error).message });
        this.later(fn, 1000);
      });
    }, ms);
  }

  private async watch(): Promise<void> {
    if (this.stopped) return;
    let expired = false;
    const session = await this.rc.watch(
      { ...this.scoped(), resourceVersion: this.rv, allowWatchBookmarks: true },
      (ev) => {
        const e = ev as unknown as { type: typeof ev.type; object: T };
        if (ev.type === 'ERROR') {
          expired = true;
          return;
        }
        const rv = e.object.metadata?.resourceVersion;
        if (rv) this.rv = rv;
        if (e.type === 'BOOKMARK') return;
        const uid = uidOf(e.object);
        const old = this.cache.get(uid);
        if (e.type === 'DELETED') {
          this.drop(uid, e.object);
          this.handlers.delete?.(e.object);
          return;
        }
        this.put(uid, e.object);
        if (old) this.handlers.update?.(e.object, old);
        else this.handlers.add?.(e.object);
      },
    );
    this.session = session;
    void session.done.then(() => {
      if (this.stopped || this.session !== session) return;
      if (expired) this.later(() => this.relist(), 100);
      else this.later(() => this.watch(), 0);
    });
  }
}
