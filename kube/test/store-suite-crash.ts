/**
 * Crash durability, part of the shared store suite: a child process writes as fast as it can and prints each
 * acknowledged revision; it is killed with SIGKILL mid-stream (and, where the backend is a server, the server
 * too); after reopening, every acknowledged write is there with its revision, and revisions continue after the
 * last one.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import path from 'node:path';
import { it } from 'node:test';
import { fileURLToPath } from 'node:url';
import type { Store } from '../src/store/types.js';
import { prefixFor, type StoreFixture } from './store-suite.js';

const writerJs = path.join(path.dirname(fileURLToPath(import.meta.url)), 'helpers', 'store-writer.js');

interface Acks {
  creates: Map<string, number>;
  counter: { revision: number; value: number };
  errors: string[];
}

interface SuiteContext {
  readonly store: Store;
  closeStore(): Promise<void>;
  openStore(): Promise<void>;
}

/**
 * Runs the writer; `during(acks, waitFor)` decides when to crash what. Resolves once the writer is dead (SIGKILL).
 */
async function withWriter(
  opts: { dataDir: string; endpoint?: string },
  prefix: string,
  during: (kill: () => void, waitForAcks: (n: number) => Promise<void>) => Promise<void>,
): Promise<Acks> {
  const acks: Acks = { creates: new Map(), counter: { revision: 0, value: 0 }, errors: [] };
  const child = spawn(process.execPath, [writerJs, JSON.stringify({ ...opts, prefix, concurrency: 8 })], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stderr = '';
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  const exited = new Promise<NodeJS.Signals | null>((r) => child.on('exit', (_c, sig) => r(sig)));
  let total = 0;
  const waiters: Array<{ n: number; resolve: () => void }> = [];
  let buf = '';
  child.stdout.setEncoding('utf8');
  child.stdout.on('data', (chunk: string) => {
    buf += chunk;
    const lines = buf.split('\n');
    buf = lines.pop() ?? '';
    for (const line of lines) {
      const [kind, a, b] = line.split(' ');
      if (kind === 'ack') acks.creates.set(b, Number(a));
      else if (kind === 'upd') acks.counter = { revision: Number(a), value: Number(b) };
      else if (kind === 'err') acks.errors.push(line);
      if (kind === 'ack' || kind === 'upd') total++;
    }
    for (const w of waiters.splice(0)) {
      if (total >= w.n) w.resolve();
      else waiters.push(w);
    }
  });
  const waitForAcks = (more: number): Promise<void> => {
    const n = total + more;
    return new Promise<void>((resolve, reject) => {
      const timer = setTimeout(
        () => reject(new Error(`writer acknowledged ${total} of ${n} writes; stderr: ${stderr.slice(-500)}`)),
        30_000,
      );
      waiters.push({
        n,
        resolve: () => {
          clearTimeout(timer);
          resolve();
        },
      });
    });
  };
  try {
    await during(() => child.kill('SIGKILL'), waitForAcks);
  } finally {
    child.kill('SIGKILL');
  }
  assert.equal(await exited, 'SIGKILL', `the writer died on its own: ${stderr.slice(-500)}`);
  return acks;
}

async function verify(store: Store, prefix: string, acks: Acks): Promise<void> {
  assert.ok(acks.creates.size > 0, 'the writer acknowledged writes');
  const listed = new Map((await store.list(prefix)).items.map((kv) => [kv.key, kv]));
  for (const [key, rev] of acks.creates) {
    const kv = listed.get(key);
    assert.ok(kv, `acknowledged write ${key} at revision ${rev} is lost`);
    assert.equal(kv.modRevision, rev, `${key} has the acknowledged revision`);
    assert.equal(kv.value, JSON.stringify({ key }));
  }
  const counter = listed.get(`${prefix}counter`);
  assert.ok(counter, 'the counter survived');
  // A write may have reached disk without its ack reaching us; never the other way round.
  assert.ok(counter.modRevision >= acks.counter.revision && Number(counter.value) >= acks.counter.value);
  const last = Math.max(...acks.creates.values(), acks.counter.revision);
  assert.ok((await store.revision()) >= last);
  const after = await store.create(`${prefix}after-crash`, '{}');
  assert.ok(after.modRevision > last, `revision ${after.modRevision} continues after ${last}`);
}

export function crashTests(fixture: StoreFixture, ctx: SuiteContext): void {
  it('keeps every acknowledged write through kill -9 of the writing process', async () => {
    const prefix = prefixFor('crash');
    // One process owns an embedded store's file: the writer takes it over, as a restarted berth-kube would.
    await ctx.closeStore();
    const acks = await withWriter(fixture.childOptions(), prefix, async (kill, waitForAcks) => {
      await waitForAcks(400);
      kill();
    });
    await ctx.openStore();
    await verify(ctx.store, prefix, acks);
  });

  if (fixture.crashBackend) {
    const crashBackend = fixture.crashBackend.bind(fixture);
    it('keeps every acknowledged write through kill -9 of the backend server', async () => {
      const prefix = prefixFor('crash-server');
      await ctx.closeStore();
      const acks = await withWriter(fixture.childOptions(), prefix, async (kill, waitForAcks) => {
        await waitForAcks(300);
        await crashBackend();
        // The writer reconnects to the restarted server and goes on.
        await waitForAcks(100);
        kill();
      });
      assert.ok(acks.errors.length > 0, 'the writer saw the server go away');
      await ctx.openStore();
      await verify(ctx.store, prefix, acks);
    });
  }
}
