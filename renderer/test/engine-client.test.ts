import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, test } from 'node:test';
import { WebSocket, WebSocketServer } from 'ws';
import { EngineError } from '@berth/common';
import { buildPath, EngineClient, splitRef } from '../src/api/engine-client.js';
import { HttpTransport, type SocketLike } from '../src/api/http-transport.js';

/** Frames a payload as the engine does for non-TTY logs. */
function frame(stream: 1 | 2, text: string): Buffer {
  const data = Buffer.from(text);
  const h = Buffer.alloc(8);
  h[0] = stream;
  h.writeUInt32BE(data.length, 4);
  return Buffer.concat([h, data]);
}

describe('EngineClient over HttpTransport (fetch + WebSocket bridge protocol)', () => {
  let server: http.Server;
  let wss: WebSocketServer;
  let base: string;
  const seen: { method: string; url: string; auth?: string; body: string }[] = [];
  const wsSeen: unknown[] = [];

  before(async () => {
    server = http.createServer((req, res) => {
      let body = '';
      req.on('data', (d: Buffer) => (body += d.toString()));
      req.on('end', () => {
        seen.push({ method: req.method!, url: req.url!, auth: req.headers.authorization, body });
        if (req.url === '/engine/v1.44/containers/json?all=true') {
          res
            .writeHead(200, { 'Content-Type': 'application/json' })
            .end(JSON.stringify([{ Id: 'abc', Names: ['/web'], State: 'running' }]));
        } else if (req.url?.startsWith('/engine/v1.44/images/busybox')) {
          res.writeHead(409, { 'Content-Type': 'application/json' }).end(
            JSON.stringify({
              message:
                'conflict: unable to remove repository reference "busybox" (must force) - container 0123 is using its referenced image 4567',
            }),
          );
        } else if (req.url === '/engine/v1.44/containers/create?name=x') {
          res
            .writeHead(201, { 'Content-Type': 'application/json' })
            .end(JSON.stringify({ Id: 'new', Warnings: [] }));
        } else
          res
            .writeHead(404, { 'Content-Type': 'application/json' })
            .end(JSON.stringify({ message: 'page not found' }));
      });
    });
    wss = new WebSocketServer({ server, path: '/ws' });
    wss.on('connection', (ws) => {
      // ws hands text frames over as Buffers (binaryType 'nodebuffer').
      ws.once('message', (m) => {
        const req = JSON.parse((m as Buffer).toString()) as {
          method: string;
          path: string;
          hijack?: boolean;
        };
        wsSeen.push(req);
        if (req.path.startsWith('/v1.44/build')) {
          // The body follows as binary frames, bodyLength bytes in all; answer with their digest.
          const want = (req as { bodyLength?: number }).bodyLength ?? -1;
          const h = createHash('sha256');
          let got = 0;
          ws.on('message', (d: Buffer, isBinary) => {
            if (!isBinary) return;
            h.update(d);
            got += d.length;
            if (got < want) return;
            ws.send(JSON.stringify({ kind: 'head', status: 200, headers: {} }));
            ws.send(Buffer.from(JSON.stringify({ stream: `${got} ${h.digest('hex')}\n` }) + '\n'));
            ws.send(JSON.stringify({ kind: 'end' }));
            ws.close(1000);
          });
        } else if (req.path.startsWith('/v1.44/images/create')) {
          ws.send(JSON.stringify({ kind: 'head', status: 200, headers: {} }));
          // Split a JSON line across frames: the decoder must join them.
          ws.send(Buffer.from('{"status":"Pulling from library/busybox","id":"latest"}\n{"status":"Downl'));
          ws.send(Buffer.from('oading","id":"l1","progressDetail":{"current":5,"total":10}}\n'));
          ws.send(Buffer.from('{"errorDetail":{"message":"manifest unknown"},"error":"manifest unknown"}\n'));
          ws.send(JSON.stringify({ kind: 'end' }));
          ws.close(1000);
        } else if (req.path.includes('/containers/tty/logs')) {
          ws.send(
            JSON.stringify({
              kind: 'head',
              status: 200,
              headers: { 'content-type': 'application/vnd.docker.raw-stream' },
            }),
          );
          ws.send(Buffer.from('raw text\r\n'));
          ws.send(JSON.stringify({ kind: 'end' }));
          ws.close(1000);
        } else if (req.path.includes('/logs')) {
          ws.send(JSON.stringify({ kind: 'head', status: 200, headers: {} }));
          const both = Buffer.concat([frame(1, 'out line\n'), frame(2, 'err line\n')]);
          ws.send(both.subarray(0, 5));
          ws.send(both.subarray(5));
          ws.send(JSON.stringify({ kind: 'end' }));
          ws.close(1000);
        } else if (req.path.startsWith('/v1.44/exec/')) {
          ws.send(JSON.stringify({ kind: 'head', status: 101, headers: {} }));
          ws.on('message', (d, isBinary) => {
            if (isBinary) ws.send(Buffer.concat([Buffer.from('echo:'), d as Buffer]));
          });
        } else {
          ws.send(JSON.stringify({ kind: 'head', status: 404, headers: {} }));
          ws.send(Buffer.from(JSON.stringify({ message: 'No such container: nope' })));
          ws.send(JSON.stringify({ kind: 'end' }));
          ws.close(1000);
        }
      });
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  after(() => {
    for (const c of wss.clients) c.terminate();
    wss.close();
    server.close();
  });

  const client = () =>
    new EngineClient(
      new HttpTransport({
        baseUrl: base,
        token: 'tok',
        openSocket: (url, token) =>
          new WebSocket(url, { headers: { Authorization: `Bearer ${token}` } }) as unknown as SocketLike,
      }),
    );

  test('JSON requests go through /engine with the token', async () => {
    const list = await client().listContainers();
    assert.equal(list[0].Id, 'abc');
    const last = seen.at(-1)!;
    assert.equal(last.auth, 'Bearer tok');
    const created = await client().createContainer({ Image: 'busybox' }, 'x');
    assert.equal(created.Id, 'new');
    assert.deepEqual(JSON.parse(seen.at(-1)!.body), { Image: 'busybox' });
  });

  test('engine errors are thrown with the engine message verbatim and its status', async () => {
    await assert.rejects(client().removeImage('busybox'), (e: unknown) => {
      assert.ok(e instanceof EngineError);
      assert.equal(e.statusCode, 409);
      assert.match(e.message, /^conflict: unable to remove repository reference "busybox"/);
      return true;
    });
  });

  test('pull progress is decoded across frame boundaries; an in-band error rejects', async () => {
    const got: unknown[] = [];
    const s = client().pull('busybox', (m) => got.push(m));
    await assert.rejects(s.done, /manifest unknown/);
    assert.equal(got.length, 3);
    assert.deepEqual((got[1] as { progressDetail: unknown }).progressDetail, { current: 5, total: 10 });
    assert.match((wsSeen.at(-1) as { path: string }).path, /fromImage=busybox&tag=latest/);
  });

  test('logs are demultiplexed into stdout and stderr', async () => {
    const lines: { stream: string; text: string }[] = [];
    const s = client().logs('abc', { follow: true, tty: false }, (l) => lines.push(l));
    await s.done;
    assert.deepEqual(lines, [
      { stream: 'stdout', text: 'out line\n' },
      { stream: 'stderr', text: 'err line\n' },
    ]);
  });

  test('the engine content type decides raw vs multiplexed logs', async () => {
    const lines: { stream: string; text: string }[] = [];
    await client().logs('tty', { follow: false, tty: false }, (l) => lines.push(l)).done;
    assert.deepEqual(lines, [{ stream: 'stdout', text: 'raw text\r\n' }]);
  });

  test('an error status on a stream rejects with the engine message', async () => {
    const s = client().stats('nope', () => undefined);
    await assert.rejects(
      s.done,
      (e: unknown) =>
        e instanceof EngineError && e.statusCode === 404 && e.message === 'No such container: nope',
    );
  });

  test('a build context (binary) is not put in the JSON message: it follows as binary frames', async () => {
    const context = new Uint8Array(2_500_000).map((_, i) => (i * 31) & 255);
    const lines: string[] = [];
    await client().build(context, 'x:1', (m) => lines.push(m.stream ?? '')).done;
    const head = wsSeen.at(-1) as { body?: unknown; bodyLength?: number; path: string };
    assert.equal(head.body, undefined);
    assert.equal(head.bodyLength, context.byteLength);
    assert.deepEqual(lines, [
      `${context.byteLength} ${createHash('sha256').update(context).digest('hex')}\n`,
    ]);
  });

  test('a hijacked exec session carries bytes both ways', async () => {
    const dec = new TextDecoder();
    let out = '';
    const s = client().execStart('e1', (d) => (out += dec.decode(d)));
    s.write('hi');
    const t0 = Date.now();
    while (!out.includes('echo:hi') && Date.now() - t0 < 3000) await new Promise((r) => setTimeout(r, 10));
    assert.equal(out, 'echo:hi');
    assert.equal((wsSeen.at(-1) as { hijack?: boolean }).hijack, true);
    assert.equal(
      (wsSeen.at(-1) as { body?: string }).body,
      undefined,
      'no body: it would reach the process as stdin',
    );
    s.close();
    await s.done;
  });
});

test('paths carry the API version and JSON-encoded filters', () => {
  assert.equal(
    buildPath('/images/prune', { filters: { dangling: ['true'] } }),
    '/v1.44/images/prune?filters=%7B%22dangling%22%3A%5B%22true%22%5D%7D',
  );
  assert.equal(
    buildPath('/containers/json', { all: true, size: undefined }),
    '/v1.44/containers/json?all=true',
  );
});

test('image references split into image and tag like the docker CLI', () => {
  assert.deepEqual(splitRef('busybox'), { image: 'busybox', tag: 'latest' });
  assert.deepEqual(splitRef('127.0.0.1:5000/ns/app:v2'), { image: '127.0.0.1:5000/ns/app', tag: 'v2' });
  assert.deepEqual(splitRef('127.0.0.1:5000/app'), { image: '127.0.0.1:5000/app', tag: 'latest' });
  assert.deepEqual(splitRef('app@sha256:abc'), { image: 'app@sha256:abc', tag: '' });
});

test('reads go again after a lost connection or a 502 from the bridge; writes are sent once', async () => {
  const enc = new TextEncoder();
  const calls: string[] = [];
  let failures = 2;
  const transport = {
    kind: 'web' as const,
    async request(req: { method: string; path: string }) {
      calls.push(`${req.method} ${req.path}`);
      if (req.method === 'POST') throw new Error('socket hang up');
      if (failures-- === 2) throw new Error('socket hang up');
      if (failures === 0)
        return { status: 502, headers: {}, body: enc.encode('{"message":"cannot reach the engine"}') };
      return { status: 200, headers: {}, body: enc.encode('[]') };
    },
    stream: () => ({ write: () => undefined, close: () => undefined }),
  };
  const slept: number[] = [];
  const c = new EngineClient(transport, async (ms) => void slept.push(ms));
  assert.deepEqual(await c.listContainers(), []);
  assert.equal(calls.length, 3);
  assert.deepEqual(slept, [150, 600]);
  await assert.rejects(c.containerAction('abc', 'start'), /socket hang up/);
  assert.equal(calls.filter((x) => x.startsWith('POST')).length, 1);
});
