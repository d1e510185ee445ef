/**
 * `docker network` through the real CLI against a real berthd: create with IPAM options, ls filters, inspect,
 * rm/prune, Docker's error statuses, and networks that survive a daemon restart. Subnets from a free /20 of 10.213.0.0/16.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { startTestDaemon, type TestDaemon } from '../helpers/daemon.js';
import { IS_ROOT, requirement } from '../helpers/env.js';
import { free213Block } from '../helpers/subnets.js';
import { apiMessage, inspectJson } from '../helpers/json.js';
import type { Network } from '@berth/common';

const B = free213Block();
const net = (off: number) => `10.213.${B + off}`;
const BR = `bt${randomBytes(3).toString('hex')}`;
const ARGS = ['--bip', `${net(0)}.1/24`, '--default-address-pool', `base=${net(2)}.0/23,size=24`];
const skip = requirement(IS_ROOT, 'networks need root (bridges, nftables)');

function links(): string[] {
  return spawnSync('ip', ['-o', 'link', 'show'], { encoding: 'utf8' })
    .stdout.split('\n')
    .map((l) => l.split(': ')[1]?.split('@')[0] ?? '');
}

describe('docker network', { skip, concurrency: false }, () => {
  let d: TestDaemon;
  before(async () => {
    d = await startTestDaemon({ args: ARGS });
  });
  after(async () => {
    await d?.destroy();
  });

  it('lists the builtin networks and creates user networks with IPAM options', async () => {
    const ls = await d.docker(['network', 'ls', '--format', '{{.Name}} {{.Driver}}']);
    assert.equal(ls.code, 0, ls.stderr);
    assert.deepEqual(ls.stdout.trim().split('\n').sort(), ['bridge bridge', 'host host', 'none null']);
    const bridge = inspectJson<Network>((await d.docker(['network', 'inspect', 'bridge'])).stdout)[0];
    assert.equal(bridge.IPAM.Config?.[0]?.Subnet, `${net(0)}.0/24`);
    assert.equal(bridge.Options['com.docker.network.bridge.default_bridge'], 'true');

    const c = await d.docker([
      'network',
      'create',
      '--subnet',
      `${net(4)}.0/24`,
      '--gateway',
      `${net(4)}.254`,
      '--ip-range',
      `${net(4)}.64/26`,
      '--internal',
      '--attachable',
      '--label',
      'team=net',
      '-o',
      'com.docker.network.driver.mtu=1400',
      '-o',
      `com.docker.network.bridge.name=${BR}`,
      'static1',
    ]);
    assert.equal(c.code, 0, c.stderr);
    const n = inspectJson<Network>((await d.docker(['network', 'inspect', 'static1'])).stdout)[0];
    assert.equal(n.Id, c.stdout.trim());
    assert.deepEqual(n.IPAM.Config, [
      { Subnet: `${net(4)}.0/24`, IPRange: `${net(4)}.64/26`, Gateway: `${net(4)}.254` },
    ]);
    assert.equal(n.Internal, true);
    assert.equal(n.Attachable, true);
    assert.deepEqual(n.Labels, { team: 'net' });
    assert.deepEqual(n.Containers, {});
    const addr = spawnSync('ip', ['-o', '-4', 'addr', 'show', 'dev', BR], { encoding: 'utf8' }).stdout;
    assert.match(addr, new RegExp(`${net(4)}.254/24`.replace(/\./g, '\\.')));
    assert.match(spawnSync('ip', ['-o', 'link', 'show', 'dev', BR], { encoding: 'utf8' }).stdout, /mtu 1400/);

    const auto = await d.docker(['network', 'create', 'auto1']);
    assert.equal(auto.code, 0, auto.stderr);
    const a = inspectJson<Network>((await d.docker(['network', 'inspect', 'auto1'])).stdout)[0];
    assert.match(a.IPAM.Config?.[0]?.Subnet ?? '', new RegExp(`^10\\.213\\.(${B + 2}|${B + 3})\\.0/24$`));
  });

  it('filters ls by label, driver, name, type and dangling', async () => {
    const f = async (...filters: string[]) =>
      (
        await d.docker(['network', 'ls', '--format', '{{.Name}}', ...filters.flatMap((x) => ['--filter', x])])
      ).stdout
        .trim()
        .split('\n')
        .filter(Boolean)
        .sort();
    assert.deepEqual(await f('label=team=net'), ['static1']);
    assert.deepEqual(await f('type=custom'), ['auto1', 'static1']);
    assert.deepEqual(await f('driver=null'), ['none']);
    assert.deepEqual(await f('name=auto'), ['auto1']);
    assert.deepEqual(await f('dangling=true'), ['auto1', 'static1']);
    const bad = await d.request('GET', `/networks?filters=${encodeURIComponent('{"bogus":["x"]}')}`);
    assert.equal(bad.status, 400);
  });

  it('answers errors with Docker statuses and messages', async () => {
    const dup = await d.docker(['network', 'create', 'auto1']);
    assert.notEqual(dup.code, 0);
    assert.match(dup.stderr, /already exists/);
    const r409 = await d.request('POST', '/networks/create', { Name: 'auto1' });
    assert.equal(r409.status, 409);
    assert.equal(
      (
        await d.request('POST', '/networks/create', {
          Name: 'x',
          IPAM: { Config: [{ Subnet: `${net(5)}.5/24` }] },
        })
      ).status,
      400,
    );
    assert.equal(
      (
        await d.request('POST', '/networks/create', {
          Name: 'x',
          IPAM: { Config: [{ Subnet: `${net(0)}.0/25` }] },
        })
      ).status,
      403,
    );
    assert.equal(
      (await d.request('POST', '/networks/create', { Name: 'x', Driver: 'overlayish' })).status,
      404,
    );
    assert.equal((await d.request('POST', '/networks/create', '{"Name": ')).status, 400);
    // dockerd takes any non-empty name (Debian's dockerd 20.10 creates "bad name!" and "test 01"): so does berthd.
    assert.equal((await d.request('POST', '/networks/create', { Name: 'bad name!' })).status, 201);
    assert.equal((await d.request('DELETE', `/networks/${encodeURIComponent('bad name!')}`)).status, 204);
    assert.equal((await d.request('POST', '/networks/create', { Name: '' })).status, 400);
    assert.equal((await d.request('GET', '/networks/nope')).status, 404);
    const rmBuiltin = await d.request('DELETE', '/networks/bridge');
    assert.equal(rmBuiltin.status, 403);
    assert.match(apiMessage(rmBuiltin), /pre-defined network/);
    const conn = await d.request('POST', '/networks/auto1/connect', { Container: 'nosuch' });
    assert.equal(conn.status, 404);
    assert.equal((await d.request('POST', '/networks/auto1/connect', [])).status, 400);
    // Nothing was created by the failed requests.
    const names = (await d.docker(['network', 'ls', '--format', '{{.Name}}'])).stdout
      .trim()
      .split('\n')
      .sort();
    assert.deepEqual(names, ['auto1', 'bridge', 'host', 'none', 'static1']);
  });

  it('keeps networks, ids and subnets across a daemon restart, then prunes and removes them', async () => {
    const before = inspectJson<Network>(
      (await d.docker(['network', 'inspect', 'static1', 'auto1', 'bridge'])).stdout,
    );
    assert.equal(await d.stop(), 0);
    assert.ok(!links().includes(BR), 'a clean stop with no containers removes the bridges');
    d = await startTestDaemon({ dataRoot: d.dataRoot, socket: d.socket, args: ARGS });
    const after = inspectJson<Network>(
      (await d.docker(['network', 'inspect', 'static1', 'auto1', 'bridge'])).stdout,
    );
    assert.deepEqual(
      after.map((n: { Id: string; IPAM: unknown }) => [n.Id, n.IPAM]),
      before.map((n: { Id: string; IPAM: unknown }) => [n.Id, n.IPAM]),
    );
    assert.ok(links().includes(BR), 'bridges are back');

    const pr = await d.docker(['network', 'prune', '-f', '--filter', 'label=team=net']);
    assert.equal(pr.code, 0, pr.stderr);
    assert.match(pr.stdout, /static1/);
    assert.ok(!links().includes(BR));
    const rm = await d.docker(['network', 'rm', 'auto1']);
    assert.equal(rm.code, 0, rm.stderr);
    assert.equal((await d.docker(['network', 'ls', '-q', '--filter', 'type=custom'])).stdout.trim(), '');
  });
});
