/**
 * Patches and server-side apply through the real kubectl 1.32 against berth-kube's API server: client-side apply
 * three-way patches (removed env var, port, container), set image, rollout restart, label, annotate, patch in all
 * three types, edit, server-side apply with conflicts and --force-conflicts, and a python3-kubernetes patch.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { promisify } from 'node:util';
import { startTestServer, type TestServer } from './helpers/apiserver.js';

const run = promisify(execFile);
const KUBECTL = '/usr/lib/google-cloud-sdk/bin/kubectl.1.32';
const have = existsSync(KUBECTL);
if (!have) console.log(`# skipping: ${KUBECTL} is not installed`);
if (!have && process.env.CI === 'true') throw new Error(`${KUBECTL} is required under CI`);

let s: TestServer;
let dir: string;

async function kubectl(args: string[], env: Record<string, string> = {}): Promise<string> {
  const { stdout } = await run(
    KUBECTL,
    ['--kubeconfig', s.kubeconfig, '--cache-dir', path.join(dir, 'cache'), ...args],
    {
      env: { ...process.env, HOME: dir, ...env },
    },
  );
  return stdout;
}

async function kubectlFails(args: string[]): Promise<string> {
  try {
    await kubectl(args);
  } catch (e) {
    return String((e as { stderr?: string }).stderr);
  }
  throw new Error(`kubectl ${args.join(' ')} succeeded`);
}

interface Meta {
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
  managedFields?: { manager: string; operation: string; fieldsV1: unknown }[];
}
interface Container {
  name: string;
  image: string;
  env?: { name: string; value?: string }[];
  ports?: { containerPort: number }[];
}
interface Deploy {
  metadata: Meta;
  spec: { replicas: number; template: { metadata: Meta; spec: { containers: Container[] } } };
}
interface ConfigMap {
  metadata: Meta;
  data: Record<string, string>;
}

async function getJson<T extends { metadata: Meta }>(what: string): Promise<T> {
  return JSON.parse(await kubectl(['get', what, '-o', 'json', '--show-managed-fields'])) as T;
}

function file(name: string, obj: object): string {
  const p = path.join(dir, name);
  writeFileSync(p, JSON.stringify(obj));
  return p;
}

const deployment = (containers: object[], replicas = 2, labels: Record<string, string> = { app: 'web' }) => ({
  apiVersion: 'apps/v1',
  kind: 'Deployment',
  metadata: { name: 'web', namespace: 'default', labels },
  spec: {
    replicas,
    selector: { matchLabels: { app: 'web' } },
    template: { metadata: { labels: { app: 'web' } }, spec: { containers } },
  },
});

const managers = (o: { metadata: Meta }): string[] =>
  (o.metadata.managedFields ?? []).map((e) => `${e.manager}/${e.operation}`);

describe('kubectl 1.32: patches', { skip: !have }, () => {
  before(async () => {
    s = await startTestServer();
    dir = mkdtempSync(path.join(s.dir, 'kubectl-'));
  });
  after(async () => {
    await s?.stop();
  });

  it('client-side apply twice: removed env var, port and container are removed', async () => {
    const app = {
      name: 'app',
      image: 'nginx:1',
      env: [
        { name: 'A', value: '1' },
        { name: 'B', value: '2' },
      ],
      ports: [{ containerPort: 80 }, { containerPort: 81 }],
    };
    await kubectl(['apply', '-f', file('v1.json', deployment([app, { name: 'side', image: 'busybox' }]))]);
    let d = await getJson<Deploy>('deployment/web');
    assert.equal(d.spec.template.spec.containers.length, 2);
    assert.ok(d.metadata.annotations?.['kubectl.kubernetes.io/last-applied-configuration']);
    assert.deepEqual(managers(d), ['kubectl-client-side-apply/Update']);

    const v2 = { ...app, env: [{ name: 'A', value: '1' }], ports: [{ containerPort: 80 }] };
    const out = await kubectl(['apply', '-f', file('v2.json', deployment([v2], 3))]);
    assert.match(out, /deployment.apps\/web configured/);
    d = await getJson<Deploy>('deployment/web');
    const c = d.spec.template.spec.containers;
    assert.deepEqual(
      c.map((x) => x.name),
      ['app'],
    );
    assert.deepEqual(c[0].env, [{ name: 'A', value: '1' }]);
    assert.deepEqual(
      c[0].ports!.map((p) => p.containerPort),
      [80],
    );
    assert.equal(d.spec.replicas, 3);
    assert.match(await kubectl(['apply', '-f', path.join(dir, 'v2.json')]), /unchanged/);
  });

  it('set image, rollout restart, label and annotate (strategic and merge patches)', async () => {
    await kubectl(['set', 'image', 'deployment/web', 'app=nginx:2']);
    await kubectl(['rollout', 'restart', 'deployment/web']);
    await kubectl(['label', 'deployment/web', 'tier=front']);
    await kubectl(['annotate', 'deployment/web', 'note=hi']);
    const d = await getJson<Deploy>('deployment/web');
    assert.equal(d.spec.template.spec.containers[0].image, 'nginx:2');
    assert.ok(d.spec.template.metadata.annotations?.['kubectl.kubernetes.io/restartedAt']);
    assert.equal(d.metadata.labels?.tier, 'front');
    assert.equal(d.metadata.annotations?.note, 'hi');
    for (const m of [
      'kubectl-set/Update',
      'kubectl-rollout/Update',
      'kubectl-label/Update',
      'kubectl-annotate/Update',
    ]) {
      assert.ok(managers(d).includes(m), `${m} in ${managers(d).join(',')}`);
    }
    await kubectl(['label', 'deployment/web', 'tier-']);
    assert.equal((await getJson<Deploy>('deployment/web')).metadata.labels?.tier, undefined);
  });

  it('patch --type strategic, merge and json, and their errors', async () => {
    await kubectl([
      'patch',
      'deployment/web',
      '--type',
      'strategic',
      '-p',
      JSON.stringify({ spec: { template: { spec: { containers: [{ name: 'extra', image: 'busybox' }] } } } }),
    ]);
    let d = await getJson<Deploy>('deployment/web');
    assert.deepEqual(
      d.spec.template.spec.containers.map((x) => x.name),
      ['extra', 'app'],
    );
    await kubectl(['patch', 'deployment/web', '--type', 'merge', '-p', '{"spec":{"replicas":4}}']);
    await kubectl([
      'patch',
      'deployment/web',
      '--type',
      'json',
      '-p',
      '[{"op":"remove","path":"/spec/template/spec/containers/0"}]',
    ]);
    d = await getJson<Deploy>('deployment/web');
    assert.equal(d.spec.replicas, 4);
    assert.equal(d.spec.template.spec.containers.length, 1);
    const failed = await kubectlFails([
      'patch',
      'deployment/web',
      '--type',
      'json',
      '-p',
      '[{"op":"test","path":"/spec/replicas","value":9}]',
    ]);
    assert.match(
      failed,
      /The request is invalid: the server rejected our request due to an error in our request/,
    );
    const bad = await kubectlFails([
      'patch',
      'deployment/web',
      '-p',
      '{"spec":{"template":{"spec":{"containers":[{"image":"x"}]}}}}',
    ]);
    assert.match(bad, /does not contain declared merge key: name/);
  });

  it('edit through KUBE_EDITOR', async () => {
    const editor = path.join(dir, 'editor.sh');
    writeFileSync(editor, '#!/bin/sh\nsed -i "s/replicas: 4/replicas: 6/" "$1"\n', { mode: 0o755 });
    await kubectl(['edit', 'deployment/web'], { KUBE_EDITOR: editor });
    const d = await getJson<Deploy>('deployment/web');
    assert.equal(d.spec.replicas, 6);
    assert.ok(managers(d).includes('kubectl-edit/Update'), managers(d).join(','));
  });

  it('server-side apply: managedFields, a conflict with client-side apply, --force-conflicts', async () => {
    const cm = (data: Record<string, string>) => ({
      apiVersion: 'v1',
      kind: 'ConfigMap',
      metadata: { name: 'ssa', namespace: 'default' },
      data,
    });
    await kubectl(['apply', '--server-side', '-f', file('ssa.json', cm({ a: '1', b: '2' }))]);
    let c = await getJson<ConfigMap>('configmap/ssa');
    assert.deepEqual(managers(c), ['kubectl/Apply']);
    assert.deepEqual(c.metadata.managedFields?.[0]?.fieldsV1, { 'f:data': { 'f:a': {}, 'f:b': {} } });
    await kubectl(['apply', '--server-side', '-f', file('ssa2.json', cm({ a: '1' }))]);
    c = await getJson<ConfigMap>('configmap/ssa');
    assert.deepEqual(c.data, { a: '1' });

    // The deployment's replicas belong to kubectl-client-side-apply / kubectl-edit: another manager conflicts.
    const mine = deployment([{ name: 'app', image: 'nginx:2' }], 9);
    const err = await kubectlFails([
      'apply',
      '--server-side',
      '--field-manager',
      'ci',
      '-f',
      file('ssa-d.json', mine),
    ]);
    assert.match(err, /Apply failed with \d+ conflicts?: conflicts? with "kubectl-/);
    assert.match(err, /\.spec\.replicas/);
    assert.match(err, /--force-conflicts/);
    await kubectl([
      'apply',
      '--server-side',
      '--field-manager',
      'ci',
      '--force-conflicts',
      '-f',
      path.join(dir, 'ssa-d.json'),
    ]);
    const d = await getJson<Deploy>('deployment/web');
    assert.equal(d.spec.replicas, 9);
    assert.ok(managers(d).includes('ci/Apply'), managers(d).join(','));
  });

  it('migrates client-side apply ownership when kubectl switches to --server-side', async () => {
    const obj = {
      apiVersion: 'v1',
      kind: 'ConfigMap',
      metadata: { name: 'mig', namespace: 'default' },
      data: { a: '1' },
    };
    await kubectl(['apply', '-f', file('mig.json', obj)]);
    await kubectl(['apply', '--server-side', '-f', file('mig2.json', { ...obj, data: { a: '2' } })]);
    const c = await getJson<ConfigMap>('configmap/mig');
    assert.equal(c.data.a, '2');
    assert.ok(!managers(c).includes('kubectl-client-side-apply/Update'), managers(c).join(','));
    assert.ok(managers(c).includes('kubectl/Apply'), managers(c).join(','));
  });

  it('python3-kubernetes patches with a strategic merge patch', async () => {
    const script = `
import json, sys
from kubernetes import client, config
config.load_kube_config(config_file=sys.argv[1])
api = client.AppsV1Api()
d = api.patch_namespaced_deployment("web", "default", {"spec": {"template": {"spec": {"containers": [{"name": "app", "image": "nginx:3"}]}}}})
print(json.dumps([c.image for c in d.spec.template.spec.containers]))
`;
    const { stdout } = await run('/usr/bin/python3', ['-c', script, s.kubeconfig]);
    assert.deepEqual(JSON.parse(stdout), ['nginx:3']);
  });
});
