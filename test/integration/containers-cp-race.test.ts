/**
 * docker cp against a hostile container: while the host copies, a process inside keeps swapping a directory
 * for a symlink to a host path (the CVE-2018-15664 race). Reads, archive walks and writes must stay inside the
 * container: no host file outside its root is ever read or written.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, promises as fsp, readdirSync, readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { startContainerDaemon } from '../helpers/container-daemon.js';
import type { TestDaemon } from '../helpers/daemon.js';
import { buildTar } from '@berth/agent/util/tar-writer';

const SECRET = 'HOST-SECRET-DO-NOT-READ';

describe('containers: docker cp under a symlink-swap race', () => {
  let d: TestDaemon;
  let tmp: string;
  let hostDir: string;
  const dk = (args: string[]) => d.docker(args, { timeoutMs: 60_000 });
  before(async () => {
    ({ d } = await startContainerDaemon());
    tmp = mkdtempSync(path.join(os.tmpdir(), 'berth-cprace-'));
    hostDir = path.join(tmp, 'host');
    await fsp.mkdir(hostDir);
    await fsp.writeFile(path.join(hostDir, 'secret'), SECRET);
    // /race/d flips between a real directory and a symlink to the host directory's path, by rename(2) (-T: never
    // into a directory our copies may have made meanwhile, so the loop keeps its shape).
    const loop = `mkdir -p /race/d; echo inside > /race/d/secret; ln -s ${hostDir} /race/lnk; touch /ready; while :; do mv -T /race/d /race/real; mv -T /race/lnk /race/d; mv -T /race/d /race/lnk; mv -T /race/real /race/d; done 2>/dev/null`;
    const r = await dk(['run', '-d', '--name', 'race', 'busybox', 'sh', '-c', loop]);
    assert.equal(r.code, 0, r.stderr);
    for (let i = 0; i < 50 && (await dk(['exec', 'race', 'test', '-e', '/ready'])).code !== 0; i++)
      await new Promise((res) => setTimeout(res, 100));
  });
  after(async () => {
    await dk(['rm', '-f', 'race']);
    await d.destroy();
    await fsp.rm(tmp, { recursive: true, force: true });
  });

  const hostUntouched = () => {
    assert.deepEqual(readdirSync(hostDir), ['secret'], 'nothing was written into the host directory');
    assert.equal(readFileSync(path.join(hostDir, 'secret'), 'utf8'), SECRET);
  };

  it('reads never return the host file', async () => {
    let seen = 0;
    const deadline = performance.now() + 2500;
    while (performance.now() < deadline) {
      for (const p of ['/race/d/secret', '/race/d', '/race']) {
        const r = await d.request('GET', `/v1.44/containers/race/archive?path=${encodeURIComponent(p)}`);
        assert.ok(r.status === 200 || r.status === 404, `${p}: ${r.status} ${r.body}`);
        assert.ok(!r.body.includes(SECRET), `GET archive ${p} returned the host's file`);
        if (r.status === 200 && r.body.includes('inside')) seen++;
      }
    }
    assert.ok(seen > 0, 'the container file was read at least once');
    for (let i = 0; i < 5; i++) {
      const out = path.join(tmp, `cli-${i}`);
      const r = await dk(['cp', 'race:/race/d/secret', out]);
      if (r.code === 0) assert.equal(readFileSync(out, 'utf8'), 'inside\n');
    }
    hostUntouched();
  });

  it('writes never land in the host directory', async () => {
    const tar = buildTar([
      { entry: { name: 'sub/', type: 'dir', mode: 0o777 } },
      { entry: { name: 'sub/payload', type: 'file', mode: 0o4755 }, data: Buffer.from('payload\n') },
      { entry: { name: 'lnk', type: 'symlink', linkname: '/etc/passwd' } },
      { entry: { name: 'secret', type: 'file', mode: 0o600 }, data: Buffer.from('overwritten\n') },
      // Each entry is resolved on its own: many entries, many chances for the swap to land in between.
      ...Array.from({ length: 300 }, (_, i) => ({
        entry: { name: `f${i}`, type: 'file' as const, mode: 0o644 },
        data: Buffer.from(`${i}\n`),
      })),
    ]);
    const statuses: Record<number, string> = {};
    const deadline = performance.now() + 2500;
    while (performance.now() < deadline) {
      const r = await d.request('PUT', '/v1.44/containers/race/archive?path=/race/d', tar, {
        'Content-Type': 'application/x-tar',
      });
      assert.ok([200, 400, 404].includes(r.status), `${r.status} ${r.body}`);
      statuses[r.status] ??= r.body;
      hostUntouched();
    }
    // Whole or cut short by the swap (400/404), the copies wrote inside the container.
    const written = await dk(['exec', 'race', 'sh', '-c', 'find / -xdev -name f1 -type f | head -1']);
    assert.notEqual(
      written.stdout.trim(),
      '',
      `no copy wrote anything; answers: ${JSON.stringify(statuses)}`,
    );
    const src = path.join(tmp, 'cli-src');
    await fsp.writeFile(src, 'from the cli\n');
    for (let i = 0; i < 5; i++) await dk(['cp', src, 'race:/race/d/']);
    hostUntouched();
    // What went through is inside the container.
    const check = await dk([
      'exec',
      'race',
      'sh',
      '-c',
      'cat /race/d/secret /race/real/secret 2>/dev/null; true',
    ]);
    assert.doesNotMatch(check.stdout, new RegExp(SECRET));
  });
});
