/**
 * Services end to end on a real berth-kube over a real berthd, with the real kubectl 1.32: busybox pods behind a
 * Service with a named target port; from a pod, the Service by DNS name and by cluster IP spread over the ready
 * replicas only (a pod failing readiness stays out), headless records from nslookup, the API server through the
 * `kubernetes` Service; from the host, a
 * LoadBalancer (status says localhost) and a node port on 127.0.0.1, DNATed by the kernel (no host socket carries
 * the connection), a UDP LoadBalancer (to the cluster DNS); after kill -9 and a restart, a node port another
 * listener took meanwhile is left to it; nothing left in nftables after the Service is deleted, and no table
 * after berth-kube stops. Pod network: a random /24 of 10.218.0.0/16; the
 * table carries "knet"; this cluster's service addresses sit in 10.43.218.0/24, which no other test asks for.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import dgram from 'node:dgram';
import http from 'node:http';
import net from 'node:net';
import tls from 'node:tls';
import { after, before, describe, it } from 'node:test';
import { IS_ROOT, requirement } from '../helpers/env.js';
import { haveKubectl, KUBECTL, until, type KubeCluster } from '../helpers/kube-cluster.js';
import { startPodCluster, type PodCluster } from '../helpers/kube-pods.js';

const skip =
  requirement(IS_ROOT, 'pods and nftables need root') ??
  requirement(haveKubectl(), `${KUBECTL} is not installed`);
const NODE = 'knet-node';
const NS = 'knet-svc';
const TABLE = `knet-svc-${process.pid}`;
const LB_PORT = 18281;
const UDP_LB_PORT = 19711;
const DNS_PORT = 18253;

const listTable = () => {
  const r = spawnSync('nft', ['list', 'table', 'ip', TABLE], { encoding: 'utf8' });
  return r.status === 0 ? r.stdout : undefined;
};

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

/** A DNS A query for `name` to 127.0.0.1:port over UDP: the answer count of the reply. */
function dnsAnswers(port: number, name: string): Promise<number> {
  const labels = name.split('.').map((l) => Buffer.concat([Buffer.from([l.length]), Buffer.from(l)]));
  const q = Buffer.concat([
    Buffer.from([0x12, 0x34, 0x01, 0x00, 0, 1, 0, 0, 0, 0, 0, 0]),
    ...labels,
    Buffer.from([0, 0, 1, 0, 1]),
  ]);
  return new Promise((resolve, reject) => {
    const s = dgram.createSocket('udp4');
    const t = setTimeout(() => (s.close(), reject(new Error('no DNS answer'))), 2000);
    s.on('message', (m) => {
      clearTimeout(t);
      s.close();
      if (m.readUInt16BE(0) === 0x1234) resolve(m.readUInt16BE(6));
      else reject(new Error('a reply to another query'));
    });
    s.send(q, port, '127.0.0.1');
  });
}

/** Established TCP sockets in this netns whose local port is `port` (a user-space relay would own one). */
const establishedOn = (port: number) =>
  spawnSync('ss', ['-Htn', 'state', 'established', `( sport = :${port} )`], {
    encoding: 'utf8',
  }).stdout.trim();

/** The first flight of a TLS client (its ClientHello), caught by a plain TCP listener. */
function clientHello(): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const server = net.createServer((sock) => {
      sock.once('data', (d: Buffer) => {
        resolve(d);
        sock.destroy();
        server.close();
      });
    });
    server.listen(0, '127.0.0.1', () => {
      const port = (server.address() as net.AddressInfo).port;
      tls.connect({ host: '127.0.0.1', port, servername: 'kubernetes' }).on('error', () => undefined);
    });
    server.on('error', reject);
  });
}

const webPod = (name: string, ready: boolean) => ({
  apiVersion: 'v1',
  kind: 'Pod',
  metadata: { name, namespace: NS, labels: { app: 'web' } },
  spec: {
    nodeName: NODE,
    terminationGracePeriodSeconds: 1,
    hostname: name,
    subdomain: 'web-h',
    containers: [
      {
        name: 'httpd',
        image: 'busybox',
        imagePullPolicy: 'IfNotPresent',
        command: [
          'sh',
          '-c',
          `mkdir -p /www && echo ${name} > /www/index.html && exec httpd -f -p 8080 -h /www`,
        ],
        ports: [{ name: 'http', containerPort: 8080 }],
        readinessProbe: {
          exec: { command: ready ? ['true'] : ['false'] },
          periodSeconds: 1,
        },
      },
    ],
  },
});

describe('Services, cluster DNS and host ports', { skip }, () => {
  let c: PodCluster;
  let kube: KubeCluster;
  const podNet = `knet-${process.pid}`;
  const subnet = `10.218.${Math.floor(Math.random() * 250) + 1}.0/24`;
  const apply = (obj: object) => kube.k(['apply', '-f', '-'], { input: JSON.stringify(obj) });
  const exec = (cmd: string[]) =>
    kube.kubectl(['-n', NS, 'exec', 'client', '--', ...cmd], { timeoutMs: 20_000 });

  before(async () => {
    c = await startPodCluster({
      port: 18200 + (process.pid % 20),
      nodeName: NODE,
      podCIDR: subnet,
      podNetwork: podNet,
      extraArgs: ['--proxy-table', TABLE, '--cluster-dns', '10.43.218.10', '--dns-port', '18253'],
    });
    kube = c.kube;
    await kube.k(['create', 'namespace', NS]);
    for (const [name, ready] of [
      ['web-1', true],
      ['web-2', true],
      ['web-3', false],
    ] as const)
      await apply(webPod(name, ready));
    await apply({
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: { name: 'client', namespace: NS },
      spec: {
        nodeName: NODE,
        terminationGracePeriodSeconds: 1,
        containers: [
          { name: 'c', image: 'busybox', imagePullPolicy: 'IfNotPresent', command: ['sleep', '3600'] },
        ],
      },
    });
    const svc = (name: string, spec: object) =>
      apply({
        apiVersion: 'v1',
        kind: 'Service',
        metadata: { name, namespace: NS },
        spec: { selector: { app: 'web' }, ...spec },
      });
    await svc('web', { clusterIP: '10.43.218.20', ports: [{ name: 'http', port: 80, targetPort: 'http' }] });
    await svc('web-h', { clusterIP: 'None', ports: [{ name: 'http', port: 8080 }] });
    await svc('web-lb', {
      type: 'LoadBalancer',
      clusterIP: '10.43.218.21',
      ports: [{ name: 'http', port: LB_PORT, targetPort: 'http' }],
    });
    await until(
      'pods running and two ready endpoints',
      async () => {
        const eps = await kube.json<{ subsets?: Array<{ addresses?: unknown[] }> }>([
          '-n',
          NS,
          'get',
          'endpoints',
          'web',
        ]);
        const client = await kube.json<{ status: { phase: string } }>(['-n', NS, 'get', 'pod', 'client']);
        return eps.subsets?.[0]?.addresses?.length === 2 && client.status.phase === 'Running'
          ? true
          : undefined;
      },
      90_000,
    );
  });

  after(async () => {
    await c?.destroy(NS);
    spawnSync('nft', ['delete', 'table', 'ip', TABLE]);
  });

  /** An HTTP GET from the client pod with busybox nc (busybox-static's wget crashes on this glibc). */
  const podGetMaybe = async (host: string) => {
    const r = await exec(['sh', '-c', `printf 'GET / HTTP/1.0\\r\\n\\r\\n' | nc -w 5 ${host} 80`]);
    return r.code === 0 ? r.stdout.trim() : '';
  };
  const podGet = async (host: string) => {
    const r = await exec(['sh', '-c', `printf 'GET / HTTP/1.0\\r\\n\\r\\n' | nc -w 5 ${host} 80`]);
    assert.equal(r.code, 0, `${host}: ${r.stderr}`);
    return r.stdout.trim().split('\n').pop()!.trim();
  };

  it('reaches the Service by DNS name and by cluster IP from a pod, over the ready replicas only', async () => {
    // The proxy follows the endpoints a moment after the Endpoints object shows them.
    await until('the service answers', async () => (await podGetMaybe('10.43.218.20')) || undefined, 10_000);
    const seen = new Set<string>();
    for (let i = 0; i < 16; i++)
      seen.add(await podGet(i % 2 ? 'web.knet-svc.svc.cluster.local' : '10.43.218.20'));
    assert.deepEqual([...seen].sort(), ['web-1', 'web-2']);
    // The short name through the pod's search path (resolv.conf from the kubelet, ndots:5).
    assert.match(await podGet('web'), /^web-[12]$/);
  });

  it('reaches the API server through the kubernetes Service', async () => {
    // busybox has no TLS client: a ClientHello made here is sent with nc, and the server's handshake comes back.
    const hello = (await clientHello()).toString('base64');
    const bytes = async (host: string) => {
      const r = await exec(['sh', '-c', `echo ${hello} | base64 -d | nc -w 2 ${host} 443 | wc -c`]);
      return Number(r.stdout.trim());
    };
    assert.ok((await bytes('10.43.0.1')) > 100);
    assert.ok((await bytes('kubernetes.default.svc.cluster.local')) > 100);
  });

  it('answers headless names with the ready pods and each pod by its hostname', async () => {
    const r = await exec(['nslookup', 'web-h.knet-svc.svc.cluster.local']);
    assert.equal(r.code, 0, r.stderr + r.stdout);
    const pods = await kube.json<{ items: Array<{ metadata: { name: string }; status: { podIP: string } }> }>(
      ['-n', NS, 'get', 'pods', '-l', 'app=web'],
    );
    const ip = (n: string) => pods.items.find((p) => p.metadata.name === n)!.status.podIP;
    assert.ok(r.stdout.includes(ip('web-1')) && r.stdout.includes(ip('web-2')), r.stdout);
    assert.ok(!r.stdout.includes(ip('web-3')), r.stdout);
    const one = await exec(['nslookup', 'web-1.web-h.knet-svc.svc.cluster.local']);
    assert.ok(one.stdout.includes(ip('web-1')), one.stdout);
  });

  it('serves a LoadBalancer and a node port on the host 127.0.0.1, with the ingress in status', async () => {
    const svc = await until(
      'load balancer ingress',
      async () => {
        const s = await kube.json<{
          spec: { ports: Array<{ nodePort: number }> };
          status: { loadBalancer: { ingress?: Array<{ hostname?: string }> } };
        }>(['-n', NS, 'get', 'service', 'web-lb']);
        return s.status.loadBalancer.ingress?.length ? s : undefined;
      },
      10_000,
    );
    assert.equal(svc.status.loadBalancer.ingress?.[0].hostname, 'localhost');
    assert.match(await kube.k(['-n', NS, 'get', 'service', 'web-lb']), /localhost/);
    assert.match(await hostGet(LB_PORT), /^web-[12]$/);
    assert.match(await hostGet(svc.spec.ports[0].nodePort), /^web-[12]$/);
    // The kernel's DNAT, not a relay: the rule is there, and while a connection is open no socket on the host
    // has the LoadBalancer port as its own end (the pod's end is in its netns).
    assert.match(listTable() ?? '', new RegExp(`ip daddr 127\\.0\\.0\\.1 tcp dport ${LB_PORT} jump`));
    const open = await new Promise<net.Socket>((resolve, reject) => {
      const s = net.connect(LB_PORT, '127.0.0.1', () => resolve(s)).on('error', reject);
    });
    try {
      assert.equal(establishedOn(LB_PORT), '');
    } finally {
      open.destroy();
    }
  });

  it('serves a UDP LoadBalancer on 127.0.0.1 through the kernel', async () => {
    // No selector: its one endpoint is the cluster DNS listener on the pod network's gateway.
    await apply({
      apiVersion: 'v1',
      kind: 'Service',
      metadata: { name: 'dns-lb', namespace: NS },
      spec: { type: 'LoadBalancer', ports: [{ name: 'dns', protocol: 'UDP', port: UDP_LB_PORT }] },
    });
    await apply({
      apiVersion: 'discovery.k8s.io/v1',
      kind: 'EndpointSlice',
      metadata: { name: 'dns-lb-1', namespace: NS, labels: { 'kubernetes.io/service-name': 'dns-lb' } },
      addressType: 'IPv4',
      endpoints: [{ addresses: [subnet.replace(/0\/24$/, '1')], conditions: { ready: true } }],
      ports: [{ name: 'dns', protocol: 'UDP', port: DNS_PORT }],
    });
    await until(
      'the UDP LoadBalancer answers',
      () => dnsAnswers(UDP_LB_PORT, 'web.knet-svc.svc.cluster.local').catch(() => 0),
      15_000,
    );
    assert.match(listTable() ?? '', new RegExp(`ip daddr 127\\.0\\.0\\.1 udp dport ${UDP_LB_PORT} jump`));
    assert.equal(await dnsAnswers(UDP_LB_PORT, 'web.knet-svc.svc.cluster.local'), 1);
  });

  it('after kill -9 and a restart, leaves a node port another listener took meanwhile to it', async () => {
    const nodePort = (
      await kube.json<{ spec: { ports: Array<{ nodePort: number }> } }>([
        '-n',
        NS,
        'get',
        'service',
        'web-lb',
      ])
    ).spec.ports[0].nodePort;
    const nodePortRule = new RegExp(`ip daddr 127\\.0\\.0\\.1 tcp dport ${nodePort} jump`);
    await kube.kill9();
    // The table outlives the crash (Services keep answering), but nothing holds the port any more.
    assert.match(listTable() ?? '', nodePortRule);
    const other = http.createServer((_req, res) => res.end('someone else'));
    await new Promise<void>((resolve) => other.listen(nodePort, '127.0.0.1', resolve));
    try {
      await kube.start();
      await until(
        'the restarted proxy drops the node port',
        async () => !nodePortRule.test(listTable() ?? ''),
      );
      assert.equal(await hostGet(nodePort), 'someone else');
      // Refused while the restarted kubelet's first readiness probes run (see below).
      assert.match(await until('the LoadBalancer answers', () => hostGet(LB_PORT)), /^web-[12]$/);
    } finally {
      other.close();
    }
  });

  it('leaves nothing of a deleted Service in nftables, and no table once berth-kube stops', async () => {
    // The restart above marks the pods unready until their next readiness probe, as kubelet 1.32 does (the
    // ready state survives a kubelet restart only from 1.35), so the endpoints' chains come back after a beat.
    await until(
      'web-lb rules in',
      async () => listTable()?.includes('knet-svc/web-lb/tcp/http') || undefined,
    );
    await kube.k(['-n', NS, 'delete', 'service', 'web-lb']);
    await until(
      'web-lb rules gone',
      async () => (listTable()?.includes('knet-svc/web-lb') ? undefined : true),
      10_000,
    );
    await assert.rejects(hostGet(LB_PORT));
    await kube.stop();
    assert.equal(listTable(), undefined);
    await kube.start();
  });
});
