/**
 * The embedded store: kine's model over one SQLite file (`<dataDir>/state.db`). Every write appends one row
 * (a create, an update, or a delete marker carrying the last value); the row id is the revision, so history is
 * the table itself, a list at revision R takes each key's newest row at or below R, and a watch replays rows
 * after its revision. Compaction deletes the rows superseded at or below a revision and the delete markers
 * there, and records the compacted revision.
 *
 * Unlike kine (which polls its table, because several kine processes may share one database) this process owns
 * the file alone (`locking_mode=EXCLUSIVE`: a second berth-kube on the same data dir fails at open), so it knows
 * every write: revisions are counted in memory and each committed batch is published to the watch hub in the
 * same turn of the event loop as its commit.
 *
 * Durability: WAL with `synchronous=FULL`, so COMMIT returns only after the WAL is fsynced; a write's promise
 * resolves only after that. Writes arriving in the same turn of the event loop share one transaction and one
 * fsync (group commit: `flush`), each checked and applied in arrival order as if alone.
 */
import { promises as fsp } from 'node:fs';
import path from 'node:path';
import type { Logger } from '@berth/common/log';
import { isKubeError, tooLargeResourceVersion, unavailable, type KubeError } from '../../errors.js';
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
import { WatchHub } from '../watch-hub.js';
import {
  openDatabase,
  type BindingName,
  type SqlDatabase,
  type SqlRow,
  type SqlStatement,
} from './binding.js';

const SCHEMA = `
CREATE TABLE IF NOT EXISTS kv (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  name TEXT NOT NULL,
  created INTEGER NOT NULL,
  deleted INTEGER NOT NULL,
  create_revision INTEGER NOT NULL,
  prev_revision INTEGER NOT NULL,
  value TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS kv_name_id ON kv (name, id);
CREATE TABLE IF NOT EXISTS meta (k TEXT PRIMARY KEY, v INTEGER NOT NULL);
`;

/** Compaction deletes in transactions of at most this many revisions, yielding between them (kine batches too). */
const COMPACT_BATCH = 1000;

export interface SqliteStoreOptions {
  dataDir: string;
  log: Logger;
  binding?: BindingName;
  /** How often idle watchers get a progress event (0: never). */
  progressIntervalMs?: number;
}

type WriteOp =
  | { kind: 'create'; key: string; value: string }
  | { kind: 'update'; key: string; value: string; expected: number }
  | { kind: 'delete'; key: string; expected?: number };

type WriteResult = KeyValue | { prev: KeyValue; revision: number };

interface Pending {
  op: WriteOp;
  resolve(r: WriteResult): void;
  reject(e: Error): void;
}

interface Statements {
  latest: SqlStatement;
  insert: SqlStatement;
  getAt: SqlStatement;
  list: SqlStatement;
  count: SqlStatement;
  history: SqlStatement;
  compactSuperseded: SqlStatement;
  compactDeleted: SqlStatement;
  setMeta: SqlStatement;
}

function num(v: unknown): number {
  return typeof v === 'bigint' ? Number(v) : (v as number);
}

function rowKv(r: SqlRow): KeyValue {
  return {
    key: r.name as string,
    value: r.value as string,
    createRevision: num(r.create_revision),
    modRevision: num(r.id),
  };
}

export class SqliteStore implements Store {
  readonly backend = 'sqlite' as const;
  private rev = 0;
  private compactedRev = 0;
  private pending: Pending[] = [];
  private flushScheduled = false;
  private closed = false;
  private compacting: Promise<void> = Promise.resolve();
  private readonly hub: WatchHub;
  private readonly stmts: Statements;

  private constructor(
    private readonly db: SqlDatabase,
    readonly file: string,
    private readonly log: Logger,
    progressIntervalMs: number,
  ) {
    this.stmts = {
      latest: db.prepare(
        'SELECT id, name, deleted, create_revision, value FROM kv WHERE name = ? ORDER BY id DESC LIMIT 1',
      ),
      insert: db.prepare(
        'INSERT INTO kv (id, name, created, deleted, create_revision, prev_revision, value) VALUES (?, ?, ?, ?, ?, ?, ?)',
      ),
      getAt: db.prepare(
        'SELECT id, name, deleted, create_revision, value FROM kv WHERE name = ? AND id <= ? ORDER BY id DESC LIMIT 1',
      ),
      // Each key's newest row at or below the revision, live ones only, in key order from `lower`.
      list: db.prepare(`
        SELECT k.id, k.name, k.create_revision, k.value FROM kv k
        JOIN (SELECT MAX(id) AS id FROM kv WHERE name >= ? AND name < ? AND id <= ? GROUP BY name) m ON k.id = m.id
        WHERE k.deleted = 0 ORDER BY k.name LIMIT ?`),
      count: db.prepare(`
        SELECT COUNT(*) AS n FROM kv k
        JOIN (SELECT MAX(id) AS id FROM kv WHERE name >= ? AND name < ? AND id <= ? GROUP BY name) m ON k.id = m.id
        WHERE k.deleted = 0`),
      // A watch's replay; the previous row of any row above the compacted revision survives compaction.
      history: db.prepare(`
        SELECT k.id, k.name, k.created, k.deleted, k.create_revision, k.prev_revision, k.value,
               p.value AS prev_value, p.create_revision AS prev_create_revision
        FROM kv k LEFT JOIN kv p ON p.id = k.prev_revision
        WHERE k.id > ? AND k.id <= ? AND k.name >= ? AND k.name < ? ORDER BY k.id`),
      compactSuperseded: db.prepare(
        'DELETE FROM kv WHERE id IN (SELECT prev_revision FROM kv WHERE id > ? AND id <= ? AND prev_revision != 0)',
      ),
      compactDeleted: db.prepare('DELETE FROM kv WHERE deleted = 1 AND id > ? AND id <= ?'),
      setMeta: db.prepare(
        'INSERT INTO meta (k, v) VALUES (?, ?) ON CONFLICT (k) DO UPDATE SET v = excluded.v',
      ),
    };
    this.hub = new WatchHub(() => this.rev, progressIntervalMs);
  }

  static async open(o: SqliteStoreOptions): Promise<SqliteStore> {
    await fsp.mkdir(o.dataDir, { recursive: true, mode: 0o700 });
    const file = path.join(o.dataDir, 'state.db');
    const db = await openDatabase(file, o.binding);
    try {
      // Long enough for a berth-kube being replaced to let go of the file, short enough to fail visibly.
      db.exec('PRAGMA busy_timeout = 500');
      // Exclusive before WAL: the WAL index then lives in this process's heap, and the lock is held from the
      // first read, so a second process on this file fails here rather than writing behind our back.
      db.exec('PRAGMA locking_mode = EXCLUSIVE');
      const mode = db.prepare('PRAGMA journal_mode = WAL').get();
      if (String(mode?.journal_mode).toLowerCase() !== 'wal')
        throw new Error(`journal_mode is ${mode?.journal_mode}`);
      db.exec('PRAGMA synchronous = FULL');
      db.exec(SCHEMA);
    } catch (err) {
      db.close();
      const msg = (err as Error).message;
      throw unavailable(
        /locked|busy/i.test(msg) ? `${file} is in use by another process` : `cannot open ${file}: ${msg}`,
      );
    }
    const store = new SqliteStore(db, file, o.log, o.progressIntervalMs ?? 5000);
    store.load();
    o.log.info('store opened', { backend: 'sqlite', binding: db.binding, file, revision: store.rev });
    return store;
  }

  get binding(): BindingName {
    return this.db.binding;
  }

  /** The settings durability rests on, as SQLite reports them (tests assert them). */
  durability(): { journalMode: string; synchronous: number; lockingMode: string } {
    const q = (pragma: string) => Object.values(this.db.prepare(`PRAGMA ${pragma}`).get() ?? {})[0];
    return {
      journalMode: String(q('journal_mode')),
      synchronous: num(q('synchronous')),
      lockingMode: String(q('locking_mode')),
    };
  }

  /** Revision and compacted revision from disk. A fresh file starts at revision 1, as a fresh etcd does. */
  private load(): void {
    const seq = this.db.prepare("SELECT seq FROM sqlite_sequence WHERE name = 'kv'").get();
    if (seq === undefined) {
      this.db.exec("INSERT INTO sqlite_sequence (name, seq) VALUES ('kv', 1)");
      this.rev = 1;
    } else {
      this.rev = num(seq.seq);
    }
    const c = this.db.prepare("SELECT v FROM meta WHERE k = 'compacted'").get();
    this.compactedRev = c ? num(c.v) : 0;
  }

  private check(): void {
    if (this.closed) throw unavailable('the store is closed');
  }

  private at(revision: number | undefined): number {
    const r = revision && revision > 0 ? revision : this.rev;
    if (r > this.rev) throw tooLargeResourceVersion(r, this.rev);
    if (r < this.compactedRev) throw compacted(r, this.compactedRev);
    return r;
  }

  async revision(): Promise<number> {
    this.check();
    return this.rev;
  }

  async compactedRevision(): Promise<number> {
    this.check();
    return this.compactedRev;
  }

  async get(key: string, opts: { revision?: number } = {}): Promise<KeyValue | undefined> {
    this.check();
    const row = this.stmts.getAt.get(key, this.at(opts.revision));
    return row && num(row.deleted) === 0 ? rowKv(row) : undefined;
  }

  async list(prefix: string, opts: ListOptions = {}): Promise<ListResult> {
    this.check();
    const revision = this.at(opts.revision);
    const end = prefixEnd(prefix);
    const lower = opts.after !== undefined && opts.after >= prefix ? keyAfter(opts.after) : prefix;
    const limit = opts.limit && opts.limit > 0 ? opts.limit : -1;
    const items = this.stmts.list.all(lower, end, revision, limit).map(rowKv);
    let remaining = 0;
    if (limit > 0 && items.length === limit) {
      const last = items[items.length - 1];
      remaining = num(this.stmts.count.get(keyAfter(last.key), end, revision)?.n);
    }
    return { items, revision, remaining };
  }

  async count(prefix: string): Promise<number> {
    this.check();
    return num(this.stmts.count.get(prefix, prefixEnd(prefix), this.rev)?.n);
  }

  create(key: string, value: string): Promise<KeyValue> {
    return this.enqueue({ kind: 'create', key, value }) as Promise<KeyValue>;
  }

  update(key: string, value: string, expectedRevision: number): Promise<KeyValue> {
    return this.enqueue({ kind: 'update', key, value, expected: expectedRevision }) as Promise<KeyValue>;
  }

  delete(key: string, expectedRevision?: number): Promise<{ prev: KeyValue; revision: number }> {
    return this.enqueue({ kind: 'delete', key, expected: expectedRevision }) as Promise<{
      prev: KeyValue;
      revision: number;
    }>;
  }

  private enqueue(op: WriteOp): Promise<WriteResult> {
    return new Promise((resolve, reject) => {
      if (this.closed) return reject(unavailable('the store is closed'));
      this.pending.push({ op, resolve, reject });
      if (!this.flushScheduled) {
        this.flushScheduled = true;
        setImmediate(() => this.flush());
      }
    });
  }

  /** One transaction for every write queued since the last flush: one fsync, then every waiter answered. */
  private flush(): void {
    this.flushScheduled = false;
    const batch = this.pending;
    this.pending = [];
    if (batch.length === 0) return;
    const before = this.rev;
    const outcomes: Array<WriteResult | KubeError> = [];
    const events: WatchEvent[] = [];
    try {
      this.db.exec('BEGIN IMMEDIATE');
      for (const p of batch) {
        try {
          outcomes.push(this.apply(p.op, events));
        } catch (err) {
          if (!isKubeError(err)) throw err;
          outcomes.push(err);
        }
      }
      this.db.exec('COMMIT');
    } catch (err) {
      this.rev = before;
      try {
        this.db.exec('ROLLBACK');
      } catch {
        // The failed COMMIT may already have rolled back.
      }
      this.log.error('store write failed', { err: err as Error, writes: batch.length });
      const e = unavailable(`store write failed: ${(err as Error).message}`);
      for (const p of batch) p.reject(e);
      return;
    }
    this.hub.publish(events);
    batch.forEach((p, i) => {
      const o = outcomes[i];
      if (isKubeError(o)) p.reject(o);
      else p.resolve(o);
    });
  }

  /** Checks and appends one write inside the open transaction; throws the op's own error kind. */
  private apply(op: WriteOp, events: WatchEvent[]): WriteResult {
    const row = this.stmts.latest.get(op.key);
    const live = row !== undefined && num(row.deleted) === 0;
    if (op.kind === 'create') {
      if (live) throw keyExists(op.key);
      const rev = ++this.rev;
      this.stmts.insert.run(rev, op.key, 1, 0, rev, 0, op.value);
      const kv = { key: op.key, value: op.value, createRevision: rev, modRevision: rev };
      events.push({ type: 'put', kv });
      return kv;
    }
    if (!live) throw keyNotFound(op.key);
    const prev = rowKv(row);
    if (op.expected !== undefined && op.expected !== prev.modRevision) throw keyConflict(op.key);
    const rev = ++this.rev;
    if (op.kind === 'update') {
      this.stmts.insert.run(rev, op.key, 0, 0, prev.createRevision, prev.modRevision, op.value);
      const kv = { key: op.key, value: op.value, createRevision: prev.createRevision, modRevision: rev };
      events.push({ type: 'put', kv, prev });
      return kv;
    }
    this.stmts.insert.run(rev, op.key, 0, 1, prev.createRevision, prev.modRevision, prev.value);
    events.push({ type: 'delete', key: op.key, revision: rev, prev });
    return { prev, revision: rev };
  }

  async watch(prefix: string, afterRevision: number, cb: WatchCallbacks): Promise<WatchHandle> {
    this.check();
    const after = afterRevision > 0 ? afterRevision : this.rev;
    const q = this.hub.add(prefix, cb, after);
    if (after < this.compactedRev) {
      q.fail(compacted(after, this.compactedRev));
      return q;
    }
    // Replay and registration happen in this one synchronous step, so the next commit's events follow these.
    for (const r of this.stmts.history.all(after, this.rev, prefix, prefixEnd(prefix)))
      q.push(historyEvent(r));
    return q;
  }

  compact(revision: number): Promise<void> {
    const run = this.compacting.then(() => this.compactTo(revision));
    this.compacting = run.catch(() => undefined);
    return run;
  }

  private async compactTo(revision: number): Promise<void> {
    this.check();
    const target = Math.min(revision, this.rev);
    const started = this.compactedRev;
    while (this.compactedRev < target && !this.closed) {
      const lo = this.compactedRev;
      const hi = Math.min(lo + COMPACT_BATCH, target);
      this.db.exec('BEGIN IMMEDIATE');
      try {
        this.stmts.compactSuperseded.run(lo, hi);
        this.stmts.compactDeleted.run(lo, hi);
        this.stmts.setMeta.run('compacted', hi);
        this.db.exec('COMMIT');
      } catch (err) {
        this.db.exec('ROLLBACK');
        throw unavailable(`store compaction failed: ${(err as Error).message}`);
      }
      this.compactedRev = hi;
      // Let requests and commits run between batches.
      await new Promise((r) => setImmediate(r));
    }
    if (this.compactedRev > started) {
      this.log.debug('store compacted', { from: started, to: this.compactedRev, revision: this.rev });
    }
  }

  async close(): Promise<void> {
    if (this.closed) return;
    // Writes already accepted are committed (and answered) before the file closes.
    this.flush();
    this.closed = true;
    await this.compacting;
    this.hub.close(unavailable('the store is closed'));
    this.db.close();
  }
}

function historyEvent(r: SqlRow): WatchEvent {
  const kv = rowKv(r);
  if (num(r.deleted) === 1) {
    const prev = {
      key: kv.key,
      value: kv.value,
      createRevision: kv.createRevision,
      modRevision: num(r.prev_revision),
    };
    return { type: 'delete', key: kv.key, revision: kv.modRevision, prev };
  }
  if (num(r.created) === 1 || r.prev_value === null || r.prev_value === undefined) return { type: 'put', kv };
  const prev = {
    key: kv.key,
    value: r.prev_value as string,
    createRevision: num(r.prev_create_revision),
    modRevision: num(r.prev_revision),
  };
  return { type: 'put', kv, prev };
}
