/**
 * `npm start` (berth up) on a host without a display: the engine on this host plus the dashboard in web mode,
 * the URL and the docker command printed, arguments passed to berth start, Ctrl-C stopping the engine.
 */
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { berthHome, type BerthHome } from '../helpers/berth-cli.js';
import { IS_ROOT, requirement } from '../helpers/env.js';
import { BIN } from '../helpers/paths.js';

const skip = requirement(IS_ROOT, 'the native engine runs as root');

describe('npm start without a display (berth up)', { skip }, () => {
  let h: BerthHome;
  let up: ChildProcess;
  let out = '';
  let err = '';
  let exited: Promise<number | null>;

  before(async () => {
    h = berthHome();
    const env = { ...h.env };
    delete env.DISPLAY;
    delete env.WAYLAND_DISPLAY;
    up = spawn(path.join(BIN, 'berth'), ['up', '--insecure-registry', '10.0.2.2:5057'], {
      env,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    up.stdout!.on('data', (d: Buffer) => (out += d.toString()));
    up.stderr!.on('data', (d: Buffer) => (err += d.toString()));
    exited = new Promise((resolve) => up.on('exit', (code) => resolve(code)));
    const deadline = performance.now() + 60_000;
    while (!/Ctrl-C/.test(out)) {
      if (up.exitCode !== null || performance.now() > deadline)
        throw new Error(`berth up did not come up:\n${out}\n${err}`);
      await new Promise((r) => setTimeout(r, 100));
    }
  });
  after(async () => {
    if (up?.exitCode === null) up.kill('SIGKILL');
    await h?.berth(['stop', '-t', '5']);
    await h?.remove();
  });

  test('says why web mode, and prints the dashboard URL, the docker command and that arguments pass through', () => {
    assert.match(err, /No desktop app here \(no display/);
    assert.match(out, /^Dashboard: http:\/\/127\.0\.0\.1:\d+\/\?token=[\w-]+$/m);
    assert.match(out, /^Docker: +docker --context berth ps/m);
    assert.match(out, /Arguments after `npm start --` pass to `berth start`/);
  });

  test('the printed URL serves the dashboard, which manages this engine', async () => {
    const url = /^Dashboard: (\S+)$/m.exec(out)![1];
    // The token URL trades the token for a cookie; the page then loads with it.
    const signIn = await fetch(url, { redirect: 'manual' });
    assert.equal(signIn.status, 302);
    const cookie = signIn.headers.get('set-cookie')!.split(';')[0];
    const base = url.slice(0, url.indexOf('?'));
    const page = await fetch(base, { headers: { Cookie: cookie } });
    assert.equal(page.status, 200);
    assert.match(await page.text(), /<div id="app">/);
    const auth = { headers: { Cookie: cookie } };
    const s = await fetch(`${base}host/engine`, auth);
    assert.equal(((await s.json()) as { state: string }).state, 'running');
    const v = await fetch(`${base}engine/v1.44/version`, auth);
    assert.equal(((await v.json()) as { ApiVersion: string }).ApiVersion, '1.44');
  });

  test('the printed docker command works, and the passed-through --insecure-registry reached the engine', async () => {
    const r = await h.docker([
      '--context',
      'berth',
      'info',
      '--format',
      '{{json .RegistryConfig.IndexConfigs}}',
    ]);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /"10\.0\.2\.2:5057":\{[^}]*"Secure":false/);
  });

  test('Ctrl-C ends the dashboard and stops the engine', async () => {
    up.kill('SIGINT');
    assert.equal(await exited, 0, err);
    assert.equal((await h.berth(['status'])).code, 3, 'stopped');
  });
});
