/**
 * Strategic merge patch against the Kubernetes 1.32 schema: merge keys and strategies, null deletion, the
 * directives kubectl's three-way patches use, list ordering, and malformed input with kube-apiserver's codes.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { KubeError } from '../../src/errors.js';
import type { JsonObject } from '../../src/patch/json.js';
import { strategicMergePatch } from '../../src/patch/strategic/index.js';
import { typeOf } from './schema-fixture.js';

const deployment = (containers: JsonObject[], extra: JsonObject = {}): JsonObject => ({
  apiVersion: 'apps/v1',
  kind: 'Deployment',
  metadata: { name: 'web', namespace: 'default', labels: { app: 'web', tier: 'front' } },
  spec: {
    replicas: 2,
    selector: { matchLabels: { app: 'web' } },
    strategy: { type: 'RollingUpdate', rollingUpdate: { maxSurge: '25%', maxUnavailable: '25%' } },
    template: { metadata: { labels: { app: 'web' } }, spec: { containers } },
    ...extra,
  },
});

const c = (name: string, more: JsonObject = {}): JsonObject => ({ name, image: `${name}:1`, ...more });
const containersOf = (o: JsonObject): JsonObject[] =>
  ((((o.spec as JsonObject).template as JsonObject).spec as JsonObject).containers as JsonObject[]) ?? [];
const patchContainers = (containers: unknown, extra: JsonObject = {}): string =>
  JSON.stringify({ spec: { template: { spec: { containers, ...extra } } } });

function smp(original: JsonObject, patch: string | object, kind = 'Deployment'): JsonObject {
  return strategicMergePatch(
    original,
    typeof patch === 'string' ? patch : JSON.stringify(patch),
    typeOf(kind),
  );
}

function fails(original: JsonObject, patch: string | object, reason: string, message: RegExp | string): void {
  assert.throws(
    () => smp(original, patch),
    (e: unknown) => {
      assert.ok(e instanceof KubeError, String(e));
      assert.equal(e.reason, reason);
      if (typeof message === 'string') assert.equal(e.message, message);
      else assert.match(e.message, message);
      return true;
    },
  );
}

describe('strategic merge patch: maps and scalars', () => {
  it('merges maps, replaces scalars and deletes with null', () => {
    const out = smp(deployment([c('a')]), {
      metadata: { labels: { tier: null, env: 'prod' } },
      spec: { replicas: 5, paused: null },
    });
    assert.deepEqual((out.metadata as JsonObject).labels, { app: 'web', env: 'prod' });
    assert.equal((out.spec as JsonObject).replicas, 5);
  });

  it('leaves the original untouched and drops nulls inside added maps', () => {
    const orig = deployment([c('a')]);
    const before = JSON.stringify(orig);
    const out = smp(orig, { metadata: { annotations: { a: 'x', b: null } } });
    assert.equal(JSON.stringify(orig), before);
    assert.deepEqual((out.metadata as JsonObject).annotations, { a: 'x' });
  });

  it('replaces a value of another type and treats a null body as no change', () => {
    const out = smp(deployment([c('a')]), { spec: { strategy: 'bogus' } });
    assert.equal((out.spec as JsonObject).strategy, 'bogus');
    assert.deepEqual(smp(deployment([c('a')]), 'null'), deployment([c('a')]));
  });

  it('$patch: replace on a map replaces it; $patch: delete empties it', () => {
    const out = smp(deployment([c('a')]), { metadata: { labels: { $patch: 'replace', only: 'this' } } });
    assert.deepEqual((out.metadata as JsonObject).labels, { only: 'this' });
    const del = smp(deployment([c('a')]), { metadata: { labels: { $patch: 'delete' } } });
    assert.deepEqual((del.metadata as JsonObject).labels, {});
  });

  it('$retainKeys clears the members not listed (deployment strategy)', () => {
    const out = smp(deployment([c('a')]), {
      spec: { strategy: { $retainKeys: ['type'], type: 'Recreate' } },
    });
    assert.deepEqual((out.spec as JsonObject).strategy, { type: 'Recreate' });
  });
});

describe('strategic merge patch: lists', () => {
  it('merges containers by name; a new container goes before the server-only ones after it', () => {
    const names = (o: JsonObject) => containersOf(o).map((x) => `${x.name as string}=${x.image as string}`);
    const orig = deployment([c('a'), c('b')]);
    assert.deepEqual(names(smp(orig, patchContainers([c('z'), { name: 'b', image: 'b:2' }]))), [
      'z=z:1',
      'a=a:1',
      'b=b:2',
    ]);
    assert.deepEqual(names(smp(orig, patchContainers([{ name: 'b', image: 'b:2' }, c('z')]))), [
      'a=a:1',
      'b=b:2',
      'z=z:1',
    ]);
    assert.deepEqual(names(smp(orig, patchContainers([c('z')]))), ['z=z:1', 'a=a:1', 'b=b:1']);
  });

  it('merges env by name inside a container (kubectl set env)', () => {
    const orig = deployment([
      c('a', {
        env: [
          { name: 'A', value: '1' },
          { name: 'B', value: '2' },
        ],
      }),
    ]);
    const out = smp(orig, patchContainers([{ name: 'a', env: [{ name: 'B', value: '3' }] }]));
    assert.deepEqual(containersOf(out)[0].env, [
      { name: 'A', value: '1' },
      { name: 'B', value: '3' },
    ]);
  });

  it('replaces lists without a merge strategy (args) and a list of another type', () => {
    const orig = deployment([c('a', { args: ['x', 'y'] })]);
    const out = smp(orig, patchContainers([{ name: 'a', args: ['z'] }]));
    assert.deepEqual(containersOf(out)[0].args, ['z']);
  });

  it('merges primitive lists with the merge strategy as sets (finalizers)', () => {
    const orig = deployment([c('a')]);
    (orig.metadata as JsonObject).finalizers = ['a', 'b'];
    const out = smp(orig, { metadata: { finalizers: ['c', 'a', 'c'] } });
    assert.deepEqual((out.metadata as JsonObject).finalizers, ['c', 'a', 'b']);
  });

  it('$deleteFromPrimitiveList removes values from a merged primitive list', () => {
    const orig = deployment([c('a')]);
    (orig.metadata as JsonObject).finalizers = ['a', 'b', 'c'];
    const out = smp(orig, { metadata: { '$deleteFromPrimitiveList/finalizers': ['b', 'x'] } });
    assert.deepEqual((out.metadata as JsonObject).finalizers, ['a', 'c']);
  });

  it('$patch: delete removes a list item by merge key', () => {
    const out = smp(deployment([c('a'), c('b')]), patchContainers([{ name: 'a', $patch: 'delete' }]));
    assert.deepEqual(
      containersOf(out).map((x) => x.name),
      ['b'],
    );
  });

  it('$patch: replace in a list replaces the whole list with the other items', () => {
    const out = smp(deployment([c('a'), c('b')]), patchContainers([{ $patch: 'replace' }, c('n')]));
    assert.deepEqual(containersOf(out), [c('n')]);
  });

  it('$setElementOrder orders the merged list (kubectl apply reordering containers)', () => {
    const out = smp(
      deployment([c('a'), c('b'), c('c')]),
      patchContainers([{ name: 'b', image: 'b:9' }], {
        '$setElementOrder/containers': [{ name: 'c' }, { name: 'b' }, { name: 'a' }],
      }),
    );
    assert.deepEqual(
      containersOf(out).map((x) => `${x.name as string}:${x.image as string}`),
      ['c:c:1', 'b:b:9', 'a:a:1'],
    );
  });

  it("applies kubectl apply's three-way patch removing an env var and a port", () => {
    const orig = deployment([
      c('app', {
        env: [
          { name: 'A', value: '1' },
          { name: 'B', value: '2' },
        ],
        ports: [
          { containerPort: 80, protocol: 'TCP' },
          { containerPort: 81, protocol: 'TCP' },
        ],
      }),
    ]);
    const patch = {
      spec: {
        template: {
          spec: {
            '$setElementOrder/containers': [{ name: 'app' }],
            containers: [
              {
                '$setElementOrder/env': [{ name: 'A' }],
                '$setElementOrder/ports': [{ containerPort: 80 }],
                env: [{ $patch: 'delete', name: 'B' }],
                ports: [{ $patch: 'delete', containerPort: 81 }],
                name: 'app',
              },
            ],
          },
        },
      },
    };
    const out = containersOf(smp(orig, patch))[0];
    assert.deepEqual(out.env, [{ name: 'A', value: '1' }]);
    assert.deepEqual(out.ports, [{ containerPort: 80, protocol: 'TCP' }]);
  });

  it('sets the restartedAt annotation as kubectl rollout restart does', () => {
    const at = '2024-01-01T00:00:00Z';
    const out = smp(deployment([c('a')]), {
      spec: { template: { metadata: { annotations: { 'kubectl.kubernetes.io/restartedAt': at } } } },
    });
    const tm = ((out.spec as JsonObject).template as JsonObject).metadata as JsonObject;
    assert.deepEqual(tm.annotations, { 'kubectl.kubernetes.io/restartedAt': at });
    assert.deepEqual(tm.labels, { app: 'web' });
  });
});

describe('strategic merge patch: bad input', () => {
  const d = deployment([c('a')]);
  it('refuses undecodable bodies with 400 and the decoder message', () => {
    fails(d, '{"spec":', 'BadRequest', 'unexpected end of JSON input');
    fails(d, 'xyz', 'BadRequest', "invalid character 'x' looking for beginning of value");
    fails(
      d,
      '[1]',
      'BadRequest',
      'json: cannot unmarshal array into Go value of type map[string]interface {}',
    );
  });

  it('refuses malformed directives with 400', () => {
    fails(
      d,
      { spec: { strategy: { $retainKeys: 'type', type: 'Recreate' } } },
      'BadRequest',
      'invalid patch format of retainKeys',
    );
    fails(
      d,
      { spec: { strategy: { $retainKeys: ['type'], rollingUpdate: {} } } },
      'BadRequest',
      'invalid patch format of retainKeys',
    );
    fails(
      d,
      { metadata: { $deleteFromPrimitiveList: ['x'] } },
      'BadRequest',
      'invalid patch format of primitive list',
    );
    fails(
      d,
      { metadata: { $setElementOrder: [] } },
      'BadRequest',
      'invalid patch format of setElementOrder list',
    );
  });

  it('answers other merge failures as plain server errors, worded as apimachinery', () => {
    fails(
      d,
      { metadata: { labels: { $patch: 'bogus' } } },
      'Unknown',
      'unknown patch type: bogus in map: map[$patch:bogus]',
    );
    fails(
      d,
      patchContainers([{ image: 'x' }]),
      'Unknown',
      'map: map[image:x] does not contain declared merge key: name',
    );
    fails(
      d,
      patchContainers([{ name: 'a', $patch: 'merge' }]),
      'Unknown',
      'merging lists cannot yet be specified in the patch',
    );
    fails(
      d,
      patchContainers([], { '$setElementOrder/containers': 'a' }),
      'Unknown',
      'expected a []interface {}, but received a string',
    );
    fails(d, patchContainers([1]), 'Unknown', /list element types are not identical/);
  });

  it('answers a list of lists in a merged list with the opaque 422', () => {
    const orig = deployment([c('a')]);
    (orig.metadata as JsonObject).finalizers = [];
    assert.throws(
      () => smp(orig, { metadata: { finalizers: [['x']] } }),
      (e: unknown) =>
        e instanceof KubeError && e.reason === 'Invalid' && /rejected our request/.test(e.message),
    );
  });

  it('refuses kinds without a schema (custom resources)', () => {
    assert.throws(
      () => strategicMergePatch({ a: 1 }, '{"a":2}', undefined),
      (e: unknown) =>
        e instanceof KubeError &&
        e.reason === 'BadRequest' &&
        e.message === 'strategic merge patch format is not supported',
    );
  });
});
