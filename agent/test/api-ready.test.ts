/** The API while the engine is still loading: /_ping and /version answer, everything else waits for it. */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { after, describe, it } from 'node:test';
import { registerPingRoutes } from '../src/api/routes/system.js';
import { Router } from '../src/api/router.js';
import { createApiServer } from '../src/api/server.js';
import { parseArgs } from '../src/config.js';
import type { Engine } from '../src/engine.js';
import { EventBus } from '../src/events/bus.js';
import { createLogger } from '../src/log.js';

const dir = mkdtempSync(path.join(os.tmpdir(), 'berth-ready-'));
after(() => rmSync(dir, { recursive: true, force: true }));

function get(socketPath: string, urlPath: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    http
      .get({ socketPath, path: urlPath }, (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString() }));
      })
      .on('error', reject);
  });
}

async function serve(
  name: string,
  ready: Promise<void>,
): Promise<{ router: Router; socket: string; close(): void }> {
  const log = createLogger({ component: 'test' });
  const parsed = parseArgs(['--data-root', path.join(dir, name)]);
  assert.equal(parsed.kind, 'run');
  const engine: Engine = {
    id: 'x',
    config: parsed.config,
    log,
    events: new EventBus(),
    startedAt: new Date(),
    version: '0.0.0',
  };
  const router = new Router();
  registerPingRoutes(router, engine);
  const server = createApiServer(router, log, '0.0.0', ready);
  const socket = path.join(dir, `${name}.sock`);
  await new Promise<void>((r) => server.listen(socket, r));
  return { router, socket, close: () => server.close() };
}

const tick = () => new Promise((r) => setTimeout(r, 50));

describe('API before the engine is ready', () => {
  it('answers /_ping and /version at once and serves other requests only once the state is loaded', async () => {
    let open!: () => void;
    const s = await serve('a', new Promise<void>((r) => (open = r)));
    try {
      assert.equal((await get(s.socket, '/_ping')).body, 'OK');
      assert.equal((await get(s.socket, '/v1.44/version')).status, 200);
      let answered = false;
      const info = get(s.socket, '/v1.44/info').then((r) => ((answered = true), r));
      await tick();
      assert.equal(answered, false, '/info must wait for the engine');
      // Routes registered while loading are the ones the waiting request gets.
      s.router.get('/info', (ctx) => {
        ctx.res.writeHead(200, { 'Content-Type': 'application/json' });
        ctx.res.end('{"ID":"x"}');
      });
      open();
      assert.deepEqual(await info, { status: 200, body: '{"ID":"x"}' });
      assert.equal((await get(s.socket, '/nope')).status, 404);
    } finally {
      s.close();
    }
  });

  it('answers waiting requests with a 503 naming the cause when loading fails', async () => {
    let fail!: (e: Error) => void;
    const s = await serve('b', new Promise<void>((_r, j) => (fail = j)));
    try {
      const waiting = get(s.socket, '/containers/json');
      await tick();
      fail(new Error('no free subnet for the default bridge; set --bip'));
      const r = await waiting;
      assert.equal(r.status, 503);
      assert.deepEqual(JSON.parse(r.body), {
        message: 'the engine failed to start: no free subnet for the default bridge; set --bip',
      });
      assert.equal((await get(s.socket, '/_ping')).status, 200);
    } finally {
      s.close();
    }
  });
});
