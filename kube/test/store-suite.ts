/**
 * The one test suite every store backend passes (the containerd snapshotter testsuite is the model): a test
 * file hands `runStoreSuite` a fixture that opens its backend, and gets the same contract checked: CRUD,
 * revisions, conflicts, lists and gets at a revision with paging, watches (replay, live, order, prefix
 * isolation, prev values, many watchers, progress), compaction and Expired, concurrent writers, close while
 * watching, and crash durability (store-suite-crash.ts). Each test works under its own key prefix, so tests
 * share one backend without seeing each other's keys.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { isKubeError, type StatusReason } from '../src/errors.js';
import type { KeyValue, Store, WatchEvent, WatchHandle } from '../src/store/types.js';
import { crashTests } from './store-suite-crash.js';

export interface StoreFixture {
  /** Starts the backend (etcd: the server; SQLite: nothing). */
  setup(): Promise<void>;
  /** Opens a store over the fixture's data: again after close or a crash, over the same data. */
  open(): Promise<Store>;
  /** What a child process passes to openStore to reach the same data. */
  childOptions(): { dataDir: string; endpoint?: string };
  /** kill -9 the backend itself and start it again on the same data (etcd). */
  crashBackend?(): Promise<void>;
  /** Stops the backend and deletes its data. */
  teardown(): Promise<void>;
}

let seq = 0;
/** A fresh prefix per test, so tests on one backend never see each other's keys. */
export const prefixFor = (name: string): string => `/registry/suite-${name}-${process.pid}-${++seq}/`;

export async function rejectsWith(p: Promise<unknown>, reason: StatusReason): Promise<Error> {
  try {
    await p;
  } catch (err) {
    assert.ok(isKubeError(err, reason), `expected ${reason}, got ${(err as Error).message}`);
    return err;
  }
  assert.fail(`expected ${reason}, but it succeeded`);
}

/** Watches and collects events until `until` says enough, failing after a timeout. */
export function collect(
  store: Store,
  prefix: string,
  afterRevision: number,
  until: (events: WatchEvent[]) => boolean,
  timeoutMs = 10_000,
): { handle: Promise<WatchHandle>; done: Promise<WatchEvent[]>; events: WatchEvent[] } {
  const events: WatchEvent[] = [];
  let resolve!: (e: WatchEvent[]) => void;
  let reject!: (e: Error) => void;
  const done = new Promise<WatchEvent[]>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  const timer = setTimeout(
    () => reject(new Error(`watch on ${prefix} timed out with ${events.length} events`)),
    timeoutMs,
  );
  const handle = store.watch(prefix, afterRevision, {
    onEvent: (e) => {
      events.push(e);
      if (until(events)) {
        clearTimeout(timer);
        resolve(events);
      }
    },
    onError: (err) => {
      clearTimeout(timer);
      reject(err);
    },
  });
  void done.finally(() => void handle.then((h) => h.stop())).catch(() => undefined);
  return { handle, done, events };
}

const changes = (events: WatchEvent[]): WatchEvent[] => events.filter((e) => e.type !== 'progress');
const nChanges = (n: number) => (events: WatchEvent[]) => changes(events).length >= n;
const revOf = (e: WatchEvent): number => (e.type === 'put' ? e.kv.modRevision : e.revision);

export function runStoreSuite(name: string, fixture: StoreFixture): void {
  describe(`store suite: ${name}`, () => {
    let store: Store;
    const ctx = {
      get store() {
        return store;
      },
      async reopen() {
        await store.close();
        store = await fixture.open();
      },
      async closeStore() {
        await store.close();
      },
      async openStore() {
        store = await fixture.open();
      },
    };

    before(async () => {
      await fixture.setup();
      store = await fixture.open();
    });
    after(async () => {
      await store?.close();
      await fixture.teardown();
    });

    it('creates, reads, updates and deletes', async () => {
      const p = prefixFor('crud');
      const a = await store.create(`${p}a`, '{"v":1}');
      assert.equal(a.key, `${p}a`);
      assert.equal(a.value, '{"v":1}');
      assert.equal(a.createRevision, a.modRevision);
      assert.deepEqual(await store.get(`${p}a`), a);

      const b = await store.update(`${p}a`, '{"v":2}', a.modRevision);
      assert.ok(b.modRevision > a.modRevision);
      assert.equal(b.createRevision, a.createRevision, 'an update keeps the create revision');
      assert.deepEqual(await store.get(`${p}a`), b);

      const d = await store.delete(`${p}a`, b.modRevision);
      assert.deepEqual(d.prev, b);
      assert.ok(d.revision > b.modRevision);
      assert.equal(await store.get(`${p}a`), undefined);

      await rejectsWith(store.update(`${p}a`, '{}', b.modRevision), 'NotFound');
      await rejectsWith(store.delete(`${p}a`), 'NotFound');
      await rejectsWith(store.update(`${p}never`, '{}', 1), 'NotFound');

      // A key can be created again after its delete: a new incarnation with a new create revision.
      const again = await store.create(`${p}a`, '{"v":3}');
      assert.ok(again.createRevision > d.revision);
      assert.equal(again.createRevision, again.modRevision);
    });

    it('refuses a create on an existing key (AlreadyExists) and keeps the first value', async () => {
      const p = prefixFor('exists');
      const first = await store.create(`${p}x`, '"first"');
      const err = await rejectsWith(store.create(`${p}x`, '"second"'), 'AlreadyExists');
      assert.match(err.message, /already exists/);
      assert.deepEqual(await store.get(`${p}x`), first);
    });

    it('counts one global, monotonic revision across keys and prefixes', async () => {
      const p = prefixFor('rev');
      const q = prefixFor('rev');
      const start = await store.revision();
      let last = start;
      for (let i = 0; i < 10; i++) {
        const kv = await store.create(`${i % 2 ? p : q}k${i}`, String(i));
        assert.ok(kv.modRevision > last, `revision ${kv.modRevision} after ${last}`);
        last = kv.modRevision;
        assert.equal(await store.revision(), last, 'revision() is the last write');
      }
      const u = await store.update(`${p}k1`, '"x"', (await store.get(`${p}k1`))!.modRevision);
      const d = await store.delete(`${q}k0`);
      assert.ok(u.modRevision > last && d.revision > u.modRevision);
      assert.equal(await store.revision(), d.revision);
      // A failed write consumes no revision.
      await rejectsWith(store.create(`${p}k1`, '1'), 'AlreadyExists');
      assert.equal(await store.revision(), d.revision);
    });

    it('answers a stale update or delete with Conflict and applies nothing', async () => {
      const p = prefixFor('conflict');
      const v1 = await store.create(`${p}c`, '1');
      const v2 = await store.update(`${p}c`, '2', v1.modRevision);
      const err = await rejectsWith(store.update(`${p}c`, '3', v1.modRevision), 'Conflict');
      assert.match(err.message, /the object has been modified/);
      await rejectsWith(store.delete(`${p}c`, v1.modRevision), 'Conflict');
      assert.deepEqual(await store.get(`${p}c`), v2);
      const gone = await store.delete(`${p}c`, v2.modRevision);
      assert.equal(gone.prev.value, '2');
    });

    it('lists under a prefix in key order, at a revision, in pages', async () => {
      const p = prefixFor('list');
      // A sibling whose name extends the prefix's last segment must not leak in.
      await store.create(`${p.slice(0, -1)}x/leak`, '0');
      const names = ['b', 'a', 'e', 'c', 'd', 'g', 'f'];
      for (const n of names) await store.create(`${p}${n}`, JSON.stringify(n));
      const all = await store.list(p);
      assert.deepEqual(
        all.items.map((i) => i.key),
        [...names].sort().map((n) => `${p}${n}`),
      );
      assert.equal(all.remaining, 0);
      assert.equal(all.revision, await store.revision());
      assert.equal(await store.count(p), names.length);

      // Pages of 3 at the first page's revision, while the prefix changes underneath.
      const page1 = await store.list(p, { limit: 3 });
      assert.deepEqual(
        page1.items.map((i) => i.key.slice(p.length)),
        ['a', 'b', 'c'],
      );
      assert.equal(page1.remaining, 4);
      await store.delete(`${p}d`);
      await store.create(`${p}h`, '"h"');
      await store.update(`${p}e`, '"E"', (await store.get(`${p}e`))!.modRevision);
      const page2 = await store.list(p, { revision: page1.revision, after: `${p}c`, limit: 3 });
      assert.equal(page2.revision, page1.revision);
      assert.deepEqual(
        page2.items.map((i) => i.key.slice(p.length)),
        ['d', 'e', 'f'],
      );
      assert.equal(page2.items[1]?.value, '"e"', 'the page shows the value at its revision');
      assert.equal(page2.remaining, 1);
      const page3 = await store.list(p, { revision: page1.revision, after: `${p}f`, limit: 3 });
      assert.deepEqual(
        page3.items.map((i) => i.key.slice(p.length)),
        ['g'],
      );
      assert.equal(page3.remaining, 0);

      const now = await store.list(p);
      assert.deepEqual(
        now.items.map((i) => i.key.slice(p.length)),
        ['a', 'b', 'c', 'e', 'f', 'g', 'h'],
      );
      assert.equal(now.items.find((i) => i.key === `${p}e`)?.value, '"E"');
      assert.equal(await store.count(p), 7);
    });

    it('reads a key as it was at a revision', async () => {
      const p = prefixFor('getat');
      const v1 = await store.create(`${p}k`, '1');
      const v2 = await store.update(`${p}k`, '2', v1.modRevision);
      const del = await store.delete(`${p}k`);
      assert.deepEqual(await store.get(`${p}k`, { revision: v1.modRevision }), v1);
      assert.deepEqual(await store.get(`${p}k`, { revision: v2.modRevision }), v2);
      assert.equal(await store.get(`${p}k`, { revision: del.revision }), undefined);
      assert.equal(await store.get(`${p}k`, { revision: v1.modRevision - 1 }), undefined);
      const future = (await store.revision()) + 1000;
      const err = await rejectsWith(store.get(`${p}k`, { revision: future }), 'Timeout');
      assert.match(err.message, /Too large resource version/);
      await rejectsWith(store.list(p, { revision: future }), 'Timeout');
    });

    it('watches from a revision: history replayed, then live events, in order, with prev values', async () => {
      const p = prefixFor('watch');
      const other = prefixFor('watch-other');
      const start = await store.revision();
      const a1 = await store.create(`${p}a`, '1');
      await store.create(`${other}noise`, 'x');
      const a2 = await store.update(`${p}a`, '2', a1.modRevision);
      const b1 = await store.create(`${p}b`, 'b');
      const da = await store.delete(`${p}a`);

      const w = collect(store, p, start, nChanges(7));
      await w.handle;
      // Live, after the watch exists.
      const c1 = await store.create(`${p}c`, 'c');
      await store.create(`${other}noise2`, 'x');
      const b2 = await store.update(`${p}b`, 'B', b1.modRevision);
      const db = await store.delete(`${p}b`, b2.modRevision);
      const events = changes(await w.done);

      assert.deepEqual(events, [
        { type: 'put', kv: a1 },
        { type: 'put', kv: a2, prev: a1 },
        { type: 'put', kv: b1 },
        { type: 'delete', key: `${p}a`, revision: da.revision, prev: a2 },
        { type: 'put', kv: c1 },
        { type: 'put', kv: b2, prev: b1 },
        { type: 'delete', key: `${p}b`, revision: db.revision, prev: b2 },
      ]);
      const revs = events.map(revOf);
      assert.deepEqual(
        revs,
        [...revs].sort((x, y) => x - y),
      );
      assert.equal(new Set(revs).size, revs.length, 'no duplicates');
    });

    it('watches from now (0) and from the middle of history without gap or duplicate', async () => {
      const p = prefixFor('watch-mid');
      const kvs: KeyValue[] = [];
      for (let i = 0; i < 6; i++) kvs.push(await store.create(`${p}k${i}`, String(i)));
      const mid = kvs[2].modRevision;
      const fromMid = collect(store, p, mid, nChanges(5));
      const fromNow = collect(store, p, 0, nChanges(2));
      await Promise.all([fromMid.handle, fromNow.handle]);
      // Writes racing the replay: concurrent, not awaited one by one.
      const live = await Promise.all([store.create(`${p}x`, 'x'), store.create(`${p}y`, 'y')]);
      // Either create may commit first; watchers see them in revision order.
      live.sort((a, b) => a.modRevision - b.modRevision);
      const mids = changes(await fromMid.done).map(revOf);
      assert.deepEqual(mids, [
        kvs[3].modRevision,
        kvs[4].modRevision,
        kvs[5].modRevision,
        ...live.map((l) => l.modRevision),
      ]);
      assert.deepEqual(
        changes(await fromNow.done).map(revOf),
        live.map((l) => l.modRevision),
      );
    });

    it('delivers every event to many concurrent watchers, each in order', async () => {
      const p = prefixFor('fanout');
      const watchers = 40;
      const writes = 30;
      const start = await store.revision();
      const ws = Array.from({ length: watchers }, (_, i) =>
        collect(store, p, i % 3 === 0 ? start : 0, nChanges(writes), 20_000),
      );
      await Promise.all(ws.map((w) => w.handle));
      const made = await Promise.all(
        Array.from({ length: writes }, (_, i) => store.create(`${p}k${i}`, String(i))),
      );
      const expected = made.map((m) => m.modRevision).sort((a, b) => a - b);
      for (const w of ws) {
        const got = changes(await w.done).map(revOf);
        assert.deepEqual(got, expected);
      }
    });

    it('sends progress to an idle watcher when other prefixes move on', async () => {
      const p = prefixFor('progress-idle');
      const busy = prefixFor('progress-busy');
      let target = Infinity;
      const w = collect(
        store,
        p,
        0,
        (ev) => ev.some((e) => e.type === 'progress' && e.revision >= target),
        15_000,
      );
      await w.handle;
      target = (await store.create(`${busy}k`, '1')).modRevision;
      const events = await w.done;
      assert.equal(changes(events).length, 0, 'nothing under the idle prefix');
      const revs = events.map(revOf);
      assert.deepEqual(
        revs,
        [...revs].sort((x, y) => x - y),
        'progress revisions never go back',
      );
    });

    it('compacts: history below answers Expired, live keys stay readable, watches from above work', async () => {
      const p = prefixFor('compact');
      const old = await store.create(`${p}old`, '"kept"');
      let hot = await store.create(`${p}hot`, '0');
      for (let i = 1; i <= 5; i++) hot = await store.update(`${p}hot`, String(i), hot.modRevision);
      const gone = await store.create(`${p}gone`, '1');
      await store.delete(`${p}gone`);
      const at = hot.modRevision;
      await store.compact(at);
      assert.ok((await store.compactedRevision()) >= at);

      // Live keys, however old, are still there now and at the compacted revision.
      const now = await store.list(p);
      assert.deepEqual(
        now.items.map((i) => [i.key.slice(p.length), i.value]),
        [
          ['hot', '5'],
          ['old', '"kept"'],
        ],
      );
      assert.deepEqual(
        (await store.list(p, { revision: at })).items.map((i) => i.key.slice(p.length)),
        ['hot', 'old'],
      );
      assert.deepEqual(await store.get(`${p}old`), old);

      await rejectsWith(store.list(p, { revision: old.modRevision }), 'Expired');
      await rejectsWith(store.get(`${p}hot`, { revision: old.modRevision }), 'Expired');
      const expired = collect(store, p, gone.modRevision - 3, () => false);
      await expired.handle;
      const err = await expired.done.then(
        () => assert.fail('a watch from below the compaction must fail'),
        (e: Error) => e,
      );
      assert.ok(isKubeError(err, 'Expired'), err.message);

      // From the compacted revision on, history is whole.
      const w = collect(store, p, at, nChanges(3));
      await w.handle;
      const next = await store.update(`${p}hot`, '6', hot.modRevision);
      const events = changes(await w.done);
      assert.equal(events[0]?.type, 'put');
      assert.equal(events[1]?.type, 'delete');
      assert.deepEqual(events[2], { type: 'put', kv: next, prev: hot });
      // Compacting again to an older revision is a no-op, not an error.
      await store.compact(at - 1);
    });

    it('loses no update under concurrent writers (read, modify, write with retry on Conflict)', async () => {
      const p = prefixFor('concurrent');
      await store.create(`${p}counter`, '0');
      const writers = 6;
      const each = 8;
      let conflicts = 0;
      const increment = async (): Promise<void> => {
        for (;;) {
          const cur = (await store.get(`${p}counter`))!;
          try {
            await store.update(`${p}counter`, String(Number(cur.value) + 1), cur.modRevision);
            return;
          } catch (err) {
            if (!isKubeError(err, 'Conflict')) throw err;
            conflicts++;
          }
        }
      };
      await Promise.all(
        Array.from({ length: writers }, async () => {
          for (let i = 0; i < each; i++) await increment();
        }),
      );
      assert.equal((await store.get(`${p}counter`))!.value, String(writers * each));
      assert.ok(conflicts > 0, 'the writers really raced');
      // Racing creates of one key: exactly one wins.
      const results = await Promise.allSettled(
        Array.from({ length: 10 }, (_, i) => store.create(`${p}one`, String(i))),
      );
      assert.equal(results.filter((r) => r.status === 'fulfilled').length, 1);
      for (const r of results) if (r.status === 'rejected') assert.ok(isKubeError(r.reason, 'AlreadyExists'));
    });

    it('ends watches when the store closes, and reopens with its data', async () => {
      const p = prefixFor('close');
      const kv = await store.create(`${p}k`, '1');
      const errors: Error[] = [];
      const events: WatchEvent[] = [];
      const h = await store.watch(p, 0, { onEvent: (e) => events.push(e), onError: (e) => errors.push(e) });
      const stopped = await store.watch(p, 0, {
        onEvent: () => assert.fail('a stopped watch gets nothing'),
        onError: () => assert.fail('a stopped watch gets nothing'),
      });
      stopped.stop();
      await ctx.closeStore();
      await new Promise((r) => setTimeout(r, 50));
      assert.equal(errors.length, 1, 'onError once');
      assert.ok(isKubeError(errors[0], 'ServiceUnavailable'), errors[0]?.message);
      h.stop();
      await rejectsWith(store.get(`${p}k`), 'ServiceUnavailable');
      await rejectsWith(store.create(`${p}k2`, '1'), 'ServiceUnavailable');
      await ctx.openStore();
      assert.deepEqual(await store.get(`${p}k`), kv);
      assert.ok((await store.revision()) >= kv.modRevision);
    });

    crashTests(fixture, ctx);
  });
}
