/**
 * An informer, as client-go's: list, then watch from the list's resourceVersion, keeping a local cache that
 * handlers read instead of the API. A watch that falls behind compaction (the ERROR event with 410 Expired) or
 * ends relists and diffs the fresh list against the cache, so handlers see the adds, updates and deletes they
 * missed. Every `resyncMs` each cached object is handed to the update handlers again (old === new), so
 * controllers re-reconcile what no event touched (deadlines, lost writes).
 */
import type { ResourceClient } from '../../client/index.js';
import type { WatchSession } from '../../registry/generic/context.js';
import type { KubeObject } from '../../registry/types.js';
import type { Logger } from '../../log.js';

export interface Handlers<T> {
  add?(obj: T): void;
  /** old === cur on a resync. */
  update?(old: T, cur: T): void;
  delete?(obj: T): void;
}

export interface InformerOptions {
  labelSelector?: string;
  fieldSelector?: string;
  /** Re-deliver every cached object to update handlers this often (0: never). */
  resyncMs?: number;
}

/** client-go's MetaNamespaceKeyFunc: "namespace/name", or "name" for cluster-scoped objects. */
export function keyOf(obj: KubeObject): string {
  const m = obj.metadata ?? {};
  return m.namespace ? `${m.namespace}/${m.name}` : (m.name ?? '');
}

export function splitKey(key: string): { namespace: string; name: string } {
  const i = key.indexOf('/');
  return i < 0 ? { namespace: '', name: key } : { namespace: key.slice(0, i), name: key.slice(i + 1) };
}

const RETRY_MIN_MS = 100;
const RETRY_MAX_MS = 10_000;

export class Informer<T extends KubeObject> {
  private readonly cache = new Map<string, T>();
  private readonly byNamespace = new Map<string, Map<string, T>>();
  private readonly handlers: Handlers<T>[] = [];
  private session?: WatchSession;
  private lastRv = '';
  private synced = false;
  private stopped = false;
  private started?: Promise<void>;
  private resyncTimer?: NodeJS.Timeout;
  private retryMs = RETRY_MIN_MS;
  private retryTimer?: NodeJS.Timeout;

  constructor(
    readonly rc: ResourceClient<T>,
    private readonly log: Logger,
    private readonly opts: InformerOptions = {},
  ) {}

  /** Adds handlers; when already synced, the cached objects are delivered to `add` at once (as client-go does). */
  on(h: Handlers<T>): void {
    this.handlers.push(h);
    if (this.synced) for (const o of this.cache.values()) this.call(() => h.add?.(o));
  }

  /** Lists and starts watching; resolves once the cache holds the first list. */
  start(): Promise<void> {
    this.started ??= this.relist().then(() => {
      if (this.opts.resyncMs) {
        this.resyncTimer = setInterval(() => this.resync(), this.opts.resyncMs);
        this.resyncTimer.unref();
      }
    });
    return this.started;
  }

  hasSynced(): boolean {
    return this.synced;
  }

  stop(): void {
    this.stopped = true;
    this.session?.stop();
    clearInterval(this.resyncTimer);
    clearTimeout(this.retryTimer);
  }

  get(key: string): T | undefined {
    return this.cache.get(key);
  }

  getIn(namespace: string | undefined, name: string): T | undefined {
    return this.cache.get(namespace ? `${namespace}/${name}` : name);
  }

  /** Every cached object, or those of one namespace. */
  list(namespace?: string): T[] {
    if (namespace === undefined) return [...this.cache.values()];
    return [...(this.byNamespace.get(namespace)?.values() ?? [])];
  }

  /** The newest resourceVersion the cache reflects. */
  resourceVersion(): string {
    return this.lastRv;
  }

  private call(f: () => void): void {
    try {
      f();
    } catch (e) {
      this.log.error('informer handler failed', { resource: this.rc.plural, error: e as Error });
    }
  }

  private put(obj: T): T | undefined {
    const key = keyOf(obj);
    const old = this.cache.get(key);
    this.cache.set(key, obj);
    const ns = obj.metadata?.namespace ?? '';
    let m = this.byNamespace.get(ns);
    if (!m) this.byNamespace.set(ns, (m = new Map<string, T>()));
    m.set(key, obj);
    return old;
  }

  private remove(key: string): T | undefined {
    const old = this.cache.get(key);
    if (!old) return undefined;
    this.cache.delete(key);
    this.byNamespace.get(old.metadata?.namespace ?? '')?.delete(key);
    return old;
  }

  private deliver(old: T | undefined, cur: T | undefined): void {
    for (const h of this.handlers) {
      if (cur && !old) this.call(() => h.add?.(cur));
      else if (cur && old) this.call(() => h.update?.(old, cur));
      else if (old) this.call(() => h.delete?.(old));
    }
  }

  private async relist(): Promise<void> {
    const { labelSelector, fieldSelector } = this.opts;
    const list = await this.rc.list({
      ...(labelSelector ? { labelSelector } : {}),
      ...(fieldSelector ? { fieldSelector } : {}),
    });
    const seen = new Set<string>();
    for (const obj of list.items) {
      const key = keyOf(obj);
      seen.add(key);
      const old = this.cache.get(key);
      if (old && old.metadata?.resourceVersion === obj.metadata?.resourceVersion) continue;
      this.put(obj);
      this.deliver(old, obj);
    }
    for (const key of [...this.cache.keys()]) {
      if (seen.has(key)) continue;
      this.deliver(this.remove(key), undefined);
    }
    this.lastRv = list.metadata.resourceVersion;
    this.synced = true;
    await this.watch();
  }

  private async watch(): Promise<void> {
    if (this.stopped) return;
    const { labelSelector, fieldSelector } = this.opts;
    let expired = false;
    const session = await this.rc.watch(
      {
        resourceVersion: this.lastRv,
        allowWatchBookmarks: true,
        ...(labelSelector ? { labelSelector } : {}),
        ...(fieldSelector ? { fieldSelector } : {}),
      },
      (e) => {
        const rv = e.object.metadata?.resourceVersion;
        switch (e.type) {
          case 'ERROR':
            expired = true;
            return;
          case 'BOOKMARK':
            if (rv) this.lastRv = rv;
            return;
          case 'DELETED':
            if (rv) this.lastRv = rv;
            this.deliver(this.remove(keyOf(e.object)), undefined);
            return;
          default: {
            if (rv) this.lastRv = rv;
            const old = this.put(e.object);
            this.deliver(old, e.object);
          }
        }
      },
    );
    this.session = session;
    this.retryMs = RETRY_MIN_MS;
    void session.done.then(() => {
      if (this.stopped || this.session !== session) return;
      // Expired: what we missed is gone from history, so the cache is rebuilt from a list. Otherwise the watch
      // just ended (timeout, hub restart): resume from the last revision seen.
      this.restart(expired);
    });
  }

  private restart(relist: boolean): void {
    if (this.stopped) return;
    const attempt = relist ? this.relist() : this.watch();
    attempt.catch((e: unknown) => {
      if (this.stopped) return;
      this.log.warn('informer restart failed; retrying', { resource: this.rc.plural, error: e as Error });
      this.retryTimer = setTimeout(() => this.restart(true), this.retryMs);
      this.retryTimer.unref();
      this.retryMs = Math.min(this.retryMs * 2, RETRY_MAX_MS);
    });
  }

  private resync(): void {
    for (const o of this.cache.values()) for (const h of this.handlers) this.call(() => h.update?.(o, o));
  }
}

/** One informer per resource shared by every controller (pods are watched once, not once per controller). */
export class InformerFactory {
  private readonly informers = new Map<string, Informer<KubeObject>>();
  private running = false;

  constructor(
    private readonly client: {
      resource<T extends KubeObject>(apiVersion: string, plural: string): ResourceClient<T>;
    },
    private readonly log: Logger,
    private readonly resyncMs = 0,
  ) {}

  for<T extends KubeObject>(apiVersion: string, plural: string): Informer<T> {
    const key = `${apiVersion}/${plural}`;
    let inf = this.informers.get(key);
    if (!inf) {
      inf = new Informer<KubeObject>(
        this.client.resource(apiVersion, plural),
        this.log.child({ informer: plural }),
        this.resyncMs ? { resyncMs: this.resyncMs } : {},
      );
      this.informers.set(key, inf);
      if (this.running) void inf.start().catch((e: unknown) => this.failed(plural, e));
    }
    return inf as unknown as Informer<T>;
  }

  private failed(plural: string, e: unknown): void {
    this.log.error('informer failed to start', { resource: plural, error: e as Error });
  }

  /** Starts every informer asked for so far (and later ones as they are asked for); resolves when all synced. */
  async start(): Promise<void> {
    this.running = true;
    await Promise.all([...this.informers.values()].map((i) => i.start()));
  }

  stop(): void {
    this.running = false;
    for (const i of this.informers.values()) i.stop();
  }
}
