/**
 * Duplicate fields on every write path, over HTTPS against a running API server: create, update, the status and
 * scale subresources, and each patch type, for a built-in kind and a custom resource. Strict fails each one with
 * kube-apiserver's status and words (400 for decoded bodies, 422 `patch: Invalid value` for patches, 400
 * `error strict decoding YAML` for apply); Warn writes the object and says so in a `Warning` header.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { startTestServer, type TestServer } from './helpers/apiserver.js';

let s: TestServer;
const CM = '/api/v1/namespaces/default/configmaps';
const DEPLOY = '/apis/apps/v1/namespaces/default/deployments';
const WIDGETS = '/apis/ex.io/v1/namespaces/default/widgets';

const crd = {
  apiVersion: 'apiextensions.k8s.io/v1',
  kind: 'CustomResourceDefinition',
  metadata: { name: 'widgets.ex.io' },
  spec: {
    group: 'ex.io',
    scope: 'Namespaced',
    names: { plural: 'widgets', singular: 'widget', kind: 'Widget' },
    versions: [
      {
        name: 'v1',
        served: true,
        storage: true,
        subresources: {
          status: {},
          scale: { specReplicasPath: '.spec.replicas', statusReplicasPath: '.status.replicas' },
        },
        schema: {
          openAPIV3Schema: {
            type: 'object',
            properties: {
              spec: {
                type: 'object',
                properties: { size: { type: 'string' }, replicas: { type: 'integer' } },
              },
              status: { type: 'object', properties: { replicas: { type: 'integer' } } },
            },
          },
        },
      },
    ],
  },
};

const deployment = {
  apiVersion: 'apps/v1',
  kind: 'Deployment',
  metadata: { name: 'web' },
  spec: {
    selector: { matchLabels: { app: 'web' } },
    template: {
      metadata: { labels: { app: 'web' } },
      spec: { containers: [{ name: 'web', image: 'nginx' }] },
    },
  },
};

async function ok(method: string, path: string, body: object): Promise<void> {
  const r = await s.request(method, path, { body });
  assert.ok(r.status < 300, `${method} ${path}: ${r.status} ${r.text}`);
}

before(async () => {
  s = await startTestServer();
  await ok('POST', '/apis/apiextensions.k8s.io/v1/customresourcedefinitions', crd);
  for (let i = 0; (await s.request('GET', WIDGETS)).status !== 200; i++) {
    assert.ok(i < 100, 'the CRD was not served within 10 s');
    await new Promise((r) => setTimeout(r, 100));
  }
  await ok('POST', CM, { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'c1' }, data: { a: '0' } });
  await ok('POST', DEPLOY, deployment);
  await ok('POST', WIDGETS, {
    apiVersion: 'ex.io/v1',
    kind: 'Widget',
    metadata: { name: 'w1' },
    spec: { size: 'big', replicas: 1 },
  });
});
after(() => s?.stop());

interface Row {
  name: string;
  method: 'POST' | 'PUT' | 'PATCH';
  path: string;
  type?: string;
  /** The body; `RV` is replaced by the object's current resourceVersion (custom resources need one on PUT). */
  body: string;
  /** Strict's answer: the status and the end of the message. */
  status: number;
  message: RegExp;
  /** Warn's warning text. */
  warning: string;
}

const cmBody = (name: string) =>
  `{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"${name}"},"data":{"a":"1","a":"2"}}`;
const deployStatus = JSON.stringify({ ...deployment, status: { replicas: 7 } }).replace(
  '"replicas":7',
  '"replicas":1,"replicas":2',
);
const widget = (extra: string) =>
  `{"apiVersion":"ex.io/v1","kind":"Widget","metadata":{"name":"w1","resourceVersion":"RV"},${extra}}`;
const scale = (name: string) =>
  `{"apiVersion":"autoscaling/v1","kind":"Scale","metadata":{"name":"${name}","resourceVersion":"RV"},"spec":{"replicas":1,"replicas":2}}`;
const decodeError = (kind: string, field: string) =>
  new RegExp(
    `^${kind} in version "v1" cannot be handled as a ${kind}: strict decoding error: duplicate field "${field}"$`,
  );
const patchError = (field: string) =>
  new RegExp(`^ "" is invalid: patch: Invalid value: ".*": strict decoding error: ${field}$`);
const MERGE = 'application/merge-patch+json';
const JSONPATCH = 'application/json-patch+json';
const SMP = 'application/strategic-merge-patch+json';
const APPLY = 'application/apply-patch+yaml';
const yamlDup = (key: string) =>
  new RegExp(
    `^error strict decoding YAML: error converting YAML to JSON: yaml: unmarshal errors:\\n {2}line 1: key "${key}" already set in map$`,
  );

const rows: Row[] = [
  {
    name: 'create',
    method: 'POST',
    path: CM,
    body: cmBody('new'),
    status: 400,
    message: decodeError('ConfigMap', 'data.a'),
    warning: 'duplicate field "data.a"',
  },
  {
    name: 'update',
    method: 'PUT',
    path: `${CM}/c1`,
    body: cmBody('c1'),
    status: 400,
    message: decodeError('ConfigMap', 'data.a'),
    warning: 'duplicate field "data.a"',
  },
  {
    name: 'merge patch',
    method: 'PATCH',
    path: `${CM}/c1`,
    type: MERGE,
    body: '{"data":{"a":"1","a":"2"}}',
    status: 422,
    message: patchError('duplicate field "data.a"'),
    warning: 'duplicate field "data.a"',
  },
  {
    name: 'strategic merge patch',
    method: 'PATCH',
    path: `${CM}/c1`,
    type: SMP,
    body: '{"data":{"a":"1","a":"2"}}',
    status: 422,
    message:
      /^ "" is invalid: patch: Invalid value: "map\[data:map\[a:2\]\]": strict decoding error: duplicate field "data\.a"$/,
    warning: 'duplicate field "data.a"',
  },
  {
    name: 'JSON patch operation',
    method: 'PATCH',
    path: `${CM}/c1`,
    type: JSONPATCH,
    body: '[{"op":"add","path":"/data/b","value":"x","value":"y"}]',
    status: 422,
    message: patchError('json patch duplicate field "\\[0\\]\\.value"'),
    warning: 'json patch duplicate field "[0].value"',
  },
  {
    name: 'JSON patch value',
    method: 'PATCH',
    path: `${CM}/c1`,
    type: JSONPATCH,
    body: '[{"op":"add","path":"/data","value":{"a":"1","a":"2"}}]',
    status: 422,
    message: patchError('json patch duplicate field "\\[0\\]\\.value\\.a"'),
    warning: 'json patch duplicate field "[0].value.a"',
  },
  {
    name: 'server-side apply',
    method: 'PATCH',
    path: `${CM}/c1?fieldManager=dup&force=true`,
    type: APPLY,
    body: '{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"c1"},"data":{"a":"1","a":"2"}}',
    status: 400,
    message: yamlDup('a'),
    warning: 'line 1: key "a" already set in map',
  },
  {
    name: 'status update',
    method: 'PUT',
    path: `${DEPLOY}/web/status`,
    body: deployStatus,
    status: 400,
    message: decodeError('Deployment', 'status.replicas'),
    warning: 'duplicate field "status.replicas"',
  },
  {
    name: 'status merge patch',
    method: 'PATCH',
    path: `${DEPLOY}/web/status`,
    type: MERGE,
    body: '{"status":{"replicas":1,"replicas":2}}',
    status: 422,
    message: patchError('duplicate field "status.replicas"'),
    warning: 'duplicate field "status.replicas"',
  },
  {
    name: 'scale update',
    method: 'PUT',
    path: `${DEPLOY}/web/scale`,
    body: scale('web'),
    status: 400,
    message: decodeError('Scale', 'spec.replicas'),
    warning: 'duplicate field "spec.replicas"',
  },
  {
    name: 'scale merge patch',
    method: 'PATCH',
    path: `${DEPLOY}/web/scale`,
    type: MERGE,
    body: '{"spec":{"replicas":1,"replicas":2}}',
    status: 422,
    message: patchError('duplicate field "spec.replicas"'),
    warning: 'duplicate field "spec.replicas"',
  },
  {
    name: 'scale strategic merge patch',
    method: 'PATCH',
    path: `${DEPLOY}/web/scale`,
    type: SMP,
    body: '{"spec":{"replicas":1,"replicas":2}}',
    status: 422,
    message:
      /^ "" is invalid: patch: Invalid value: "map\[spec:map\[replicas:2\]\]": strict decoding error: duplicate field "spec\.replicas"$/,
    warning: 'duplicate field "spec.replicas"',
  },
  {
    name: 'custom resource create',
    method: 'POST',
    path: WIDGETS,
    body: widget('"spec":{"size":"a","size":"b"}').replace('"w1","resourceVersion":"RV"', '"w2"'),
    status: 400,
    message: decodeError('Widget', 'spec.size'),
    warning: 'duplicate field "spec.size"',
  },
  {
    name: 'custom resource update',
    method: 'PUT',
    path: `${WIDGETS}/w1`,
    body: widget('"spec":{"size":"a","size":"b"}'),
    status: 400,
    message: decodeError('Widget', 'spec.size'),
    warning: 'duplicate field "spec.size"',
  },
  {
    name: 'custom resource merge patch',
    method: 'PATCH',
    path: `${WIDGETS}/w1`,
    type: MERGE,
    body: '{"spec":{"size":"a","size":"b"}}',
    status: 422,
    message: patchError('duplicate field "spec.size"'),
    warning: 'duplicate field "spec.size"',
  },
  {
    name: 'custom resource JSON patch',
    method: 'PATCH',
    path: `${WIDGETS}/w1`,
    type: JSONPATCH,
    body: '[{"op":"add","path":"/spec","value":{"size":"a","size":"b"}}]',
    status: 422,
    message: patchError('json patch duplicate field "\\[0\\]\\.value\\.size"'),
    warning: 'json patch duplicate field "[0].value.size"',
  },
  {
    name: 'custom resource apply',
    method: 'PATCH',
    path: `${WIDGETS}/w1?fieldManager=dup&force=true`,
    type: APPLY,
    body: '{"apiVersion":"ex.io/v1","kind":"Widget","metadata":{"name":"w1"},"spec":{"size":"a","size":"b"}}',
    status: 400,
    message: yamlDup('size'),
    warning: 'line 1: key "size" already set in map',
  },
  {
    name: 'custom resource status update',
    method: 'PUT',
    path: `${WIDGETS}/w1/status`,
    body: widget('"status":{"replicas":1,"replicas":2}'),
    status: 400,
    message: decodeError('Widget', 'status.replicas'),
    warning: 'duplicate field "status.replicas"',
  },
  {
    name: 'custom resource status patch',
    method: 'PATCH',
    path: `${WIDGETS}/w1/status`,
    type: MERGE,
    body: '{"status":{"replicas":1,"replicas":2}}',
    status: 422,
    message: patchError('duplicate field "status.replicas"'),
    warning: 'duplicate field "status.replicas"',
  },
  {
    name: 'custom resource scale update',
    method: 'PUT',
    path: `${WIDGETS}/w1/scale`,
    body: scale('w1'),
    status: 400,
    message: decodeError('Scale', 'spec.replicas'),
    warning: 'duplicate field "spec.replicas"',
  },
  {
    name: 'custom resource scale patch',
    method: 'PATCH',
    path: `${WIDGETS}/w1/scale`,
    type: MERGE,
    body: '{"spec":{"replicas":1,"replicas":2}}',
    status: 422,
    message: patchError('duplicate field "spec.replicas"'),
    warning: 'duplicate field "spec.replicas"',
  },
];

async function send(row: Row, mode: 'Strict' | 'Warn') {
  const object = row.path.split('?')[0].replace(/\/(status|scale)$/, '');
  let body = row.body;
  if (body.includes('"RV"')) {
    const current = (await s.request('GET', object)).json<{ metadata: { resourceVersion: string } }>();
    body = body.replace('"RV"', JSON.stringify(current.metadata.resourceVersion));
  }
  const sep = row.path.includes('?') ? '&' : '?';
  return s.request(row.method, `${row.path}${sep}fieldValidation=${mode}`, {
    body,
    headers: { 'Content-Type': row.type ?? 'application/json' },
  });
}

describe('duplicate fields on every write path', () => {
  for (const row of rows) {
    it(`${row.name}: Strict refuses, Warn writes and warns`, async () => {
      const strict = await send(row, 'Strict');
      assert.equal(strict.status, row.status, strict.text);
      const status = strict.json<{ kind: string; message: string }>();
      assert.equal(status.kind, 'Status');
      assert.match(status.message, row.message);

      const warn = await send(row, 'Warn');
      assert.ok(warn.status === 200 || warn.status === 201, `${warn.status} ${warn.text}`);
      assert.equal(warn.headers.warning, `299 - ${JSON.stringify(row.warning)}`);
    });
  }

  it('Ignore writes the last value silently', async () => {
    const r = await s.request('PATCH', `${CM}/c1?fieldValidation=Ignore`, {
      body: '{"data":{"a":"8","a":"9"}}',
      headers: { 'Content-Type': MERGE },
    });
    assert.equal(r.status, 200, r.text);
    assert.equal(r.headers.warning, undefined);
    assert.deepEqual(r.json<{ data: unknown }>().data, { a: '9' });
  });
});
