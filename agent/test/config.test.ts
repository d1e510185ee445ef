/** berthd flag and daemon.json parsing. */
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, it } from 'node:test';
import { DEFAULTS, parseArgs, UsageError } from '../src/config.js';

function config(argv: string[]) {
  const r = parseArgs(argv);
  assert.equal(r.kind, 'run');
  return r.kind === 'run' ? r.config : DEFAULTS;
}

describe('parseArgs', () => {
  it('uses dockerd-like defaults', () => {
    const c = config([]);
    assert.equal(c.dataRoot, '/var/lib/berth');
    assert.deepEqual(c.hosts, ['unix:///run/berth/docker.sock']);
    assert.equal(c.logLevel, 'info');
  });

  it('accepts repeatable lists and both flag spellings', () => {
    const c = config([
      '-H',
      'unix:///a.sock',
      '--host=unix:///b.sock',
      '--registry-mirror',
      'http://127.0.0.1:5000',
      '--insecure-registry=r:5000',
      '--insecure-registry',
      's:5000',
      '-l',
      'debug',
    ]);
    assert.deepEqual(c.hosts, ['unix:///a.sock', 'unix:///b.sock']);
    assert.deepEqual(c.registryMirrors, ['http://127.0.0.1:5000']);
    assert.deepEqual(c.insecureRegistries, ['r:5000', 's:5000']);
    assert.equal(c.logLevel, 'debug');
  });

  it('rejects unknown flags, missing values, bad hosts, mirrors and log levels', () => {
    assert.throws(() => parseArgs(['--bogus']), UsageError);
    assert.throws(() => parseArgs(['--data-root']), /needs an argument/);
    assert.throws(() => parseArgs(['-H', '/plain/path']), /invalid host/);
    assert.throws(() => parseArgs(['--registry-mirror', 'ftp://x']), /invalid registry mirror/);
    assert.throws(() => parseArgs(['--log-level', 'loud']), /invalid log level/);
  });

  it('accepts --cgroup-parent and --exec-root, refusing cgroup parents that climb out', () => {
    const c = config(['--cgroup-parent', '/berth-ci', '--exec-root=/run/x']);
    assert.equal(c.cgroupParent, 'berth-ci');
    assert.equal(c.execRoot, '/run/x');
    assert.throws(() => parseArgs(['--cgroup-parent', '../escape']), /invalid cgroup parent/);
    assert.throws(() => parseArgs(['--cgroup-parent', 'a b']), /invalid cgroup parent/);
  });

  it('merges a daemon.json file under the flags', () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'berth-cfg-'));
    const file = path.join(dir, 'daemon.json');
    writeFileSync(
      file,
      JSON.stringify({
        'data-root': '/srv/berth',
        'log-level': 'warn',
        'registry-mirrors': ['https://m.example'],
      }),
    );
    const c = config(['--config-file', file, '--data-root', '/override']);
    assert.equal(c.dataRoot, '/override');
    assert.equal(c.logLevel, 'warn');
    assert.deepEqual(c.registryMirrors, ['https://m.example']);
    writeFileSync(file, '[1,2]');
    assert.throws(() => parseArgs(['--config-file', file]), /not a JSON object/);
  });

  it('answers help and version', () => {
    assert.equal(parseArgs(['--help']).kind, 'help');
    assert.equal(parseArgs(['-v']).kind, 'version');
  });
});
