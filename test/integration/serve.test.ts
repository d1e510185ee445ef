/** `berth serve` in front of a real berthd: token, cookie, Host/Origin checks, HTTP proxy, WebSocket bridge. */
import assert from 'node:assert/strict';
import type { ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { WebSocket } from 'ws';
import { startTestDaemon, type TestDaemon } from '../helpers/daemon.js';
import { startServe } from '../e2e/support/stack.js';

function get(
  url: string,
  headers: Record<string, string> = {},
  method = 'GET',
): Promise<{ status: number; headers: http.IncomingHttpHeaders; body: string }> {
  return new Promise((resolve, reject) => {
    const req = http.request(url, { method, headers }, (res) => {
      let body = '';
      res.on('data', (d: Buffer) => (body += d.toString()));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }));
    });
    req.on('error', reject);
    req.end();
  });
}

function wsOpen(url: string, headers: Record<string, string>): Promise<{ ws?: WebSocket; status?: number }> {
  return new Promise((resolve) => {
    const ws = new WebSocket(url, { headers });
    ws.once('open', () => resolve({ ws }));
    ws.once('unexpected-response', (_req, res) => resolve({ status: res.statusCode ?? 0 }));
    ws.once('error', () => resolve({ status: -1 }));
  });
}

describe('berth serve', () => {
  let d: TestDaemon;
  let serve: ChildProcess;
  let base: string;
  let token: string;

  before(async () => {
    d = await startTestDaemon();
    const s = await startServe(d.socket);
    serve = s.proc;
    base = s.url;
    token = s.token;
  });
  after(async () => {
    serve?.kill('SIGTERM');
    await d?.destroy();
  });

  test('no token, or a wrong one: 401 with a Docker-style message', async () => {
    for (const path of ['', 'engine/v1.44/version', 'index.html']) {
      const r = await get(base + path);
      assert.equal(r.status, 401, path);
      assert.match((JSON.parse(r.body) as { message: string }).message, /unauthorized/);
    }
    assert.equal((await get(`${base}?token=wrong`)).status, 401);
    assert.equal((await get(base + 'engine/v1.44/version', { Authorization: 'Bearer wrong' })).status, 401);
  });

  test('the printed URL trades the token for an HttpOnly SameSite cookie and serves the UI under a strict CSP', async () => {
    const r = await get(`${base}?token=${token}`);
    assert.equal(r.status, 302);
    assert.equal(r.headers.location, '/');
    const cookie = r.headers['set-cookie']![0];
    assert.match(cookie, /HttpOnly/);
    assert.match(cookie, /SameSite=Strict/);
    const page = await get(base, { Cookie: cookie.split(';')[0] });
    assert.equal(page.status, 200);
    assert.match(page.body, /<div id="app">/);
    assert.match(String(page.headers['content-security-policy']), /script-src 'self';/);
  });

  test('other Host names (DNS rebinding) and other origins are refused', async () => {
    const port = new URL(base).port;
    assert.equal(
      (await get(base, { Host: `evil.example:${port}`, Authorization: `Bearer ${token}` })).status,
      403,
    );
    assert.equal(
      (await get(base, { Origin: 'http://evil.example', Authorization: `Bearer ${token}` })).status,
      403,
    );
    const ws = await wsOpen(base.replace('http', 'ws') + 'ws', {
      Authorization: `Bearer ${token}`,
      Origin: 'http://evil.example',
    });
    assert.equal(ws.status, 403);
  });

  test('engine requests are proxied verbatim, errors included; nothing outside the engine API is', async () => {
    const auth = { Authorization: `Bearer ${token}` };
    const direct = await d.request('GET', '/v1.44/version');
    const via = await get(base + 'engine/v1.44/version', auth);
    assert.equal(via.status, 200);
    assert.equal(
      (JSON.parse(via.body) as { ApiVersion: string }).ApiVersion,
      (JSON.parse(direct.body) as { ApiVersion: string }).ApiVersion,
    );
    const bad = await get(base + 'engine/v1.99/version', auth);
    assert.equal(bad.status, 400);
    assert.equal(bad.body, (await d.request('GET', '/v1.99/version')).body);
    assert.equal((await get(base + 'engine/etc/passwd', auth)).status, 404);
    assert.equal((await get(base + '..%2f..%2fetc%2fpasswd', auth)).status, 403);
  });

  test('the WebSocket bridge needs the token and streams an engine response', async () => {
    const url = base.replace('http', 'ws') + 'ws';
    assert.equal((await wsOpen(url, {})).status, 401);
    const { ws } = await wsOpen(url, { Authorization: `Bearer ${token}` });
    assert.ok(ws);
    const now = Math.floor(Date.now() / 1000);
    const frames: (string | Buffer)[] = [];
    const closed = new Promise<number>((resolve) => ws.on('close', (code) => resolve(code)));
    ws.on('message', (data, isBinary) =>
      frames.push(isBinary ? (data as Buffer) : (data as Buffer).toString()),
    );
    ws.send(JSON.stringify({ method: 'GET', path: `/v1.44/events?since=0&until=${now}` }));
    assert.equal(await closed, 1000);
    const head = JSON.parse(frames[0] as string) as { kind: string; status: number };
    assert.deepEqual([head.kind, head.status], ['head', 200]);
    assert.deepEqual(JSON.parse(frames.at(-1) as string), { kind: 'end' });
  });

  test('the bridge refuses a request outside the engine API', async () => {
    const { ws } = await wsOpen(base.replace('http', 'ws') + 'ws', { Authorization: `Bearer ${token}` });
    const msgs: string[] = [];
    const closed = new Promise<number>((resolve) => ws!.on('close', (code) => resolve(code)));
    ws!.on('message', (m) => msgs.push((m as Buffer).toString()));
    ws!.send(JSON.stringify({ method: 'GET', path: '/etc/passwd' }));
    assert.equal(await closed, 1008);
    assert.match(msgs[0], /not an engine path/);
  });

  test('an engine that is not there is explained, not shown as a socket errno', async () => {
    const home = mkdtempSync(path.join(os.tmpdir(), 'berth-serve-home-'));
    const env: NodeJS.ProcessEnv = { ...process.env, BERTH_HOME: home };
    delete env.DOCKER_HOST;
    delete env.BERTH_HOST;
    const s = await startServe(undefined, env);
    try {
      const sock = path.join(home, 'run', 'docker.sock');
      // BERTH_HOME decides the engine, even when it is not running (never /run/berth's engine instead).
      assert.match(s.out(), new RegExp(`Berth dashboard for unix://${sock}`));
      const r = await get(s.url + 'engine/_ping', { Authorization: `Bearer ${s.token}` });
      assert.equal(r.status, 502);
      assert.equal(
        (JSON.parse(r.body) as { message: string }).message,
        `no engine at unix://${sock}: the socket does not exist. Start it with \`berth start\` (or \`npm start\` on a Linux host), or point Berth at your engine (-H or DOCKER_HOST).`,
      );
    } finally {
      s.proc.kill('SIGTERM');
      rmSync(home, { recursive: true, force: true });
    }
  });
});

test('berth serve follows BERTH_HOME to the engine socket there', async () => {
  const home = mkdtempSync(path.join(os.tmpdir(), 'berth-serve-home-'));
  const d = await startTestDaemon({ socket: path.join(home, 'run', 'docker.sock') });
  const env: NodeJS.ProcessEnv = { ...process.env, BERTH_HOME: home };
  delete env.DOCKER_HOST;
  delete env.BERTH_HOST;
  const s = await startServe(undefined, env);
  try {
    const r = await get(s.url + 'engine/v1.44/info', { Authorization: `Bearer ${s.token}` });
    assert.equal(r.status, 200, r.body);
    assert.equal((JSON.parse(r.body) as { DockerRootDir: string }).DockerRootDir, d.dataRoot);
  } finally {
    s.proc.kill('SIGTERM');
    await d.destroy();
    rmSync(home, { recursive: true, force: true });
  }
});
