/**
 * The Services' traffic policies in the proxy's nftables rules, in the real kernel with real connections from
 * the host: internalTrafficPolicy Local sends cluster IP traffic to this node's endpoints only (the EndpointSlice's
 * nodeName), and drops it (no refusal: the service has endpoints, just none here) when this node has none;
 * externalTrafficPolicy Local gets its own chain for node ports and load-balancer addresses that does not
 * masquerade outside clients and sends pods and the node itself the cluster-wide way. Endpoints are HTTP servers
 * on 127.0.0.x; table and addresses are this test's own (ktraffic, 10.231/16).
 */
import assert from 'node:assert/strict';
import http from 'node:http';
import { after, before, describe, it } from 'node:test';
import { createLogger, setLogLevel } from '@berth/common/log';
import { HealthChecks } from '../src/proxy/health-checks.js';
import { listTable } from '../src/proxy/nft.js';
import { Proxier } from '../src/proxy/proxier.js';
import type { KubeObject } from '../src/registry/types.js';
import { addressServers, clusterIPService, getBody, nftSkipReason } from './helpers/proxy.js';

setLogLevel('warn');
const log = createLogger({ test: 'proxy-traffic-policy' });
const TABLE = `ktraffic-proxy-${process.pid}`;
const NODE = 'ktraffic-node';
const BACKENDS = ['127.0.0.5', '127.0.0.6'];
const PORT = 19610;
const POD_CIDR = '10.231.0.0/24';

const service = clusterIPService('ktraffic');
/** One endpoint on this node (127.0.0.5) and one on another (127.0.0.6), unless `nodes` says otherwise. */
const slice = (svc: string, nodes: [string, string] = [NODE, 'elsewhere']): KubeObject => ({
  metadata: { namespace: 'ktraffic', name: `${svc}-x`, labels: { 'kubernetes.io/service-name': svc } },
  addressType: 'IPv4',
  endpoints: BACKENDS.map((ip, i) => ({ addresses: [ip], conditions: { ready: true }, nodeName: nodes[i] })),
  ports: [{ name: 'http', protocol: 'TCP', port: PORT }],
});

const get = (ip: string, timeout = 3000) => getBody(ip, 80, timeout);
const answers = async (ip: string, n = 24) => {
  const seen = new Set<string>();
  for (let i = 0; i < n; i++) seen.add(await get(ip));
  return [...seen].sort();
};

describe('service traffic policies (nftables)', { skip: nftSkipReason() }, () => {
  const servers: http.Server[] = [];
  let proxier: Proxier;

  before(async () => {
    servers.push(...(await addressServers(BACKENDS, PORT)));
    proxier = new Proxier({ table: TABLE, podCIDR: POD_CIDR, nodeName: NODE, log });
  });

  after(async () => {
    await proxier.deleteRules().catch(() => undefined);
    for (const s of servers) s.close();
  });

  it('sends internalTrafficPolicy Local to this node’s endpoints only, Cluster to all', async () => {
    proxier.model.setService(service('local', '10.231.200.10', { internalTrafficPolicy: 'Local' }));
    proxier.model.setEndpointSlice(slice('local'));
    proxier.model.setService(service('cluster', '10.231.200.11', { internalTrafficPolicy: 'Cluster' }));
    proxier.model.setEndpointSlice(slice('cluster'));
    await proxier.sync();
    assert.deepEqual(await answers('10.231.200.10'), ['127.0.0.5']);
    assert.deepEqual(await answers('10.231.200.11'), BACKENDS);
  });

  it('drops internalTrafficPolicy Local traffic when no endpoint is on this node, and refuses none at all', async () => {
    proxier.model.setEndpointSlice(slice('local', ['elsewhere', 'elsewhere']));
    proxier.model.setService(service('none', '10.231.200.12', { internalTrafficPolicy: 'Local' }));
    await proxier.sync();
    // Dropped: the connection gets no answer, where a service without endpoints is refused at once.
    await assert.rejects(get('10.231.200.10', 1000), /timeout/);
    await assert.rejects(get('10.231.200.12'), { code: 'ECONNREFUSED' });
    proxier.model.setEndpointSlice(slice('local'));
    await proxier.sync();
    assert.equal(await get('10.231.200.10'), '127.0.0.5');
  });

  it('gives externalTrafficPolicy Local its own unmasqueraded path for node ports and load-balancer addresses', async () => {
    const lb = service('lb', '10.231.200.13', {
      type: 'LoadBalancer',
      externalTrafficPolicy: 'Local',
      ports: [{ name: 'http', protocol: 'TCP', port: 80, nodePort: 31231 }],
    });
    proxier.model.setService({ ...lb, status: { loadBalancer: { ingress: [{ ip: '10.231.201.13' }] } } });
    proxier.model.setEndpointSlice(slice('lb'));
    await proxier.sync();
    const rules = (await listTable(TABLE)) ?? '';
    const chain = (prefix: string) => {
      const at = rules.indexOf(`chain ${prefix}`);
      assert.ok(at >= 0, `no ${prefix} chain in\n${rules}`);
      return rules.slice(at, rules.indexOf('}', at));
    };
    const ext = chain('ext-');
    assert.ok(ext.includes('ktraffic/lb/tcp/http'));
    // Pods and the node take the cluster-wide chain; anyone else goes straight to the one local endpoint,
    // without the masquerade mark, so the pod sees the client's address.
    assert.match(ext, /ip saddr 10\.231\.0\.0\/24 goto "?svc-/);
    assert.match(ext, /fib saddr type local goto "?svc-/);
    const tail = ext.slice(ext.lastIndexOf('goto svc-') + 'goto svc-'.length);
    assert.ok(!tail.includes('mark-for-masquerade'), ext);
    assert.match(tail, /goto "?sep-.*127\.0\.0\.5\/19610/);
    assert.ok(!tail.includes('127.0.0.6'), ext);
    assert.match(rules, /ip daddr 10\.231\.201\.13 tcp dport 80 jump "?ext-/);
    assert.match(rules, /fib daddr type local tcp dport 31231 jump "?ext-/);
    // The cluster IP keeps the cluster-wide path (internalTrafficPolicy defaults to Cluster).
    assert.match(rules, /ip daddr 10\.231\.200\.13 tcp dport 80 jump "?svc-/);
    assert.deepEqual(await answers('10.231.200.13'), BACKENDS);
  });

  it('serves kube-proxy’s health check on the healthCheckNodePort: 200 with local endpoints, 503 without', async () => {
    const hcPort = 19611;
    proxier.model.setService(
      service('lb', '10.231.200.13', {
        type: 'LoadBalancer',
        externalTrafficPolicy: 'Local',
        healthCheckNodePort: hcPort,
        ports: [{ name: 'http', protocol: 'TCP', port: 80, nodePort: 31231 }],
      }),
    );
    const checks = new HealthChecks('127.0.0.1', log);
    const probe = () =>
      new Promise<[number, unknown]>((resolve, reject) => {
        http
          .get({ host: '127.0.0.1', port: hcPort, path: '/healthz', agent: false }, (res) => {
            let body = '';
            res.on('data', (d: Buffer) => (body += d.toString()));
            res.on('end', () => resolve([res.statusCode ?? 0, JSON.parse(body)]));
          })
          .on('error', reject);
      });
    try {
      proxier.model.setEndpointSlice(slice('lb'));
      await checks.reconcile(proxier.model.healthChecks());
      const body = (n: number) => ({
        service: { namespace: 'ktraffic', name: 'lb' },
        localEndpoints: n,
        serviceProxyHealthy: true,
      });
      assert.deepEqual(await probe(), [200, body(1)]);
      proxier.model.setEndpointSlice(slice('lb', ['elsewhere', 'elsewhere']));
      await checks.reconcile(proxier.model.healthChecks());
      assert.deepEqual(await probe(), [503, body(0)]);
      proxier.model.deleteService(service('lb', '10.231.200.13'));
      await checks.reconcile(proxier.model.healthChecks());
      await assert.rejects(probe(), { code: 'ECONNREFUSED' });
    } finally {
      await checks.close();
    }
  });
});
