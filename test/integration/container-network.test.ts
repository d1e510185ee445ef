/**
 * Container networking through the real docker CLI (issue 4): names and aliases on a user network, the
 * embedded DNS and its upstream (a fake server on 127.0.0.1), published TCP/UDP ports from 127.0.0.1, -P,
 * hairpin through host-gateway, connect/disconnect, rm of a network in use, 100 run/rm cycles that leak
 * nothing, and networks with static IPs across a daemon restart. Traffic: loopback and these containers only;
 * subnets from a free /20 of 10.213.0.0/16.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import dgram from 'node:dgram';
import net from 'node:net';
import { after, before, describe, it } from 'node:test';
import { startContainerDaemon, type ContainerTestEnv } from '../helpers/container-daemon.js';
import { startTestDaemon } from '../helpers/daemon.js';
import { IS_ROOT, requirement } from '../helpers/env.js';
import { free213Block } from '../helpers/subnets.js';
import { apiMessage, inspectJson } from '../helpers/json.js';
import type { Network } from '@berth/common';

const skip = requirement(IS_ROOT, 'container networking needs root');
const B = free213Block();
const net213 = (off: number) => `10.213.${B + off}`;
const FAKE = '10.213.255.77';

/** A fake upstream resolver on 127.0.0.1 answering FAKE for every A question (never a real resolver). */
async function fakeUpstream(): Promise<{ port: number; names: string[]; close(): void }> {
  const names: string[] = [];
  const s = dgram.createSocket('udp4');
  s.on('message', (msg, r) => {
    // Echo the question, add one A answer (name pointer 0xc00c).
    let off = 12;
    const labels: string[] = [];
    while (msg[off] > 0) {
      labels.push(msg.toString('latin1', off + 1, off + 1 + msg[off]));
      off += msg[off] + 1;
    }
    names.push(labels.join('.'));
    const qtype = msg.readUInt16BE(off + 1);
    const head = Buffer.from(msg.subarray(0, off + 5));
    head.writeUInt16BE(0x8180, 2);
    head.writeUInt16BE(qtype === 1 ? 1 : 0, 6);
    const ans = Buffer.from([0xc0, 0x0c, 0, 1, 0, 1, 0, 0, 0, 30, 0, 4, ...FAKE.split('.').map(Number)]);
    s.send(qtype === 1 ? Buffer.concat([head, ans]) : head, r.port, r.address);
  });
  await new Promise<void>((res) => s.bind(0, '127.0.0.1', () => res()));
  return { port: s.address().port, names, close: () => s.close() };
}

/** tcpGet with retries while the server in the container starts. */
async function tcpRead(port: number): Promise<string> {
  for (let i = 0; ; i++) {
    try {
      return await tcpGet(port);
    } catch (err) {
      if (i >= 50) throw err;
      await new Promise((r) => setTimeout(r, 100));
    }
  }
}

function tcpGet(port: number): Promise<string> {
  return new Promise((res, rej) => {
    const c = net.connect(port, '127.0.0.1');
    let out = '';
    c.setTimeout(10_000, () => c.destroy(new Error('timeout')));
    c.on('data', (d) => (out += d.toString()));
    c.on('end', () => res(out));
    c.on('error', rej);
    c.write('GET / HTTP/1.0\r\n\r\n');
  });
}

function udpAsk(port: number, msg: string): Promise<string> {
  return new Promise((res, rej) => {
    const s = dgram.createSocket('udp4');
    let tries = 0;
    const send = () => {
      if (tries++ > 20) {
        s.close();
        return rej(new Error('no UDP reply'));
      }
      s.send(msg, port, '127.0.0.1');
      t = setTimeout(send, 500);
    };
    let t = setTimeout(send, 0);
    s.on('message', (m) => {
      clearTimeout(t);
      s.close();
      res(m.toString());
    });
  });
}

const ourLinks = (prefix: string) =>
  spawnSync('ip', ['-o', 'link'], { encoding: 'utf8' })
    .stdout.split('\n')
    .map((l) => l.split(': ')[1]?.split('@')[0] ?? '')
    .filter((n) => n.startsWith(prefix));

describe('container networking (docker CLI)', { skip, concurrency: false }, () => {
  let env: ContainerTestEnv;
  let up: Awaited<ReturnType<typeof fakeUpstream>>;
  let args: string[];
  const docker = (a: string[], timeoutMs = 60_000) => env.d.docker(a, { timeoutMs });
  const ok = async (a: string[], timeoutMs?: number) => {
    const r = await docker(a, timeoutMs);
    assert.equal(r.code, 0, `docker ${a.join(' ')}: ${r.stderr}`);
    return r.stdout.trim();
  };

  before(async () => {
    up = await fakeUpstream();
    args = [
      '--bip',
      `${net213(0)}.1/24`,
      '--default-address-pool',
      `base=${net213(4)}.0/22,size=24`,
      '--dns',
      `127.0.0.1:${up.port}`,
    ];
    env = await startContainerDaemon({ args });
  });
  after(async () => {
    await env?.d.destroy();
    await env?.reg.stop?.();
    up?.close();
  });

  it('resolves names, aliases and short ids on a user network; unknown names go upstream', async () => {
    await ok(['network', 'create', 'appnet']);
    const webId = await ok([
      'run',
      '-d',
      '--name',
      'web',
      '--network',
      'appnet',
      '--network-alias',
      'www',
      'busybox',
      'sh',
      '-c',
      'mkdir /w && echo hello-web > /w/index.html && exec httpd -f -p 80 -h /w',
    ]);
    // busybox nc (its wget crashes in this static build): an HTTP GET by name, through the embedded DNS.
    const get = async (host: string) =>
      (
        await ok([
          'run',
          '--rm',
          '--network',
          'appnet',
          'busybox',
          'sh',
          '-c',
          `printf 'GET / HTTP/1.0\\r\\n\\r\\n' | nc ${host} 80`,
        ])
      )
        .split('\n')
        .pop();
    for (let i = 0; i < 50 && (await get('web').catch(() => '')) !== 'hello-web'; i++)
      await new Promise((r) => setTimeout(r, 100));
    assert.equal(await get('web'), 'hello-web');
    assert.equal(await get('www'), 'hello-web');
    assert.equal(await get(webId.slice(0, 12)), 'hello-web');
    assert.equal(await get('web.appnet'), 'hello-web');
    const resolv = await ok([
      'run',
      '--rm',
      '--network',
      'appnet',
      '--dns-search',
      'corp.test',
      '--dns-option',
      'timeout:2',
      '--add-host',
      'gw:host-gateway',
      'busybox',
      'cat',
      '/etc/resolv.conf',
      '/etc/hosts',
    ]);
    assert.match(resolv, /nameserver 127\.0\.0\.11/);
    assert.match(resolv, /search corp\.test/);
    assert.match(resolv, /options ndots:0 timeout:2/);
    assert.match(
      resolv,
      new RegExp(`${net213(0).replace(/\./g, '\\.')}\\.1\\tgw`),
      'host-gateway is the default bridge gateway',
    );
    const ext = await ok(['run', '--rm', '--network', 'appnet', 'busybox', 'nslookup', 'outside.test']);
    assert.match(ext, new RegExp(FAKE.replace(/\./g, '\\.')));
    assert.ok(up.names.includes('outside.test'));
    const insp = inspectJson<Network>(await ok(['network', 'inspect', 'appnet']))[0];
    assert.deepEqual(
      Object.values(insp.Containers).map((c) => c.Name),
      ['web'],
    );
    const dnsNames = JSON.parse(
      await ok(['inspect', 'web', '--format', '{{json .NetworkSettings.Networks.appnet.DNSNames}}']),
    ) as string[];
    assert.deepEqual(dnsNames.slice(0, 3), ['web', 'www', webId.slice(0, 12)]);

    const rm = await env.d.request('DELETE', '/networks/appnet');
    assert.equal(rm.status, 409);
    assert.match(apiMessage(rm), /has active endpoints/);
    const cli = await docker(['network', 'rm', 'appnet']);
    assert.notEqual(cli.code, 0);
  });

  it('connects and disconnects a running container', async () => {
    await ok(['run', '-d', '--name', 'late', 'busybox', 'sleep', '300']);
    await ok(['network', 'connect', '--alias', 'latecomer', 'appnet', 'late']);
    const ip = await ok(['inspect', 'late', '--format', '{{.NetworkSettings.Networks.appnet.IPAddress}}']);
    assert.match(ip, /^10\.213\./);
    const look = await ok(['run', '--rm', '--network', 'appnet', 'busybox', 'nslookup', 'latecomer']);
    assert.match(look, new RegExp(`Address:\\s*${ip.replace(/\./g, '\\.')}`));
    assert.match(
      await ok(['exec', 'late', 'ip', '-o', '-4', 'addr']),
      new RegExp(`eth1.*${ip.replace(/\./g, '\\.')}`),
    );
    await ok(['network', 'disconnect', 'appnet', 'late']);
    assert.doesNotMatch(await ok(['exec', 'late', 'ip', '-o', 'link']), /eth1/);
    await ok(['rm', '-f', 'late', 'web']);
    await ok(['network', 'rm', 'appnet']);
  });

  it('publishes TCP and UDP on 127.0.0.1, -P from exposed ports, docker port, hairpin via host-gateway', async () => {
    await ok([
      'run',
      '-d',
      '--name',
      'pub',
      '-p',
      '127.0.0.1::80',
      '--expose',
      '8080',
      '-P',
      'busybox',
      'sh',
      '-c',
      'mkdir /w && echo hello-pub > /w/index.html && (httpd -p 8080 -h /w) && exec httpd -f -p 80 -h /w',
    ]);
    const portOut = await ok(['port', 'pub']);
    const m80 = /^80\/tcp -> 127\.0\.0\.1:(\d+)$/m.exec(portOut);
    const m8080 = /^8080\/tcp -> 0\.0\.0\.0:(\d+)$/m.exec(portOut);
    assert.ok(m80 && m8080, portOut);
    assert.match(await tcpRead(Number(m80[1])), /hello-pub/);
    assert.match(await tcpRead(Number(m8080[1])), /hello-pub/, '-P gives a random port that works');
    const ps = await ok(['ps', '--filter', 'name=pub', '--format', '{{.Ports}}']);
    assert.match(ps, new RegExp(`127\\.0\\.0\\.1:${m80[1]}->80/tcp`));
    // Another container on the default bridge reaches the 0.0.0.0-published port through the host (hairpin).
    const hp = await ok([
      'run',
      '--rm',
      '--add-host',
      'hostgw:host-gateway',
      'busybox',
      'sh',
      '-c',
      `printf 'GET / HTTP/1.0\\r\\n\\r\\n' | nc hostgw ${m8080[1]}`,
    ]);
    assert.match(hp, /hello-pub$/);

    // --link on the default bridge writes /etc/hosts; container:<name> shares pub's netns; none and host.
    assert.match(
      await ok(['run', '--rm', '--link', 'pub:pubdb', 'busybox', 'cat', '/etc/hosts']),
      /\tpubdb [0-9a-f]{12} pub$/m,
    );
    assert.match(
      await ok([
        'run',
        '--rm',
        '--network',
        'container:pub',
        'busybox',
        'sh',
        '-c',
        `printf 'GET / HTTP/1.0\\r\\n\\r\\n' | nc 127.0.0.1 80`,
      ]),
      /hello-pub$/,
    );
    assert.deepEqual(
      (await ok(['run', '--rm', '--network', 'none', 'busybox', 'ip', '-o', 'link']))
        .split('\n')
        .map((l) => l.split(': ')[1]),
      ['lo'],
    );
    const bridgeName = inspectJson<Network>(await ok(['network', 'inspect', 'bridge']))[0].Options[
      'com.docker.network.bridge.name'
    ];
    assert.match(
      await ok(['run', '--rm', '--network', 'host', 'busybox', 'ip', '-o', 'link']),
      new RegExp(`: ${bridgeName}:`),
    );
    const conflict = await docker([
      'run',
      '--rm',
      '--network',
      'container:pub',
      '-p',
      '81:81',
      'busybox',
      'true',
    ]);
    assert.notEqual(conflict.code, 0);
    assert.match(conflict.stderr, /conflicting options: port publishing and the container type network mode/);

    // UDP: a node echo server (the host's node, bind-mounted read-only) behind a published UDP port.
    const udp = await ok([
      'run',
      '-d',
      '--name',
      'udp',
      '-p',
      '127.0.0.1::9999/udp',
      '-v',
      '/usr:/usr:ro',
      '-v',
      '/lib:/lib:ro',
      '-v',
      '/lib64:/lib64:ro',
      'busybox',
      process.execPath,
      '-e',
      "const s=require('dgram').createSocket('udp4');s.on('message',(m,r)=>s.send('echo:'+m,r.port,r.address));s.bind(9999)",
    ]);
    assert.ok(udp);
    const up9999 = /^9999\/udp -> 127\.0\.0\.1:(\d+)$/m.exec(await ok(['port', 'udp']));
    assert.ok(up9999);
    assert.equal(await udpAsk(Number(up9999[1]), 'ping'), 'echo:ping');
    await ok(['rm', '-f', 'pub', 'udp']);
  });

  it('100 run/rm cycles leave no veth, netns, address allocation or nft rule behind', async () => {
    const prefix = inspectJson<Network>(await ok(['network', 'inspect', 'bridge']))[0].Options[
      'com.docker.network.bridge.name'
    ].slice(0, -1);
    const netnsNow = () =>
      spawnSync('ip', ['netns', 'list'], { encoding: 'utf8' })
        .stdout.split('\n')
        .map((l) => l.split(' ')[0])
        .filter((n) => n.startsWith(`${prefix}-`))
        .sort();
    const dnatRules = () =>
      (spawnSync('nft', ['list', 'table', 'ip', prefix], { encoding: 'utf8' }).stdout.match(/dnat to/g) ?? [])
        .length;
    const before = ourLinks(prefix).sort();
    const nsBefore = netnsNow();
    const rulesBefore = dnatRules();
    for (let i = 0; i < 100; i++) await ok(['run', '--rm', '-p', '127.0.0.1::80', 'busybox', 'true'], 60_000);
    assert.deepEqual(ourLinks(prefix).sort(), before);
    assert.deepEqual(netnsNow(), nsBefore);
    assert.equal(dnatRules(), rulesBefore);
    const ipam = JSON.parse(
      spawnSync('cat', [`${env.d.dataRoot}/network/ipam.json`], { encoding: 'utf8' }).stdout,
    ) as { pools: Record<string, { used: Record<string, string> }> };
    const running = new Set((await ok(['ps', '-q', '--no-trunc'])).split('\n').filter(Boolean));
    const held = Object.values(ipam.pools)
      .flatMap((p) => Object.values(p.used))
      .filter((o) => o !== 'gateway' && !running.has(o));
    assert.deepEqual(held, []);
  });

  it('keeps networks and static IPs across a daemon restart', async () => {
    const nid = await ok(['network', 'create', '--subnet', `${net213(8)}.0/24`, 'staticnet']);
    await ok([
      'run',
      '-d',
      '--name',
      'fixed',
      '--stop-timeout',
      '1',
      '--network',
      'staticnet',
      '--ip',
      `${net213(8)}.50`,
      'busybox',
      'sleep',
      '300',
    ]);
    assert.equal(
      await ok(['inspect', 'fixed', '--format', '{{.NetworkSettings.Networks.staticnet.IPAddress}}']),
      `${net213(8)}.50`,
    );
    assert.equal(await env.d.stop(), 0);
    env.d = await startTestDaemon({
      dataRoot: env.d.dataRoot,
      socket: env.d.socket,
      args: ['--registry-mirror', env.reg.url, ...args],
    });
    assert.equal(await ok(['network', 'inspect', 'staticnet', '--format', '{{.Id}}']), nid);
    await ok(['start', 'fixed']);
    assert.equal(
      await ok(['inspect', 'fixed', '--format', '{{.NetworkSettings.Networks.staticnet.IPAddress}}']),
      `${net213(8)}.50`,
    );
    assert.match(
      await ok(['exec', 'fixed', 'ip', '-o', '-4', 'addr', 'show', 'eth0']),
      new RegExp(`${net213(8)}\\.50/24`),
    );
    await ok(['rm', '-f', 'fixed']);
    await ok(['network', 'rm', 'staticnet']);
  });
});
