/** Pure policy of the network domain: address math, IPAM, DNS wire format, etc files, port specs, nft text. */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, it } from 'node:test';
import { parseExtraHost } from '../src/network/attach-plan.js';
import { EmbeddedDns } from '../src/network/dns/server.js';
import { buildQuery, parseReply, TYPE_A, TYPE_AAAA } from '../src/network/dns/wire.js';
import { parseResolvConf, renderHosts, renderResolvConf } from '../src/network/etc-files.js';
import { chooseSubnet, Ipam } from '../src/network/ipam.js';
import { Ipam6 } from '../src/network/ipam6.js';
import { formatCidr, macForIp, parseCidr, parseIp } from '../src/network/ipv4.js';
import { contains6, formatCidr6, formatIp6, overlaps6, parseCidr6, parseIp6 } from '../src/network/ipv6.js';
import { NetNames } from '../src/network/names.js';
import { renderHostRules } from '../src/network/nft-rules.js';
import { portMap, portRequests } from '../src/network/ports.js';
import { createLogger } from '../src/log.js';
import { httpStatus } from './http-status.js';

describe('ipv4', () => {
  it('parses, formats and rejects malformed addresses', () => {
    assert.equal(parseIp('10.213.0.1'), 0x0ad50001);
    assert.equal(parseIp('256.1.1.1'), undefined);
    assert.equal(parseIp('01.1.1.1'), undefined);
    assert.deepEqual(parseCidr('10.213.7.9/16'), { base: 0x0ad50000, prefix: 16 });
    assert.equal(parseCidr('10.213.7.9/16', true), undefined);
    assert.equal(parseCidr('10.0.0.0/33'), undefined);
    assert.equal(macForIp(parseIp('172.17.0.2')!), '02:42:ac:11:00:02');
  });

  it('chooses the first subnet that overlaps nothing taken, from a seeded start', () => {
    const taken = [parseCidr('10.213.0.0/24')!, parseCidr('10.213.1.0/25')!];
    assert.equal(formatCidr(chooseSubnet([{ base: '10.213.0.0/16', size: 24 }], taken)!), '10.213.2.0/24');
    assert.equal(formatCidr(chooseSubnet([{ base: '10.213.0.0/16', size: 24 }], taken, 5)!), '10.213.5.0/24');
    assert.equal(chooseSubnet([{ base: '10.213.0.0/24', size: 24 }], taken), undefined);
  });
});

describe('ipam', () => {
  it('allocates lowest free from the range, honours static addresses, conflicts, persists atomically', async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'berth-ipam-'));
    try {
      const file = path.join(dir, 'ipam.json');
      const ipam = new Ipam(file);
      await ipam.load();
      ipam.addPool('n1', { subnet: parseCidr('10.213.9.0/29')!, gateway: parseIp('10.213.9.1')! });
      assert.equal(ipam.allocate('n1', 'c1'), parseIp('10.213.9.2'));
      assert.equal(ipam.allocate('n1', 'c2', parseIp('10.213.9.5')), parseIp('10.213.9.5'));
      assert.equal(
        ipam.allocate('n1', 'c2', parseIp('10.213.9.5')),
        parseIp('10.213.9.5'),
        'same owner: idempotent',
      );
      assert.throws(() => ipam.allocate('n1', 'c3', parseIp('10.213.9.5')), httpStatus(409));
      assert.throws(() => ipam.allocate('n1', 'c3', parseIp('10.213.9.7')), httpStatus(400), 'broadcast');
      assert.throws(() => ipam.allocate('n1', 'c3', parseIp('10.213.10.2')), httpStatus(400));
      for (const o of ['a', 'b', 'c']) ipam.allocate('n1', o);
      assert.throws(() => ipam.allocate('n1', 'full'), httpStatus(503));
      ipam.release('n1', parseIp('10.213.9.1')!);
      assert.equal(ipam.holders().length, 5, 'the gateway is never released');
      await ipam.save();
      const again = new Ipam(file);
      await again.load();
      assert.equal(again.allocatedCount('n1'), 5);
      ipam.addPool('n2', {
        subnet: parseCidr('10.213.8.0/24')!,
        gateway: parseIp('10.213.8.1')!,
        range: parseCidr('10.213.8.128/25')!,
      });
      assert.equal(ipam.allocate('n2', 'x'), parseIp('10.213.8.128'));
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('dns', () => {
  it('answers known names, empty AAAA, refuses strangers, rejects garbage, forwards with SERVFAIL fallback', async () => {
    const dns = new EmbeddedDns(
      {
        resolve: (asker, name) => {
          if (asker !== '10.213.9.2') return { kind: 'refuse' };
          if (name === 'web') return { kind: 'addresses', ips: [parseIp('10.213.9.3')!] };
          return { kind: 'forward', upstreams: [] };
        },
      },
      createLogger(),
    );
    const ok = parseReply((await dns.answer(buildQuery(1, 'Web.', TYPE_A), '10.213.9.2', 'udp'))!);
    assert.deepEqual(
      ok.answers.map((a) => (a.type === TYPE_A ? a.ip : 0)),
      [parseIp('10.213.9.3')],
    );
    const aaaa = parseReply((await dns.answer(buildQuery(2, 'web', TYPE_AAAA), '10.213.9.2', 'udp'))!);
    assert.equal(aaaa.rcode, 0);
    assert.equal(aaaa.answers.length, 0);
    assert.equal(parseReply((await dns.answer(buildQuery(3, 'web', TYPE_A), '10.9.9.9', 'udp'))!).rcode, 5);
    assert.equal(
      parseReply((await dns.answer(buildQuery(4, 'other', TYPE_A), '10.213.9.2', 'udp'))!).rcode,
      2,
    );
    assert.equal(await dns.answer(Buffer.from([1, 2, 3]), '10.213.9.2', 'udp'), undefined);
    const loop = Buffer.alloc(20);
    loop.writeUInt16BE(1, 4);
    loop[12] = 0xc0;
    loop[13] = 12; // a compression pointer to itself
    assert.equal(await dns.answer(loop, '10.213.9.2', 'udp'), undefined);
  });
});

describe('etc files', () => {
  it('renders hosts with own entry, --add-host and links; resolv.conf embedded or copied', () => {
    const hosts = renderHosts({
      hostname: 'abc',
      domainname: 'example',
      ownIp: '10.213.9.2',
      extraHosts: [{ name: 'h', ip: '10.213.9.1' }],
      links: [{ ip: '10.213.9.3', names: ['db', 'xyz'] }],
    });
    assert.match(hosts, /^127\.0\.0\.1\tlocalhost$/m);
    assert.match(hosts, /^10\.213\.9\.1\th$/m);
    assert.match(hosts, /^10\.213\.9\.3\tdb xyz$/m);
    assert.match(hosts, /^10\.213\.9\.2\tabc\.example abc$/m);
    const host = parseResolvConf(
      'nameserver 127.0.0.53\nnameserver 10.213.0.53\nsearch corp.test\noptions edns0 # c\n',
    );
    const copied = renderResolvConf({ host, dns: [], dnsSearch: [], dnsOptions: [], embedded: false });
    assert.doesNotMatch(copied, /127\.0\.0\.53/);
    assert.match(copied, /nameserver 10\.213\.0\.53\nsearch corp\.test\noptions edns0/);
    const emb = renderResolvConf({
      host,
      dns: [],
      dnsSearch: ['a.test'],
      dnsOptions: ['ndots:3', 'timeout:1'],
      embedded: true,
    });
    assert.match(emb, /nameserver 127\.0\.0\.11\nsearch a\.test\noptions ndots:0 timeout:1/);
    assert.match(
      renderResolvConf({
        host: parseResolvConf('nameserver 127.0.0.1'),
        dns: [],
        dnsSearch: [],
        dnsOptions: [],
        embedded: false,
      }),
      /nameserver 8\.8\.8\.8/,
    );
    assert.deepEqual(parseExtraHost('gw:host-gateway'), { name: 'gw', ip: 'host-gateway' });
    assert.deepEqual(parseExtraHost('v6:::1'), { name: 'v6', ip: '::1' });
    assert.throws(() => parseExtraHost('x:notanip'), httpStatus(400));
  });
});

describe('ports', () => {
  it('expands bindings and -P, rejects bad specs, reports the PortMap', () => {
    const r = portRequests(
      {
        '80/tcp': [
          { HostIp: '', HostPort: '8000-8002' },
          { HostIp: '::', HostPort: '9' },
        ],
        '53/udp': [{ HostIp: '127.0.0.1', HostPort: '5353' }],
        '443': null,
      },
      true,
      ['80/tcp', '443/tcp', '7/udp'],
    );
    assert.deepEqual(
      r.map((x) => `${x.hostIp}:${x.hostPortRange.join('-')}->${x.containerPort}/${x.proto}`),
      // dockerd binds a binding without an address (and -P) on 0.0.0.0 and "::" alike, and "::" when asked.
      [
        '0.0.0.0:8000-8002->80/tcp',
        ':::8000-8002->80/tcp',
        ':::9-9->80/tcp',
        '127.0.0.1:5353-5353->53/udp',
        '0.0.0.0:0-0->7/udp',
        ':::0-0->7/udp',
      ],
    );
    assert.throws(() => portRequests({ '0/tcp': [] }, false, []), httpStatus(400));
    assert.throws(() => portRequests({ '80/tcp': [{ HostPort: '9-1' }] }, false, []), httpStatus(400));
    assert.throws(() => portRequests({ '80/tcp': [{ HostIp: 'nope' }] }, false, []), httpStatus(400));
    assert.deepEqual(
      portMap(['80/tcp', '81/tcp'], [{ proto: 'tcp', containerPort: 80, hostIp: '0.0.0.0', hostPort: 8000 }]),
      {
        '80/tcp': [{ HostIp: '0.0.0.0', HostPort: '8000' }],
        '81/tcp': null,
      },
    );
  });
});

describe('names and rules', () => {
  it('derives per-daemon names that fit 15 bytes and renders one self-contained table', () => {
    const n = NetNames.forDataRoot('/tmp/x');
    assert.match(n.prefix, /^b[0-9a-f]{4}$/);
    assert.equal(NetNames.forDataRoot('/var/lib/berth').defaultBridge, 'berth0');
    assert.ok(n.bridgeFor('f'.repeat(64)).length <= 15);
    assert.ok(n.vethFor('0123456789abcdef').length <= 15);
    assert.ok(n.ownsLink(n.vethFor('01234567')) && !n.ownsLink('docker0') && !n.ownsLink('br-0123'));
    const text = renderHostRules({
      table: 'b1234',
      bridges: [
        { bridge: 'b12340', subnet: '10.213.9.0/24', internal: false, masquerade: true },
        { bridge: 'b1234-x', subnet: '10.213.10.0/24', internal: true, masquerade: true },
      ],
      dnat: [
        { proto: 'tcp', containerPort: 80, hostIp: '127.0.0.1', hostPort: 8080, containerIp: '10.213.9.2' },
      ],
    });
    assert.match(text, /^add table ip b1234\ndelete table ip b1234\ntable ip b1234 \{/);
    assert.match(text, /ip daddr 127\.0\.0\.1 tcp dport 8080 dnat to 10\.213\.9\.2:80/);
    assert.match(text, /ip saddr 10\.213\.9\.0\/24 oifname != "b12340" masquerade/);
    assert.doesNotMatch(
      text,
      /ip saddr 10\.213\.10\.0\/24 oifname != "b1234-x" masquerade/,
      'internal: no outbound NAT',
    );
    assert.match(text, /iifname "b1234-x" oifname != "b1234-x" drop/);
  });
});

describe('IPv6 addresses and IPAM', () => {
  it('parses and prints addresses as RFC 5952 says, with CIDR arithmetic', () => {
    for (const [inp, out] of [
      ['::', '::'],
      ['::1', '::1'],
      ['FD00:0:0:0:0:0:0:1', 'fd00::1'],
      ['2001:db8:0:0:1:0:0:1', '2001:db8::1:0:0:1'],
      ['2001:0db8:0000:0000:0000:ff00:0042:8329', '2001:db8::ff00:42:8329'],
      ['2001:db8:0:1:1:1:1:1', '2001:db8:0:1:1:1:1:1'],
      ['::ffff:192.0.2.1', '::ffff:c000:201'],
      ['[fe80::1]', 'fe80::1'],
    ] as const)
      assert.equal(formatIp6(parseIp6(inp)!), out, inp);
    for (const bad of ['1.2.3.4', ':::', '1::2::3', 'g::1', '1:2:3:4:5:6:7:8:9', '12345::'])
      assert.equal(parseIp6(bad), undefined, bad);
    const net = parseCidr6('fd00:1:2::/48', true)!;
    assert.equal(formatCidr6(net), 'fd00:1:2::/48');
    assert.equal(parseCidr6('fd00::1/64', true), undefined, 'host bits set');
    assert.ok(contains6(net, parseIp6('fd00:1:2:ffff::9')!));
    assert.ok(!contains6(net, parseIp6('fd00:1:3::9')!));
    assert.ok(overlaps6(net, parseCidr6('fd00:1:2:3::/64')!));
    assert.ok(!overlaps6(net, parseCidr6('fd00:1:3::/64')!));
  });

  it('hands out addresses in order from the range, honours --ip6, and refuses what dockerd refuses', async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'berth-ipam6-'));
    try {
      const ipam = new Ipam6(path.join(dir, 'ipam6.json'));
      const subnet = parseCidr6('fd00:7::/64')!;
      ipam.addPool('n', { subnet, gateway: subnet.base + 1n });
      assert.equal(ipam.allocate('n', 'a'), 'fd00:7::2');
      assert.equal(ipam.allocate('n', 'b', 'fd00:7::42'), 'fd00:7::42');
      assert.throws(() => ipam.allocate('n', 'c', 'fd00:7::42'), httpStatus(409));
      assert.throws(
        () => ipam.allocate('n', 'c', 'fd00:9::1'),
        /does not belong to any of this network's subnets/,
      );
      ipam.release('n', 'fd00:7::2');
      assert.equal(ipam.allocate('n', 'd'), 'fd00:7::2');
      await ipam.save();
      const again = new Ipam6(path.join(dir, 'ipam6.json'));
      await again.load();
      assert.deepEqual(
        again
          .holders()
          .map((h) => h.ip)
          .sort(),
        ['fd00:7::2', 'fd00:7::42'],
      );
      ipam.addPool('r', { subnet, gateway: parseIp6('fd00:7::fe')!, range: parseCidr6('fd00:7::100/126')! });
      assert.deepEqual(
        [0, 1, 2, 3].map((i) => ipam.allocate('r', `x${i}`)),
        ['fd00:7::100', 'fd00:7::101', 'fd00:7::102', 'fd00:7::103'],
      );
      assert.throws(() => ipam.allocate('r', 'full'), httpStatus(503));
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
