import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { decodeError, EngineError, type IpcResult, type StreamEvent } from '@berth/common';
import {
  registerHandlers,
  type CallContext,
  type IpcEventLike,
  type IpcMainLike,
  type InvokeHandlers,
} from '../src/ipc/handle.js';
import { StreamRegistry } from '../src/ipc/engine-handlers.js';
import { trayMenu } from '../src/tray/menu.js';

/** Records handlers like ipcMain and calls them like ipcRenderer.invoke would. */
class FakeIpcMain implements IpcMainLike {
  handlers = new Map<string, (event: IpcEventLike, ...args: unknown[]) => unknown>();
  handle(channel: string, listener: (event: IpcEventLike, ...args: unknown[]) => unknown): void {
    this.handlers.set(channel, listener);
  }
  removeHandler(channel: string): void {
    this.handlers.delete(channel);
  }
  invoke(channel: string, frameUrl: string, ...args: unknown[]): Promise<IpcResult<unknown>> {
    const sent: unknown[] = [];
    return Promise.resolve(
      this.handlers.get(channel)!(
        { sender: { id: 1, send: (...a: unknown[]) => sent.push(a) }, senderFrame: { url: frameUrl } },
        ...args,
      ),
    ) as Promise<IpcResult<unknown>>;
  }
}

const APP = 'file:///opt/berth/renderer/dist/index.html';
const trusted = (u: string) => u.startsWith('file:///opt/berth/renderer/dist/');

function handlers(over: Partial<InvokeHandlers>): InvokeHandlers {
  const unused = () => {
    throw new Error('not used in this test');
  };
  const all = Object.fromEntries(
    [
      'engine:request',
      'engine:stream-open',
      'engine:stream-write',
      'engine:stream-close',
      'engine:status',
      'engine:start',
      'engine:stop',
      'engine:restart',
      'engine:logs',
      'settings:get',
      'settings:update',
      'app:factory-reset',
    ].map((k) => [k, unused]),
  );
  return { ...all, ...over } as InvokeHandlers;
}

test('answers cross as {result} or {error:{name,code,message}} and are rebuilt as errors', async () => {
  const ipc = new FakeIpcMain();
  registerHandlers(
    ipc,
    handlers({
      'engine:logs': () => 'log text',
      'engine:stop': () => {
        throw new EngineError('the engine at unix:///x is not managed by Berth', 409);
      },
    }),
    trusted,
  );
  assert.deepEqual(await ipc.invoke('engine:logs', APP), { result: 'log text' });
  const r = await ipc.invoke('engine:stop', APP);
  assert.ok('error' in r);
  assert.deepEqual(r.error, {
    name: 'EngineError',
    code: 409,
    message: 'the engine at unix:///x is not managed by Berth',
  });
  const rebuilt = decodeError(r.error);
  assert.ok(rebuilt instanceof EngineError);
  assert.equal(rebuilt.statusCode, 409);
});

test('calls from a frame we did not load are refused', async () => {
  const ipc = new FakeIpcMain();
  let called = false;
  registerHandlers(ipc, handlers({ 'engine:logs': () => ((called = true), '') }), trusted);
  const r = await ipc.invoke('engine:logs', 'https://evil.example/');
  assert.ok('error' in r && r.error.name === 'UntrustedSenderError');
  assert.equal(called, false);
});

test('tray menu follows the engine state', () => {
  const ids = (s: Parameters<typeof trayMenu>[0]) =>
    trayMenu(s)
      .filter((i) => i.enabled)
      .map((i) => i.id);
  assert.deepEqual(ids({ state: 'running', host: 'unix:///s' }), ['open', 'stop', 'restart', 'quit']);
  assert.deepEqual(ids({ state: 'stopped', host: 'unix:///s' }), ['open', 'start', 'quit']);
  assert.deepEqual(ids({ state: 'starting', host: 'unix:///s' }), ['open', 'quit']);
  assert.match(
    trayMenu({ state: 'error', host: 'x', message: 'VM failed to boot' })[0].label,
    /VM failed to boot/,
  );
});

describe('engine streams over IPC (against an HTTP server on a unix socket)', () => {
  let dir: string;
  let server: http.Server;
  let reg: StreamRegistry;

  before(async () => {
    dir = mkdtempSync(path.join(os.tmpdir(), 'berth-ipc-'));
    const socketPath = path.join(dir, 'engine.sock');
    server = http.createServer((req, res) => {
      // Build contexts, archive uploads and image loads: answer with the digest of the bytes received.
      if (/^\/v1\.44\/(build|images\/load|containers\/c\/archive)/.test(req.url ?? '')) {
        const h = createHash('sha256');
        let n = 0;
        req.on('data', (d: Buffer) => (h.update(d), (n += d.length)));
        req.on('end', () =>
          res
            .writeHead(200, { 'Content-Type': 'application/json' })
            .end(JSON.stringify({ sha256: h.digest('hex'), length: n, type: req.headers['content-type'] })),
        );
        return;
      }
      if (req.url === '/v1.44/version')
        return void res.writeHead(200, { 'Content-Type': 'application/json' }).end('{"ApiVersion":"1.44"}');
      if (req.url?.startsWith('/v1.44/events')) {
        res.writeHead(200, { 'Content-Type': 'application/json' });
        res.write('{"Type":"container","Action":"start"}\n');
        setTimeout(() => res.end('{"Type":"container","Action":"die"}\n'), 20);
        return;
      }
      res
        .writeHead(404, { 'Content-Type': 'application/json' })
        .end('{"message":"No such exec instance: x"}');
    });
    // A hijacked exec: 101, then echo what comes in, upper-cased.
    server.on('upgrade', (_req, socket) => {
      socket.write(
        'HTTP/1.1 101 UPGRADED\r\nContent-Type: application/vnd.docker.raw-stream\r\nConnection: Upgrade\r\nUpgrade: tcp\r\n\r\n',
      );
      socket.on('data', (d: Buffer) => socket.write(d.toString().toUpperCase()));
    });
    await new Promise<void>((r) => server.listen(socketPath, r));
    reg = new StreamRegistry({ kind: 'unix', socketPath });
  });
  after(() => {
    server.closeAllConnections();
    server.close();
    rmSync(dir, { recursive: true, force: true });
  });

  function ctx(senderId: number, events: StreamEvent[]): CallContext {
    return { senderId, send: (_ch, payload) => events.push(payload as StreamEvent) };
  }
  const waitFor = async (ok: () => boolean) => {
    const t0 = Date.now();
    while (!ok()) {
      if (Date.now() - t0 > 3000) throw new Error('timed out');
      await new Promise((r) => setTimeout(r, 5));
    }
  };

  test('one-shot request', async () => {
    const r = await reg.handlers()['engine:request'](ctx(1, []), { method: 'GET', path: '/v1.44/version' });
    assert.equal(r.status, 200);
    assert.equal(new TextDecoder().decode(r.body), '{"ApiVersion":"1.44"}');
  });

  test('a stream sends head, data and end to the window that opened it', async () => {
    const events: StreamEvent[] = [];
    const id = await reg
      .handlers()
      ['engine:stream-open'](ctx(1, events), { method: 'GET', path: '/v1.44/events' });
    await waitFor(() => events.some((e) => e.kind === 'end'));
    assert.deepEqual(events.map((e) => e.kind)[0], 'head');
    const text = events
      .filter((e): e is Extract<StreamEvent, { kind: 'data' }> => e.kind === 'data')
      .map((e) => new TextDecoder().decode(e.data))
      .join('');
    assert.match(text, /"start"[\s\S]*"die"/);
    assert.ok(events.every((e) => e.id === id));
    assert.equal(reg.size, 0);
  });

  test('a hijacked session carries stdin; other windows cannot write to it; closing a window ends it', async () => {
    const events: StreamEvent[] = [];
    const h = reg.handlers();
    const id = await h['engine:stream-open'](ctx(7, events), {
      method: 'POST',
      path: '/v1.44/exec/x/start',
      body: '{"Tty":true}',
      hijack: true,
    });
    await waitFor(() => events.some((e) => e.kind === 'head'));
    assert.equal((events[0] as { status: number }).status, 101);
    await h['engine:stream-write'](ctx(8, events), id, new TextEncoder().encode('intruder'));
    await h['engine:stream-write'](ctx(7, events), id, new TextEncoder().encode('hello'));
    await waitFor(() => events.some((e) => e.kind === 'data'));
    const out = events
      .filter((e): e is Extract<StreamEvent, { kind: 'data' }> => e.kind === 'data')
      .map((e) => new TextDecoder().decode(e.data))
      .join('');
    assert.equal(out, 'HELLO');
    reg.closeOwnedBy(7);
    await waitFor(() => events.some((e) => e.kind === 'end'));
    assert.equal(reg.size, 0);
  });

  test('binary bodies cross IPC intact: one-shot (archive upload) and streamed (build context)', async () => {
    const blob = new Uint8Array(70_000);
    for (let i = 0; i < blob.length; i++) blob[i] = (i * 7 + (i >> 8)) & 255;
    const want = createHash('sha256').update(blob).digest('hex');
    // Electron's IPC copies arguments with the structured clone algorithm; so does this.
    const [put] = structuredClone([
      {
        method: 'PUT',
        path: '/v1.44/containers/c/archive?path=/tmp',
        headers: { 'Content-Type': 'application/x-tar' },
        body: blob,
      },
    ]);
    const r = await reg.handlers()['engine:request'](ctx(1, []), put);
    assert.deepEqual(JSON.parse(new TextDecoder().decode(r.body)), {
      sha256: want,
      length: blob.length,
      type: 'application/x-tar',
    });
    const events: StreamEvent[] = [];
    const [build] = structuredClone([
      {
        method: 'POST',
        path: '/v1.44/build?t=x',
        headers: { 'Content-Type': 'application/x-tar' },
        body: blob,
      },
    ]);
    await reg.handlers()['engine:stream-open'](ctx(1, events), build);
    await waitFor(() => events.some((e) => e.kind === 'end'));
    const got = events
      .filter((e): e is Extract<StreamEvent, { kind: 'data' }> => e.kind === 'data')
      .map((e) => new TextDecoder().decode(e.data))
      .join('');
    assert.equal((JSON.parse(got) as { sha256: string }).sha256, want);
  });

  test('a body announced by bodyLength streams through writes, then the request ends', async () => {
    const blob = new Uint8Array(50_000).map((_, i) => (i * 13) & 255);
    const events: StreamEvent[] = [];
    const h = reg.handlers();
    const id = await h['engine:stream-open'](ctx(3, events), {
      method: 'POST',
      path: '/v1.44/images/load',
      headers: { 'Content-Type': 'application/x-tar' },
      bodyLength: blob.length,
    });
    for (let o = 0; o < blob.length; o += 16_384)
      await h['engine:stream-write'](ctx(3, events), id, blob.slice(o, o + 16_384));
    await waitFor(() => events.some((e) => e.kind === 'end'));
    const got = events
      .filter((e): e is Extract<StreamEvent, { kind: 'data' }> => e.kind === 'data')
      .map((e) => new TextDecoder().decode(e.data))
      .join('');
    assert.deepEqual(JSON.parse(got), {
      sha256: createHash('sha256').update(blob).digest('hex'),
      length: blob.length,
      type: 'application/x-tar',
    });
  });
});
