/**
 * A Store held in memory: the contract of ./types.ts without durability, for unit tests and for
 * `--datastore-endpoint memory://` (benchmarks, throwaway clusters). History is kept per write so lists at an
 * old revision and watches from one replay exactly, until compact() drops it.
 */
import { alreadyExists, conflict, expired, notFound } from '../errors.js';
import type {
  KeyValue,
  ListOptions,
  ListResult,
  Store,
  WatchCallbacks,
  WatchEvent,
  WatchHandle,
} from './types.js';

interface Write {
  revision: number;
  key: string;
  /** undefined: a delete. */
  kv?: KeyValue;
  prev?: KeyValue;
}

export class MemoryStore implements Store {
  readonly backend = 'sqlite' as const;
  private rev = 0;
  private compacted = 0;
  private readonly live = new Map<string, KeyValue>();
  private log: Write[] = [];
  private readonly watchers = new Set<{ prefix: string; cb: WatchCallbacks }>();

  async revision(): Promise<number> {
    return this.rev;
  }

  async compactedRevision(): Promise<number> {
    return this.compacted;
  }

  private at(revision: number): Map<string, KeyValue> {
    if (revision >= this.rev) return this.live;
    if (revision < this.compacted) throw expired(`required revision ${revision} has been compacted`);
    // Undo the writes after `revision`, newest first.
    const m = new Map(this.live);
    for (let i = this.log.length - 1; i >= 0 && this.log[i].revision > revision; i--) {
      const w = this.log[i];
      if (w.prev) m.set(w.key, w.prev);
      else m.delete(w.key);
    }
    return m;
  }

  async get(key: string, opts: { revision?: number } = {}): Promise<KeyValue | undefined> {
    return this.at(opts.revision || this.rev).get(key);
  }

  async list(prefix: string, opts: ListOptions = {}): Promise<ListResult> {
    const revision = opts.revision || this.rev;
    if (revision > this.rev) throw expired(`revision ${revision} is in the future`);
    const all = [...this.at(revision).values()]
      .filter((kv) => kv.key.startsWith(prefix) && (!opts.after || kv.key > opts.after))
      .sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
    const items = opts.limit ? all.slice(0, opts.limit) : all;
    return { items, revision, remaining: all.length - items.length };
  }

  async count(prefix: string): Promise<number> {
    let n = 0;
    for (const k of this.live.keys()) if (k.startsWith(prefix)) n++;
    return n;
  }

  private commit(w: Write, event: WatchEvent): void {
    this.log.push(w);
    for (const x of this.watchers) {
      const key = event.type === 'put' ? event.kv.key : event.type === 'delete' ? event.key : '';
      if (key.startsWith(x.prefix)) x.cb.onEvent(event);
    }
  }

  async create(key: string, value: string): Promise<KeyValue> {
    if (this.live.has(key)) throw alreadyExists('key', key);
    const revision = ++this.rev;
    const kv: KeyValue = { key, value, createRevision: revision, modRevision: revision };
    this.live.set(key, kv);
    this.commit({ revision, key, kv }, { type: 'put', kv });
    return kv;
  }

  async update(key: string, value: string, expectedRevision: number): Promise<KeyValue> {
    const prev = this.live.get(key);
    if (!prev) throw notFound('key', key);
    if (prev.modRevision !== expectedRevision) throw conflict('key', key, 'revision mismatch');
    const revision = ++this.rev;
    const kv: KeyValue = { key, value, createRevision: prev.createRevision, modRevision: revision };
    this.live.set(key, kv);
    this.commit({ revision, key, kv, prev }, { type: 'put', kv, prev });
    return kv;
  }

  async delete(key: string, expectedRevision?: number): Promise<{ prev: KeyValue; revision: number }> {
    const prev = this.live.get(key);
    if (!prev) throw notFound('key', key);
    if (expectedRevision !== undefined && prev.modRevision !== expectedRevision)
      throw conflict('key', key, 'revision mismatch');
    const revision = ++this.rev;
    this.live.delete(key);
    this.commit({ revision, key, prev }, { type: 'delete', key, revision, prev });
    return { prev, revision };
  }

  async watch(prefix: string, afterRevision: number, cb: WatchCallbacks): Promise<WatchHandle> {
    const w = { prefix, cb };
    let stopped = false;
    if (afterRevision && afterRevision < this.compacted) {
      queueMicrotask(() => {
        if (!stopped) cb.onError(expired(`required revision ${afterRevision} has been compacted`));
      });
      return { stop: () => void (stopped = true) };
    }
    if (afterRevision) {
      for (const e of this.log) {
        if (e.revision <= afterRevision || !e.key.startsWith(prefix)) continue;
        cb.onEvent(
          e.kv
            ? { type: 'put', kv: e.kv, ...(e.prev ? { prev: e.prev } : {}) }
            : { type: 'delete', key: e.key, revision: e.revision, prev: e.prev! },
        );
      }
    }
    this.watchers.add(w);
    return {
      stop: () => {
        stopped = true;
        this.watchers.delete(w);
      },
    };
  }

  async compact(revision: number): Promise<void> {
    if (revision <= this.compacted) return;
    this.compacted = Math.min(revision, this.rev);
    this.log = this.log.filter((w) => w.revision > this.compacted);
  }

  async close(): Promise<void> {
    this.watchers.clear();
  }
}
