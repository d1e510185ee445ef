/** A CRD in service: its types, OpenAPI, explain paths, decoding (pruning, defaults), printing, scale, status. */
import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import { isKubeError } from '../src/errors.js';
import type { KubeObject, ResourceType } from '../src/registry/types.js';
import { decodeBody } from '../src/schema/body.js';
import { catalog } from '../src/schema/catalog.js';
import { findJsonPath, parseJsonPath } from '../src/schema/crd/jsonpath.js';
import { applyDefaults, prune } from '../src/schema/crd/prune.js';
import { compareVersions, customInfo, isCustomResource } from '../src/schema/crd/resource.js';
import { serveCrd, unserveCrd } from '../src/schema/crd/serve.js';
import { crdStatus, crdStrategy } from '../src/schema/crd/strategy.js';
import type { CustomResourceDefinition } from '../src/schema/crd/types.js';
import { OpenApiService } from '../src/schema/openapi/service.js';
import { cronTabCrd } from './fixtures/crontab.js';

class Table {
  readonly types = new Map<string, ResourceType>();
  version = 0;
  add(t: ResourceType) {
    this.types.set(`${t.group}/${t.version}/${t.plural}`, t);
    this.version++;
  }
  remove(g: string, v: string, p: string) {
    this.types.delete(`${g}/${v}/${p}`);
    this.version++;
  }
  all() {
    return [...this.types.values()];
  }
}

const gvk = { group: 'stable.example.com', version: 'v1', kind: 'CronTab' };

/** The parts of an OpenAPI v3 document these assertions read. */
interface V3Schema {
  type?: string;
  allOf?: unknown[];
  properties: Record<string, V3Schema>;
  'x-kubernetes-group-version-kind'?: unknown;
}
interface V3Operation {
  parameters: { name: string }[];
  requestBody: { content: Record<string, unknown> };
  'x-kubernetes-group-version-kind'?: unknown;
}
interface V3Doc {
  paths: Record<string, Record<string, V3Operation>>;
  components: { schemas: Record<string, V3Schema> };
}

describe('a served CRD', () => {
  const table = new Table();
  const crd = cronTabCrd();
  crdStrategy.defaults?.(crd);
  const [t] = serveCrd(crd, table);
  after(() => unserveCrd('crontabs.stable.example.com', table));

  it('serves one type per version with status and scale subresources', () => {
    assert.equal(table.types.size, 1);
    assert.equal(t.kind, 'CronTab');
    assert.equal(t.listKind, 'CronTabList');
    assert.equal(t.storageResource, 'stable.example.com/crontabs');
    assert.deepEqual(t.shortNames, ['ct']);
    assert.deepEqual(
      t.subresources?.map((s) => [s.name, s.kind, s.group]),
      [
        ['status', 'CronTab', undefined],
        ['scale', 'Scale', 'autoscaling'],
      ],
    );
    assert.ok(isCustomResource(t));
  });

  it('publishes OpenAPI v3 that kubectl explain and apply read', async () => {
    const svc = new OpenApiService(table);
    const doc = await svc.v3Doc('apis/stable.example.com/v1');
    assert.ok(doc);
    const v3 = JSON.parse(String(doc.body)) as V3Doc;
    const item = v3.paths['/apis/stable.example.com/v1/namespaces/{namespace}/crontabs/{name}'];
    assert.deepEqual(item.get['x-kubernetes-group-version-kind'], gvk);
    // No strategic merge patch for custom resources: kubectl falls back to merge patch.
    assert.deepEqual(Object.keys(item.patch.requestBody.content).sort(), [
      'application/apply-patch+yaml',
      'application/json-patch+json',
      'application/merge-patch+json',
    ]);
    assert.ok(item.patch.parameters.some((p) => p.name === 'fieldValidation'));
    const s = v3.components.schemas['com.example.stable.v1.CronTab'];
    assert.deepEqual(s['x-kubernetes-group-version-kind'], [gvk]);
    assert.deepEqual(s.properties.metadata.allOf, [
      { $ref: '#/components/schemas/io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta' },
    ]);
    assert.equal(s.properties.spec.properties.cronSpec.type, 'string');
    assert.ok(v3.components.schemas['io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta']);
    assert.ok(v3.components.schemas['io.k8s.api.autoscaling.v1.Scale'], 'the scale subresource brings Scale');
    assert.ok(v3.paths['/apis/stable.example.com/v1/namespaces/{namespace}/crontabs/{name}/scale']);
  });

  it('decodes custom resources: unknown fields pruned and reported, duplicates, defaults', async () => {
    const body = JSON.stringify({
      apiVersion: 'stable.example.com/v1',
      kind: 'CronTab',
      metadata: { name: 'a', bogus: 1 },
      spec: {
        cronSpec: '* * * * *',
        foo: 1,
        extra: { anything: { goes: true } },
        template: { apiVersion: 'v1', kind: 'Pod', metadata: { name: 'x' }, whatever: 1 },
      },
      status: { replicas: 1, bar: 2 },
    });
    const r = await decodeBody({ body, expected: gvk, fieldValidation: 'Warn' });
    assert.deepEqual(r.warnings, [
      'unknown field "metadata.bogus"',
      'unknown field "spec.foo"',
      'unknown field "status.bar"',
    ]);
    const spec = r.object.spec as Record<string, unknown>;
    assert.equal(spec.replicas, 1, 'defaulted');
    assert.deepEqual(spec.extra, { anything: { goes: true } });
    assert.deepEqual(spec.template, { apiVersion: 'v1', kind: 'Pod', metadata: { name: 'x' }, whatever: 1 });
    await assert.rejects(
      decodeBody({
        body: body.replace('"spec":{', '"spec":{"image":"a","image":"b",'),
        expected: gvk,
        fieldValidation: 'Strict',
      }),
      (e: unknown) =>
        isKubeError(e, 'BadRequest') &&
        e.message ===
          'CronTab in version "v1" cannot be handled as a CronTab: strict decoding error: duplicate field "spec.image", unknown field "metadata.bogus", unknown field "spec.foo", unknown field "status.bar"',
    );
  });

  it('validates, keeps status apart and bumps generation on spec changes', () => {
    const s = t.strategy;
    const obj: KubeObject = {
      apiVersion: 'stable.example.com/v1',
      kind: 'CronTab',
      metadata: { name: 'a' },
      spec: { cronSpec: 'bad', replicas: 20 },
      status: { replicas: 3 },
    };
    s.prepareForCreate?.(obj, { user: { name: 'u', groups: [] }, now: new Date() });
    assert.equal(obj.status, undefined);
    const errs = s.validate?.(obj, { user: { name: 'u', groups: [] }, now: new Date() }) ?? [];
    assert.deepEqual(
      errs.map((e) => e.field),
      ['spec.cronSpec', 'spec.replicas'],
    );
    const old: KubeObject = { ...obj, status: { replicas: 2 }, metadata: { name: 'a', generation: 4 } };
    const next: KubeObject = {
      ...obj,
      spec: { cronSpec: '* * * * *', replicas: 2 },
      status: { replicas: 9 },
      metadata: { name: 'a', generation: 4 },
    };
    s.prepareForUpdate?.(next, old, { user: { name: 'u', groups: [] }, now: new Date() });
    assert.deepEqual(next.status, { replicas: 2 });
  });

  it('prints its columns and scales through its paths', () => {
    const obj: KubeObject = {
      metadata: { name: 'a', creationTimestamp: new Date(Date.now() - 90_000).toISOString() },
      spec: { cronSpec: '*/5 * * * *', replicas: 3 },
      status: {
        replicas: 2,
        labelSelector: 'app=a',
        conditions: [
          { type: 'Other', status: 'False' },
          { type: 'Ready', status: 'True' },
        ],
      },
    };
    const table = t.strategy.table;
    assert.deepEqual(
      table?.columns.map((c) => c.name),
      ['Name', 'Spec', 'Replicas', 'Ready', 'Age'],
    );
    assert.deepEqual(table?.cells(obj), ['a', '*/5 * * * *', 3, 'True', '90s']);
    const scale = customInfo(t)?.scale;
    assert.deepEqual(scale?.read(obj), { specReplicas: 3, statusReplicas: 2, selector: 'app=a' });
    assert.equal((scale?.write(obj, 5).spec as { replicas: number }).replicas, 5);
    assert.equal((obj.spec as { replicas: number }).replicas, 3, 'the original is untouched');
  });

  it('names a changed schema with a new hash in /openapi/v3', async () => {
    const svc = new OpenApiService(table);
    const hashOf = async () => {
      const r = await svc.handle({ path: '/openapi/v3', query: new URLSearchParams() });
      const idx = JSON.parse(String(r?.body)) as { paths: Record<string, { serverRelativeURL: string }> };
      return idx.paths['apis/stable.example.com/v1'].serverRelativeURL;
    };
    const before = await hashOf();
    const changed = cronTabCrd();
    crdStrategy.defaults?.(changed);
    changed.spec.versions[0].schema!.openAPIV3Schema!.properties!.spec.properties!.extra2 = {
      type: 'string',
    };
    serveCrd(changed, table);
    const after = await hashOf();
    assert.notEqual(after, before);
    const doc = await svc.handle({
      path: '/openapi/v3/apis/stable.example.com/v1',
      query: new URL(`https://x${after}`).searchParams,
    });
    assert.equal(doc?.status, 200);
    assert.match(String(doc?.body), /extra2/);
    serveCrd(crd, table);
  });

  it('leaves the catalog when unserved', async () => {
    const c = await catalog();
    assert.ok(c.kind(gvk));
    unserveCrd('crontabs.stable.example.com', table);
    assert.equal(c.kind(gvk), undefined);
    assert.equal(table.types.size, 0);
    serveCrd(crd, table);
  });
});

describe('CRD status', () => {
  it('accepts names, establishes, and reports conflicts within the group', () => {
    const now = new Date('2026-01-01T00:00:00Z');
    const a = cronTabCrd();
    crdStrategy.defaults?.(a);
    a.status = crdStatus(a, [], now);
    assert.deepEqual(
      a.status.conditions?.map((c) => [c.type, c.status, c.reason]),
      [
        ['NamesAccepted', 'True', 'NoConflicts'],
        ['Established', 'True', 'InitialNamesAccepted'],
      ],
    );
    assert.equal(a.status.acceptedNames?.plural, 'crontabs');
    const b: CustomResourceDefinition = cronTabCrd();
    b.metadata = { name: 'crontabs2.stable.example.com' };
    b.spec.names = { plural: 'crontabs2', kind: 'CronTab2', shortNames: ['ct'] };
    crdStrategy.defaults?.(b);
    b.status = crdStatus(b, [a], now);
    const cond = b.status.conditions?.[0];
    assert.deepEqual(
      [cond?.status, cond?.reason, cond?.message],
      ['False', 'ShortNamesConflict', '"ct" is already in use'],
    );
    assert.equal(b.status.conditions?.[1].status, 'False');
  });
});

describe('structural pruning and defaults', () => {
  it('prunes by schema, keeping preserved subtrees and resource meta', () => {
    const schema = cronTabCrd().spec.versions[0].schema!.openAPIV3Schema!;
    const obj = {
      apiVersion: 'x',
      kind: 'y',
      metadata: { any: 1 },
      top: 1,
      spec: { cronSpec: 'a', list: [1], labels: { a: 'b' } },
      status: { conditions: [{ type: 'a', x: 1 }] },
    };
    assert.deepEqual(prune(obj, schema), ['spec.list', 'status.conditions[0].x', 'top']);
    assert.deepEqual(obj, {
      apiVersion: 'x',
      kind: 'y',
      metadata: { any: 1 },
      spec: { cronSpec: 'a', labels: { a: 'b' } },
      status: { conditions: [{ type: 'a' }] },
    });
  });

  it('fills absent fields and non-nullable nulls', () => {
    const schema = {
      type: 'object',
      properties: {
        a: { type: 'integer', default: 1 },
        b: { type: 'object', default: {}, properties: { c: { type: 'string', default: 'x' } } },
      },
    };
    assert.deepEqual(applyDefaults({ a: null }, schema), { a: 1, b: { c: 'x' } });
  });
});

describe('jsonpath and versions', () => {
  const cases: Array<[string, unknown[]]> = [
    ['.a.b', [1]],
    ['.list[*].n', ['x', 'y']],
    ['.list[1].n', ['y']],
    ['.list[-1].n', ['y']],
    ["['a']['b']", [1]],
    ['.list[?(@.n=="y")].v', [2]],
    ['..n', ['x', 'y']],
    ['.missing.deep', []],
  ];
  const data = {
    a: { b: 1 },
    list: [
      { n: 'x', v: 1 },
      { n: 'y', v: 2 },
    ],
  };
  for (const [p, want] of cases) it(p, () => assert.deepEqual(findJsonPath(data, parseJsonPath(p)), want));

  it('orders versions as kube-apiserver does', () => {
    assert.deepEqual(['v1alpha1', 'v2', 'v1beta2', 'v1', 'foo', 'v1beta1', 'v10'].sort(compareVersions), [
      'v10',
      'v2',
      'v1',
      'v1beta2',
      'v1beta1',
      'v1alpha1',
      'foo',
    ]);
  });
});
