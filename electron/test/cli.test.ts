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
