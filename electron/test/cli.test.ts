import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';

const BERTH = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../../bin/berth');

test('berth lists its commands and rejects unknown ones', () => {
  const help = spawnSync(BERTH, ['--help'], { encoding: 'utf8' });
  assert.equal(help.status, 0);
  assert.match(help.stdout, /serve\s+Serve the dashboard/);
  const bad = spawnSync(BERTH, ['nope'], { encoding: 'utf8' });
  assert.equal(bad.status, 2);
  assert.match(bad.stderr, /unknown command "nope"/);
});

test('berth serve rejects bad options with a usage error', () => {
  const r = spawnSync(BERTH, ['serve', '--port', 'x'], { encoding: 'utf8' });
  assert.equal(r.status, 2);
  assert.match(r.stderr, /invalid port: x/);
  const r2 = spawnSync(BERTH, ['serve', '--bogus'], { encoding: 'utf8' });
  assert.equal(r2.status, 2);
});

test('berth status on a stopped engine says what to run next, and exits 3', () => {
  const home = mkdtempSync(path.join(os.tmpdir(), 'berth-status-'));
  try {
    const env: NodeJS.ProcessEnv = { ...process.env, BERTH_HOME: home };
    delete env.DOCKER_HOST;
    const r = spawnSync(BERTH, ['status'], { encoding: 'utf8', env });
    assert.equal(r.status, 3, r.stderr);
    assert.match(r.stdout, /Engine:\s+stopped/);
    assert.match(r.stdout, /run `berth start` to start the engine/);
    assert.match(r.stdout, new RegExp(`unix://${home}/run/docker\\.sock`));
  } finally {
    rmSync(home, { recursive: true, force: true });
  }
});

test('berth up: the desktop app where a window can open, web mode otherwise; its own options split from the rest', async () => {
  const { chooseMode, splitArgs } = await import('../src/cli/up.js');
  const bin = () => '/opt/electron';
  const none = () => undefined;
  assert.deepEqual(chooseMode({}, 'darwin', bin), { kind: 'desktop', electron: '/opt/electron' });
  assert.deepEqual(chooseMode({ DISPLAY: ':0' }, 'linux', bin), {
    kind: 'desktop',
    electron: '/opt/electron',
  });
  assert.deepEqual(chooseMode({ WAYLAND_DISPLAY: 'wayland-0' }, 'linux', bin).kind, 'desktop');
  assert.match((chooseMode({}, 'linux', bin) as { why: string }).why, /no display/);
  assert.match((chooseMode({ DISPLAY: ':0' }, 'linux', none) as { why: string }).why, /not installed/);
  assert.equal(chooseMode({ DISPLAY: ':0' }, 'linux', bin, true).kind, 'web');
  assert.deepEqual(splitArgs(['--web', '--port', '8080', '--insecure-registry', 'h:5000']), {
    web: true,
    port: 8080,
    help: false,
    rest: ['--insecure-registry', 'h:5000'],
  });
  assert.throws(() => splitArgs(['--port', 'x']), /invalid port: x/);
  const r = spawnSync(BERTH, ['up', '--port'], { encoding: 'utf8' });
  assert.equal(r.status, 2);
  assert.match(r.stderr, /invalid port: \(missing\)/);
});
