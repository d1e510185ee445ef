/**
 * What the dashboard sends through `berth serve`, checked against a real berthd: binary bodies (an archive
 * upload through the HTTP proxy, a build context and an image archive through the WebSocket bridge) arrive
 * byte for byte, and many requests in a row (a terminal opening execs) all get the engine's own answer.
 */
import assert from 'node:assert/strict';
import type { ChildProcess } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { promises as fsp } from 'node:fs';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { WebSocket } from 'ws';
import { buildTar } from '@berth/agent/util/tar-writer';
import { seedRegistry } from '../fixtures/seed.js';
import { startTestDaemon, type TestDaemon } from '../helpers/daemon.js';
import { IS_ROOT, requirement } from '../helpers/env.js';
import { startServe } from '../e2e/support/stack.js';

const skip = requirement(IS_ROOT, 'containers need root');

/** Every byte value, NULs and invalid UTF-8 included, in an order no text transform keeps. */
function binaryBlob(size: number): Buffer {
  const b = randomBytes(size);
  for (let i = 0; i < 256; i++) b[i] = i;
  return b;
}

const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex');

/** The data of the first file in a tar. */
function firstFile(tar: Buffer): Buffer {
  let o = 0;
  while (o + 512 <= tar.length) {
    const size = parseInt(
      tar
        .subarray(o + 124, o + 136)
        .toString('latin1')
        .replace(/\0.*$/, '')
        .trim(),
      8,
    );
    const type = String.fromCharCode(tar[o + 156]);
    if (type === '0' || type === '\0') return tar.subarray(o + 512, o + 512 + size);
    o += 512 + Math.ceil(size / 512) * 512;
  }
  throw new Error('no file in the archive');
}

interface WsResult {
  status: number;
  body: Buffer;
  end: { kind: string; error?: { message: string } };
}

/** One request through the bridge as the dashboard sends it: the JSON head, then the body as binary frames. */
function viaBridge(
  url: string,
  token: string,
  head: Record<string, unknown>,
  body?: Buffer,
  frame = 64 * 1024,
): Promise<WsResult> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url, { headers: { Authorization: `Bearer ${token}` } });
    const chunks: Buffer[] = [];
    let status = 0;
    let end: WsResult['end'] | undefined;
    ws.on('open', () => {
      ws.send(JSON.stringify(body ? { ...head, bodyLength: body.length } : head));
      if (body) for (let o = 0; o < body.length; o += frame) ws.send(body.subarray(o, o + frame));
    });
    ws.on('message', (data, isBinary) => {
      if (isBinary) return void chunks.push(data as Buffer);
      const m = JSON.parse((data as Buffer).toString()) as { kind: string; status?: number };
      if (m.kind === 'head') status = m.status ?? 0;
      else end = m;
    });
    ws.on('close', () =>
      end ? resolve({ status, body: Buffer.concat(chunks), end }) : reject(new Error('no end frame')),
    );
    ws.on('error', reject);
  });
}

describe('berth serve carries bodies and bursts intact', { skip }, () => {
  let d: TestDaemon;
  let serve: ChildProcess;
  let base: string;
  let wsUrl: string;
  let token: string;
  let busybox: string;
  const ctr = 'bodies';
  const auth = () => ({ Authorization: `Bearer ${token}` });

  before(async () => {
    d = await startTestDaemon();
    const s = await startServe(d.socket);
    serve = s.proc;
    base = s.url;
    wsUrl = base.replace('http', 'ws') + 'ws';
    token = s.token;
    busybox = (await seedRegistry()).ref('busybox:latest');
    assert.equal((await d.docker(['pull', busybox])).code, 0);
    const r = await d.docker(['run', '-d', '--name', ctr, busybox, 'sleep', '600']);
    assert.equal(r.code, 0, r.stderr);
  });
  after(async () => {
    serve?.kill('SIGTERM');
    await d?.destroy();
  });

  test('12 exec creates in a row through the proxy all succeed, and the engine holds exactly those execs', async () => {
    const before =
      (
        JSON.parse((await d.request('GET', `/v1.44/containers/${ctr}/json`)).body) as {
          ExecIDs: string[] | null;
        }
      ).ExecIDs ?? [];
    const answers: string[] = [];
    for (let i = 0; i < 12; i++) {
      const r = await fetch(`${base}engine/v1.44/containers/${ctr}/exec`, {
        method: 'POST',
        headers: { ...auth(), 'Content-Type': 'application/json' },
        body: JSON.stringify({ AttachStdin: true, AttachStdout: true, Tty: true, Cmd: ['/bin/sh'] }),
      });
      answers.push(`${r.status} ${await r.text()}`);
    }
    assert.deepEqual(
      answers.filter((a) => !a.startsWith('201 ')),
      [],
      'every create answered 201',
    );
    const ids = answers.map((a) => (JSON.parse(a.slice(4)) as { Id: string }).Id);
    const after = (
      JSON.parse((await d.request('GET', `/v1.44/containers/${ctr}/json`)).body) as {
        ExecIDs: string[];
      }
    ).ExecIDs;
    assert.deepEqual(after.filter((id) => !before.includes(id)).sort(), [...ids].sort());
  });

  test('an archive upload through the proxy arrives byte for byte, and downloads the same', async () => {
    const blob = binaryBlob(300_000);
    const tar = buildTar([{ entry: { name: 'blob.bin', type: 'file', mode: 0o644 }, data: blob }]);
    const put = await fetch(`${base}engine/v1.44/containers/${ctr}/archive?path=/tmp`, {
      method: 'PUT',
      headers: { ...auth(), 'Content-Type': 'application/x-tar' },
      body: tar,
    });
    assert.equal(put.status, 200, await put.text());
    const inside = await d.docker(['exec', ctr, 'sha256sum', '/tmp/blob.bin']);
    assert.equal(inside.stdout.split(' ')[0], sha(blob));
    const get = await fetch(`${base}engine/v1.44/containers/${ctr}/archive?path=/tmp/blob.bin`, {
      headers: auth(),
    });
    assert.equal(get.status, 200);
    assert.equal(sha(firstFile(Buffer.from(await get.arrayBuffer()))), sha(blob));
  });

  test('a build context crosses the WebSocket bridge as binary frames and builds', async () => {
    const blob = binaryBlob(200_000);
    const context = buildTar([
      {
        entry: { name: 'Dockerfile', type: 'file', mode: 0o644 },
        data: Buffer.from(`FROM ${busybox}\nCOPY blob.bin /blob.bin\nRUN sha256sum /blob.bin > /blob.sum\n`),
      },
      { entry: { name: 'blob.bin', type: 'file', mode: 0o644 }, data: blob },
    ]);
    const r = await viaBridge(
      wsUrl,
      token,
      {
        method: 'POST',
        path: '/v1.44/build?t=bridge-built:1&rm=1',
        headers: { 'Content-Type': 'application/x-tar' },
      },
      context,
    );
    const out = r.body.toString();
    assert.equal(r.status, 200, out);
    assert.deepEqual(r.end, { kind: 'end' });
    assert.match(out, /Successfully tagged bridge-built:1/);
    const sum = await d.docker(['run', '--rm', 'bridge-built:1', 'cat', '/blob.sum']);
    assert.equal(sum.stdout.split(' ')[0], sha(blob));
  });

  test('an image archive loads through the bridge (docker load)', async () => {
    const file = path.join(d.dataRoot + '-run', 'to-load.tar');
    assert.equal((await d.docker(['tag', busybox, 'to-load:1'])).code, 0);
    assert.equal((await d.docker(['save', '-o', file, 'to-load:1'])).code, 0);
    assert.equal((await d.docker(['rmi', 'to-load:1'])).code, 0);
    const r = await viaBridge(
      wsUrl,
      token,
      { method: 'POST', path: '/v1.44/images/load', headers: { 'Content-Type': 'application/x-tar' } },
      await fsp.readFile(file),
      1 << 20,
    );
    assert.equal(r.status, 200, r.body.toString());
    assert.match(r.body.toString(), /Loaded image: to-load:1/);
    assert.equal((await d.docker(['image', 'inspect', 'to-load:1'])).code, 0);
  });

  test('a binary body inside the JSON message is refused with the reason, not dropped', async () => {
    const r = await viaBridge(wsUrl, token, {
      method: 'POST',
      path: '/v1.44/build',
      body: { 0: 31, 1: 139 },
    });
    assert.match(r.end.error?.message ?? '', /binary body must follow as binary frames/);
  });
});
