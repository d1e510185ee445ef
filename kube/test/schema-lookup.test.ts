/** The schema lookups the patch code, field validation and the OpenAPI documents build on. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { catalog, deleteCustomDefinitions, setCustomDefinitions } from '../src/schema/catalog.js';

const core = (kind: string) => ({ group: '', version: 'v1', kind });

describe('schema lookups', () => {
  it('finds kinds by group, version and kind', async () => {
    const c = await catalog();
    assert.equal(c.definitionNameOf(core('Pod')), 'io.k8s.api.core.v1.Pod');
    assert.equal(
      c.definitionNameOf({ group: 'apps', version: 'v1', kind: 'Deployment' }),
      'io.k8s.api.apps.v1.Deployment',
    );
    assert.equal(
      c.definitionNameOf({ group: 'autoscaling', version: 'v1', kind: 'Scale' }),
      'io.k8s.api.autoscaling.v1.Scale',
    );
    assert.equal(
      c.definitionNameOf({ group: 'apiextensions.k8s.io', version: 'v1', kind: 'CustomResourceDefinition' }),
      'io.k8s.apiextensions-apiserver.pkg.apis.apiextensions.v1.CustomResourceDefinition',
    );
    // Not served: not shipped.
    assert.equal(
      c.definitionNameOf({ group: 'flowcontrol.apiserver.k8s.io', version: 'v1', kind: 'FlowSchema' }),
      undefined,
    );
    assert.equal(c.kind(core('NoSuchKind')), undefined);
  });

  // Each row: kind, field path, expected patch strategies, merge key, list type, list map keys.
  const cases: Array<[string, string, string[], string[], string | undefined, string | undefined, string[]]> =
    [
      ['', 'Pod', ['spec', 'containers'], ['merge'], 'name', 'map', ['name']],
      [
        '',
        'Pod',
        ['spec', 'containers', 'ports'],
        ['merge'],
        'containerPort',
        'map',
        ['containerPort', 'protocol'],
      ],
      ['', 'Pod', ['spec', 'containers', 'env'], ['merge'], 'name', 'map', ['name']],
      ['', 'Pod', ['spec', 'volumes'], ['merge', 'retainKeys'], 'name', 'map', ['name']],
      ['', 'Pod', ['metadata', 'finalizers'], ['merge'], undefined, 'set', []],
      ['', 'Pod', ['metadata', 'ownerReferences'], ['merge'], 'uid', 'map', ['uid']],
      ['', 'Pod', ['spec', 'containers', 'args'], [], undefined, 'atomic', []],
      ['', 'Service', ['spec', 'ports'], ['merge'], 'port', 'map', ['port', 'protocol']],
      ['apps', 'Deployment', ['spec', 'strategy'], ['retainKeys'], undefined, undefined, []],
      ['apps', 'Deployment', ['spec', 'template', 'spec', 'tolerations'], [], undefined, 'atomic', []],
    ];
  for (const [group, kind, path, strategies, mergeKey, listType, mapKeys] of cases) {
    it(`${kind}.${path.join('.')}`, async () => {
      const n = (await catalog()).kind({ group, version: 'v1', kind })?.path(...path);
      assert.ok(n, 'field found');
      assert.deepEqual(n.patchStrategies, strategies);
      assert.equal(n.patchMergeKey, mergeKey);
      assert.equal(n.listType, listType);
      assert.deepEqual(n.listMapKeys, mapKeys);
    });
  }

  it('classifies shapes and follows refs', async () => {
    const pod = (await catalog()).kind(core('Pod'));
    assert.ok(pod);
    assert.equal(pod.shape, 'struct');
    assert.equal(pod.path('spec', 'containers')?.shape, 'list');
    assert.equal(pod.path('spec', 'containers')?.items?.definitionName, 'io.k8s.api.core.v1.Container');
    assert.equal(pod.path('metadata', 'labels')?.shape, 'map');
    assert.equal(pod.path('metadata', 'labels')?.values?.type, 'string');
    assert.equal(pod.path('spec', 'containers', 'ports', 'containerPort')?.format, 'int32');
    assert.equal(pod.path('spec', 'containers', 'readinessProbe', 'httpGet', 'port')?.isIntOrString, true);
    assert.equal(
      pod.path('spec', 'containers', 'resources', 'limits')?.values?.definitionName,
      'io.k8s.apimachinery.pkg.api.resource.Quantity',
    );
    assert.deepEqual(pod.path('spec', 'containers')?.items?.required, ['name']);
    assert.equal(pod.path('spec', 'nodeSelector')?.mapType, 'atomic');
    assert.equal(pod.path('spec', 'nope'), undefined);
    // The description at the use site wins over the definition's.
    assert.match(pod.field('spec')?.description ?? '', /^Specification of the desired behavior of the pod/);
  });

  it('adds and removes custom kinds at run time', async () => {
    const c = await catalog();
    const gen = c.generation;
    const gvk = { group: 'stable.example.com', version: 'v1', kind: 'CronTab' };
    setCustomDefinitions('crontabs.stable.example.com', {
      definitions: {
        'com.example.stable.v1.CronTab': {
          type: 'object',
          properties: { spec: { type: 'object', properties: { cronSpec: { type: 'string' } } } },
          'x-kubernetes-group-version-kind': [gvk],
        },
      },
    });
    assert.ok(c.generation > gen);
    assert.equal(c.kind(gvk)?.path('spec', 'cronSpec')?.type, 'string');
    deleteCustomDefinitions('crontabs.stable.example.com');
    assert.equal(c.kind(gvk), undefined);
  });
});
