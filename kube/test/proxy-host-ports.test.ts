/**
 * LoadBalancer and node ports on the host's 127.0.0.1, forwarded by the kernel: the proxier's table DNATs the
 * ports berth-kube's PortHolds hold (whose sockets refuse anything that reaches them, so an answer proves the
 * DNAT), TCP and UDP, the node itself taking the cluster-wide path under externalTrafficPolicy Local, a port
 * another listener holds left to it (not shadowed), a held port without endpoints refused at once, and a
 * restarted proxier's first table carrying only what its model says. Endpoints are servers on 127.0.0.x.
 * Ports 19700-19709; table knet-hostports-<pid>.
 */
import assert from 'node:assert/strict';
import dgram from 'node:dgram';
import http from 'node:http';
import net from 'node:net';
import { after, before, describe, it } from 'node:test';
import { createLogger, setLogLevel } from '@berth/common/log';
import { listTable } from '../src/proxy/nft.js';
import { PortHolds, type WantedHostPort } from '../src/proxy/port-holds.js';
import { Proxier } from '../src/proxy/proxier.js';
import type { KubeObject } from '../src/registry/types.js';
import { getBody, nftSkipReason } from './helpers/proxy.js';

setLogLevel('error');
const log = createLogger({ test: 'proxy-host-ports' });
const TABLE = `knet-hostports-${process.pid}`;
const NS = 'knet-hp';
const NODE = 'knet-hp-node';
const BACKEND_PORT = 19700;
const [LB, NODE_PORT, UDP_LB, TAKEN, EMPTY, LOCAL] = [19701, 19702, 19703, 19704, 19705, 19706];

const service = (
  name: string,
  ip: string,
  port: number,
  extra: Record<string, unknown> = {},
): KubeObject => ({
  metadata: { namespace: NS, name },
  spec: {
    type: 'LoadBalancer',
    clusterIP: ip,
    ports: [{ name: 'p', protocol: 'TCP', port, targetPort: BACKEND_PORT }],
    ...extra,
  },
});
const slice = (svc: string, eps: Array<[string, string?]>, protocol = 'TCP'): KubeObject => ({
  metadata: { namespace: NS, name: `${svc}-x`, labels: { 'kubernetes.io/service-name': svc } },
  addressType: 'IPv4',
  endpoints: eps.map(([ip, nodeName]) => ({ addresses: [ip], conditions: { ready: true }, nodeName })),
  ports: [{ name: 'p', protocol, port: BACKEND_PORT }],
});

const get = (port: number) => getBody('127.0.0.1', port);

function udpAsk(port: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const s = dgram.createSocket('udp4');
    const t = setTimeout(() => (s.close(), reject(new Error('no UDP answer'))), 3000);
    s.on('message', (m) => {
      clearTimeout(t);
      s.close();
      resolve(m.toString());
    });
    s.send('who', port, '127.0.0.1');
  });
}

describe('LoadBalancer and node ports on 127.0.0.1 (kernel DNAT)', { skip: nftSkipReason() }, () => {
  const closers: Array<() => void> = [];
  let proxier: Proxier;
  let holds: PortHolds;
  let nodePort = 0;

  /** What ServiceNetwork does on each change: hold, then rules with the held ports. */
  const sync = async (p: Proxier, wanted: WantedHostPort[]) => {
    await holds.reconcile(wanted);
    p.setHostPorts({ address: '127.0.0.1', held: holds.held() });
    await p.sync();
  };
  const want = (name: string, port: number, protocol: 'tcp' | 'udp' = 'tcp'): WantedHostPort => ({
    service: `${NS}/${name}`,
    port,
    protocol,
  });

  before(async () => {
    for (const ip of ['127.0.0.2', '127.0.0.3']) {
      const s = http.createServer((_req, res) => res.end(ip));
      await new Promise<void>((resolve) => s.listen(BACKEND_PORT, ip, resolve));
      closers.push(() => s.close());
      const u = dgram.createSocket('udp4');
      u.on('message', (_m, from) => u.send(`udp ${ip}`, from.port, from.address));
      await new Promise<void>((resolve) => u.bind(BACKEND_PORT, ip, resolve));
      closers.push(() => u.close());
    }
    // Another program's listener on a port a Service will ask for.
    const other = net.createServer((sock) => sock.end('someone else'));
    await new Promise<void>((resolve) => other.listen(TAKEN, '127.0.0.1', resolve));
    closers.push(() => other.close());
    proxier = new Proxier({ table: TABLE, podCIDR: '10.232.0.0/16', nodeName: NODE, log });
    holds = new PortHolds('127.0.0.1', log);
  });

  after(async () => {
    holds.close();
    await proxier.deleteRules().catch(() => undefined);
    for (const c of closers) c();
  });

  it('answers a TCP LoadBalancer and its node port through the kernel, over every endpoint', async () => {
    nodePort = NODE_PORT;
    const svc = service('web', '10.232.0.10', LB);
    (svc.spec as { ports: Array<Record<string, unknown>> }).ports[0].nodePort = nodePort;
    proxier.model.setService(svc);
    proxier.model.setEndpointSlice(slice('web', [['127.0.0.2'], ['127.0.0.3']]));
    await sync(proxier, [want('web', LB), want('web', nodePort)]);
    const rules = (await listTable(TABLE)) ?? '';
    assert.match(rules, new RegExp(`ip daddr 127\\.0\\.0\\.1 tcp dport ${LB} jump svc-`));
    assert.match(rules, new RegExp(`ip daddr 127\\.0\\.0\\.1 tcp dport ${nodePort} jump svc-`));
    const seen = new Set<string>();
    for (let i = 0; i < 24; i++) seen.add(await get(i % 2 ? LB : nodePort));
    assert.deepEqual([...seen].sort(), ['127.0.0.2', '127.0.0.3']);
  });

  it('answers a UDP LoadBalancer through the kernel', async () => {
    const svc = service('dns', '10.232.0.11', UDP_LB);
    (svc.spec as { ports: Array<Record<string, unknown>> }).ports[0].protocol = 'UDP';
    proxier.model.setService(svc);
    proxier.model.setEndpointSlice(slice('dns', [['127.0.0.3']], 'UDP'));
    await sync(proxier, [want('web', LB), want('web', nodePort), want('dns', UDP_LB, 'udp')]);
    assert.match(
      (await listTable(TABLE)) ?? '',
      new RegExp(`ip daddr 127\\.0\\.0\\.1 udp dport ${UDP_LB} jump`),
    );
    assert.equal(await udpAsk(UDP_LB), 'udp 127.0.0.3');
  });

  it('takes the cluster-wide path from the node itself under externalTrafficPolicy Local', async () => {
    proxier.model.setService(service('local', '10.232.0.12', LOCAL, { externalTrafficPolicy: 'Local' }));
    proxier.model.setEndpointSlice(
      slice('local', [
        ['127.0.0.2', NODE],
        ['127.0.0.3', 'elsewhere'],
      ]),
    );
    await sync(proxier, [want('web', LB), want('web', nodePort), want('local', LOCAL)]);
    assert.match((await listTable(TABLE)) ?? '', new RegExp(`tcp dport ${LOCAL} jump ext-`));
    const seen = new Set<string>();
    for (let i = 0; i < 24; i++) seen.add(await get(LOCAL));
    assert.deepEqual([...seen].sort(), ['127.0.0.2', '127.0.0.3']);
  });

  it('leaves a port another listener holds to it, and does not report it held', async () => {
    proxier.model.setService(service('taken', '10.232.0.13', TAKEN));
    proxier.model.setEndpointSlice(slice('taken', [['127.0.0.2']]));
    await sync(proxier, [want('web', LB), want('taken', TAKEN)]);
    assert.equal(holds.held().get(`tcp/${TAKEN}`), undefined);
    assert.equal(holds.held().get(`tcp/${LB}`), `${NS}/web`);
    assert.doesNotMatch((await listTable(TABLE)) ?? '', new RegExp(`127\\.0\\.0\\.1 tcp dport ${TAKEN} `));
    const answer = await new Promise<string>((resolve, reject) => {
      let got = '';
      net
        .connect(TAKEN, '127.0.0.1')
        .on('data', (d) => (got += d.toString()))
        .on('end', () => resolve(got))
        .on('error', reject);
    });
    assert.equal(answer, 'someone else');
  });

  it('refuses a held LoadBalancer port without ready endpoints at once', async () => {
    proxier.model.setService(service('empty', '10.232.0.14', EMPTY));
    await sync(proxier, [want('empty', EMPTY)]);
    assert.equal(holds.held().get(`tcp/${EMPTY}`), `${NS}/empty`);
    const t0 = Date.now();
    await assert.rejects(get(EMPTY), { code: 'ECONNREFUSED' });
    assert.ok(Date.now() - t0 < 1000);
  });

  it('is replaced whole by a restarted proxier: a port no longer held keeps no DNAT', async () => {
    // A berth-kube killed with -9 leaves its table; the next one's first sync carries only what it holds now.
    const restarted = new Proxier({ table: TABLE, podCIDR: '10.232.0.0/16', nodeName: NODE, log });
    restarted.model.setService(service('web', '10.232.0.10', LB));
    restarted.model.setEndpointSlice(slice('web', [['127.0.0.3']]));
    await sync(restarted, [want('web', LB)]);
    const rules = (await listTable(TABLE)) ?? '';
    assert.match(rules, new RegExp(`tcp dport ${LB} jump`));
    for (const port of [nodePort, UDP_LB, LOCAL, EMPTY])
      assert.doesNotMatch(rules, new RegExp(`dport ${port} `), `${port} is not in the new model`);
    assert.equal(await get(LB), '127.0.0.3');
    holds.close();
    await assert.rejects(get(nodePort));
    await restarted.deleteRules();
    assert.equal(await listTable(TABLE), undefined);
  });
});
