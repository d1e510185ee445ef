/**
 * berth-kube's API server through the real kubectl 1.32 (and the /usr/bin/kubectl dispatcher): get in every
 * output mode, watch, paging, create/replace/apply/label/annotate/delete with cascade modes, discovery commands,
 * and the bad-input cases with kube-apiserver's exact messages.
 */
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { spawn } from 'node:child_process';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { requirement } from '../helpers/env.js';
import { KUBECTL_132, KUBECTL_DISPATCHER, startKube, type TestKube } from '../helpers/kube.js';

const skip = requirement(
  existsSync(KUBECTL_132) && existsSync(KUBECTL_DISPATCHER),
  'kubectl 1.32 is not installed',
);
let k: TestKube;

before(async () => {
  if (!skip) k = await startKube();
});
after(async () => {
  if (!skip) await k.destroy();
});

const ok = async (args: string[], input?: string) => {
  const r = await k.kubectl(args, input !== undefined ? { input } : {});
  assert.equal(r.code, 0, `kubectl ${args.join(' ')}: ${r.stderr}`);
  return r.stdout;
};
const fails = async (args: string[], input?: string) => {
  const r = await k.kubectl(args, input !== undefined ? { input } : {});
  assert.notEqual(r.code, 0, `kubectl ${args.join(' ')} should fail: ${r.stdout}`);
  return r.stderr;
};

const cm = (name: string, labels = '{}', data = '{a: "1"}') =>
  `apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: ${name}\n  labels: ${labels}\ndata: ${data}\n`;
const deployment = (name: string) => `apiVersion: apps/v1
kind: Deployment
metadata: {name: ${name}, labels: {app: ${name}}}
spec:
  replicas: 2
  selector: {matchLabels: {app: ${name}}}
  template:
    metadata: {labels: {app: ${name}}}
    spec:
      containers: [{name: web, image: "nginx:1.27"}]
`;

describe('kubectl against berth-kube', { skip }, () => {
  it('reports version 1.32 through the dispatcher and lists resources and versions', async () => {
    const v = await k.kubectl(['version'], { binary: KUBECTL_DISPATCHER });
    assert.equal(v.code, 0, v.stderr);
    assert.match(v.stdout, /Server Version: v1\.32\.\d+\+berth/);
    const res = await ok(['api-resources']);
    assert.match(res, /\ndeployments\s+deploy\s+apps\/v1\s+true\s+Deployment\n/);
    assert.match(res, /\npods\s+po\s+v1\s+true\s+Pod\n/);
    const cats = await ok(['api-resources', '--categories=all', '-o', 'name']);
    assert.deepEqual(cats.trim().split('\n').sort(), [
      'cronjobs.batch',
      'daemonsets.apps',
      'deployments.apps',
      'horizontalpodautoscalers.autoscaling',
      'jobs.batch',
      'pods',
      'replicasets.apps',
      'replicationcontrollers',
      'services',
      'statefulsets.apps',
    ]);
    const versions = await ok(['api-versions']);
    for (const gv of ['v1', 'apps/v1', 'autoscaling/v2', 'batch/v1', 'rbac.authorization.k8s.io/v1'])
      assert.match(versions, new RegExp(`^${gv}$`, 'm'));
  });

  it('creates and gets in every output mode', async () => {
    await ok(['create', '-f', '-'], cm('web', '{app: web, tier: front}'));
    await ok(['create', '-f', '-'], cm('db', '{app: db}'));
    await ok(['create', '-f', '-'], deployment('shop'));
    const table = await ok(['get', 'configmaps']);
    assert.match(table, /^NAME\s+DATA\s+AGE\n/);
    assert.match(table, /\nweb\s+1\s+\d+s\n/);
    const wide = await ok(['get', 'deploy', '-o', 'wide']);
    assert.match(wide, /^NAME\s+READY\s+UP-TO-DATE\s+AVAILABLE\s+AGE\s+CONTAINERS\s+IMAGES\s+SELECTOR\n/);
    assert.match(wide, /\nshop\s+0\/2\s+0\s+0\s+\S+\s+web\s+nginx:1\.27\s+app=shop\n/);
    const json = JSON.parse(await ok(['get', 'cm', 'web', '-o', 'json'])) as {
      metadata: { uid: string; resourceVersion: string };
    };
    assert.match(json.metadata.uid, /^[0-9a-f-]{36}$/);
    assert.match(
      await ok(['get', 'cm', 'web', '-o', 'yaml']),
      /^apiVersion: v1\ndata:\n {2}a: "1"\nkind: ConfigMap\n/,
    );
    assert.equal(await ok(['get', 'cm', '-l', 'app=web', '-o', 'name']), 'configmap/web\n');
    assert.equal(await ok(['get', 'cm', '-l', 'app in (db,nope)', '-o', 'name']), 'configmap/db\n');
    assert.equal(
      await ok([
        'get',
        'cm',
        '--field-selector',
        'metadata.name=db',
        '-o',
        'jsonpath={.items[*].metadata.labels.app}',
      ]),
      'db',
    );
    assert.match(
      await ok(['get', 'cm', 'web', '-o', 'custom-columns=N:.metadata.name,T:.metadata.labels.tier']),
      /^N\s+T\nweb\s+front\n$/,
    );
    assert.match(await ok(['get', 'cm', 'web', '--show-labels']), /\nweb\s+1\s+\S+\s+app=web,tier=front\n/);
    const all = await ok(['get', 'svc', '-A']);
    assert.match(all, /^NAMESPACE\s+NAME\s+TYPE\s+CLUSTER-IP\s+EXTERNAL-IP\s+PORT\(S\)\s+AGE\n/);
    assert.match(all, /\ndefault\s+kubernetes\s+ClusterIP\s+10\.43\.0\.1\s+<none>\s+443\/TCP\s+/);
    assert.match(await ok(['get', 'all']), /deployment\.apps\/shop/);
    assert.match(await ok(['get', 'namespaces']), /\nkube-system\s+Active\s+/);
  });

  it('labels, annotates, replaces and applies', async () => {
    await ok(['label', 'cm', 'web', 'env=prod']);
    await ok(['annotate', 'cm', 'web', 'note=hello']);
    const o = JSON.parse(await ok(['get', 'cm', 'web', '-o', 'json'])) as {
      metadata: { labels: Record<string, string>; annotations: Record<string, string> };
    };
    assert.equal(o.metadata.labels.env, 'prod');
    assert.equal(o.metadata.annotations.note, 'hello');
    await ok(['replace', '-f', '-'], cm('web', '{app: web}', '{a: "2"}'));
    assert.equal(await ok(['get', 'cm', 'web', '-o', 'jsonpath={.data.a}']), '2');
    await ok(['apply', '-f', '-'], cm('applied', '{app: applied}'));
    await ok(['apply', '-f', '-'], cm('applied', '{app: applied}', '{a: "3"}'));
    assert.equal(await ok(['get', 'cm', 'applied', '-o', 'jsonpath={.data.a}']), '3');
    await ok(['apply', '--server-side', '-f', '-'], cm('ssa', '{app: ssa}'));
    assert.match(
      await ok(['get', 'cm', 'ssa', '-o', 'jsonpath={.metadata.managedFields[0].manager}']),
      /^kubectl/,
    );
  });

  it('refuses a stale resourceVersion with 409', async () => {
    const cur = JSON.parse(await ok(['get', 'cm', 'db', '-o', 'json'])) as {
      metadata: { resourceVersion: string };
    };
    await ok(['label', 'cm', 'db', 'bump=1']);
    const stale = `apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: db\n  resourceVersion: "${cur.metadata.resourceVersion}"\ndata: {a: "9"}\n`;
    const err = await fails(['replace', '-f', '-'], stale);
    assert.match(
      err,
      /Error from server \(Conflict\): error when replacing "STDIN": Operation cannot be fulfilled on configmaps "db": the object has been modified; please apply your changes to the latest version and try again/,
    );
  });

  it('watches with -w and pages with --chunk-size', async () => {
    const watcher = spawn(
      KUBECTL_132,
      [
        '--kubeconfig',
        k.kubeconfig,
        '--cache-dir',
        path.join(k.dir, 'cache'),
        'get',
        'cm',
        '-l',
        'watch=me',
        '-w',
        '--output-watch-events',
      ],
      {
        env: { ...process.env, HOME: k.dir },
      },
    );
    let out = '';
    watcher.stdout.on('data', (d: Buffer) => (out += d.toString()));
    await new Promise((r) => setTimeout(r, 1000));
    await ok(['create', '-f', '-'], cm('watched', '{watch: me}'));
    await ok(['delete', 'cm', 'watched']);
    const deadline = Date.now() + 10_000;
    while (!/DELETED/.test(out) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
    watcher.kill();
    assert.match(out, /EVENT\s+NAME\s+DATA\s+AGE\n/);
    assert.match(out, /\nADDED\s+watched\s+1\s+/);
    assert.match(out, /\nDELETED\s+watched\s+1\s+/);
    for (let i = 0; i < 7; i++) await ok(['create', '-f', '-'], cm(`chunk-${i}`, '{chunk: "yes"}'));
    const r = await k.kubectl(['get', 'cm', '-l', 'chunk=yes', '--chunk-size=2', '-o', 'name', '-v=6']);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout.trim().split('\n').length, 7);
    assert.ok((r.stderr.match(/continue=/g) ?? []).length >= 3, 'kubectl followed continue tokens');
  });

  it('deletes with each cascade mode', async () => {
    const owner = JSON.parse(await ok(['create', '-f', '-', '-o', 'json'], cm('owner'))) as {
      metadata: { uid: string };
    };
    const dep = (name: string, uid: string) =>
      `apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: ${name}\n  ownerReferences:\n  - {apiVersion: v1, kind: ConfigMap, name: owner, uid: ${uid}, blockOwnerDeletion: true}\n`;
    await ok(['create', '-f', '-'], dep('dependent', owner.metadata.uid));
    await ok(['delete', 'cm', 'owner', '--cascade=orphan']);
    assert.equal(await ok(['get', 'cm', 'dependent', '-o', 'jsonpath={.metadata.ownerReferences}']), '');
    const o2 = JSON.parse(await ok(['create', '-f', '-', '-o', 'json'], cm('owner'))) as {
      metadata: { uid: string };
    };
    await ok(['delete', 'cm', 'dependent']);
    await ok(['create', '-f', '-'], dep('dependent', o2.metadata.uid));
    await ok(['delete', 'cm', 'owner', '--cascade=foreground']);
    assert.match(await fails(['get', 'cm', 'dependent']), /NotFound|not found/);
    const o3 = JSON.parse(await ok(['create', '-f', '-', '-o', 'json'], cm('owner'))) as {
      metadata: { uid: string };
    };
    await ok(['create', '-f', '-'], dep('dependent', o3.metadata.uid));
    await ok(['delete', 'cm', 'owner', '--cascade=background']);
    const deadline = Date.now() + 10_000;
    while ((await k.kubectl(['get', 'cm', 'dependent'])).code === 0 && Date.now() < deadline)
      await new Promise((r) => setTimeout(r, 100));
    assert.match(await fails(['get', 'cm', 'dependent']), /not found/);
  });

  it('answers bad input with kube-apiserver Statuses', async () => {
    assert.match(
      await fails(['create', '-f', '-'], cm('Bad_Name')),
      /The ConfigMap "Bad_Name" is invalid: metadata\.name: Invalid value: "Bad_Name": a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters/,
    );
    const big = `apiVersion: v1\nkind: ConfigMap\nmetadata: {name: big}\ndata: {a: "${'x'.repeat(1024 * 1024 + 10)}"}\n`;
    assert.match(
      await fails(['create', '-f', '-'], big),
      /The ConfigMap "big" is invalid: \[\]: Too long: may not be more than 1048576 bytes/,
    );
    const huge = `apiVersion: v1\nkind: ConfigMap\nmetadata: {name: huge}\ndata: {a: "${'x'.repeat(3 * 1024 * 1024 + 10)}"}\n`;
    assert.match(await fails(['create', '-f', '-'], huge), /Request entity too large: limit is 3145728/);
    assert.match(
      await fails(['delete', 'namespace', 'kube-system']),
      /Error from server \(Forbidden\): namespaces "kube-system" is forbidden: this namespace may not be deleted/,
    );
    assert.match(
      await fails(['create', '-n', 'ghost', '-f', '-'], cm('x')),
      /Error from server \(NotFound\): error when creating "STDIN": namespaces "ghost" not found/,
    );
  });

  it('answers 403 to a user without rights and 401 to bad credentials', async () => {
    const { readFileSync, writeFileSync } = await import('node:fs');
    const { run } = await import('../helpers/exec.js');
    const pki = path.join(k.dataDir, 'pki');
    const key = path.join(k.dir, 'jane.key');
    const csr = path.join(k.dir, 'jane.csr');
    const crt = path.join(k.dir, 'jane.crt');
    for (const args of [
      ['ecparam', '-name', 'prime256v1', '-genkey', '-noout', '-out', key],
      ['req', '-new', '-key', key, '-subj', '/O=dev/CN=jane', '-out', csr],
      [
        'x509',
        '-req',
        '-in',
        csr,
        '-CA',
        path.join(pki, 'ca.crt'),
        '-CAkey',
        path.join(pki, 'ca.key'),
        '-CAcreateserial',
        '-days',
        '1',
        '-out',
        crt,
      ],
    ]) {
      const r = await run('openssl', args);
      assert.equal(r.code, 0, r.stderr);
    }
    const admin = readFileSync(k.kubeconfig, 'utf8');
    const b64 = (f: string) => Buffer.from(readFileSync(f)).toString('base64');
    const jane = admin
      .replace(/client-certificate-data: \S+/, `client-certificate-data: ${b64(crt)}`)
      .replace(/client-key-data: \S+/, `client-key-data: ${b64(key)}`);
    const janeFile = path.join(k.dir, 'jane.kubeconfig');
    writeFileSync(janeFile, jane);
    const r = await k.kubectl(['get', 'pods'], { kubeconfig: janeFile });
    assert.notEqual(r.code, 0);
    assert.match(
      r.stderr,
      /Error from server \(Forbidden\): pods is forbidden: User "jane" cannot list resource "pods" in API group "" in the namespace "default"/,
    );
    const bad = admin.replace(
      / {4}client-certificate-data: \S+\n {4}client-key-data: \S+\n/,
      '    token: not-a-token\n',
    );
    const badFile = path.join(k.dir, 'bad.kubeconfig');
    writeFileSync(badFile, bad);
    const b = await k.kubectl(['get', 'pods'], { kubeconfig: badFile });
    assert.notEqual(b.code, 0);
    assert.match(b.stderr, /You must be logged in to the server \(Unauthorized\)/);
  });
});
