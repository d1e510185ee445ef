/**
 * Crash safety and sharing: kill -9 in the middle of a pull (layers half downloaded and half extracted, as
 * berthd does both at once) leaves no half image; the restarted daemon removes the leftovers, the next
 * pull succeeds, two concurrent pulls download each layer once, and prune leaves no garbage.
 */
import assert from 'node:assert/strict';
import { readdirSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { startTestDaemon, type TestDaemon } from '../helpers/daemon.js';
import type { ImageManifest } from '../fixtures/oci.js';
import { seedRegistry, type SeededRegistry } from '../fixtures/seed.js';
import { inspectJson } from '../helpers/json.js';
import type { ImageInspect } from '@berth/common';

/** Proxies to the real registry; layer blobs can be held after their first 32 KiB; counts blob GETs. */
async function stallingProxy(upstream: string, layerDigests: Set<string>) {
  const counts = new Map<string, number>();
  const held: http.ServerResponse[] = [];
  const state = { stall: true };
  const server = http.createServer((req, res) => {
    const m = /\/blobs\/(sha256:[0-9a-f]{64})$/.exec(req.url ?? '');
    if (m && req.method === 'GET') counts.set(m[1], (counts.get(m[1]) ?? 0) + 1);
    const up = http.request(
      `${upstream}${req.url}`,
      { method: req.method, headers: { ...req.headers, host: new URL(upstream).host } },
      (ur) => {
        res.writeHead(ur.statusCode ?? 502, ur.headers);
        if (m && state.stall && layerDigests.has(m[1])) {
          let sent = 0;
          ur.on('data', (c: Buffer) => {
            if (sent >= 32 * 1024) return;
            res.write(c.subarray(0, 32 * 1024 - sent));
            sent += c.length;
          });
          held.push(res);
          return;
        }
        ur.pipe(res);
      },
    );
    req.pipe(up);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return {
    host: `127.0.0.1:${(server.address() as AddressInfo).port}`,
    counts,
    state,
    held,
    async close() {
      for (const r of held) r.destroy();
      server.closeAllConnections();
      await new Promise<void>((r) => server.close(() => r()));
    },
  };
}

function startPull(d: TestDaemon, ref: string): Promise<string> {
  const i = ref.lastIndexOf(':');
  return d
    .request(
      'POST',
      `/images/create?fromImage=${encodeURIComponent(ref.slice(0, i))}&tag=${ref.slice(i + 1)}`,
    )
    .then(
      (r) => r.body,
      (e: Error) => `connection error: ${e.message}`,
    );
}

async function until(what: string, ok: () => boolean, ms = 15_000): Promise<void> {
  const end = performance.now() + ms;
  while (!ok()) {
    if (performance.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

describe('images: kill -9 mid-pull, restart, dedupe, prune', () => {
  let reg: SeededRegistry;
  let d: TestDaemon;
  let proxy: Awaited<ReturnType<typeof stallingProxy>>;
  let img: ImageManifest;
  const dirNames = (sub: string) => readdirSync(path.join(d.dataRoot, sub));

  before(async () => {
    reg = await seedRegistry();
    img = reg.images.get('multilayer:latest') as ImageManifest;
    proxy = await stallingProxy(reg.url, new Set(img.layers.map((l) => l.digest)));
    d = await startTestDaemon();
  });
  after(async () => {
    await d?.destroy();
    await proxy?.close();
  });

  it('leaves no half image after kill -9 mid-download/extract; the restart cleans up and the next pull succeeds', async () => {
    const ref = `${proxy.host}/multilayer:latest`;
    const pulling = startPull(d, ref);
    await until(
      'every layer to be in flight',
      () => img.layers.every((l) => proxy.counts.has(l.digest)) && proxy.held.length >= 3,
    );
    await until('temp layer directories', () => dirNames('layers').some((n) => n.startsWith('.tmp-')));
    d.proc.kill('SIGKILL');
    await d.stop();
    await pulling;
    const dataRoot = d.dataRoot;
    d = await startTestDaemon({ dataRoot });
    assert.deepEqual(
      dirNames('layers').filter((n) => n.startsWith('.')),
      [],
      'temp layers removed at startup',
    );
    assert.deepEqual(
      dirNames('blobs/sha256').filter((n) => n.startsWith('.')),
      [],
      'temp blobs removed at startup',
    );
    const ls = await d.docker(['images', '-a', '-q']);
    assert.equal(ls.stdout.trim(), '');
    assert.deepEqual(dirNames('layers'), [], 'no orphan layer');

    // Now let blobs through: two concurrent pulls share every layer download.
    proxy.state.stall = false;
    proxy.counts.clear();
    const [a, b] = await Promise.all([startPull(d, ref), startPull(d, ref)]);
    for (const out of [a, b])
      assert.match(out, /Status: (Downloaded newer image|Image is up to date) for /, out);
    for (const l of img.layers)
      assert.equal(
        proxy.counts.get(l.digest),
        1,
        `layer ${l.digest} fetched ${proxy.counts.get(l.digest)} times`,
      );
    const i = inspectJson<ImageInspect>((await d.docker(['image', 'inspect', ref])).stdout)[0];
    assert.equal(i.Id, img.config.digest);

    const rmi = await d.docker(['rmi', ref]);
    assert.equal(rmi.code, 0, rmi.stderr);
    const prune = await d.docker(['image', 'prune', '-a', '-f']);
    assert.equal(prune.code, 0, prune.stderr);
    assert.deepEqual(dirNames('layers'), []);
    assert.deepEqual(dirNames('blobs/sha256'), []);
  });
});
