/**
 * IPv6 on the bridge (issue 17) through the docker CLI, each answer as Debian's dockerd 20.10 gives it on this
 * machine: EnableIPv6 networks with IPv6 IPAM (subnet, range, gateway), --ip6, the container's address,
 * route, /etc/hosts line and AAAA answers, and published ports on ::1 and "::" (proxied, since IPv6 host
 * addresses are not NATed).
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import dgram from 'node:dgram';
import net from 'node:net';
import { after, before, describe, it } from 'node:test';
import { startContainerDaemon } from '../helpers/container-daemon.js';
import type { TestDaemon } from '../helpers/daemon.js';

/**
 * A ULA /64 of its own per run: parallel daemons share one kernel, and a /64 on two bridges would clash. Each
 * group has four digits without a leading zero, so it reads the same in the canonical form dockerd prints
 * (fd8c:fd7b:b24::, not 0b24).
 */
const group = (): string => (randomBytes(2).readUInt16BE() | 0x1000).toString(16);
const PREFIX = `fd${randomBytes(1).toString('hex')}:${group()}:${group()}`;
const SUBNET = `${PREFIX}::/64`;

function httpGet(host: string, port: number, path: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const s = net.connect(port, host, () => s.write(`GET ${path} HTTP/1.0\r\n\r\n`));
    let b = '';
    s.on('data', (x: Buffer) => (b += x.toString()));
    s.on('end', () => resolve(b));
    s.on('error', reject);
  });
}

describe('IPv6 networks and published ports on the bridge', () => {
  let d: TestDaemon;
  const dk = (args: string[]) => d.docker(args, { timeoutMs: 30_000 });
  before(async () => {
    ({ d } = await startContainerDaemon());
  });
  after(async () => {
    await d.destroy();
  });

  it('creates EnableIPv6 networks with IPv6 IPAM, and refuses what dockerd refuses', async () => {
    // dockerd 20.10: `network create --ipv6 n` with no IPv6 subnet → 404 "could not find an available,
    // non-overlapping IPv6 address pool among the defaults to assign to the network"; an IPv6 subnet is
    // listed after the IPv4 one, with Gateway/IPRange only when given; an overlapping one → 403.
    const none = await d.request('POST', '/v1.44/networks/create', { Name: 'v6none', EnableIPv6: true });
    assert.deepEqual(
      [none.status, JSON.parse(none.body)],
      [
        404,
        {
          message:
            'could not find an available, non-overlapping IPv6 address pool among the defaults to assign to the network',
        },
      ],
    );
    const c = await dk([
      'network',
      'create',
      '--ipv6',
      '--subnet',
      SUBNET,
      '--ip-range',
      `${PREFIX}::100/120`,
      '--gateway',
      `${PREFIX}::fe`,
      'v6r',
    ]);
    assert.equal(c.code, 0, c.stderr);
    const insp = (
      JSON.parse((await dk(['network', 'inspect', 'v6r'])).stdout) as {
        EnableIPv6: boolean;
        IPAM: { Config: { Subnet: string; Gateway?: string; IPRange?: string }[] };
      }[]
    )[0];
    assert.equal(insp.EnableIPv6, true);
    assert.match(insp.IPAM.Config[0].Subnet, /^\d+\.\d+\.\d+\.\d+\/\d+$/, 'the IPv4 subnet first');
    assert.deepEqual(insp.IPAM.Config[1], {
      Subnet: SUBNET,
      IPRange: `${PREFIX}::100/120`,
      Gateway: `${PREFIX}::fe`,
    });
    // The first dynamic address is the range's first (dockerd 20.10 gave fd00:2::100 for fd00:2::100/120).
    const ip = (await dk(['run', '--rm', '--network', 'v6r', 'busybox', 'ip', '-6', 'addr', 'show', 'eth0']))
      .stdout;
    assert.match(ip, new RegExp(`inet6 ${PREFIX}::100/64 scope global`));
    const overlap = await d.request('POST', '/v1.44/networks/create', {
      Name: 'v6o',
      EnableIPv6: true,
      IPAM: { Config: [{ Subnet: `${PREFIX}::/48` }] },
    });
    assert.equal(overlap.status, 403);
    assert.equal((await dk(['network', 'rm', 'v6r'])).code, 0);
  });

  it('gives containers their --ip6 address, route, /etc/hosts line and AAAA answers; they reach each other', async () => {
    assert.equal((await dk(['network', 'create', '--ipv6', '--subnet', SUBNET, 'v6'])).code, 0);
    try {
      const run = await dk([
        'run',
        '-d',
        '--name',
        'c6',
        '--network',
        'v6',
        '--ip6',
        `${PREFIX}::42`,
        'busybox',
        'sleep',
        '300',
      ]);
      assert.equal(run.code, 0, run.stderr);
      // dockerd 20.10: IPAMConfig {IPv6Address}, GlobalIPv6Address, GlobalIPv6PrefixLen 64, IPv6Gateway ::1.
      const ep = JSON.parse(
        (await dk(['inspect', 'c6', '--format', '{{json .NetworkSettings.Networks.v6}}'])).stdout,
      ) as Record<string, unknown>;
      assert.deepEqual(ep.IPAMConfig, { IPv6Address: `${PREFIX}::42` });
      assert.equal(ep.GlobalIPv6Address, `${PREFIX}::42`);
      assert.equal(ep.GlobalIPv6PrefixLen, 64);
      assert.equal(ep.IPv6Gateway, `${PREFIX}::1`);
      const route = (await dk(['exec', 'c6', 'ip', '-6', 'route'])).stdout;
      assert.match(route, new RegExp(`default via ${PREFIX}::1 dev eth0`));
      assert.match(
        (await dk(['exec', 'c6', 'cat', '/etc/hosts'])).stdout,
        new RegExp(`^${PREFIX}::42\\s`, 'm'),
      );
      const net6 = (
        JSON.parse((await dk(['network', 'inspect', 'v6'])).stdout) as {
          Containers: Record<string, { IPv6Address: string }>;
        }[]
      )[0];
      assert.equal(Object.values(net6.Containers)[0].IPv6Address, `${PREFIX}::42/64`);
      // Another container: by address and by name (AAAA from the embedded DNS), over IPv6.
      const ping = await dk([
        'run',
        '--rm',
        '--network',
        'v6',
        'busybox',
        'ping',
        '-6',
        '-c',
        '1',
        '-W',
        '3',
        `${PREFIX}::42`,
      ]);
      assert.equal(ping.code, 0, ping.stdout + ping.stderr);
      const aaaa = await dk([
        'run',
        '--rm',
        '--network',
        'v6',
        'busybox',
        'nslookup',
        '-type=AAAA',
        'c6',
        '127.0.0.11',
      ]);
      assert.match(aaaa.stdout, new RegExp(`Address:\\s*${PREFIX}::42`));
      // The host reaches it on the bridge's gateway address.
      const fromHost = await new Promise<boolean>((resolve) => {
        const s = net.connect({ host: `${PREFIX}::42`, port: 1, timeout: 3000 });
        s.on('error', (e: NodeJS.ErrnoException) => resolve(e.code === 'ECONNREFUSED'));
        s.on('connect', () => resolve(true));
      });
      assert.ok(fromHost, 'the container answers the host over IPv6 (a refused port still proves the route)');
      // dockerd: an --ip6 outside the subnet → "Invalid address ...: It does not belong to any of this network's subnets".
      const bad = await dk(['run', '--rm', '--network', 'v6', '--ip6', 'fd00:9::1', 'busybox', 'true']);
      assert.notEqual(bad.code, 0);
      assert.match(
        bad.stderr,
        /Invalid address fd00:9::1: It does not belong to any of this network's subnets/,
      );
    } finally {
      await dk(['rm', '-f', 'c6']);
      await dk(['network', 'rm', 'v6']);
    }
  });

  it('publishes on ::1 and on "::" beside 0.0.0.0, TCP and UDP, as dockerd reports them', async () => {
    // dockerd 20.10: `-p [::1]:P:80` → Ports {"80/tcp":[{"HostIp":"::1","HostPort":"P"}]}, curl http://[::1]:P
    // answers, 127.0.0.1:P does not; `-p Q:81` → both {"HostIp":"0.0.0.0"} and {"HostIp":"::"}.
    const run = await dk([
      'run',
      '-d',
      '--name',
      'pub6',
      '-p',
      '[::1]::80',
      '-p',
      '81',
      '-p',
      '[::1]::9999/udp',
      'busybox',
      'sh',
      '-c',
      'mkdir /www; echo hi-v6 > /www/i; httpd -p 80 -h /www; httpd -p 81 -h /www; exec sleep 300',
    ]);
    assert.equal(run.code, 0, run.stderr);
    try {
      const ports = JSON.parse(
        (await dk(['inspect', 'pub6', '--format', '{{json .NetworkSettings.Ports}}'])).stdout,
      ) as Record<string, { HostIp: string; HostPort: string }[]>;
      const p80 = ports['80/tcp'];
      assert.equal(p80.length, 1);
      assert.equal(p80[0].HostIp, '::1');
      const p81 = ports['81/tcp'];
      assert.deepEqual(p81.map((b) => b.HostIp).sort(), ['0.0.0.0', '::']);
      assert.equal(p81[0].HostPort, p81[1].HostPort, 'one port for both families');
      await new Promise((r) => setTimeout(r, 500));
      assert.match(await httpGet('::1', Number(p80[0].HostPort), '/i'), /hi-v6/);
      await assert.rejects(httpGet('127.0.0.1', Number(p80[0].HostPort), '/i'), 'only ::1 was published');
      assert.match(await httpGet('::1', Number(p81[0].HostPort), '/i'), /hi-v6/);
      assert.match(await httpGet('127.0.0.1', Number(p81[0].HostPort), '/i'), /hi-v6/);
      const cli = (await dk(['port', 'pub6', '81'])).stdout;
      assert.match(cli, /0\.0\.0\.0:\d+/);
      assert.match(cli, /\[::\]:\d+/);
      // UDP over IPv6 is relayed to the container and back. busybox has no UDP server: a UDP echo runs in the
      // container's network namespace (nsenter), which is what the relay must reach.
      const pid = (await dk(['inspect', 'pub6', '--format', '{{.State.Pid}}'])).stdout.trim();
      const echo = spawn('nsenter', [
        `--net=/proc/${pid}/ns/net`,
        process.execPath,
        '-e',
        "const s=require('dgram').createSocket('udp4');s.on('message',(m,r)=>s.send('echo:'+m,r.port,r.address));s.bind(9999,()=>console.log('ready'))",
      ]);
      try {
        await new Promise((r) => echo.stdout.once('data', r));
        const udp = ports['9999/udp'][0];
        const sock = dgram.createSocket('udp6');
        const reply = await new Promise<string>((resolve, reject) => {
          sock.on('message', (m) => resolve(m.toString()));
          sock.send('over-udp6', Number(udp.HostPort), '::1');
          setTimeout(() => reject(new Error('no UDP reply through [::1]')), 5000);
        });
        sock.close();
        assert.equal(reply, 'echo:over-udp6');
      } finally {
        echo.kill();
      }
    } finally {
      await dk(['rm', '-f', 'pub6']);
    }
  });
});
