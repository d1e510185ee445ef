/**
 * One store watch for the whole cluster, fanned out to every watcher: kube-apiserver's watch cache in small. The
 * hub watches `/registry/` from the revision it started at, keeps the most recent events in a ring, and hands each
 * subscriber the events under its prefix after the revision it asked for: replayed from the ring when the ring
 * still covers that revision, otherwise from a watch of its own on the store (which answers Expired once the
 * revision is compacted). 100 clients watching pods cost one store watch, not 100.
 */
import type { Logger } from '../../log.js';
import type { Store, WatchEvent, WatchHandle } from '../../store/types.js';
import { REGISTRY_ROOT } from './keys.js';

export interface HubSubscriber {
  onEvent(e: WatchEvent): void;
  onError(err: Error): void;
}

interface Sub extends HubSubscriber {
  prefix: string;
  after: number;
}

const revisionOf = (e: WatchEvent): number =>
  e.type === 'put' ? e.kv.modRevision : e.type === 'delete' ? e.revision : e.revision;

export class WatchHub {
  private readonly ring: WatchEvent[] = [];
  /** Every event with a revision above this one is in the ring (or still to come). */
  private floor = 0;
  private latest = 0;
  private readonly subs = new Set<Sub>();
  private handle?: WatchHandle;
  private closed = false;
  private restarting?: Promise<void>;
  private readonly waiters: Array<{ revision: number; resolve: () => void }> = [];

  constructor(
    private readonly store: Store,
    private readonly log: Logger,
    private readonly capacity = 4096,
  ) {}

  async start(): Promise<void> {
    const rev = await this.store.revision();
    this.floor = rev;
    this.latest = rev;
    await this.open(rev);
  }

  private async open(after: number): Promise<void> {
    this.handle = await this.store.watch(REGISTRY_ROOT, after, {
      onEvent: (e) => this.dispatch(e),
      onError: (err) => this.lost(err),
    });
  }

  /** The store watch died (backend restart, or it fell behind compaction): watchers relist, the hub reopens. */
  private lost(err: Error): void {
    if (this.closed) return;
    this.log.warn('store watch ended; watchers will resume', { error: err });
    for (const s of [...this.subs]) {
      this.subs.delete(s);
      s.onError(err);
    }
    this.ring.length = 0;
    this.restarting ??= (async () => {
      for (let delay = 100; !this.closed; delay = Math.min(delay * 2, 5000)) {
        try {
          const rev = await this.store.revision();
          this.floor = rev;
          this.latest = Math.max(this.latest, rev);
          await this.open(rev);
          break;
        } catch (e) {
          this.log.warn('reopening the store watch failed', { error: e as Error });
          await new Promise((r) => setTimeout(r, delay));
        }
      }
      this.restarting = undefined;
    })();
  }

  private dispatch(e: WatchEvent): void {
    const rev = revisionOf(e);
    if (rev > this.latest) this.latest = rev;
    if (e.type !== 'progress') {
      this.ring.push(e);
      if (this.ring.length > this.capacity) {
        const dropped = this.ring.shift()!;
        this.floor = revisionOf(dropped);
      }
      const key = e.type === 'put' ? e.kv.key : e.key;
      for (const s of this.subs) if (key.startsWith(s.prefix) && rev > s.after) s.onEvent(e);
    }
    while (this.waiters.length && this.waiters[0].revision <= this.latest) this.waiters.shift()!.resolve();
  }

  /** The newest revision the hub has seen: a bookmark may carry it (every event up to it was delivered). */
  get revision(): number {
    return this.latest;
  }

  /** Resolves once the hub has seen `revision` (false after `timeoutMs`): "too large resource version" waits. */
  waitFor(revision: number, timeoutMs: number): Promise<boolean> {
    if (revision <= this.latest) return Promise.resolve(true);
    return new Promise((resolve) => {
      const w = { revision, resolve: () => resolve(true) };
      this.waiters.push(w);
      this.waiters.sort((a, b) => a.revision - b.revision);
      setTimeout(() => {
        const i = this.waiters.indexOf(w);
        if (i >= 0) {
          this.waiters.splice(i, 1);
          resolve(false);
        }
      }, timeoutMs).unref();
    });
  }

  /**
   * Events under `prefix` with a revision above `after`, in order, without gap or duplicate. Errors (Expired)
   * arrive through onError after this resolves.
   */
  async subscribe(prefix: string, after: number, sub: HubSubscriber): Promise<WatchHandle> {
    if (after >= this.floor && !this.restarting) {
      const s: Sub = { ...sub, prefix, after };
      for (const e of this.ring) {
        const key = e.type === 'put' ? e.kv.key : e.type === 'delete' ? e.key : '';
        if (revisionOf(e) > after && key.startsWith(prefix)) s.onEvent(e);
      }
      this.subs.add(s);
      return { stop: () => void this.subs.delete(s) };
    }
    // Older than the ring: the store replays (or answers Expired) for this watcher alone.
    return this.store.watch(prefix, after, sub);
  }

  /**
   * Ends every subscription now (their streams close; clients resume from their last resourceVersion, or relist
   * after a 410 when that revision is gone). The store watch stays.
   */
  interrupt(reason = 'watch interrupted'): void {
    for (const s of [...this.subs]) {
      this.subs.delete(s);
      s.onError(new Error(reason));
    }
  }

  /** Whether a subscription after `revision` is served from the ring (its bookmarks may use `revision`). */
  covers(revision: number): boolean {
    return revision >= this.floor && !this.restarting;
  }

  get watchers(): number {
    return this.subs.size;
  }

  stop(): void {
    this.closed = true;
    this.handle?.stop();
    for (const s of this.subs) s.onError(new Error('the server is shutting down'));
    this.subs.clear();
  }
}
