/**
 * The store on a real etcd v3 (`--datastore-endpoint http://HOST:PORT`), laid out as kube-apiserver lays it:
 * keys are the `/registry/...` paths the API server passes in, values JSON (where kube-apiserver writes
 * protobuf). Revisions are etcd's own. Writes are transactions on the key's mod_revision, as kube-apiserver's
 * etcd3 store does them: a create succeeds only if the key has none (mod_revision = 0), an update or a
 * conditional delete only if it still has the one the caller read. Each watch is one etcd watch stream with
 * prev_kv and progress_notify, so etcd itself guarantees order and no gaps.
 *
 * Compaction is recorded in `compact_rev_key` (the key kube-apiserver's compactor uses, guarded by its version
 * in a transaction), so compactedRevision() is known without probing, then applied with /v3/kv/compaction.
 */
import type { Logger } from '@berth/common/log';
import { internal, tooLargeResourceVersion, unavailable } from '../../errors.js';
import { compacted, keyConflict, keyExists, keyNotFound } from '../errors.js';
import { keyAfter, prefixEnd } from '../keys.js';
import type {
  KeyValue,
  ListOptions,
  ListResult,
  Store,
  WatchCallbacks,
  WatchEvent,
  WatchHandle,
} from '../types.js';
import { WatchQueue } from '../watch-hub.js';
import {
  b64,
  EtcdClient,
  EtcdError,
  int,
  unb64,
  type RawEvent,
  type RawKv,
  type WatchStream,
} from './client.js';

const COMPACT_KEY = 'compact_rev_key';

function kvOf(raw: RawKv): KeyValue {
  return {
    key: unb64(raw.key),
    value: unb64(raw.value),
    createRevision: int(raw.create_revision),
    modRevision: int(raw.mod_revision),
  };
}

/** etcd's range for a prefix; the empty prefix is every key ("\0" as both ends, etcd's convention). */
function range(prefix: string): { key: string; range_end: string } {
  if (prefix === '') return { key: b64('\0'), range_end: b64('\0') };
  return { key: b64(prefix), range_end: b64(prefixEnd(prefix)) };
}

export class EtcdStore implements Store {
  readonly backend = 'etcd' as const;
  private compactedRev = 0;
  private closed = false;
  private readonly watches = new Set<WatchQueue>();

  private constructor(
    private readonly client: EtcdClient,
    private readonly log: Logger,
  ) {}

  static async open(o: { endpoint: string; log: Logger }): Promise<EtcdStore> {
    const store = new EtcdStore(new EtcdClient(o.endpoint), o.log);
    try {
      await store.compactedRevision();
      o.log.info('store opened', { backend: 'etcd', endpoint: o.endpoint, revision: await store.revision() });
    } catch (err) {
      store.client.close();
      throw err;
    }
    return store;
  }

  private check(): void {
    if (this.closed) throw unavailable('the store is closed');
  }

  /** etcd's answers in the cluster's error kinds. */
  private async kind(err: unknown, revision?: number): Promise<unknown> {
    if (!(err instanceof EtcdError)) return err;
    if (/required revision has been compacted/.test(err.message)) {
      const c = await this.compactedRevision().catch(() => this.compactedRev);
      return compacted(revision ?? 0, c);
    }
    if (/required revision is a future revision/.test(err.message)) {
      return tooLargeResourceVersion(revision ?? 0, await this.revision().catch(() => 0));
    }
    if (err.code === 14 || err.code === 4) return unavailable(`etcd: ${err.message}`);
    return internal(`etcd: ${err.message}`);
  }

  private async run<T>(f: () => Promise<T>, revision?: number): Promise<T> {
    this.check();
    try {
      return await f();
    } catch (err) {
      throw await this.kind(err, revision);
    }
  }

  async revision(): Promise<number> {
    return this.run(async () => {
      const r = await this.client.range({ key: b64(COMPACT_KEY), count_only: true });
      return int(r.header.revision);
    });
  }

  async compactedRevision(): Promise<number> {
    return this.run(async () => {
      const r = await this.client.range({ key: b64(COMPACT_KEY) });
      const c = Number(unb64(r.kvs?.[0]?.value) || 0);
      if (c > this.compactedRev) this.compactedRev = c;
      return this.compactedRev;
    });
  }

  async get(key: string, opts: { revision?: number } = {}): Promise<KeyValue | undefined> {
    const revision = opts.revision && opts.revision > 0 ? opts.revision : undefined;
    return this.run(async () => {
      if (revision !== undefined && revision < this.compactedRev)
        throw compacted(revision, this.compactedRev);
      const r = await this.client.range({ key: b64(key), ...(revision ? { revision } : {}) });
      const raw = r.kvs?.[0];
      return raw ? kvOf(raw) : undefined;
    }, revision);
  }

  async list(prefix: string, opts: ListOptions = {}): Promise<ListResult> {
    const revision = opts.revision && opts.revision > 0 ? opts.revision : undefined;
    return this.run(async () => {
      if (revision !== undefined && revision < this.compactedRev)
        throw compacted(revision, this.compactedRev);
      const whole = range(prefix);
      const from = opts.after !== undefined && opts.after >= prefix ? b64(keyAfter(opts.after)) : whole.key;
      const r = await this.client.range({
        key: from,
        range_end: whole.range_end,
        ...(revision ? { revision } : {}),
        ...(opts.limit && opts.limit > 0 ? { limit: opts.limit } : {}),
      });
      const items = (r.kvs ?? []).map(kvOf);
      return {
        items,
        revision: revision ?? int(r.header.revision),
        remaining: Math.max(0, int(r.count) - items.length),
      };
    }, revision);
  }

  async count(prefix: string): Promise<number> {
    return this.run(async () => int((await this.client.range({ ...range(prefix), count_only: true })).count));
  }

  async create(key: string, value: string): Promise<KeyValue> {
    return this.run(async () => {
      const k = b64(key);
      const r = await this.client.txn({
        compare: [{ key: k, target: 'MOD', result: 'EQUAL', mod_revision: 0 }],
        success: [{ request_put: { key: k, value: b64(value) } }],
        failure: [],
      });
      if (!r.succeeded) throw keyExists(key);
      const rev = int(r.header.revision);
      return { key, value, createRevision: rev, modRevision: rev };
    });
  }

  async update(key: string, value: string, expectedRevision: number): Promise<KeyValue> {
    return this.run(async () => {
      const k = b64(key);
      const r = await this.client.txn({
        compare: [{ key: k, target: 'MOD', result: 'EQUAL', mod_revision: expectedRevision }],
        // keys_only: the new create_revision without sending the value back.
        success: [
          { request_put: { key: k, value: b64(value) } },
          { request_range: { key: k, keys_only: true } },
        ],
        failure: [{ request_range: { key: k, keys_only: true } }],
      });
      const found = r.responses?.[r.succeeded ? 1 : 0]?.response_range?.kvs?.[0];
      if (!r.succeeded) throw found ? keyConflict(key) : keyNotFound(key);
      return { key, value, createRevision: int(found?.create_revision), modRevision: int(r.header.revision) };
    });
  }

  async delete(key: string, expectedRevision?: number): Promise<{ prev: KeyValue; revision: number }> {
    return this.run(async () => {
      const k = b64(key);
      const r = await this.client.txn({
        compare: [
          expectedRevision !== undefined
            ? { key: k, target: 'MOD', result: 'EQUAL', mod_revision: expectedRevision }
            : { key: k, target: 'MOD', result: 'GREATER', mod_revision: 0 },
        ],
        success: [{ request_delete_range: { key: k, prev_kv: true } }],
        failure: [{ request_range: { key: k, keys_only: true } }],
      });
      if (!r.succeeded) {
        const found = r.responses?.[0]?.response_range?.kvs?.[0];
        throw found ? keyConflict(key) : keyNotFound(key);
      }
      const prev = r.responses?.[0]?.response_delete_range?.prev_kvs?.[0];
      if (!prev) throw keyNotFound(key);
      return { prev: kvOf(prev), revision: int(r.header.revision) };
    });
  }

  async watch(prefix: string, afterRevision: number, cb: WatchCallbacks): Promise<WatchHandle> {
    this.check();
    let stream: WatchStream | undefined;
    const q = new WatchQueue(prefix, cb, Math.max(afterRevision, 0), (w) => {
      this.watches.delete(w);
      stream?.close();
    });
    this.watches.add(q);
    if (afterRevision > 0 && afterRevision < this.compactedRev) {
      q.fail(compacted(afterRevision, this.compactedRev));
      return q;
    }
    // Resolves once etcd has registered the watch, so no write after watch() returns can be missed.
    await new Promise<void>((registered) => {
      stream = this.client.watch(
        {
          ...range(prefix),
          ...(afterRevision > 0 ? { start_revision: afterRevision + 1 } : {}),
          prev_kv: true,
          progress_notify: true,
        },
        (r) => {
          if (r.created) registered();
          if (r.canceled) {
            registered();
            const c = int(r.compact_revision);
            if (c > 0) {
              this.compactedRev = Math.max(this.compactedRev, c);
              q.fail(compacted(afterRevision, c));
            } else {
              q.fail(unavailable(`etcd cancelled the watch: ${r.cancel_reason ?? 'no reason given'}`));
            }
            return;
          }
          if (r.events?.length) {
            for (const e of r.events) {
              const ev = eventOf(e);
              if (ev instanceof Error) return q.fail(ev);
              q.push(ev);
            }
          } else if (!r.created && r.header.revision) {
            q.push({ type: 'progress', revision: int(r.header.revision) });
          }
        },
        (err) => {
          registered();
          q.fail(err);
        },
      );
    });
    return q;
  }

  async compact(revision: number): Promise<void> {
    await this.run(async () => {
      const current = await this.client.range({ key: b64(COMPACT_KEY) });
      const target = Math.min(revision, int(current.header.revision));
      const recorded = current.kvs?.[0];
      if (target <= Number(unb64(recorded?.value) || 0)) return;
      // The version guard makes concurrent compactors (two API servers) agree on one target.
      const t = await this.client.txn({
        compare: [
          { key: b64(COMPACT_KEY), target: 'VERSION', result: 'EQUAL', version: int(recorded?.version) },
        ],
        success: [{ request_put: { key: b64(COMPACT_KEY), value: b64(String(target)) } }],
        failure: [],
      });
      if (!t.succeeded) return;
      try {
        await this.client.compaction(target);
      } catch (err) {
        if (!(err instanceof EtcdError && /compacted/.test(err.message))) throw err;
      }
      this.compactedRev = Math.max(this.compactedRev, target);
      this.log.debug('store compacted', { to: target });
    });
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    const err = unavailable('the store is closed');
    for (const q of [...this.watches]) q.fail(err);
    this.watches.clear();
    this.client.close();
  }
}

function eventOf(e: RawEvent): WatchEvent | Error {
  const kv = kvOf(e.kv);
  if (e.type === 'DELETE') {
    if (!e.prev_kv) return internal(`etcd sent a delete of ${kv.key} without its previous value`);
    return { type: 'delete', key: kv.key, revision: kv.modRevision, prev: kvOf(e.prev_kv) };
  }
  return e.prev_kv ? { type: 'put', kv, prev: kvOf(e.prev_kv) } : { type: 'put', kv };
}
