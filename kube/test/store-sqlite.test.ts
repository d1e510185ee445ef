/**
 * The shared store suite on the embedded SQLite backend, with the binding this Node picks (better-sqlite3 on
 * Node 20; store-sqlite-node22.test.ts runs this same file under Node 22, where it is node:sqlite).
 */
import assert from 'node:assert/strict';
import { promises as fsp } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, describe, it } from 'node:test';
import { createLogger, setLogLevel } from '@berth/common/log';
import { openStore } from '../src/store/index.js';
import { chooseBinding } from '../src/store/sqlite/binding.js';
import type { SqliteStore } from '../src/store/sqlite/store.js';
import { rejectsWith, runStoreSuite } from './store-suite.js';

setLogLevel('warn');
const log = createLogger({ test: 'store-sqlite' });
const expectBinding = process.env.BERTH_EXPECT_BINDING ?? chooseBinding();
let dataDir = '';

runStoreSuite(`sqlite (${expectBinding}, Node ${process.versions.node})`, {
  async setup() {
    dataDir = await fsp.mkdtemp(path.join(os.tmpdir(), 'berth-store-sqlite-'));
  },
  open: () => openStore({ dataDir, log, compaction: false, progressIntervalMs: 200 }),
  childOptions: () => ({ dataDir }),
  async teardown() {
    await fsp.rm(dataDir, { recursive: true, force: true });
  },
});

describe('sqlite store specifics', () => {
  const dirs: string[] = [];
  const tmp = async () => {
    const d = await fsp.mkdtemp(path.join(os.tmpdir(), 'berth-store-sqlite-'));
    dirs.push(d);
    return d;
  };
  after(async () => {
    for (const d of dirs) await fsp.rm(d, { recursive: true, force: true });
  });

  it(`uses ${expectBinding} on Node ${process.versions.node}, WAL with synchronous=FULL, one file in the data dir`, async () => {
    const dir = await tmp();
    const store = (await openStore({ dataDir: dir, log, compaction: false })) as SqliteStore;
    try {
      assert.equal(store.binding, expectBinding);
      // synchronous 2 is FULL: in WAL mode every COMMIT fsyncs the WAL before it returns.
      assert.deepEqual(store.durability(), { journalMode: 'wal', synchronous: 2, lockingMode: 'exclusive' });
      assert.equal(store.file, path.join(dir, 'state.db'));
      assert.equal(await store.revision(), 1, 'a fresh store starts at revision 1, as a fresh etcd does');
      await store.create('/registry/namespaces/default', '{}');
      const names = await fsp.readdir(dir);
      assert.ok(names.includes('state.db') && names.includes('state.db-wal'), names.join(' '));
    } finally {
      await store.close();
    }
  });

  it('refuses a second process-level owner of the same file', async () => {
    const dir = await tmp();
    const first = await openStore({ dataDir: dir, log, compaction: false });
    try {
      await first.create('/registry/a', '{}');
      const err = await rejectsWith(
        openStore({ dataDir: dir, log, compaction: false }),
        'ServiceUnavailable',
      );
      assert.match(err.message, /in use by another process/);
    } finally {
      await first.close();
    }
  });

  it('group-commits concurrent writes: one transaction, every writer answered, failures kept apart', async () => {
    const dir = await tmp();
    const store = await openStore({ dataDir: dir, log, compaction: false });
    try {
      await store.create('/registry/g/dup', '0');
      const results = await Promise.allSettled([
        ...Array.from({ length: 50 }, (_, i) => store.create(`/registry/g/k${i}`, String(i))),
        store.create('/registry/g/dup', '1'),
        store.update('/registry/g/missing', '1', 5),
      ]);
      const ok = results.filter((r) => r.status === 'fulfilled') as PromiseFulfilledResult<{
        modRevision: number;
      }>[];
      assert.equal(ok.length, 50);
      const revs = ok.map((r) => r.value.modRevision);
      assert.equal(new Set(revs).size, 50);
      assert.deepEqual(
        revs,
        [...revs].sort((a, b) => a - b),
        'arrival order is revision order',
      );
      assert.equal(Math.max(...revs) - Math.min(...revs), 49, 'failed writes in the batch took no revision');
      assert.equal(results.filter((r) => r.status === 'rejected').length, 2);
    } finally {
      await store.close();
    }
  });

  it('runs periodic compaction keeping the newest revisions', async () => {
    const dir = await tmp();
    const store = await openStore({ dataDir: dir, log, compaction: { intervalMs: 100, minRetain: 20 } });
    try {
      let kv = await store.create('/registry/p/k', '0');
      for (let i = 0; i < 60; i++) kv = await store.update('/registry/p/k', String(i), kv.modRevision);
      const deadline = Date.now() + 5000;
      // Ticks compact to the revision seen one tick earlier, never within the newest 20.
      while ((await store.compactedRevision()) === 0 && Date.now() < deadline)
        await new Promise((r) => setTimeout(r, 50));
      const c = await store.compactedRevision();
      assert.ok(c > 0 && c <= kv.modRevision - 20, `compacted to ${c} at revision ${kv.modRevision}`);
      assert.equal((await store.get('/registry/p/k'))?.value, '59');
    } finally {
      await store.close();
    }
  });
});
