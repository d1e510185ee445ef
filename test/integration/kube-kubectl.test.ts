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

/** Runs `kubectl args` (a watch) until its output matches `until` or 10 s pass, then stops it. */
async function watching(args: string[], until: RegExp, act: () => Promise<void>): Promise<string> {
  const p = spawn(
    KUBECTL_132,
    ['--kubeconfig', k.kubeconfig, '--cache-dir', path.join(k.dir, 'cache'), ...args],
    {
      env: { ...process.env, HOME: k.dir },
    },
  );
  let out = '';
  p.stdout.on('data', (d: Buffer) => (out += d.toString()));
  p.stderr.on('data', (d: Buffer) => (out += d.toString()));
  await new Promise((r) => setTimeout(r, 800));
  await act();
  const deadline = performance.now() + 10_000;
  while (!until.test(out) && performance.now() < deadline) await new Promise((r) => setTimeout(r, 50));
  p.kill();
  return out;
}

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
    // UP-TO-DATE: the controllers may have made the ReplicaSet already; no node yet, so nothing is ready.
    assert.match(wide, /\nshop\s+0\/2\s+[02]\s+0\s+\S+\s+web\s+nginx:1\.27\s+app=shop\n/);
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

  it('applies a kind: List, as `get -o yaml` writes it, validated on the client from the protobuf OpenAPI', async () => {
    // A List is no kind the server validates, so kubectl validates it itself from /openapi/v2, which it reads
    // only as gnostic protobuf (proto.Unmarshal of JSON failed: "cannot parse invalid wire-format data").
    await ok(['create', '-f', '-'], cm('listed-a') + '---\n' + cm('listed-b'));
    const listed = await ok(['get', 'cm', 'listed-a', 'listed-b', '-o', 'yaml']);
    assert.match(listed, /^kind: List$/m);
    await ok(['apply', '-f', '-'], listed.replace(/a: "1"/g, 'a: "7"'));
    assert.equal(await ok(['get', 'cm', 'listed-b', '-o', 'jsonpath={.data.a}']), '7');
    const bad =
      'apiVersion: v1\nkind: List\nitems:\n- ' +
      cm('listed-c')
        .replace('\ndata:', '\ndataa:')
        .replace(/\n(?=.)/g, '\n  ');
    assert.match(
      await fails(['apply', '-f', '-'], bad),
      /error validating data: ValidationError\(ConfigMap\): unknown field "dataa" in io\.k8s\.api\.core\.v1\.ConfigMap/,
    );
    assert.match(await fails(['get', 'cm', 'listed-c']), /NotFound/);
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
    const deadline = performance.now() + 10_000;
    while (!/DELETED/.test(out) && performance.now() < deadline) await new Promise((r) => setTimeout(r, 50));
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
    const deadline = performance.now() + 10_000;
    while ((await k.kubectl(['get', 'cm', 'dependent'])).code === 0 && performance.now() < deadline)
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

  it('prints templates, sorted and headerless tables, lists as JSON and YAML', async () => {
    for (const [n, v] of [
      ['fmt-b', '2'],
      ['fmt-a', '1'],
      ['fmt-c', '3'],
    ])
      await ok(['create', '-f', '-'], cm(n, '{fmt: "yes"}', `{v: "${v}"}`));
    const sel = ['get', 'cm', '-l', 'fmt=yes'];
    assert.equal(
      await ok([...sel, '-o', 'go-template={{range .items}}{{.metadata.name}}={{.data.v}} {{end}}']),
      'fmt-a=1 fmt-b=2 fmt-c=3 ',
    );
    assert.equal(await ok(['get', 'cm', 'fmt-a', '-o', 'template={{.data.v}}']), '1');
    assert.deepEqual(JSON.parse(await ok([...sel, '-o', 'jsonpath-as-json={.items[*].data.v}'])), [
      '1',
      '2',
      '3',
    ]);
    assert.equal(
      await ok([
        ...sel,
        '-o',
        `jsonpath-file=${await k.file('names.jsonpath', '{.items[*].metadata.name}')}`,
      ]),
      'fmt-a fmt-b fmt-c',
    );
    assert.match(
      await ok([
        ...sel,
        '-o',
        `custom-columns-file=${await k.file('cols.txt', 'NAME V\n.metadata.name .data.v\n')}`,
      ]),
      /^NAME\s+V\nfmt-a\s+1\nfmt-b\s+2\nfmt-c\s+3\n$/,
    );
    assert.match(await ok([...sel, '--no-headers']), /^fmt-a\s+1\s+\S+\nfmt-b/);
    assert.match(
      await ok([...sel, '--sort-by=.data.v', '-o', 'name']),
      /^configmap\/fmt-a\nconfigmap\/fmt-b\nconfigmap\/fmt-c\n$/,
    );
    const list = JSON.parse(await ok([...sel, '-o', 'json'])) as { kind: string; items: unknown[] };
    assert.equal(list.kind, 'List');
    assert.equal(list.items.length, 3);
    assert.match(await ok([...sel, '-o', 'yaml']), /^apiVersion: v1\nitems:\n- apiVersion: v1\n/);
    assert.match(await ok(['get', 'cm,deploy', '-l', 'fmt=yes', '-o', 'name']), /^configmap\/fmt-a\n/);
    assert.match(
      await ok(['api-resources', '-o', 'wide', '--api-group=']),
      /\nconfigmaps\s+cm\s+v1\s+true\s+ConfigMap\s+create,delete,deletecollection,get,list,patch,update,watch\s*\n/,
    );
  });

  it('watches objects as JSON and names, and only changes with --watch-only', async () => {
    await ok(['create', '-f', '-'], cm('w-json', '{wj: "yes"}'));
    const json = await watching(['get', 'cm', 'w-json', '-w', '-o', 'json'], /"v": "2"/, async () => {
      await ok(['patch', 'cm', 'w-json', '--type', 'merge', '-p', '{"data":{"v":"2"}}']);
    });
    assert.match(json, /^\{\n {4}"apiVersion": "v1",/);
    assert.equal((json.match(/"kind": "ConfigMap"/g) ?? []).length, 2);
    const names = await watching(
      ['get', 'cm', '-l', 'wj=yes', '--watch-only', '-o', 'name'],
      /w-later/,
      async () => {
        await ok(['create', '-f', '-'], cm('w-later', '{wj: "yes"}'));
      },
    );
    assert.equal(names, 'configmap/w-later\n');
  });

  it('runs every write as a server dry run without storing it', async () => {
    assert.match(
      await ok(['create', '--dry-run=server', '-f', '-'], cm('dry')),
      /^configmap\/dry created \(server dry run\)\n$/,
    );
    const created = JSON.parse(
      await ok(['create', '--dry-run=server', '-o', 'json', '-f', '-'], cm('dry')),
    ) as {
      metadata: Record<string, unknown>;
    };
    assert.match(String(created.metadata.uid), /^[0-9a-f-]{36}$/);
    assert.equal(created.metadata.resourceVersion, undefined);
    assert.match(await fails(['get', 'cm', 'dry']), /configmaps "dry" not found/);
    assert.match(
      await ok(['apply', '--dry-run=server', '-f', '-'], cm('dry')),
      /configmap\/dry created \(server dry run\)/,
    );
    assert.match(
      await ok(['apply', '--server-side', '--dry-run=server', '-f', '-'], cm('dry')),
      /configmap\/dry serverside-applied \(server dry run\)/,
    );
    await ok(['create', '-f', '-'], cm('dry-live'));
    const before = await ok(['get', 'cm', 'dry-live', '-o', 'jsonpath={.metadata.resourceVersion}']);
    assert.match(
      await ok(['label', 'cm', 'dry-live', 'x=y', '--dry-run=server']),
      /configmap\/dry-live labeled \(server dry run\)/,
    );
    assert.match(
      await ok(['patch', 'cm', 'dry-live', '--dry-run=server', '-p', '{"data":{"a":"9"}}']),
      // kubectl 1.32's patch sets its printer's operation after the dry-run suffix: no "(server dry run)".
      /^configmap\/dry-live patched\n$/,
    );
    assert.match(
      await ok(['replace', '--dry-run=server', '-f', '-'], cm('dry-live', '{}', '{a: "7"}')),
      /configmap\/dry-live replaced \(server dry run\)/,
    );
    assert.match(
      await ok(['delete', 'cm', 'dry-live', '--dry-run=server']),
      /configmap "dry-live" deleted \(server dry run\)/,
    );
    assert.equal(
      await ok([
        'get',
        'cm',
        'dry-live',
        '-o',
        'jsonpath={.metadata.resourceVersion}/{.data.a}/{.metadata.labels}',
      ]),
      `${before}/1/`,
    );
  });

  it('prints plain server errors and parameter errors as kube-apiserver sends them', async () => {
    // kubectl create clears a resourceVersion itself; --raw sends the file as it is.
    const withRv = await k.file(
      'rv.json',
      JSON.stringify({
        apiVersion: 'v1',
        kind: 'ConfigMap',
        metadata: { name: 'rv-set', resourceVersion: '12' },
      }),
    );
    assert.match(
      await fails(['create', '--raw', '/api/v1/namespaces/default/configmaps', '-f', withRv]),
      /^Error from server: resourceVersion should not be set on objects to be created\n/,
    );
    assert.match(
      await fails(['get', '--raw', '/api/v1/namespaces/default/configmaps?limit=ten']),
      /^Error from server \(BadRequest\): strconv\.ParseInt: parsing "ten": invalid syntax\n/,
    );
    assert.match(
      await fails(['get', '--raw', '/api/v1/namespaces/default/configmaps?resourceVersion=x']),
      /^Error from server: resourceVersion: Invalid value: "x": strconv\.ParseUint: parsing "x": invalid syntax\n/,
    );
    assert.match(
      await fails(['get', '--raw', '/api/v1/namespaces/default/configmaps?limit=1&continue=bm90LWpzb24']),
      /^Error from server \(BadRequest\): invalid continue token: continue key is not valid: invalid character 'o' in literal null \(expecting 'u'\)\n/,
    );
    assert.match(
      await fails(['get', '--raw', '/api/v1/nodes?watch=true&resourceVersionMatch=Exact&resourceVersion=1']),
      /^The ListOptions "" is invalid: \n\* resourceVersionMatch: Forbidden: resourceVersionMatch is forbidden for watch unless sendInitialEvents is provided\n\* resourceVersionMatch: Unsupported value: "Exact": supported values: "NotOlderThan"\n$/,
    );
    assert.match(
      await fails(['delete', '--raw', '/api/v1/namespaces/default/configmaps/none?propagationPolicy=Later']),
      /^The DeleteOptions "" is invalid: propagationPolicy: Unsupported value: "Later": supported values: "Foreground", "Background", "Orphan", "nil"\n$/,
    );
  });

  it('deletes a collection through python3-kubernetes, dry run first', async () => {
    for (const n of ['py-1', 'py-2', 'py-3'])
      await ok(['create', '-f', '-'], cm(n, `{py: "${n === 'py-3' ? 'keep' : 'go'}"}`));
    const script = `
import sys
from kubernetes import client, config
config.load_kube_config(config_file=sys.argv[1])
v1 = client.CoreV1Api()
v1.delete_collection_namespaced_config_map("default", label_selector="py=go", dry_run="All")
print("left", ",".join(sorted(c.metadata.name for c in v1.list_namespaced_config_map("default", label_selector="py").items)))
v1.delete_collection_namespaced_config_map("default", label_selector="py=go")
print("after", ",".join(sorted(c.metadata.name for c in v1.list_namespaced_config_map("default", label_selector="py").items)))
`;
    const { run } = await import('../helpers/exec.js');
    const r = await run('/usr/bin/python3', ['-c', script, k.kubeconfig]);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout, 'left py-1,py-2,py-3\nafter py-3\n');
  });
});
