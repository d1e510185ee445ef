/** berthd basics through the real docker CLI and raw HTTP: ping, version, info, events, errors, lifecycle. */
import assert from 'node:assert/strict';
import { existsSync, promises as fsp } from 'node:fs';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { startTestDaemon, type TestDaemon } from '../helpers/daemon.js';
import { run } from '../helpers/exec.js';
import { BIN } from '../helpers/paths.js';
import { apiMessage } from '../helpers/json.js';

describe('berthd system API', () => {
  let d: TestDaemon;
  before(async () => {
    d = await startTestDaemon();
  });
  after(async () => {
    await d.destroy();
  });

  it('answers GET and HEAD /_ping with API-Version', async () => {
    const g = await d.request('GET', '/_ping');
    assert.equal(g.status, 200);
    assert.equal(g.body, 'OK');
    assert.equal(g.headers['api-version'], '1.44');
    const h = await d.request('HEAD', '/v1.40/_ping');
    assert.equal(h.status, 200);
    assert.equal(h.headers['api-version'], '1.44');
  });

  it('serves docker version and docker info to the real CLI', async () => {
    const v = await d.docker(['version', '--format', '{{.Server.APIVersion}} {{.Server.Os}}']);
    assert.equal(v.code, 0, v.stderr);
    assert.equal(v.stdout.trim(), '1.44 linux');
    const i = await d.docker(['info', '--format', '{{.DockerRootDir}}|{{.OSType}}|{{.NCPU}}']);
    assert.equal(i.code, 0, i.stderr);
    const [root, ostype, ncpu] = i.stdout.trim().split('|');
    assert.equal(root, d.dataRoot);
    assert.equal(ostype, 'linux');
    assert.ok(Number(ncpu) >= 1);
  });

  it('rejects API versions outside 1.24..1.44 with a Docker-style error', async () => {
    const old = await d.request('GET', '/v1.12/version');
    assert.equal(old.status, 400);
    assert.match(apiMessage(old), /too old\. Minimum supported API version is 1\.24/);
    const neu = await d.request('GET', '/v1.99/version');
    assert.equal(neu.status, 400);
    assert.match(apiMessage(neu), /too new/);
  });

  it('answers unknown paths with 404 JSON and wrong methods with 405', async () => {
    const r = await d.request('GET', '/v1.44/nothing/here');
    assert.equal(r.status, 404);
    assert.equal(r.headers['content-type'], 'application/json');
    assert.deepEqual(JSON.parse(r.body), { message: 'page not found' });
    const m = await d.request('DELETE', '/version');
    assert.equal(m.status, 405);
  });

  it('streams events with since/until and filters, and rejects bad filters', async () => {
    const r = await d.docker([
      'events',
      '--since',
      '0',
      '--until',
      String(Math.ceil(Date.now() / 1000) + 1),
      '--filter',
      'type=daemon',
      '--format',
      '{{.Type}} {{.Action}}',
    ]);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /^daemon start$/m);
    const none = await d.docker([
      'events',
      '--since',
      '0',
      '--until',
      String(Math.ceil(Date.now() / 1000)),
      '--filter',
      'type=volume',
    ]);
    assert.equal(none.code, 0);
    assert.equal(none.stdout.trim(), '');
    const bad = await d.request('GET', '/events?filters=' + encodeURIComponent('{"bogus":["x"]}'));
    assert.equal(bad.status, 400);
    assert.match(apiMessage(bad), /invalid filter 'bogus'/);
    const badTime = await d.request('GET', '/events?since=yesterday-ish');
    assert.equal(badTime.status, 400);
  });

  it('reports disk usage for docker system df', async () => {
    const r = await d.docker(['system', 'df']);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /Images/);
  });

  it('refuses a second daemon on the same data root with a clear message', async () => {
    const r = await run(path.join(BIN, 'berthd'), ['--data-root', d.dataRoot, '-H', `unix://${d.socket}.2`], {
      timeoutMs: 15_000,
    });
    assert.notEqual(r.code, 0);
    assert.match(r.stderr, /another berthd \(pid \d+\) is already using this data root/);
    // The first daemon still answers.
    assert.equal((await d.request('GET', '/_ping')).status, 200);
  });
});

describe('berthd lifecycle and flags', () => {
  it('writes a pidfile, creates a 0660 socket, and shuts down cleanly on SIGTERM', async () => {
    const tmp = await fsp.mkdtemp('/tmp/berth-life-');
    const pidfile = path.join(tmp, 'berthd.pid');
    const d = await startTestDaemon({ args: ['--pidfile', pidfile] });
    try {
      assert.equal((await fsp.readFile(pidfile, 'utf8')).trim(), String(d.proc.pid));
      const st = await fsp.stat(d.socket);
      assert.equal(st.mode & 0o777, 0o660);
      const code = await d.stop('SIGTERM');
      assert.equal(code, 0);
      assert.equal(existsSync(d.socket), false);
      assert.equal(existsSync(pidfile), false);
      assert.equal(existsSync(path.join(d.dataRoot, 'berthd.lock')), false);
    } finally {
      await d.destroy();
      await fsp.rm(tmp, { recursive: true, force: true });
    }
  });

  it('takes over a stale lock left by a killed daemon', async () => {
    const d = await startTestDaemon();
    await d.stop('SIGKILL');
    assert.equal(existsSync(path.join(d.dataRoot, 'berthd.lock')), true);
    const d2 = await startTestDaemon({ dataRoot: d.dataRoot });
    assert.equal((await d2.request('GET', '/_ping')).status, 200);
    await d2.destroy();
  });

  it('reads a daemon.json config file and rejects a malformed one', async () => {
    const tmp = await fsp.mkdtemp('/tmp/berth-cfg-');
    const good = path.join(tmp, 'daemon.json');
    await fsp.writeFile(
      good,
      JSON.stringify({ 'registry-mirrors': ['http://127.0.0.1:1'], 'insecure-registries': ['myreg:5000'] }),
    );
    const d = await startTestDaemon({ args: ['--config-file', good] });
    try {
      const r = await d.docker(['info', '--format', '{{json .RegistryConfig.Mirrors}}']);
      assert.equal(r.stdout.trim(), '["http://127.0.0.1:1/"]');
    } finally {
      await d.destroy();
    }
    const bad = path.join(tmp, 'bad.json');
    await fsp.writeFile(bad, '{ nope');
    const r = await run(
      path.join(BIN, 'berthd'),
      ['--config-file', bad, '--data-root', path.join(tmp, 'root')],
      { timeoutMs: 15_000 },
    );
    assert.notEqual(r.code, 0);
    assert.match(r.stderr, /invalid config file .*bad\.json/);
    const flag = await run(path.join(BIN, 'berthd'), ['--no-such-flag']);
    assert.equal(flag.code, 125);
    assert.match(flag.stderr, /unknown flag: --no-such-flag/);
    await fsp.rm(tmp, { recursive: true, force: true });
  });
});
