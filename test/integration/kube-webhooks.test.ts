/**
 * Admission webhooks as kube-apiserver calls them, through the real kubectl 1.32: a webhook server this test runs
 * on 127.0.0.1 over TLS with a CA the test makes (url clientConfig, caBundle), denying with its own message and
 * code, mutating with a JSON patch, warnings, dry run, namespace selectors, failurePolicy Fail and Ignore with the
 * server down, a timeout and an unknown CA.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import https from 'node:https';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { requirement } from '../helpers/env.js';
import { KUBECTL_132, startKube, type TestKube } from '../helpers/kube.js';

const skip = requirement(existsSync(KUBECTL_132), 'kubectl 1.32 is not installed');
/** A port in this suite's range nothing listens on: the "server down" webhook. */
const DOWN_PORT = 19201;

interface Review {
  request: {
    uid: string;
    kind: { kind: string };
    operation: string;
    namespace?: string;
    name?: string;
    dryRun: boolean;
    userInfo: { username: string };
    object: { metadata: { name: string; labels?: Record<string, string> }; data?: Record<string, string> };
  };
}

let k: TestKube;
let server: https.Server;
let port = 0;
let caBundle = '';
let otherCaBundle = '';
const seen: Array<{ path: string; review: Review }> = [];

const respond = (review: Review, response: Record<string, unknown>) => ({
  apiVersion: 'admission.k8s.io/v1',
  kind: 'AdmissionReview',
  response: { uid: review.request.uid, ...response },
});

/** The webhook server's answers, by path. */
function answer(p: string, review: Review): unknown {
  const obj = review.request.object;
  switch (p) {
    case '/deny':
      if (obj?.data?.forbidden !== undefined)
        return respond(review, {
          allowed: false,
          status: { code: 403, reason: 'Forbidden', message: 'the key "forbidden" is not allowed' },
          warnings: ['deny.berth.test looked at this ConfigMap'],
        });
      return respond(review, { allowed: true, warnings: ['deny.berth.test looked at this ConfigMap'] });
    case '/label': {
      const ops = obj.metadata.labels
        ? [{ op: 'add', path: '/metadata/labels/webhook', value: 'added' }]
        : [{ op: 'add', path: '/metadata/labels', value: { webhook: 'added' } }];
      return respond(review, {
        allowed: true,
        patchType: 'JSONPatch',
        patch: Buffer.from(JSON.stringify(ops)).toString('base64'),
      });
    }
    default:
      return respond(review, { allowed: true });
  }
}

before(async () => {
  if (skip) return;
  k = await startKube();
  const o = (args: string[]) => execFileSync('openssl', args, { cwd: k.dir, stdio: 'pipe' });
  await k.file('san.ext', 'subjectAltName=IP:127.0.0.1,DNS:hooks.svc-hooked.svc\n');
  const ec = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes'];
  for (const ca of ['ca', 'other'])
    o([
      'req',
      '-x509',
      ...ec,
      '-days',
      '1',
      '-subj',
      `/CN=${ca}`,
      '-keyout',
      `${ca}.key`,
      '-out',
      `${ca}.crt`,
    ]);
  o(['req', ...ec, '-subj', '/CN=webhook', '-keyout', 'server.key', '-out', 'server.csr']);
  o([
    'x509',
    '-req',
    '-in',
    'server.csr',
    '-CA',
    'ca.crt',
    '-CAkey',
    'ca.key',
    '-CAcreateserial',
    '-days',
    '1',
    '-extfile',
    'san.ext',
    '-out',
    'server.crt',
  ]);
  const read = (f: string) => readFileSync(path.join(k.dir, f));
  caBundle = read('ca.crt').toString('base64');
  otherCaBundle = read('other.crt').toString('base64');
  server = https.createServer({ key: read('server.key'), cert: read('server.crt') }, (req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const url = new URL(req.url ?? '/', 'https://x');
      const review = JSON.parse(Buffer.concat(chunks).toString()) as Review;
      seen.push({ path: url.pathname, review });
      if (url.pathname === '/slow') return; // never answers: the timeout test
      assert.equal(url.searchParams.get('timeout'), '10s');
      res.writeHead(200, { 'Content-Type': 'application/json' });
      res.end(JSON.stringify(answer(url.pathname, review)));
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  port = (server.address() as AddressInfo).port;
});

after(async () => {
  if (skip) return;
  server?.closeAllConnections();
  server?.close();
  await k?.destroy();
});

const ok = async (args: string[], input?: string) => {
  const r = await k.kubectl(args, input !== undefined ? { input } : {});
  assert.equal(r.code, 0, `kubectl ${args.join(' ')}: ${r.stderr}`);
  return r;
};
const fails = async (args: string[], input?: string) => {
  const r = await k.kubectl(args, input !== undefined ? { input } : {});
  assert.notEqual(r.code, 0, `kubectl ${args.join(' ')} should fail: ${r.stdout}`);
  return r.stderr;
};

/** A webhook configuration for ConfigMap creates in namespaces labelled hook=<ns>. */
function config(
  kind: 'Validating' | 'Mutating',
  name: string,
  ns: string,
  clientConfig: Record<string, unknown>,
  extra: Record<string, unknown> = {},
): string {
  return JSON.stringify({
    apiVersion: 'admissionregistration.k8s.io/v1',
    kind: `${kind}WebhookConfiguration`,
    metadata: { name },
    webhooks: [
      {
        name: `${name}.berth.test`,
        clientConfig,
        rules: [{ operations: ['CREATE'], apiGroups: [''], apiVersions: ['v1'], resources: ['configmaps'] }],
        namespaceSelector: { matchLabels: { hook: ns } },
        sideEffects: 'None',
        admissionReviewVersions: ['v1'],
        ...extra,
      },
    ],
  });
}

const url = (p: string) => ({ url: `https://127.0.0.1:${port}${p}`, caBundle });

async function namespace(name: string): Promise<void> {
  await ok(['create', 'namespace', name]);
  await ok(['label', 'namespace', name, `hook=${name}`]);
}

describe('admission webhooks', { skip }, () => {
  it('refuses a configuration without sideEffects or a client config, as kube-apiserver', async () => {
    const bad = JSON.parse(config('Validating', 'bad', 'x', {})) as {
      webhooks: Array<Record<string, unknown>>;
    };
    delete bad.webhooks[0].sideEffects;
    const err = await fails(['create', '-f', '-'], JSON.stringify(bad));
    assert.match(err, /The ValidatingWebhookConfiguration "bad" is invalid/);
    assert.match(err, /webhooks\[0\]\.sideEffects: Required value: must specify one of None, NoneOnDryRun/);
    assert.match(
      err,
      /webhooks\[0\]\.clientConfig: Required value: exactly one of url or service is required/,
    );
    const got = await ok(['get', 'validatingwebhookconfigurations', '-o', 'name']);
    assert.doesNotMatch(got.stdout, /bad/);
  });

  it('passes a denial with its code and message, and its warnings, to kubectl', async () => {
    await namespace('deny');
    await ok(['create', '-f', '-'], config('Validating', 'deny', 'deny', url('/deny')));
    const defaulted = JSON.parse(
      (await ok(['get', 'validatingwebhookconfiguration', 'deny', '-o', 'json'])).stdout,
    ) as { webhooks: Array<Record<string, unknown>> };
    assert.equal(defaulted.webhooks[0].failurePolicy, 'Fail');
    assert.equal(defaulted.webhooks[0].timeoutSeconds, 10);
    const err = await fails(['create', 'configmap', 'no', '-n', 'deny', '--from-literal=forbidden=1']);
    assert.match(err, /Warning: deny\.berth\.test looked at this ConfigMap/);
    assert.match(
      err,
      /error: failed to create configmap: admission webhook "deny\.berth\.test" denied the request: the key "forbidden" is not allowed/,
    );
    const raw = await k.kubectl([
      'create',
      'configmap',
      'no',
      '-n',
      'deny',
      '--from-literal=forbidden=1',
      '-v=8',
    ]);
    // The webhook's code and reason, as the Status the server sent (kubectl -v=8 prints it escaped).
    assert.match(raw.stderr, /Response Status: 403 Forbidden/);
    assert.match(raw.stderr, /\\"code\\":403,\\"reason\\":\\"Forbidden\\"/);
    const r = await ok(['create', 'configmap', 'yes', '-n', 'deny', '--from-literal=fine=1']);
    assert.match(r.stderr, /Warning: deny\.berth\.test looked at this ConfigMap/);
    const review = seen.find((s) => s.path === '/deny' && s.review.request.name === 'yes')!.review;
    assert.equal(review.request.kind.kind, 'ConfigMap');
    assert.equal(review.request.operation, 'CREATE');
    assert.equal(review.request.namespace, 'deny');
    assert.equal(review.request.userInfo.username, 'berth-admin');
    assert.equal(review.request.dryRun, false);
    // Outside the selected namespace the webhook is not asked.
    const before = seen.length;
    await ok(['create', 'configmap', 'elsewhere', '-n', 'default', '--from-literal=forbidden=1']);
    assert.equal(seen.length, before);
  });

  it('applies a mutating webhook JSON patch, also on a server dry run', async () => {
    await namespace('mutate');
    await ok(['create', '-f', '-'], config('Mutating', 'label', 'mutate', url('/label')));
    await ok(['create', 'configmap', 'patched', '-n', 'mutate', '--from-literal=a=1']);
    const labels = await ok([
      'get',
      'configmap',
      'patched',
      '-n',
      'mutate',
      '-o',
      'jsonpath={.metadata.labels}',
    ]);
    assert.equal(labels.stdout, '{"webhook":"added"}');
    const dry = await ok([
      'create',
      'configmap',
      'dry',
      '-n',
      'mutate',
      '--dry-run=server',
      '-o',
      'jsonpath={.metadata.labels}',
    ]);
    assert.equal(dry.stdout, '{"webhook":"added"}');
    assert.equal(seen.at(-1)!.review.request.dryRun, true);
    const gone = await fails(['get', 'configmap', 'dry', '-n', 'mutate']);
    assert.match(gone, /configmaps "dry" not found/);
  });

  it('fails closed or open with the webhook down, as its failurePolicy says', async () => {
    await namespace('down');
    await ok(
      ['create', '-f', '-'],
      config('Validating', 'down', 'down', { url: `https://127.0.0.1:${DOWN_PORT}/`, caBundle }),
    );
    const err = await fails(['create', 'configmap', 'a', '-n', 'down']);
    assert.match(
      err,
      new RegExp(
        `Internal error occurred: failed calling webhook "down\\.berth\\.test": failed to call webhook: Post "https://127\\.0\\.0\\.1:${DOWN_PORT}/\\?timeout=10s": dial tcp 127\\.0\\.0\\.1:${DOWN_PORT}: connect: connection refused`,
      ),
    );
    await ok([
      'patch',
      'validatingwebhookconfiguration',
      'down',
      '--type=json',
      '-p',
      '[{"op":"replace","path":"/webhooks/0/failurePolicy","value":"Ignore"}]',
    ]);
    await ok(['create', 'configmap', 'a', '-n', 'down']);
  });

  it('gives up after timeoutSeconds and refuses a server its caBundle does not trust', async () => {
    await namespace('slow');
    await ok(
      ['create', '-f', '-'],
      config('Validating', 'slow', 'slow', url('/slow'), { timeoutSeconds: 1 }),
    );
    const t0 = Date.now();
    const err = await fails(['create', 'configmap', 'a', '-n', 'slow']);
    assert.ok(Date.now() - t0 < 8000, 'the webhook timeout ended the request');
    assert.match(
      err,
      new RegExp(
        `failed calling webhook "slow\\.berth\\.test": failed to call webhook: Post "https://127\\.0\\.0\\.1:${port}/slow\\?timeout=1s": context deadline exceeded`,
      ),
    );
    await namespace('untrusted');
    await ok(
      ['create', '-f', '-'],
      config('Validating', 'untrusted', 'untrusted', {
        url: `https://127.0.0.1:${port}/deny`,
        caBundle: otherCaBundle,
      }),
    );
    const e2 = await fails(['create', 'configmap', 'a', '-n', 'untrusted']);
    assert.match(e2, /tls: failed to verify certificate: x509: certificate signed by unknown authority/);
  });

  it('reaches a Service-backed webhook through its endpoints, verified under <svc>.<ns>.svc', async () => {
    await namespace('svc-hooked');
    // A Service without a selector whose Endpoints name the test's webhook server.
    await ok(
      ['create', '-f', '-'],
      JSON.stringify({
        apiVersion: 'v1',
        kind: 'List',
        items: [
          {
            apiVersion: 'v1',
            kind: 'Service',
            metadata: { name: 'hooks', namespace: 'svc-hooked' },
            spec: { ports: [{ name: 'https', port: 443, targetPort: port }] },
          },
          {
            apiVersion: 'v1',
            kind: 'Endpoints',
            metadata: { name: 'hooks', namespace: 'svc-hooked' },
            subsets: [{ addresses: [{ ip: '127.0.0.1' }], ports: [{ name: 'https', port }] }],
          },
        ],
      }),
    );
    await ok(
      ['create', '-f', '-'],
      config('Validating', 'by-service', 'svc-hooked', {
        service: { namespace: 'svc-hooked', name: 'hooks', path: '/deny' },
        caBundle,
      }),
    );
    const err = await fails(['create', 'configmap', 'no', '-n', 'svc-hooked', '--from-literal=forbidden=1']);
    assert.match(
      err,
      /admission webhook "by-service\.berth\.test" denied the request: the key "forbidden" is not allowed/,
    );
    await ok(['create', 'configmap', 'yes', '-n', 'svc-hooked']);
    await ok(['delete', 'service', 'hooks', '-n', 'svc-hooked']);
    const gone = await fails(['create', 'configmap', 'later', '-n', 'svc-hooked']);
    assert.match(
      gone,
      /failed calling webhook "by-service\.berth\.test": failed to call webhook: Post "https:\/\/hooks\.svc-hooked\.svc:443\/deny\?timeout=10s": service "hooks" not found/,
    );
  });
});
