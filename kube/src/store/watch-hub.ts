/**
 * Watch delivery shared by both backends. A `WatchQueue` is one watcher: events go in as the backend learns of
 * them and come out to the callbacks asynchronously (never inside the writer's call stack, and only after
 * `watch()` has returned the handle), in order, each once, with nothing delivered after `stop()` returns.
 *
 * The `WatchHub` fans the SQLite store's commits out in-process: the store publishes a batch of events right
 * after its transaction is durable, in the same turn of the event loop, and registers a new watcher (after
 * queueing its replay) in one synchronous step too, so a watcher sees history then live events with no gap or
 * duplicate and no polling. It also sends progress events to idle watchers so a client can resume from a recent
 * revision even when nothing under its prefix changes (etcd's progress_notify; the API server's bookmarks).
 */
import type { WatchCallbacks, WatchEvent, WatchHandle } from './types.js';

export class WatchQueue implements WatchHandle {
  private queue: WatchEvent[] = [];
  private failure: Error | undefined;
  private scheduled = false;
  private stopped = false;
  /** Revision of the last event (or progress) queued: the point this watcher is known to be at. */
  lastRevision: number;

  constructor(
    readonly prefix: string,
    private readonly cb: WatchCallbacks,
    /** Only events after this revision are delivered (a watch from a revision the store has not reached yet). */
    private readonly afterRevision: number,
    private readonly onStop: (q: WatchQueue) => void = () => undefined,
  ) {
    this.lastRevision = afterRevision;
  }

  get active(): boolean {
    return !this.stopped && this.failure === undefined;
  }

  get idle(): boolean {
    return this.queue.length === 0;
  }

  push(e: WatchEvent): void {
    if (!this.active || revisionOf(e) <= this.afterRevision) return;
    this.queue.push(e);
    this.lastRevision = revisionOf(e);
    this.schedule();
  }

  /** Ends the watch with an error, after the events already queued. */
  fail(err: Error): void {
    if (!this.active) return;
    this.failure = err;
    this.schedule();
  }

  stop(): void {
    if (this.stopped) return;
    this.stopped = true;
    this.queue = [];
    this.onStop(this);
  }

  private schedule(): void {
    if (this.scheduled) return;
    this.scheduled = true;
    setImmediate(() => this.drain());
  }

  private drain(): void {
    this.scheduled = false;
    while (!this.stopped && this.queue.length > 0) {
      const e = this.queue.shift() as WatchEvent;
      try {
        this.cb.onEvent(e);
      } catch (err) {
        // A throwing consumer ends its own watch, not the store.
        this.failure ??= err instanceof Error ? err : new Error(String(err));
        this.queue = [];
      }
    }
    if (!this.stopped && this.failure !== undefined) {
      this.stopped = true;
      this.onStop(this);
      this.cb.onError(this.failure);
    }
  }
}

export function revisionOf(e: WatchEvent): number {
  return e.type === 'put' ? e.kv.modRevision : e.revision;
}

function keyOf(e: WatchEvent): string | undefined {
  return e.type === 'put' ? e.kv.key : e.type === 'delete' ? e.key : undefined;
}

export class WatchHub {
  private readonly watchers = new Set<WatchQueue>();
  private readonly timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly currentRevision: () => number,
    progressIntervalMs: number,
  ) {
    if (progressIntervalMs > 0) {
      this.timer = setInterval(() => this.progress(), progressIntervalMs);
      this.timer.unref();
    }
  }

  get size(): number {
    return this.watchers.size;
  }

  /**
   * Registers a watcher for events after `afterRevision`; the caller queues the history it must replay
   * (revisions up to the current one) before publishing anything newer.
   */
  add(prefix: string, cb: WatchCallbacks, afterRevision: number): WatchQueue {
    const q = new WatchQueue(prefix, cb, afterRevision, (w) => this.watchers.delete(w));
    this.watchers.add(q);
    return q;
  }

  /** A committed batch, in revision order. */
  publish(events: readonly WatchEvent[]): void {
    if (this.watchers.size === 0) return;
    for (const e of events) {
      const key = keyOf(e);
      if (key === undefined) continue;
      for (const w of this.watchers) if (key.startsWith(w.prefix)) w.push(e);
    }
  }

  /** Tells each idle watcher that nothing under its prefix changed up to the current revision. */
  progress(): void {
    const rev = this.currentRevision();
    for (const w of this.watchers) {
      if (w.idle && w.lastRevision < rev) w.push({ type: 'progress', revision: rev });
    }
  }

  /** Ends every watch (the store is closing or broken). */
  failAll(err: Error): void {
    for (const w of [...this.watchers]) w.fail(err);
    this.watchers.clear();
  }

  close(err: Error): void {
    if (this.timer) clearInterval(this.timer);
    this.failAll(err);
  }
}
