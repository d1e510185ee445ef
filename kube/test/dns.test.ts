/**
 * Cluster DNS, asked by a real stub resolver (Node's c-ares, as `dns.Resolver`): service A records, headless
 * records to ready endpoints (the answer too big for UDP comes over TCP), SRV for named ports, pod records,
 * ExternalName chased upstream, PTR, other names forwarded to an upstream (a second server standing in for the
 * host's resolver), and malformed messages answered with FORMERR.
 */
import assert from 'node:assert/strict';
import dgram from 'node:dgram';
import { Resolver } from 'node:dns/promises';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { ClusterNames } from '../src/dns/records.js';
import { DnsServer, upstreamsFromResolvConf } from '../src/dns/server.js';
import type { KubeObject } from '../src/registry/types.js';

const svc = (ns: string, name: string, spec: Record<string, unknown>): KubeObject => ({
  metadata: { namespace: ns, name },
  spec,
});
const slice = (
  ns: string,
  service: string,
  name: string,
  eps: Array<[string, boolean, string?]>,
  ports: unknown[],
) => ({
  metadata: { namespace: ns, name, labels: { 'kubernetes.io/service-name': service } },
  addressType: 'IPv4',
  endpoints: eps.map(([ip, ready, hostname]) => ({
    addresses: [ip],
    conditions: { ready },
    ...(hostname ? { hostname } : {}),
  })),
  ports,
});

describe('cluster DNS', () => {
  const names = new ClusterNames();
  const upstreamNames = new ClusterNames('example.test');
  let upstream: DnsServer;
  let server: DnsServer;
  let r: Resolver;
  let port = 0;

  before(async () => {
    upstreamNames.setService(svc('web', 'www', { clusterIPs: ['192.0.2.7'], ports: [{ port: 80 }] }));
    upstream = new DnsServer({ names: upstreamNames, listen: '127.0.0.1:0', upstreams: [] });
    await upstream.start();
    server = new DnsServer({
      names,
      listen: '127.0.0.1:0',
      upstreams: [`127.0.0.1:${upstream.address.port}`],
    });
    await server.start();
    port = server.address.port;
    r = new Resolver({ timeout: 2000, tries: 1 });
    r.setServers([`127.0.0.1:${port}`]);

    names.setService(
      svc('shop', 'api', {
        type: 'ClusterIP',
        clusterIPs: ['10.219.0.20'],
        ports: [
          { name: 'http', protocol: 'TCP', port: 80 },
          { name: 'dns', protocol: 'UDP', port: 53 },
        ],
      }),
    );
    names.setService(
      svc('shop', 'db', { clusterIP: 'None', clusterIPs: ['None'], ports: [{ name: 'pg', port: 5432 }] }),
    );
    names.setEndpointSlice(
      slice(
        'shop',
        'db',
        'db-abc',
        [
          ['10.218.0.5', true, 'db-0'],
          ['10.218.0.6', true],
          ['10.218.0.7', false],
        ],
        [{ name: 'pg', protocol: 'TCP', port: 5432 }],
      ),
    );
    names.setService(svc('shop', 'ext', { type: 'ExternalName', externalName: 'www.web.svc.example.test' }));
    names.setService(svc('shop', 'big', { clusterIPs: ['None'], ports: [{ port: 80 }] }));
    const many: Array<[string, boolean]> = [];
    for (let i = 1; i <= 120; i++) many.push([`10.218.1.${i}`, true]);
    names.setEndpointSlice(slice('shop', 'big', 'big-1', many, [{ port: 80, protocol: 'TCP', name: '' }]));
    names.setPod({
      metadata: { namespace: 'shop', name: 'p' },
      status: { podIP: '10.218.0.9', podIPs: [{ ip: '10.218.0.9' }] },
    });
  });

  after(async () => {
    await server.close();
    await upstream.close();
  });

  it('answers a ClusterIP service with its cluster IP, case-insensitively and with a trailing dot', async () => {
    assert.deepEqual(await r.resolve4('api.shop.svc.cluster.local'), ['10.219.0.20']);
    assert.deepEqual(await r.resolve4('API.Shop.svc.cluster.local.'), ['10.219.0.20']);
  });

  it('answers NXDOMAIN for unknown services and NODATA for a type the service lacks', async () => {
    await assert.rejects(r.resolve4('nope.shop.svc.cluster.local'), { code: 'ENOTFOUND' });
    await assert.rejects(r.resolve4('api.otherns.svc.cluster.local'), { code: 'ENOTFOUND' });
    await assert.rejects(r.resolve6('api.shop.svc.cluster.local'), { code: 'ENODATA' });
  });

  it('gives SRV records for named ports, by port and protocol', async () => {
    assert.deepEqual(await r.resolveSrv('_http._tcp.api.shop.svc.cluster.local'), [
      { name: 'api.shop.svc.cluster.local', port: 80, priority: 0, weight: 100 },
    ]);
    assert.deepEqual(await r.resolveSrv('_dns._udp.api.shop.svc.cluster.local'), [
      { name: 'api.shop.svc.cluster.local', port: 53, priority: 0, weight: 100 },
    ]);
    await assert.rejects(r.resolveSrv('_http._udp.api.shop.svc.cluster.local'), { code: 'ENOTFOUND' });
  });

  it('answers a headless service with its ready endpoints only, and each endpoint by name', async () => {
    assert.deepEqual((await r.resolve4('db.shop.svc.cluster.local')).sort(), ['10.218.0.5', '10.218.0.6']);
    assert.deepEqual(await r.resolve4('db-0.db.shop.svc.cluster.local'), ['10.218.0.5']);
    assert.deepEqual(await r.resolve4('10-218-0-6.db.shop.svc.cluster.local'), ['10.218.0.6']);
    await assert.rejects(r.resolve4('10-218-0-7.db.shop.svc.cluster.local'), { code: 'ENOTFOUND' });
    const srv = await r.resolveSrv('_pg._tcp.db.shop.svc.cluster.local');
    assert.deepEqual(srv.map((s) => `${s.name}:${s.port}`).sort(), [
      '10-218-0-6.db.shop.svc.cluster.local:5432',
      'db-0.db.shop.svc.cluster.local:5432',
    ]);
  });

  it('sends an answer too big for UDP truncated, and the resolver gets it whole over TCP', async () => {
    const ips = await r.resolve4('big.shop.svc.cluster.local');
    assert.equal(ips.length, 120);
    assert.ok(ips.includes('10.218.1.120'));
  });

  it('follows endpoint changes: a pod that stops being ready leaves the answer', async () => {
    names.setEndpointSlice(
      slice(
        'shop',
        'db',
        'db-abc',
        [
          ['10.218.0.5', true, 'db-0'],
          ['10.218.0.6', false],
        ],
        [],
      ),
    );
    assert.deepEqual(await r.resolve4('db.shop.svc.cluster.local'), ['10.218.0.5']);
    names.deleteEndpointSlice({ metadata: { namespace: 'shop', name: 'db-abc' } });
    await assert.rejects(r.resolve4('db.shop.svc.cluster.local'), { code: 'ENODATA' });
  });

  it('answers pod records only for a pod with that IP in that namespace', async () => {
    assert.deepEqual(await r.resolve4('10-218-0-9.shop.pod.cluster.local'), ['10.218.0.9']);
    await assert.rejects(r.resolve4('10-218-0-9.other.pod.cluster.local'), { code: 'ENOTFOUND' });
    await assert.rejects(r.resolve4('10-218-0-10.shop.pod.cluster.local'), { code: 'ENOTFOUND' });
  });

  it('answers ExternalName with a CNAME and the target resolved upstream', async () => {
    assert.deepEqual(await r.resolveCname('ext.shop.svc.cluster.local'), ['www.web.svc.example.test']);
    assert.deepEqual(await r.resolve4('ext.shop.svc.cluster.local'), ['192.0.2.7']);
  });

  it('forwards other names upstream and relays the answer (and the upstream NXDOMAIN)', async () => {
    assert.deepEqual(await r.resolve4('www.web.svc.example.test'), ['192.0.2.7']);
    await assert.rejects(r.resolve4('nothing.web.svc.example.test'), { code: 'ENOTFOUND' });
  });

  it('answers PTR for service addresses', async () => {
    assert.deepEqual(await r.reverse('10.219.0.20'), ['api.shop.svc.cluster.local']);
  });

  it('answers a message without a question with FORMERR, and ignores one shorter than a header', async () => {
    const sock = dgram.createSocket('udp4');
    const replies: Buffer[] = [];
    sock.on('message', (m) => replies.push(m));
    const headerOnly = Buffer.from([0x12, 0x34, 0x01, 0x00, 0, 1, 0, 0, 0, 0, 0, 0]);
    sock.send(Buffer.from([1, 2, 3]), port, '127.0.0.1');
    sock.send(headerOnly, port, '127.0.0.1');
    const deadline = Date.now() + 2000;
    while (!replies.length && Date.now() < deadline) await new Promise((res) => setTimeout(res, 10));
    sock.close();
    assert.equal(replies.length, 1);
    assert.equal(replies[0].readUInt16BE(0), 0x1234);
    assert.equal(replies[0].readUInt16BE(2) & 0xf, 1, 'FORMERR');
  });

  it('reads the upstreams from a resolv.conf', async () => {
    const dir = await mkdtemp(path.join(os.tmpdir(), 'knet-dns-'));
    const file = path.join(dir, 'resolv.conf');
    await writeFile(
      file,
      '# host\nsearch example.test\nnameserver 192.0.2.53\nnameserver ::1\noptions ndots:2\n',
    );
    assert.deepEqual(upstreamsFromResolvConf(file), ['192.0.2.53:53', '[::1]:53']);
    assert.deepEqual(upstreamsFromResolvConf(path.join(dir, 'missing')), []);
    await rm(dir, { recursive: true });
  });
});
