/**
 * `berth serve` for Berth's own engine ($BERTH_HOME, native driver here): settings and the engine's lifecycle
 * over `/host/*`, as the app has them over IPC; for an engine named with -H, none of that.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { berthHome, type BerthHome } from '../helpers/berth-cli.js';
import { IS_ROOT, requirement } from '../helpers/env.js';
import { startServe } from '../e2e/support/stack.js';

const skip = requirement(IS_ROOT, 'the native engine runs as root');

describe('berth serve: settings and engine control for Berth’s own engine', { skip }, () => {
  let h: BerthHome;
  let serve: Awaited<ReturnType<typeof startServe>>;
  const call = async (method: string, path: string, body?: unknown) => {
    const r = await fetch(`${serve.url}host/${path}`, {
      method,
      headers: {
        Authorization: `Bearer ${serve.token}`,
        ...(body === undefined ? {} : { 'Content-Type': 'application/json' }),
      },
      ...(body === undefined ? {} : { body: typeof body === 'string' ? body : JSON.stringify(body) }),
    });
    const text = await r.text();
    return { status: r.status, text, json: () => JSON.parse(text) as Record<string, unknown> };
  };

  before(async () => {
    h = berthHome();
    const r = await h.berth(['start', '--driver', 'native']);
    assert.equal(r.code, 0, r.stderr);
    serve = await startServe(undefined, h.env);
  });
  after(async () => {
    serve?.proc.kill('SIGTERM');
    await h.berth(['stop', '-t', '5']);
    await h.remove();
  });

  test('it says it manages the engine, and reads the settings the CLI wrote', async () => {
    assert.match(serve.out(), /settings and engine control: Berth manages it/);
    assert.equal((await h.berth(['restart', '--registry-mirror', 'http://127.0.0.1:5998'])).code, 0);
    const s = await call('GET', 'settings');
    assert.equal(s.status, 200, s.text);
    assert.deepEqual(s.json().registryMirrors, ['http://127.0.0.1:5998']);
    const e = await call('GET', 'engine');
    assert.equal(e.json().state, 'running');
    assert.equal(e.json().host, `unix://${h.socket}`);
  });

  test('bad settings are refused with the reason (400), and nothing is saved', async () => {
    const bad = await call('PATCH', 'settings', { insecureRegistries: ['http://x:1/v2'] });
    assert.equal(bad.status, 400);
    assert.match(String(bad.json().message), /invalid insecure registry "http:\/\/x:1\/v2"/);
    const notJson = await call('PATCH', 'settings', '{nope');
    assert.equal(notJson.status, 400);
    assert.match(String(notJson.json().message), /^invalid JSON/);
    assert.equal((await call('DELETE', 'settings')).status, 405);
    assert.equal((await call('GET', 'nothing-here')).status, 404);
    assert.deepEqual((await call('GET', 'settings')).json().insecureRegistries, []);
  });

  test('a changed registry setting reaches the engine when it restarts through the dashboard', async () => {
    const u = await call('PATCH', 'settings', { insecureRegistries: ['10.0.2.2:5055'] });
    assert.equal(u.status, 200, u.text);
    const before = await h.docker([
      '--context',
      'berth',
      'info',
      '--format',
      '{{json .RegistryConfig.IndexConfigs}}',
    ]);
    assert.doesNotMatch(before.stdout, /10\.0\.2\.2:5055/, 'not before the restart');
    const r = await call('POST', 'engine/restart');
    assert.equal(r.status, 200, r.text);
    assert.equal(r.json().state, 'running');
    const after = await h.docker([
      '--context',
      'berth',
      'info',
      '--format',
      '{{json .RegistryConfig.IndexConfigs}}',
    ]);
    assert.match(after.stdout, /"10\.0\.2\.2:5055":\{[^}]*"Secure":false/);
    const logs = await call('GET', 'engine/logs');
    assert.equal(logs.status, 200);
    assert.match(logs.text, /API listening/);
  });

  test('stop and start through the dashboard', async () => {
    const s = await call('POST', 'engine/stop');
    assert.equal(s.json().state, 'stopped');
    assert.equal((await h.berth(['status'])).code, 3);
    const st = await call('POST', 'engine/start');
    assert.equal(st.json().state, 'running', st.text);
    assert.equal((await h.berth(['status'])).code, 0);
  });

  test('for an engine named with -H, /host answers 404 with the reason', async () => {
    const other = await startServe(h.socket, h.env);
    try {
      const r = await fetch(`${other.url}host/settings`, {
        headers: { Authorization: `Bearer ${other.token}` },
      });
      assert.equal(r.status, 404);
      assert.match(((await r.json()) as { message: string }).message, /does not manage/);
    } finally {
      other.proc.kill('SIGTERM');
    }
  });
});
