/**
 * The cluster's host-side bookkeeping without a cluster: the old <BERTH_HOME>/kube.json folded into settings,
 * and the status checks a user reads in `berth kube status` and Troubleshoot (a port someone holds, named by
 * its process; a kubeconfig on a read-only mount; the engine not running). Ports 19000-19099.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, promises as fsp } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { test } from 'node:test';
import { kubeStatus } from '../src/kube/actions.js';
import { kubeconfigProblem, portHolder } from '../src/kube/checks.js';
import { legacyKubeFile, loadKubeSettings, saveKubeSettings } from '../src/kube/settings.js';
import type { EngineStatus } from '@berth/common';
import { applyPatch, DEFAULTS } from '../src/settings/schema.js';
import { SettingsStore } from '../src/settings/store.js';
import { trayMenu, type TrayKube } from '../src/tray/menu.js';
import { berthPaths } from '../src/vm/paths.js';

const BERTH = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../../bin/berth');
const home = () => mkdtempSync(path.join(os.tmpdir(), 'berth-kube-host-'));

async function listen(): Promise<{ server: net.Server; port: number }> {
  // A port of this suite's range that is free now (another run may hold one).
  for (let port = 19000 + Math.floor(Math.random() * 90); port < 19100; port++) {
    const server = net.createServer();
    const ok = await new Promise<boolean>((r) => {
      server.once('error', () => r(false));
      server.listen(port, '127.0.0.1', () => r(true));
    });
    if (ok) return { server, port };
  }
  throw new Error('no free port in 19000-19099');
}

test('kube.json of an older Berth is folded into settings once, then removed', async () => {
  const p = berthPaths(home());
  await fsp.writeFile(
    legacyKubeFile(p),
    JSON.stringify({ enabled: true, port: 19042, podCIDR: '10.9.0.0/16' }),
  );
  await fsp.writeFile(p.settings, JSON.stringify({ version: 3, theme: 'dark' }));
  assert.deepEqual(await loadKubeSettings(p), { enabled: true, port: 19042, podCIDR: '10.9.0.0/16' });
  assert.equal(existsSync(legacyKubeFile(p)), false);
  const saved = JSON.parse(await fsp.readFile(p.settings, 'utf8')) as Record<string, unknown>;
  assert.equal(saved.theme, 'dark', 'the other settings stay');
  assert.deepEqual(saved.kube, { enabled: true, port: 19042, podCIDR: '10.9.0.0/16' });
  await saveKubeSettings(p, { enabled: false });
  assert.deepEqual(await loadKubeSettings(p), { enabled: false, port: 19042, podCIDR: '10.9.0.0/16' });

  // An out-of-range port keeps "enabled" and falls back to the default; an unreadable file is kept aside.
  const q = berthPaths(home());
  await fsp.writeFile(legacyKubeFile(q), JSON.stringify({ enabled: true, port: 99999 }));
  assert.deepEqual(await loadKubeSettings(q), { enabled: true, port: 0, podCIDR: '' });
  const r = berthPaths(home());
  await fsp.writeFile(legacyKubeFile(r), '{not json');
  assert.deepEqual(await loadKubeSettings(r), DEFAULTS.kube);
  assert.equal((await fsp.readdir(r.home)).filter((n) => n.startsWith('kube.json.corrupt-')).length, 1);
});

test('settings patches of kube are checked', () => {
  assert.equal(applyPatch(DEFAULTS, { kube: { enabled: true } }).kube.enabled, true);
  assert.throws(() => applyPatch(DEFAULTS, { kube: { port: 70000 } }), /API port must be 1-65535/);
  assert.throws(() => applyPatch(DEFAULTS, { kube: { podCIDR: '10.0.0.0' } }), /IPv4 CIDR/);
  assert.throws(() => applyPatch(DEFAULTS, { kube: { podCIDR: '10.0.300.0/16' } }), /IPv4 CIDR/);
});

test('a taken port is reported with the process holding it, in status and in `berth kube status`', async () => {
  const { server, port } = await listen();
  try {
    const holder = await portHolder(port);
    assert.match(holder ?? '', new RegExp(`^node \\(pid ${process.pid}: `));
    const p = berthPaths(home());
    await fsp.writeFile(path.join(p.home, 'vm-config.json'), JSON.stringify({ driver: 'native' }));
    await saveKubeSettings(p, { enabled: true, port });
    const s = await kubeStatus(p);
    assert.equal(s.state, 'stopped');
    const checks = s.problems.map((x) => x.check);
    assert.deepEqual(checks.slice(0, 2), ['engine', 'port']);
    assert.match(s.problems[0].message, /the engine is not running: `berth start` starts it/);
    assert.match(
      s.problems[1].message,
      new RegExp(`port ${port} on 127.0.0.1 is taken by node \\(pid ${process.pid}.*--port N`),
    );
    assert.equal(s.problem, s.problems[0].message);
    const cli = spawnSync(BERTH, ['kube', 'status'], {
      encoding: 'utf8',
      env: { ...process.env, BERTH_HOME: p.home, KUBECONFIG: path.join(p.home, 'kubeconfig') },
    });
    assert.equal(cli.status, 3, cli.stderr);
    assert.match(cli.stdout, /Problem: {4}the engine is not running/);
    assert.match(cli.stdout, new RegExp(`Problem: {4}port ${port} on 127.0.0.1 is taken by node \\(pid`));
  } finally {
    server.close();
  }
  assert.equal(await portHolder(port), undefined, 'nobody holds it once closed');
});

test('a kubeconfig that cannot be written is named, with what to do', async (t) => {
  const dir = home();
  const file = path.join(dir, 'ro', 'config');
  await fsp.mkdir(path.dirname(file));
  assert.equal(await kubeconfigProblem(file), undefined);
  assert.equal(await kubeconfigProblem(path.join(dir, 'not-yet', 'deeper', 'config')), undefined);
  await fsp.writeFile(path.join(dir, 'plain'), '');
  assert.match(
    (await kubeconfigProblem(path.join(dir, 'plain', 'config')))?.message ?? '',
    /cannot be written \(.*plain is not a directory\): make .* writable, or point \$KUBECONFIG/,
  );
  // Read-only for root too: a read-only bind mount (root ignores mode bits); others: the mode bits.
  const ro = path.dirname(file);
  if (process.getuid?.() === 0) {
    const m = spawnSync('sh', ['-c', `mount --bind ${ro} ${ro} && mount -o remount,bind,ro ${ro}`]);
    if (m.status !== 0) return t.skip(`cannot make a read-only bind mount: ${String(m.stderr)}`);
  } else await fsp.chmod(ro, 0o555);
  try {
    const pr = await kubeconfigProblem(file);
    assert.equal(pr?.check, 'kubeconfig');
    assert.match(pr.message, new RegExp(`the kubeconfig ${file} cannot be written \\((EROFS|EACCES)\\)`));
  } finally {
    if (process.getuid?.() === 0) spawnSync('umount', [ro]);
    else await fsp.chmod(ro, 0o755);
  }
});

test('two writers of settings.json (the app, `berth kube enable`) keep each other’s changes', async () => {
  const p = berthPaths(home());
  const app = new SettingsStore(p.settings);
  await app.load();
  await saveKubeSettings(p, { enabled: true, port: 19043 });
  await app.update({ theme: 'dark' });
  assert.deepEqual(await loadKubeSettings(p), { enabled: true, port: 19043, podCIDR: '' });
  assert.equal(app.get().kube.enabled, true);
});

test('the tray shows the cluster and offers what fits its state', () => {
  const running = { state: 'running', host: 'unix:///s' } as const;
  const on = (s: EngineStatus, k: TrayKube) =>
    trayMenu(s, k)
      .filter((i) => i.enabled && i.id.startsWith('kube-'))
      .map((i) => i.id);
  assert.deepEqual(on(running, { state: 'stopped' }), ['kube-enable', 'kube-copy-kubeconfig']);
  assert.deepEqual(on(running, { state: 'running' }), ['kube-disable', 'kube-copy-kubeconfig']);
  assert.deepEqual(on(running, { state: 'starting' }), ['kube-copy-kubeconfig']);
  assert.deepEqual(on({ state: 'stopped', host: 'x' }, { state: 'stopped' }), ['kube-copy-kubeconfig']);
  const line = trayMenu(running, {
    state: 'stopped',
    problem: 'berth-kube exited: `berth kube enable`',
  }).find((i) => i.id === 'kube-status');
  assert.match(line?.label ?? '', /^Kubernetes: stopped \(berth-kube exited/);
  assert.equal(
    trayMenu(running).some((i) => i.id.startsWith('kube-')),
    false,
    'no cluster items for an engine Berth does not manage',
  );
});
