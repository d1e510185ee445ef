/** The OpenAPI documents: paths as kube-apiserver 1.32 builds them (checked against its published document), v3. */
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { catalog } from '../src/schema/catalog.js';
import { buildV2, buildV3 } from '../src/schema/openapi/documents.js';
import { PARAMETER_REFS, type PathItem } from '../src/schema/openapi/paths.js';
import { OpenApiService } from '../src/schema/openapi/service.js';
import type { Parameter } from '../src/schema/types.js';
import { FIXTURE_RESOURCES } from './fixtures/resources.js';

/** The reference document beside the checkout (../shared), when this machine has it. */
function reference(): { paths: Record<string, PathItem>; parameters: Record<string, Parameter> } | undefined {
  let dir = path.dirname(fileURLToPath(import.meta.url));
  for (; dir !== path.dirname(dir); dir = path.dirname(dir)) {
    const f = path.join(dir, 'shared/reference/kubernetes-openapi-v2-1.32.json');
    if (existsSync(f))
      return JSON.parse(readFileSync(f, 'utf8')) as {
        paths: Record<string, PathItem>;
        parameters: Record<string, Parameter>;
      };
  }
  return undefined;
}

const METHODS = ['get', 'put', 'post', 'delete', 'patch', 'head', 'options'] as const;

function summary(item: PathItem, params: Record<string, Parameter>) {
  const names = (ps: unknown[] | undefined) =>
    (ps ?? []).map((p) => {
      const q = p as { $ref?: string; name?: string; in?: string };
      const r = q.$ref ? params[q.$ref.replace('#/parameters/', '')] : q;
      return `${r?.in}:${r?.name}`;
    });
  const ops: Record<string, unknown> = { parameters: names(item.parameters) };
  for (const m of METHODS) {
    const op = item[m];
    if (!op) continue;
    ops[m] = {
      id: op.operationId,
      description: op.description,
      action: op['x-kubernetes-action'],
      gvk: op['x-kubernetes-group-version-kind'],
      consumes: op.consumes,
      produces: op.produces,
      tags: op.tags,
      params: names(op.parameters),
      responses: Object.fromEntries(Object.entries(op.responses).map(([k, v]) => [k, v.schema ?? null])),
    };
  }
  return ops;
}

describe('OpenAPI documents', () => {
  it('only references parameters the shipped data has', async () => {
    const c = await catalog();
    for (const key of PARAMETER_REFS) assert.ok(c.parameters[key], key);
  });

  it('builds the paths kube-apiserver 1.32 publishes for the same resources', async (t) => {
    const ref = reference();
    // CI lays shared/ beside the checkout, so there the reference must be found.
    if (!ref && process.env.CI === 'true') throw new Error('required under CI: shared/reference (not found)');
    if (!ref) return t.skip('../shared/reference is not on this machine');
    const doc = buildV2(FIXTURE_RESOURCES, await catalog());
    let compared = 0;
    for (const [p, item] of Object.entries(doc.paths)) {
      assert.ok(ref.paths[p], `unexpected path ${p}`);
      assert.deepEqual(summary(item, doc.parameters), summary(ref.paths[p], ref.parameters), p);
      compared++;
    }
    // And nothing of these resources is missing.
    for (const r of FIXTURE_RESOURCES) {
      const prefix = r.group ? `/apis/${r.group}/v1/` : '/api/v1/';
      const resourceOf = (p: string) =>
        p
          .slice(prefix.length)
          .replace(/^watch\//, '')
          .replace(/^namespaces\/\{namespace\}\//, '')
          .split('/')[0];
      const mine = Object.keys(ref.paths).filter((p) => p.startsWith(prefix) && resourceOf(p) === r.plural);
      for (const p of mine) assert.ok(doc.paths[p], `missing ${p}`);
    }
    assert.ok(compared > 60, `compared ${compared} paths`);
  });

  it('derives per-group-version v3 documents that kubectl can read', async () => {
    const c = await catalog();
    const v3 = buildV3(
      buildV2(
        FIXTURE_RESOURCES.filter((r) => r.group === 'apps'),
        c,
      ),
      'apis/apps/v1',
      c,
    );
    assert.ok(v3);
    const patch = v3.paths['/apis/apps/v1/namespaces/{namespace}/deployments/{name}'].patch as Record<
      string,
      unknown
    >;
    // kubectl's server-side validation check: PATCH for the kind has a fieldValidation query parameter.
    assert.deepEqual(patch['x-kubernetes-group-version-kind'], {
      group: 'apps',
      kind: 'Deployment',
      version: 'v1',
    });
    const params = patch.parameters as Array<{ name: string; in: string; schema: unknown }>;
    assert.ok(params.some((p) => p.name === 'fieldValidation' && p.in === 'query'));
    assert.ok(params.some((p) => p.name === 'dryRun' && p.in === 'query'));
    // kubectl's strategic-merge-patch check: the request body lists the media type.
    const body = patch.requestBody as { content: Record<string, { schema: unknown }> };
    assert.deepEqual(body.content['application/strategic-merge-patch+json'].schema, {
      $ref: '#/components/schemas/io.k8s.apimachinery.pkg.apis.meta.v1.Patch',
    });
    const s = v3.components.schemas;
    assert.deepEqual(s['io.k8s.api.apps.v1.Deployment']['x-kubernetes-group-version-kind'], [
      { group: 'apps', kind: 'Deployment', version: 'v1' },
    ]);
    const spec = s['io.k8s.api.apps.v1.DeploymentSpec'].properties ?? {};
    assert.deepEqual(spec.strategy.allOf, [
      { $ref: '#/components/schemas/io.k8s.api.apps.v1.DeploymentStrategy' },
    ]);
    assert.equal(spec.strategy['x-kubernetes-patch-strategy'], 'retainKeys');
    const containers = s['io.k8s.api.core.v1.PodSpec'].properties?.containers;
    assert.equal(containers?.['x-kubernetes-patch-merge-key'], 'name');
    assert.deepEqual(containers?.items, { $ref: '#/components/schemas/io.k8s.api.core.v1.Container' });
    assert.deepEqual(s['io.k8s.apimachinery.pkg.util.intstr.IntOrString'].oneOf, [
      { type: 'integer' },
      { type: 'string' },
    ]);
    assert.deepEqual(s['io.k8s.apimachinery.pkg.api.resource.Quantity'].oneOf, [
      { type: 'string' },
      { type: 'number' },
    ]);
    assert.ok(!JSON.stringify(v3).includes('#/definitions/'));
    // The scale subresource brings autoscaling/v1 Scale along.
    assert.ok(s['io.k8s.api.autoscaling.v1.Scale']);
  });
});

describe('OpenAPI service', () => {
  let version = 1;
  const served = {
    all: () => FIXTURE_RESOURCES,
    get version() {
      return version;
    },
  };
  const svc = new OpenApiService(served);
  const get = (p: string, extra: Partial<Parameters<OpenApiService['handle']>[0]> = {}) => {
    const u = new URL(p, 'https://x');
    return svc.handle({ path: u.pathname, query: u.searchParams, ...extra });
  };

  it('indexes the v3 documents with their hashes, serves them immutable, redirects stale hashes', async () => {
    const idx = await get('/openapi/v3');
    assert.equal(idx?.status, 200);
    const index = JSON.parse(String(idx?.body)) as { paths: Record<string, { serverRelativeURL: string }> };
    for (const n of [
      'api/v1',
      'apis/apps/v1',
      'apis/apps',
      'apis',
      'api',
      'version',
      'apis/apiextensions.k8s.io/v1',
    ]) {
      assert.ok(index.paths[n], n);
    }
    const url = index.paths['apis/apps/v1'].serverRelativeURL;
    assert.match(url, /^\/openapi\/v3\/apis\/apps\/v1\?hash=[0-9A-F]{128}$/);
    const doc = await get(url, { now: new Date('2026-01-01T00:00:00Z') });
    assert.equal(doc?.status, 200);
    assert.equal(doc?.headers['Cache-Control'], 'public, immutable');
    assert.equal(doc?.headers.Expires, 'Fri, 01 Jan 2027 00:00:00 GMT');
    assert.equal(doc?.headers.ETag, `"${url.split('hash=')[1]}"`);
    assert.equal((JSON.parse(String(doc?.body)) as { openapi: string }).openapi, '3.0.0');
    const stale = await get('/openapi/v3/apis/apps/v1?hash=ABC');
    assert.equal(stale?.status, 301);
    assert.equal(stale?.headers.Location, url);
    const again = await get('/openapi/v3/apis/apps/v1', { ifNoneMatch: doc?.headers.ETag });
    assert.equal(again?.status, 304);
    assert.equal((await get('/openapi/v3/apis/nope/v1'))?.status, 404);
    assert.equal(
      (
        await get('/openapi/v3/api/v1', {
          accept: 'application/com.github.proto-openapi.spec.v3.v1.0+protobuf',
        })
      )?.status,
      406,
    );
    assert.equal(await get('/apis'), undefined);
  });

  it('serves v2 as gnostic protobuf when asked first, JSON otherwise', async () => {
    // kubectl reads it with proto.Unmarshal when it validates on the client (a `kind: List` file); the real
    // kubectl reading it is in kube-kubectl.test.ts. Here: the wire shape of the parts it reads.
    const pb = await get('/openapi/v2', {
      accept: 'application/com.github.proto-openapi.spec.v2@v1.0+protobuf, application/json',
    });
    assert.equal(pb?.status, 200);
    assert.equal(pb?.headers['Content-Type'], 'application/com.github.proto-openapi.spec.v2.v1.0+protobuf');
    assert.equal(pb?.headers.Vary, 'Accept');
    const body = pb?.body ?? Buffer.alloc(0);
    assert.deepEqual([...body.subarray(0, 5)], [0x0a, 3, 0x32, 0x2e, 0x30], 'field 1 (swagger) is "2.0"');
    assert.ok(body.includes(Buffer.from('io.k8s.api.core.v1.Pod')), 'the definitions are in it');
    assert.ok(body.includes(Buffer.from('x-kubernetes-group-version-kind')), 'with their GVK extensions');
    const again = await get('/openapi/v2', {
      accept: 'application/com.github.proto-openapi.spec.v2@v1.0+protobuf',
      ifNoneMatch: pb?.headers.ETag,
    });
    assert.equal(again?.status, 304);
    const r = await get('/openapi/v2', {
      accept: 'application/json, application/com.github.proto-openapi.spec.v2@v1.0+protobuf',
    });
    assert.equal(r?.status, 200);
    assert.equal(r?.headers['Content-Type'], 'application/json');
    assert.notEqual(r?.headers.ETag, pb?.headers.ETag);
    const doc = JSON.parse(String(r?.body)) as { swagger: string; definitions: Record<string, unknown> };
    assert.equal(doc.swagger, '2.0');
    assert.ok(doc.definitions['io.k8s.api.core.v1.Pod']);
    assert.ok(!doc.definitions['io.k8s.api.batch.v1.Job'], 'only what is served');
  });

  it('rebuilds when the served resources change', async () => {
    const before = await svc.v3Doc('apis/apps/v1');
    const core = await svc.v3Doc('api/v1');
    version++;
    assert.equal(await svc.v3Doc('apis/apps/v1'), before, 'unchanged group-versions keep their document');
    assert.equal(await svc.v3Doc('api/v1'), core);
  });
});
