/** `berth` with the native driver: berthd on this host behind ~/.berth/run/docker.sock and the docker context. */
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { after, before, describe, it } from 'node:test';
import { alive, berthHome, type BerthHome } from '../helpers/berth-cli.js';

describe('berth CLI, native driver', () => {
  let h: BerthHome;
  before(() => {
    h = berthHome();
  });
  after(async () => {
    await h.berth(['stop', '-t', '5']);
    await h.remove();
  });

  it('refuses bad input with a usage error and changes nothing', async () => {
    const bad = await h.berth(['start', '--driver', 'hyperv']);
    assert.equal(bad.code, 2);
    assert.match(bad.stderr, /unknown driver "hyperv": use qemu, lima, native/);
    const cpus = await h.berth(['start', '--driver', 'native', '--cpus', '0']);
    assert.equal(cpus.code, 2);
    assert.match(cpus.stderr, /--cpus must be a positive whole number/);
    const reset = await h.berth(['reset']);
    assert.equal(reset.code, 2);
    assert.match(reset.stderr, /confirm with --force/);
    const st = await h.berth(['status']);
    assert.equal(st.code, 3, 'nothing was started');
    assert.match(st.stdout, /Engine: {3}stopped/);
  });

  it('start: the engine answers the real docker CLI on the host socket and through the berth context', async () => {
    const r = await h.berth(['start', '--driver', 'native']);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stderr, /docker context "berth"/);
    const v = await h.docker(['-H', `unix://${h.socket}`, 'version', '--format', '{{.Server.APIVersion}}']);
    assert.equal(v.code, 0, v.stderr);
    assert.equal(v.stdout.trim(), '1.44');
    const info = await h.docker(['--context', 'berth', 'info', '--format', '{{.OSType}} {{.Name}}']);
    assert.equal(info.code, 0, info.stderr);
    assert.match(info.stdout, /^linux /);
    const st = await h.berth(['status', '--json']);
    assert.equal(st.code, 0);
    const s = JSON.parse(st.stdout) as { state: string; driver: string; host: string; pid: number };
    assert.equal(s.state, 'running');
    assert.equal(s.driver, 'native');
    assert.equal(s.host, `unix://${h.socket}`);
    assert.ok(alive(s.pid));
    // A second start is a no-op on the running engine.
    const again = await h.berth(['start']);
    assert.equal(again.code, 0);
    assert.equal((JSON.parse((await h.berth(['status', '--json'])).stdout) as { pid: number }).pid, s.pid);
  });

  it('logs, compact and shell say what the native driver has', async () => {
    const logs = await h.berth(['logs', 'engine', '-n', '50']);
    assert.equal(logs.code, 0);
    assert.match(logs.stdout, /API listening/);
    const c = await h.berth(['compact']);
    assert.match(c.stdout, /nothing to compact/);
    const sh = await h.berth(['shell', '--', '-c', 'echo native-shell']);
    assert.equal(sh.stdout.trim(), 'native-shell');
  });

  it('stop leaves no process and no socket behind; restart brings it back', async () => {
    const pid = (JSON.parse((await h.berth(['status', '--json'])).stdout) as { pid: number }).pid;
    const r = await h.berth(['stop']);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(alive(pid), false);
    assert.equal(existsSync(h.socket), false);
    assert.equal((await h.berth(['status'])).code, 3);
    const rs = await h.berth(['restart']);
    assert.equal(rs.code, 0, rs.stderr);
    assert.equal(
      (await h.docker(['--context', 'berth', 'version', '--format', '{{.Server.Version}}'])).code,
      0,
    );
  });

  it('start --insecure-registry / --registry-mirror reach the engine at its next start, and are remembered', async () => {
    const bad = await h.berth(['restart', '--insecure-registry', 'http://10.0.2.2:5000/v2']);
    assert.equal(bad.code, 2);
    assert.match(bad.stderr, /invalid insecure registry "http:\/\/10\.0\.2\.2:5000\/v2": use host:port/);
    const warn = await h.berth(['start', '--insecure-registry', '10.0.2.2:5999']);
    assert.equal(warn.code, 0, warn.stderr);
    assert.match(warn.stderr, /already running; `berth restart` applies the changed settings/);
    const r = await h.berth([
      'restart',
      '--insecure-registry',
      '10.0.2.2:5999',
      '--insecure-registry',
      'registry.test:5000',
      '--registry-mirror',
      'http://127.0.0.1:5998',
    ]);
    assert.equal(r.code, 0, r.stderr);
    const info = await h.docker(['--context', 'berth', 'info']);
    assert.equal(info.code, 0, info.stderr);
    const insecure = info.stdout.slice(info.stdout.indexOf('Insecure Registries:'));
    assert.match(insecure, /10\.0\.2\.2:5999/);
    assert.match(insecure, /registry\.test:5000/);
    assert.match(info.stdout, /Registry Mirrors:\s+http:\/\/127\.0\.0\.1:5998/);
    // Remembered: a plain restart keeps them.
    assert.equal((await h.berth(['restart'])).code, 0);
    const again = await h.docker([
      '--context',
      'berth',
      'info',
      '--format',
      '{{json .RegistryConfig.IndexConfigs}}',
    ]);
    assert.match(again.stdout, /"registry\.test:5000":\{[^}]*"Secure":false/);
  });
});
