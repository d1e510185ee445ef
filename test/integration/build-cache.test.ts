/**
 * The classic builder's layer cache through the real CLI: a rebuild reuses every step; changing one file
 * re-runs from its COPY on and not before; --no-cache rebuilds all; history keeps one entry per step.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { cacheHits, makeContext, steps } from '../helpers/build-context.js';
import { startTestDaemon, type TestDaemon } from '../helpers/daemon.js';

const DOCKERFILE = `FROM scratch
COPY busybox /bin/busybox
ENV PATH=/bin
COPY stable/ /stable/
WORKDIR /app
COPY changing.txt /app/
LABEL after=changing
COPY late.txt /app/
`;

describe('docker build cache', () => {
  let d: TestDaemon;
  let dir: string;
  before(async () => {
    d = await startTestDaemon();
    dir = makeContext(
      { Dockerfile: DOCKERFILE, 'stable/a': 'a', 'stable/b': 'b', 'changing.txt': 'v1', 'late.txt': 'l' },
      { busybox: true },
    );
  });
  after(async () => {
    await d.destroy();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  const build = async (...extra: string[]) => {
    const r = await d.docker(['build', ...extra, '-t', 'cached', dir]);
    assert.equal(r.code, 0, r.stdout + r.stderr);
    return r.stdout;
  };
  const id = async () => (await d.docker(['image', 'inspect', '-f', '{{.Id}}', 'cached'])).stdout.trim();

  it('reuses every step on a second build, with the same image id', async () => {
    const first = await build();
    assert.equal(cacheHits(first), 0);
    const firstId = await id();
    const second = await build();
    assert.equal(steps(second).length, 8);
    assert.equal(cacheHits(second), 7, 'every step after FROM comes from the cache');
    assert.equal(await id(), firstId);
  });

  it('changing one file re-runs from its COPY on, not before', async () => {
    fs.writeFileSync(path.join(dir, 'changing.txt'), 'v2');
    const out = await build();
    const lines = out.split('\n');
    const at = lines.findIndex((l) => l.includes('COPY changing.txt'));
    const before = lines.slice(0, at).join('\n');
    const afterIt = lines.slice(at).join('\n');
    assert.equal(cacheHits(before), 4, 'COPY busybox, ENV, COPY stable/, WORKDIR reused');
    assert.equal(cacheHits(afterIt), 0, 'the changed COPY and everything after it re-ran');
    // A file with the same content but a new mtime is still a hit (content is what counts).
    const t = new Date(Date.now() + 60_000);
    fs.utimesSync(path.join(dir, 'changing.txt'), t, t);
    assert.equal(cacheHits(await build()), 7);
  });

  it('--no-cache rebuilds everything; history has one entry per instruction', async () => {
    const out = await build('--no-cache');
    assert.equal(cacheHits(out), 0);
    const h = await d.request('GET', '/images/cached/history');
    const created = (JSON.parse(h.body) as { CreatedBy: string }[]).map((x) => x.CreatedBy);
    assert.equal(created.length, 7);
    assert.equal(created[0], '/bin/sh -c #(nop) COPY file:' + created[0].slice(28, 92) + ' in /app/ ');
  });

  it('docker builder prune forgets the cache', async () => {
    const r = await d.docker(['builder', 'prune', '-f']);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(cacheHits(await build()), 0);
    assert.equal(cacheHits(await build()), 7);
  });
});
