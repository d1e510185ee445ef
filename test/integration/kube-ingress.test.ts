/**
 * The built-in Ingress controller end to end: a real berth-kube over a real berthd, the real kubectl 1.32, and HTTP
 * from this process (node's http/https/net with a Host header or a TLS server name) to two Deployments behind two
 * Services: the default IngressClass, host routing (exact and wildcard), Prefix against Exact paths, round-robin
 * over the ready endpoints, X-Forwarded-* headers, a streamed response and an upgraded connection passed through,
 * TLS with a Secret's certificate chosen by SNI (the default certificate otherwise), 503 without ready endpoints,
 * 404 without a rule, rules updated live, ADDRESS in `kubectl get ingress`, kube-apiserver's 422s, a UDP
 * LoadBalancer and node port on 127.0.0.1, and nothing listening once the cluster stops. Ports 18900-18999, pod
 * subnet in 10.225.0.0/16, service IPs in 10.43.225.0/24.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import dgram from 'node:dgram';
import { mkdtempSync, rmSync } from 'node:fs';
import http from 'node:http';
import https from 'node:https';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import type tls from 'node:tls';
import { after, before, describe, it } from 'node:test';
import { IS_ROOT, requirement } from '../helpers/env.js';
import { haveKubectl, KUBECTL, until, type KubeCluster } from '../helpers/kube-cluster.js';
import { busybox, startPodCluster, type PodCluster } from '../helpers/kube-pods.js';

const skip =
  requirement(IS_ROOT, 'pods, nftables and the host listeners need root') ??
  requirement(haveKubectl(), `${KUBECTL} is not installed`);
const NODE = 'king-node';
const NS = 'king';
const TABLE = `king-${process.pid}`;
const HTTP_PORT = 18980;
const HTTPS_PORT = 18981;
const UDP_PORT = 18982;

interface Answer {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: string;
}

function get(host: string, urlPath: string, port = HTTP_PORT): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const req = http.get(
      { host: '127.0.0.1', port, path: urlPath, headers: { host }, agent: false, timeout: 10_000 },
      (res) => {
        let body = '';
        res.on('data', (d: Buffer) => (body += d.toString()));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }));
      },
    );
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.on('error', reject);
  });
}

function getTls(servername: string, urlPath: string): Promise<Answer & { cert: tls.PeerCertificate }> {
  return new Promise((resolve, reject) => {
    const req = https.get(
      {
        host: '127.0.0.1',
        port: HTTPS_PORT,
        path: urlPath,
        servername,
        headers: { host: servername },
        rejectUnauthorized: false,
        agent: false,
        timeout: 10_000,
      },
      (res) => {
        const cert = (res.socket as tls.TLSSocket).getPeerCertificate();
        let body = '';
        res.on('data', (d: Buffer) => (body += d.toString()));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body, cert }));
      },
    );
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.on('error', reject);
  });
}

/** One DNS A query over UDP to 127.0.0.1:port; the answer, or undefined after a second. */
function dnsQuery(port: number, name: string): Promise<Buffer | undefined> {
  const labels = name.split('.').map((l) => Buffer.concat([Buffer.from([l.length]), Buffer.from(l)]));
  const q = Buffer.concat([
    Buffer.from([0x12, 0x34, 0x01, 0x00, 0, 1, 0, 0, 0, 0, 0, 0]),
    ...labels,
    Buffer.from([0, 0, 1, 0, 1]),
  ]);
  return new Promise((resolve) => {
    const s = dgram.createSocket('udp4');
    const done = (v: Buffer | undefined) => {
      clearTimeout(timer);
      s.close();
      resolve(v);
    };
    const timer = setTimeout(() => done(undefined), 1000);
    s.on('message', (m) => done(m.readUInt16BE(0) === 0x1234 && m.readUInt16BE(6) > 0 ? m : undefined));
    s.on('error', () => done(undefined));
    s.send(q, port, '127.0.0.1');
  });
}

/** The backend pod's name from an answer (both servers start with the pod's hostname). */
const who = (a: Answer) => a.body.trim().split(/\s+/)[0];

/**
 * The backend pods' servers: httpd serves the pod's name on 8080; on 8081 a raw server answers any path with the
 * pod's name and the path, /stream in three pieces a second apart, /ws with an upgrade and an echo, /headers with
 * the request's headers.
 */
const SERVERS = [
  'mkdir -p /www && hostname > /www/index.html',
  `cat > /s.sh <<'EOF'
read line
set -- $line
hdrs=""
while read h; do h=$(printf %s "$h" | tr -d '\r'); [ -z "$h" ] && break; hdrs="$hdrs$h
"; done
ok='HTTP/1.1 200 OK\r\nConnection: close\r\n\r\n'
case "$2" in
/ws) printf 'HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n'; exec cat ;;
/headers) printf "$ok%s" "$hdrs" ;;
/stream) printf "$ok"; for i in 1 2 3; do echo piece-$i; sleep 1; done ;;
*) printf "$ok%s %s\n" "$(hostname)" "$2" ;;
esac
EOF`,
  'nc -ll -p 8081 -e sh /s.sh &',
  'exec httpd -f -p 8080 -h /www',
].join('\n');

const httpd = (name: string, replicas: number) => ({
  apiVersion: 'apps/v1',
  kind: 'Deployment',
  metadata: { name, namespace: NS },
  spec: {
    replicas,
    selector: { matchLabels: { app: name } },
    template: {
      metadata: { labels: { app: name } },
      spec: {
        nodeName: NODE,
        terminationGracePeriodSeconds: 1,
        containers: [
          {
            ...busybox('httpd', SERVERS),
            ports: [
              { name: 'http', containerPort: 8080 },
              { name: 'raw', containerPort: 8081 },
            ],
            readinessProbe: { tcpSocket: { port: 8081 }, periodSeconds: 1 },
          },
        ],
      },
    },
  },
});

describe('Ingress', { skip }, () => {
  let c: PodCluster | undefined;
  let kube: KubeCluster;
  const podNet = `king-${process.pid}`;
  const subnet = `10.225.${Math.floor(Math.random() * 250) + 1}.0/24`;
  const tmp = mkdtempSync(path.join(os.tmpdir(), 'king-'));
  const apply = (obj: object) => kube.k(['apply', '-f', '-'], { input: JSON.stringify(obj) });
  const ingress = (name: string, spec: object, extra: object = {}) => ({
    apiVersion: 'networking.k8s.io/v1',
    kind: 'Ingress',
    metadata: { name, namespace: NS, ...extra },
    spec,
  });
  const backend = (service: string, port: number | string = 80) => ({
    service: { name: service, port: typeof port === 'number' ? { number: port } : { name: port } },
  });

  before(async () => {
    c = await startPodCluster({
      port: 18900 + (process.pid % 20),
      nodeName: NODE,
      podCIDR: subnet,
      podNetwork: podNet,
      extraArgs: [
        '--proxy-table',
        TABLE,
        '--cluster-dns',
        '10.43.225.10',
        '--dns-port',
        '18953',
        '--ingress-http',
        `127.0.0.1:${HTTP_PORT}`,
        '--ingress-https',
        `127.0.0.1:${HTTPS_PORT}`,
      ],
    });
    kube = c.kube;
    await kube.k(['create', 'namespace', NS]);
    await apply(httpd('app-a', 2));
    await apply(httpd('app-b', 1));
    const svc = (name: string, ip: string, selector: string) =>
      apply({
        apiVersion: 'v1',
        kind: 'Service',
        metadata: { name, namespace: NS },
        spec: {
          clusterIP: ip,
          selector: { app: selector },
          ports: [
            { name: 'http', port: 80, targetPort: 'http' },
            { name: 'raw', port: 81, targetPort: 'raw' },
          ],
        },
      });
    await svc('svc-a', '10.43.225.20', 'app-a');
    await svc('svc-b', '10.43.225.21', 'app-b');
    await svc('svc-none', '10.43.225.22', 'nothing-selects-this');
    await until(
      'three ready endpoints',
      async () => {
        const n = async (s: string) =>
          (await kube.json<{ subsets?: Array<{ addresses?: unknown[] }> }>(['-n', NS, 'get', 'endpoints', s]))
            .subsets?.[0]?.addresses?.length ?? 0;
        return (await n('svc-a')) === 2 && (await n('svc-b')) === 1;
      },
      120_000,
    );
  });

  after(async () => {
    await c?.destroy(NS);
    spawnSync('nft', ['delete', 'table', 'ip', TABLE]);
    rmSync(tmp, { recursive: true, force: true });
  });

  it('makes the default IngressClass and says where it listens', async () => {
    const cls = await kube.json<{
      metadata: { annotations: Record<string, string> };
      spec: { controller: string };
    }>(['get', 'ingressclass', 'berth']);
    assert.equal(cls.spec.controller, 'berth.dev/ingress');
    assert.equal(cls.metadata.annotations['ingressclass.kubernetes.io/is-default-class'], 'true');
    const cm = await kube.json<{ data: Record<string, string> }>([
      '-n',
      'kube-system',
      'get',
      'cm',
      'berth-ingress',
    ]);
    assert.equal(cm.data.http, `127.0.0.1:${HTTP_PORT}`);
    assert.equal(cm.data.https, `127.0.0.1:${HTTPS_PORT}`);
  });

  it('routes by host (exact and wildcard) and by path, Prefix by elements and Exact, round-robin', async () => {
    await apply(
      ingress('routes', {
        rules: [
          {
            host: 'myapp.localhost',
            http: {
              paths: [
                { path: '/', pathType: 'Prefix', backend: backend('svc-a', 81) },
                { path: '/sub', pathType: 'Prefix', backend: backend('svc-b', 'raw') },
                { path: '/exact', pathType: 'Exact', backend: backend('svc-b', 81) },
              ],
            },
          },
          {
            host: '*.wild.localhost',
            http: { paths: [{ path: '/', pathType: 'Prefix', backend: backend('svc-b', 81) }] },
          },
        ],
      }),
    );
    await until('the ingress serves', async () => {
      const a = await get('myapp.localhost', '/').catch(() => undefined);
      return a?.status === 200 ? a : undefined;
    });
    const a = new Set<string>();
    for (let i = 0; i < 6; i++) a.add(who(await get('myapp.localhost', '/')));
    assert.equal(a.size, 2, `both app-a pods answer in turn: ${[...a].join(' ')}`);
    for (const x of a) assert.match(x, /^app-a-/);
    const to = async (host: string, p: string) => {
      const r = await get(host, p);
      assert.equal(r.status, 200, `${host}${p}: ${r.body}`);
      return who(r).replace(/-[a-z0-9]+-[a-z0-9]+$/, '');
    };
    // Prefix /sub covers /sub and /sub/x element by element, never /subway; Exact /exact is only /exact.
    const cases: Array<[string, string]> = [
      ['/sub', 'app-b'],
      ['/sub/', 'app-b'],
      ['/sub/x/y', 'app-b'],
      ['/subway', 'app-a'],
      ['/exact', 'app-b'],
      ['/exact?q=1', 'app-b'],
      ['/exact/', 'app-a'],
      ['/exact/more', 'app-a'],
    ];
    for (const [p, want] of cases) assert.equal(await to('myapp.localhost', p), want, p);
    assert.equal(await to('MyApp.localhost:80', '/sub'), 'app-b');
    assert.equal(await to('x.wild.localhost', '/'), 'app-b');
    for (const host of ['a.b.wild.localhost', 'wild.localhost', 'other.localhost']) {
      const none = await get(host, '/');
      assert.equal(none.status, 404, host);
      assert.match(none.body, new RegExp(`no Ingress rule matches host "${host.replace(/\./g, '\\.')}"`));
    }
    // An Ingress of another controller's class is not served, and gets no address from us.
    await apply({
      apiVersion: 'networking.k8s.io/v1',
      kind: 'IngressClass',
      metadata: { name: 'other' },
      spec: { controller: 'example.com/other' },
    });
    await apply(
      ingress('foreign', {
        ingressClassName: 'other',
        rules: [
          {
            host: 'foreign.localhost',
            http: { paths: [{ path: '/', pathType: 'Prefix', backend: backend('svc-a', 81) }] },
          },
        ],
      }),
    );
    assert.equal((await get('foreign.localhost', '/')).status, 404);
    // The address in status, as kubectl prints it.
    await until('ADDRESS', async () =>
      (await kube.k(['-n', NS, 'get', 'ingress', 'routes'])).includes('127.0.0.1') ? true : undefined,
    );
    const table = await kube.k(['-n', NS, 'get', 'ingress', 'routes']);
    assert.match(table, /routes\s+berth\s+myapp\.localhost,\*\.wild\.localhost\s+127\.0\.0\.1\s+80\s/);
    // Classless when applied: DefaultIngressClass admission named the default class.
    assert.match(
      await kube.k(['-n', NS, 'get', 'ingress', 'foreign']),
      /foreign\s+other\s+foreign\.localhost\s+80\s/,
    );
  });

  it('sends X-Forwarded-* headers, streams a response and passes an upgraded connection through', async () => {
    await apply(
      ingress('raw', {
        rules: [
          {
            host: 'raw.localhost',
            http: { paths: [{ path: '/', pathType: 'Prefix', backend: backend('svc-b', 81) }] },
          },
        ],
      }),
    );
    const h = await until('raw served', async () => {
      const a = await get('raw.localhost', '/headers').catch(() => undefined);
      return a?.status === 200 ? a : undefined;
    });
    assert.match(h.body, /^X-Forwarded-For: 127\.0\.0\.1$/im);
    assert.match(h.body, /^X-Forwarded-Host: raw\.localhost$/im);
    assert.match(h.body, /^X-Forwarded-Proto: http$/im);
    assert.match(h.body, new RegExp(`^X-Forwarded-Port: ${HTTP_PORT}$`, 'im'));
    // Streamed: the first piece arrives well before the last is written (a second apart).
    const times: number[] = [];
    const start = Date.now();
    await new Promise<void>((resolve, reject) => {
      http
        .get(
          {
            host: '127.0.0.1',
            port: HTTP_PORT,
            path: '/stream',
            headers: { host: 'raw.localhost' },
            agent: false,
          },
          (res) => {
            res.on('data', () => times.push(Date.now() - start));
            res.on('end', resolve);
          },
        )
        .on('error', reject);
    });
    assert.ok(
      times.length >= 2 && times[times.length - 1] - times[0] >= 1500,
      `pieces at ${times.join(',')} ms`,
    );
    // Upgrade: the backend's 101, then bytes both ways.
    const echoed = await new Promise<string>((resolve, reject) => {
      const s = net.connect(HTTP_PORT, '127.0.0.1', () =>
        s.write(
          'GET /ws HTTP/1.1\r\nHost: raw.localhost\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n\r\n',
        ),
      );
      let got = '';
      s.on('data', (d: Buffer) => {
        got += d.toString();
        if (got.includes('\r\n\r\n') && !got.includes('ping-1')) s.write('ping-1\n');
        if (got.includes('ping-1\n')) {
          s.destroy();
          resolve(got);
        }
      });
      s.on('error', reject);
      setTimeout(() => reject(new Error(`no echo: ${got}`)), 10_000);
    });
    assert.match(echoed, /^HTTP\/1\.1 101 Switching Protocols\r\n/);
  });

  it('serves TLS with the Secret certificate for its host and the default one otherwise', async () => {
    const key = path.join(tmp, 'tls.key');
    const crt = path.join(tmp, 'tls.crt');
    const r = spawnSync('openssl', [
      'req',
      '-x509',
      '-newkey',
      'rsa:2048',
      '-nodes',
      '-days',
      '2',
      '-subj',
      '/CN=secure.localhost',
      '-addext',
      'subjectAltName=DNS:secure.localhost',
      '-keyout',
      key,
      '-out',
      crt,
    ]);
    assert.equal(r.status, 0, r.stderr?.toString());
    await kube.k(['-n', NS, 'create', 'secret', 'tls', 'secure-tls', '--cert', crt, '--key', key]);
    await apply(
      ingress('secure', {
        tls: [{ hosts: ['secure.localhost'], secretName: 'secure-tls' }],
        rules: [
          {
            host: 'secure.localhost',
            http: { paths: [{ path: '/', pathType: 'Prefix', backend: backend('svc-b') }] },
          },
        ],
      }),
    );
    const a = await until('the Secret certificate', async () => {
      const x = await getTls('secure.localhost', '/').catch(() => undefined);
      return x?.cert.subject?.CN === 'secure.localhost' && x.status === 200 ? x : undefined;
    });
    assert.match(who(a), /^app-b-/);
    const other = await getTls('myapp.localhost', '/');
    assert.equal(other.cert.subject.CN, 'Berth Ingress Default Certificate');
    assert.match(who(other), /^app-a-/);
  });

  it('answers 503 when a backend has no ready endpoints, and follows rule changes live', async () => {
    await apply(
      ingress('down', {
        rules: [
          {
            host: 'down.localhost',
            http: { paths: [{ path: '/', pathType: 'Prefix', backend: backend('svc-none') }] },
          },
        ],
      }),
    );
    const a = await until('503', async () => {
      const x = await get('down.localhost', '/');
      return x.status === 503 ? x : undefined;
    });
    assert.match(a.body, /no ready endpoints for service "king\/svc-none" port 80/);
    await kube.k([
      '-n',
      NS,
      'patch',
      'ingress',
      'down',
      '--type',
      'json',
      '-p',
      JSON.stringify([
        { op: 'replace', path: '/spec/rules/0/http/paths/0/backend/service/name', value: 'svc-a' },
      ]),
    ]);
    const b = await until(
      'the new backend',
      async () => {
        const x = await get('down.localhost', '/');
        return x.status === 200 ? x : undefined;
      },
      10_000,
    );
    assert.match(who(b), /^app-a-/);
    await kube.k(['-n', NS, 'delete', 'ingress', 'down']);
    await until(
      '404 once deleted',
      async () => ((await get('down.localhost', '/')).status === 404 ? true : undefined),
      10_000,
    );
  });

  it('refuses an invalid pathType and a backend with both service and resource, as kube-apiserver', async () => {
    const bad = (paths: object[]) =>
      kube.kubectl(['apply', '-f', '-'], {
        input: JSON.stringify(ingress('bad', { rules: [{ host: 'bad.localhost', http: { paths } }] })),
      });
    const r1 = await bad([{ path: '/', pathType: 'Glob', backend: backend('svc-a') }]);
    assert.notEqual(r1.code, 0);
    assert.match(
      r1.stderr,
      /The Ingress "bad" is invalid: spec\.rules\[0\]\.http\.paths\[0\]\.pathType: Unsupported value: "Glob": supported values: "Exact", "ImplementationSpecific", "Prefix"/,
    );
    const r2 = await bad([
      {
        path: '/',
        pathType: 'Prefix',
        backend: { ...backend('svc-a'), resource: { kind: 'Bucket', name: 'b' } },
      },
    ]);
    assert.notEqual(r2.code, 0);
    assert.match(
      r2.stderr,
      /spec\.rules\[0\]\.http\.paths\[0\]\.backend: Invalid value: "": cannot set both resource and service backends/,
    );
  });

  it('answers a UDP LoadBalancer and its node port on 127.0.0.1 (the network remainder beside Ingress)', async () => {
    // No UDP server in busybox: the Service's endpoint is the cluster DNS on the pod network's gateway.
    const gateway = subnet.replace(/\.0\/24$/, '.1');
    await apply({
      apiVersion: 'v1',
      kind: 'Service',
      metadata: { name: 'dns-lb', namespace: NS },
      spec: {
        type: 'LoadBalancer',
        clusterIP: '10.43.225.30',
        ports: [{ name: 'dns', port: UDP_PORT, protocol: 'UDP', targetPort: 18953 }],
      },
    });
    await apply({
      apiVersion: 'discovery.k8s.io/v1',
      kind: 'EndpointSlice',
      metadata: { name: 'dns-lb-1', namespace: NS, labels: { 'kubernetes.io/service-name': 'dns-lb' } },
      addressType: 'IPv4',
      endpoints: [{ addresses: [gateway], conditions: { ready: true } }],
      ports: [{ name: 'dns', port: 18953, protocol: 'UDP' }],
    });
    const svc = await until('the UDP load balancer', async () => {
      const x = await kube.json<{
        spec: { ports: Array<{ nodePort: number }> };
        status: { loadBalancer: { ingress?: unknown[] } };
      }>(['-n', NS, 'get', 'service', 'dns-lb']);
      return x.status.loadBalancer.ingress?.length ? x : undefined;
    });
    for (const port of [UDP_PORT, svc.spec.ports[0].nodePort]) {
      const answer = await until(`a DNS answer on udp ${port}`, () =>
        dnsQuery(port, 'svc-a.king.svc.cluster.local'),
      );
      // The A record of svc-a: its cluster IP, 10.43.225.20, in the answer section.
      assert.ok(answer.includes(Buffer.from([10, 43, 225, 20])), `udp ${port}: ${answer.toString('hex')}`);
    }
  });

  it('leaves nothing listening once berth-kube stops', async () => {
    await kube.stop();
    for (const port of [HTTP_PORT, HTTPS_PORT])
      await assert.rejects(
        new Promise<void>((resolve, reject) => {
          const s = net.connect(port, '127.0.0.1', () => (s.destroy(), resolve()));
          s.on('error', reject);
        }),
        /ECONNREFUSED/,
      );
    // The UDP port is free again: binding it here succeeds.
    const u = dgram.createSocket('udp4');
    await new Promise<void>((resolve, reject) => {
      u.once('error', reject);
      u.bind({ address: '127.0.0.1', port: UDP_PORT, exclusive: true }, resolve);
    });
    u.close();
    await kube.start();
  });
});
