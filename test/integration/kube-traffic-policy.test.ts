/**
 * Services' traffic policies on a real berth-kube over a real berthd, with the real kubectl 1.32: a LoadBalancer
 * with externalTrafficPolicy Local gets a healthCheckNodePort (shown by `kubectl describe`), loses it when the
 * policy turns Cluster (the port is free at once for another Service) and a requested one is checked; a Service
 * with both policies Local answers from its pod on this node, from a pod and from the host, and its health check
 * says it has one endpoint here. Pod network: a random
 * /24 of 10.231.0.0/16; cluster IPs in 10.43.231.0/24; table, ports and names carry "ktraffic".
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import http from 'node:http';
import { after, before, describe, it } from 'node:test';
import { IS_ROOT, requirement } from '../helpers/env.js';
import { haveKubectl, KUBECTL, until, type KubeCluster } from '../helpers/kube-cluster.js';
import { busybox, startPodCluster, type PodCluster } from '../helpers/kube-pods.js';

const skip =
  requirement(IS_ROOT, 'pods and nftables need root') ??
  requirement(haveKubectl(), `${KUBECTL} is not installed`);
const NODE = 'ktraffic-node';
const TABLE = `ktraffic-svc-${process.pid}`;
const LB_PORT = 19681;

interface Svc {
  spec: { healthCheckNodePort?: number; ports: Array<{ nodePort?: number }>; clusterIP: string };
}

function hostGet(port: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const req = http.get({ host: '127.0.0.1', port, path: '/', agent: false, timeout: 5000 }, (res) => {
      let body = '';
      res.on('data', (d: Buffer) => (body += d.toString()));
      res.on('end', () => resolve(body.trim()));
    });
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.on('error', reject);
  });
}

describe('Service traffic policies', { skip }, () => {
  let c: PodCluster;
  let kube: KubeCluster;
  const svc = (name: string, spec: object) =>
    c.apply({ apiVersion: 'v1', kind: 'Service', metadata: { name, namespace: 'default' }, spec });
  const get = (name: string) => kube.json<Svc>(['get', 'service', name]);

  before(async () => {
    c = await startPodCluster({
      port: 19600 + (process.pid % 20),
      nodeName: NODE,
      podCIDR: `10.231.${Math.floor(Math.random() * 250) + 1}.0/24`,
      podNetwork: `ktraffic-${process.pid}`,
      extraArgs: ['--proxy-table', TABLE, '--cluster-dns', '10.43.231.10', '--dns-port', '19653'],
    });
    kube = c.kube;
  });

  after(async () => {
    await c?.destroy();
    spawnSync('nft', ['delete', 'table', 'ip', TABLE]);
  });

  it('allocates a healthCheckNodePort for a Local LoadBalancer, frees it for Cluster, checks a requested one', async () => {
    const ports = [{ name: 'http', port: 19682, targetPort: 8080 }];
    await svc('hc', { type: 'LoadBalancer', externalTrafficPolicy: 'Local', ports });
    const hc = (await get('hc')).spec.healthCheckNodePort;
    assert.ok(hc && hc >= 30000 && hc <= 32767, `healthCheckNodePort ${hc}`);
    assert.match(await kube.k(['describe', 'service', 'hc']), new RegExp(`HealthCheck NodePort:\\s+${hc}`));
    // Held: no other Service may take it as a node port.
    const taken = await kube.kubectl(['apply', '-f', '-'], {
      input: JSON.stringify({
        apiVersion: 'v1',
        kind: 'Service',
        metadata: { name: 'np' },
        spec: { type: 'NodePort', ports: [{ port: 80, nodePort: hc }] },
      }),
    });
    assert.notEqual(taken.code, 0);
    assert.match(
      taken.stderr,
      new RegExp(`spec.ports\\[0\\].nodePort: Invalid value: ${hc}: provided port is already allocated`),
    );
    // Cluster: the field goes, and the port is free at once.
    await kube.k(['patch', 'service', 'hc', '-p', '{"spec":{"externalTrafficPolicy":"Cluster"}}']);
    assert.equal((await get('hc')).spec.healthCheckNodePort, undefined);
    await svc('np', { type: 'NodePort', ports: [{ port: 80, nodePort: hc }] });
    assert.equal((await get('np')).spec.ports[0].nodePort, hc);
    // Back to Local: a new one, never the port np now holds; a requested one that np holds is refused.
    await kube.k(['patch', 'service', 'hc', '-p', '{"spec":{"externalTrafficPolicy":"Local"}}']);
    const again = (await get('hc')).spec.healthCheckNodePort;
    assert.ok(again && again !== hc);
    const clash = await kube.kubectl([
      'patch',
      'service',
      'hc',
      '-p',
      JSON.stringify({ spec: { healthCheckNodePort: hc } }),
    ]);
    assert.notEqual(clash.code, 0);
    assert.match(
      clash.stderr,
      /spec.healthCheckNodePort: Invalid value: \d+: provided port is already allocated/,
    );
    // Not a Local LoadBalancer: the field is refused.
    const bad = await kube.kubectl(['apply', '-f', '-'], {
      input: JSON.stringify({
        apiVersion: 'v1',
        kind: 'Service',
        metadata: { name: 'bad' },
        spec: { type: 'NodePort', healthCheckNodePort: 31999, ports: [{ port: 80 }] },
      }),
    });
    assert.notEqual(bad.code, 0);
    assert.match(bad.stderr, /spec.healthCheckNodePort: Invalid value: 31999: may only be set when/);
    await kube.k(['delete', 'service', 'hc', 'np']);
  });

  it('answers a Service with both policies Local from its pod on this node', async () => {
    await c.apply(
      c.podJson('web', {
        containers: [
          busybox(
            'httpd',
            'mkdir -p /www && echo local-web > /www/index.html && exec httpd -f -p 8080 -h /www',
          ),
        ],
      }),
    );
    await c.apply(c.podJson('client', { containers: [busybox('c', 'sleep 3600')] }));
    await svc('web', {
      type: 'LoadBalancer',
      clusterIP: '10.43.231.20',
      selector: { app: 'web' },
      internalTrafficPolicy: 'Local',
      externalTrafficPolicy: 'Local',
      ports: [{ name: 'http', port: LB_PORT, targetPort: 8080 }],
    });
    await c.running('web');
    await c.running('client');
    const fromPod = async () => {
      const r = await kube.kubectl(
        [
          'exec',
          'client',
          '--',
          'sh',
          '-c',
          `printf 'GET / HTTP/1.0\\r\\n\\r\\n' | nc -w 3 10.43.231.20 ${LB_PORT}`,
        ],
        { timeoutMs: 15_000 },
      );
      return r.stdout.trim().split('\n').pop()?.trim();
    };
    assert.equal(
      await until('the Local service answers a pod', async () => (await fromPod()) || undefined, 30_000),
      'local-web',
    );
    assert.equal(
      await until('the load balancer answers', () => hostGet(LB_PORT).catch(() => undefined), 15_000),
      'local-web',
    );
    const nodePort = (await get('web')).spec.ports[0].nodePort!;
    assert.equal(await hostGet(nodePort), 'local-web');
    // kube-proxy's health check on the healthCheckNodePort: one ready endpoint on this node.
    const hc = (await get('web')).spec.healthCheckNodePort!;
    const health = await until('the health check answers', () => hostGet(hc).catch(() => undefined), 10_000);
    assert.deepEqual(JSON.parse(health), {
      service: { namespace: 'default', name: 'web' },
      localEndpoints: 1,
      serviceProxyHealthy: true,
    });
    const rules = spawnSync('nft', ['list', 'table', 'ip', TABLE], { encoding: 'utf8' }).stdout;
    assert.ok(rules.includes('int-') && rules.includes('ext-'), rules);
  });
});
