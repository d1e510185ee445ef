/**
 * The Ingress controller's parts without a cluster: the routing table (hosts, wildcards, Prefix by elements, Exact,
 * precedence, default backend, TLS by server name), backend resolution over EndpointSlices (named ports, ready
 * only, round-robin, ExternalName, the 503 texts), DefaultIngressClass admission, and the proxy itself against a
 * local HTTP backend: a 1 MiB binary body both ways, 502 for an endpoint that refuses, and the port fallback.
 */
import assert from 'node:assert/strict';
import { randomBytes, createHash } from 'node:crypto';
import http from 'node:http';
import net from 'node:net';
import { describe, it } from 'node:test';
import { createLogger, setLogLevel } from '@berth/common/log';
import { DefaultIngressClass } from '../src/admission/plugins/default-ingress-class.js';
import { parseArgs } from '../src/config.js';
import type { AdmissionAttributes } from '../src/admission/types.js';
import { Backends } from '../src/ingress/backends.js';
import { Certificates } from '../src/ingress/certs.js';
import { RouteTable, type IngressShape } from '../src/ingress/routes.js';
import { IngressServer } from '../src/ingress/server.js';
import type { KubeObject } from '../src/registry/types.js';

setLogLevel('error');
const log = createLogger({ test: 'ingress' });

const svc = (name: string, port = 80) => ({ service: { name, port: { number: port } } });
const ing = (name: string, created: string, spec: IngressShape['spec']): IngressShape => ({
  metadata: { namespace: 'ns', name, creationTimestamp: created },
  spec,
});
const target = (t: RouteTable, host: string, path: string) => t.match(host, path)?.backend?.service;

describe('ingress routing table', () => {
  const table = new RouteTable([
    ing('newer', '2026-01-02T00:00:00Z', {
      rules: [
        {
          host: 'a.test',
          http: { paths: [{ path: '/api', pathType: 'Prefix', backend: svc('newer-api') }] },
        },
      ],
    }),
    ing('older', '2026-01-01T00:00:00Z', {
      defaultBackend: svc('fallback'),
      rules: [
        {
          host: 'a.test',
          http: {
            paths: [
              { path: '/', pathType: 'Prefix', backend: svc('root') },
              { path: '/api', pathType: 'Prefix', backend: svc('api') },
              { path: '/api/', pathType: 'Exact', backend: svc('api-exact-slash') },
              { path: '/api/v1', pathType: 'Prefix', backend: svc('v1') },
              { path: '/api/v1', pathType: 'Exact', backend: svc('v1-exact') },
              { path: '/files', pathType: 'ImplementationSpecific', backend: svc('files') },
            ],
          },
        },
        { host: '*.b.test', http: { paths: [{ path: '/', pathType: 'Prefix', backend: svc('wild') }] } },
        { host: 'x.b.test', http: { paths: [{ path: '/only', pathType: 'Exact', backend: svc('x-only') }] } },
        { http: { paths: [{ path: '/any', pathType: 'Prefix', backend: svc('any-host') }] } },
      ],
      tls: [
        { hosts: ['a.test'], secretName: 'a-cert' },
        { hosts: ['*.b.test'], secretName: 'b-wild' },
      ],
    }),
  ]);

  it('matches Prefix paths element by element, the longest first, Exact before Prefix, older before newer', () => {
    const cases: Array<[string, string, string | undefined]> = [
      ['a.test', '/', 'root'],
      ['a.test', '/anything/else', 'root'],
      ['a.test', '/api', 'api'],
      ['a.test', '/api/', 'api-exact-slash'],
      ['a.test', '/api/x', 'api'],
      ['a.test', '/apix', 'root'],
      ['a.test', '/api/v1', 'v1-exact'],
      ['a.test', '/api/v1/', 'v1'],
      ['a.test', '/api/v1/pods?watch=1', 'v1'],
      ['a.test', '/api/v10', 'api'],
      ['a.test', '/files/a.txt', 'files'],
      ['A.TEST:8080', '/api', 'api'],
      ['a.test.', '/api', 'api'],
    ];
    for (const [host, path, want] of cases) assert.equal(target(table, host, path), want, `${host}${path}`);
  });

  it('tries the exact host, then a one-label wildcard, then rules without a host, then the default backend', () => {
    assert.equal(target(table, 'x.b.test', '/only'), 'x-only');
    // x.b.test has its own rule group: a path it lacks goes on to the wildcard's.
    assert.equal(target(table, 'x.b.test', '/other'), 'wild');
    assert.equal(target(table, 'y.b.test', '/'), 'wild');
    assert.equal(target(table, 'z.y.b.test', '/'), 'fallback');
    assert.equal(target(table, 'b.test', '/'), 'fallback');
    assert.equal(target(table, 'nope.test', '/any/x'), 'any-host');
    assert.equal(target(table, 'nope.test', '/'), 'fallback');
    assert.equal(table.match('nope.test', '/')?.ingress, 'ns/older');
    assert.equal(new RouteTable([]).match('a.test', '/'), undefined);
  });

  it('picks the TLS Secret by server name: exact, then wildcard, else none (the default certificate)', () => {
    assert.deepEqual(table.tlsFor('a.test'), { namespace: 'ns', secretName: 'a-cert' });
    assert.deepEqual(table.tlsFor('q.b.test'), { namespace: 'ns', secretName: 'b-wild' });
    assert.equal(table.tlsFor('q.r.b.test'), undefined);
    assert.equal(table.tlsFor(undefined), undefined);
  });
});

describe('ingress backends', () => {
  const b = new Backends();
  b.setService({
    metadata: { namespace: 'ns', name: 'web' },
    spec: {
      ports: [
        { name: 'http', port: 80 },
        { name: 'admin', port: 9000 },
      ],
    },
  });
  b.setService({
    metadata: { namespace: 'ns', name: 'ext' },
    spec: { type: 'ExternalName', externalName: 'example.test' },
  });
  b.setSlice({
    metadata: { namespace: 'ns', name: 'web-abc', labels: { 'kubernetes.io/service-name': 'web' } },
    addressType: 'IPv4',
    ports: [
      { name: 'http', port: 8080, protocol: 'TCP' },
      { name: 'admin', port: 9090, protocol: 'TCP' },
    ],
    endpoints: [
      { addresses: ['10.0.0.2'], conditions: { ready: true } },
      { addresses: ['10.0.0.1'], conditions: { ready: true } },
      { addresses: ['10.0.0.3'], conditions: { ready: false } },
    ],
  });
  const be = (service: string, port: { number?: number; name?: string }) => ({
    namespace: 'ns',
    service,
    port,
  });

  it('takes the ready endpoints on the slice port of the service port, in turn', () => {
    const seen = [0, 1, 2, 3].map(() => b.pick(be('web', { number: 80 })));
    assert.deepEqual(seen, [
      { host: '10.0.0.1', port: 8080 },
      { host: '10.0.0.2', port: 8080 },
      { host: '10.0.0.1', port: 8080 },
      { host: '10.0.0.2', port: 8080 },
    ]);
    assert.deepEqual(b.endpoints(be('web', { name: 'admin' })), [
      { host: '10.0.0.1', port: 9090 },
      { host: '10.0.0.2', port: 9090 },
    ]);
    assert.deepEqual(b.pick(be('ext', { number: 443 })), { host: 'example.test', port: 443 });
  });

  it('says why there is no endpoint', () => {
    assert.deepEqual(b.pick(be('gone', { number: 80 })), { error: 'service "ns/gone" not found' });
    assert.deepEqual(b.pick(be('web', { number: 81 })), { error: 'service "ns/web" has no port 81' });
    b.setService({ metadata: { namespace: 'ns', name: 'idle' }, spec: { ports: [{ port: 80 }] } });
    assert.deepEqual(b.pick(be('idle', { number: 80 })), {
      error: 'no ready endpoints for service "ns/idle" port 80',
    });
  });
});

describe('DefaultIngressClass admission', () => {
  const attrs = (resource: string): AdmissionAttributes => ({
    operation: 'CREATE',
    kind: { group: 'networking.k8s.io', version: 'v1', kind: 'Ingress' },
    resource: { group: 'networking.k8s.io', version: 'v1', resource },
    subresource: '',
    name: 'x',
    namespace: 'ns',
    user: { name: 'u', groups: [] },
    dryRun: false,
  });
  const cls = (name: string, created: string, isDefault: boolean): KubeObject => ({
    metadata: {
      name,
      creationTimestamp: created,
      annotations: isDefault ? { 'ingressclass.kubernetes.io/is-default-class': 'true' } : {},
    },
  });

  it('names the newest default class for an Ingress without one, and leaves the others alone', async () => {
    const p = new DefaultIngressClass(async () => [
      cls('old', '2026-01-01T00:00:00Z', true),
      cls('new', '2026-02-01T00:00:00Z', true),
      cls('plain', '2026-03-01T00:00:00Z', false),
    ]);
    const o: KubeObject = { metadata: { name: 'x' }, spec: {} };
    await p.admit(attrs('ingresses'), o);
    assert.equal((o.spec as { ingressClassName?: string }).ingressClassName, 'new');
    const set: KubeObject = { metadata: { name: 'x' }, spec: { ingressClassName: 'mine' } };
    await p.admit(attrs('ingresses'), set);
    assert.equal((set.spec as { ingressClassName?: string }).ingressClassName, 'mine');
    const annotated: KubeObject = {
      metadata: { name: 'x', annotations: { 'kubernetes.io/ingress.class': 'n' } },
      spec: {},
    };
    await p.admit(attrs('ingresses'), annotated);
    assert.equal((annotated.spec as { ingressClassName?: string }).ingressClassName, undefined);
    const none = new DefaultIngressClass(async () => [cls('plain', '2026-03-01T00:00:00Z', false)]);
    const o2: KubeObject = { metadata: { name: 'x' }, spec: {} };
    await none.admit(attrs('ingresses'), o2);
    assert.equal((o2.spec as { ingressClassName?: string }).ingressClassName, undefined);
  });
});

describe('ingress proxy', () => {
  const listen = (s: net.Server) =>
    new Promise<number>((resolve) =>
      s.listen(0, '127.0.0.1', () => resolve((s.address() as net.AddressInfo).port)),
    );

  it('streams a binary body both ways, answers 502 for a refused endpoint, and falls back from a taken port', async () => {
    // The backend answers with the SHA-256 of what it got, then the body itself.
    const backend = http.createServer((req, res) => {
      const parts: Buffer[] = [];
      req.on('data', (d: Buffer) => parts.push(d));
      req.on('end', () => {
        const body = Buffer.concat(parts);
        res.writeHead(200, { 'x-sha': createHash('sha256').update(body).digest('hex') });
        res.end(body);
      });
    });
    const backendPort = await listen(backend);
    const taken = net.createServer();
    const takenPort = await listen(taken);
    const certs = new Certificates(log);
    let up = backendPort;
    const server = new IngressServer({
      http: { host: '127.0.0.1', port: takenPort },
      route: () => ({ ingress: 'ns/i', backend: { namespace: 'ns', service: 's', port: { number: 80 } } }),
      pick: () => ({ host: '127.0.0.1', port: up }),
      secureContext: () => certs.contextFor(undefined),
      defaultCert: certs.defaultCert,
      log,
    });
    await server.start();
    try {
      const bound = server.bound.http!;
      assert.notEqual(bound.port, takenPort);
      assert.match(
        bound.note ?? '',
        new RegExp(`127\\.0\\.0\\.1:${takenPort} is in use; serving http on 127\\.0\\.0\\.1:${bound.port}`),
      );
      const body = randomBytes(1024 * 1024);
      const answer = await new Promise<{ status: number; sha: string; got: Buffer }>((resolve, reject) => {
        const req = http.request(
          { host: '127.0.0.1', port: bound.port, method: 'POST', path: '/up', headers: { host: 'a.test' } },
          (res) => {
            const parts: Buffer[] = [];
            res.on('data', (d: Buffer) => parts.push(d));
            res.on('end', () =>
              resolve({
                status: res.statusCode ?? 0,
                sha: String(res.headers['x-sha']),
                got: Buffer.concat(parts),
              }),
            );
          },
        );
        req.on('error', reject);
        // Chunked (no length): the proxy passes it on as it comes.
        for (let i = 0; i < body.length; i += 65536) req.write(body.subarray(i, i + 65536));
        req.end();
      });
      assert.equal(answer.status, 200);
      assert.equal(answer.sha, createHash('sha256').update(body).digest('hex'));
      assert.ok(answer.got.equals(body));
      // An endpoint that refuses: the taken port, once closed.
      await new Promise<void>((r) => taken.close(() => r()));
      up = takenPort;
      const bad = await new Promise<{ status: number; body: string }>((resolve, reject) => {
        http
          .get({ host: '127.0.0.1', port: bound.port, path: '/', headers: { host: 'a.test' } }, (res) => {
            let b = '';
            res.on('data', (d: Buffer) => (b += d.toString()));
            res.on('end', () => resolve({ status: res.statusCode ?? 0, body: b }));
          })
          .on('error', reject);
      });
      assert.equal(bad.status, 502);
      assert.match(
        bad.body,
        new RegExp(`502 Bad Gateway: 127\\.0\\.0\\.1:${takenPort}: connect ECONNREFUSED`),
      );
    } finally {
      await server.close();
      backend.close();
    }
  });
});

describe('ingress flags', () => {
  const base = ['--data-dir', '/tmp/x', '--kubeconfig', '/tmp/x/k'];
  const run = (...a: string[]) => {
    const r = parseArgs([...base, ...a]);
    assert.equal(r.kind, 'run');
    return r.kind === 'run' ? r.config : undefined;
  };

  it('takes HOST:PORT or off, and refuses anything else with the flag named', () => {
    assert.deepEqual(run('--ingress-http', '0.0.0.0:8080')?.ingressHttp, { host: '0.0.0.0', port: 8080 });
    assert.deepEqual(run('--ingress-https=[::1]:8443')?.ingressHttps, { host: '::1', port: 8443 });
    assert.equal(run('--ingress-http', 'off')?.ingressHttp, null);
    for (const bad of ['80', '127.0.0.1:99999', 'localhost:', ':80x'])
      assert.throws(
        () => run('--ingress-http', bad),
        /--ingress-http wants HOST:PORT \(such as 127\.0\.0\.1:80\) or off/,
      );
  });
});
