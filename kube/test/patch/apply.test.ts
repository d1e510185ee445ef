/**
 * Server-side apply and managedFields against the 1.32 schema: FieldsV1 as kube-apiserver writes it, ownership,
 * conflicts and force, removal of fields a manager stopped applying, list maps and sets, update tracking, the
 * client-side-apply → server-side-apply path kubectl takes, and bad configurations with kube-apiserver's errors.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { KubeError } from '../../src/errors.js';
import { FieldSet } from '../../src/patch/apply/fieldset.js';
import { type JsonObject, serverSideApply, trackUpdate } from '../../src/patch/api.js';
import { typeOf } from './schema-fixture.js';

const NOW = new Date('2024-05-01T10:00:00.123Z');
const deploy = { group: 'apps', version: 'v1', kind: 'Deployment', schema: typeOf('Deployment'), now: NOW };
const cm = { group: '', version: 'v1', kind: 'ConfigMap', schema: typeOf('ConfigMap'), now: NOW };

function config(
  replicas: number | undefined,
  containers: JsonObject[],
  labels: JsonObject = { app: 'web' },
): JsonObject {
  return {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name: 'web', namespace: 'default', labels },
    spec: {
      ...(replicas === undefined ? {} : { replicas }),
      selector: { matchLabels: { app: 'web' } },
      template: { metadata: { labels: { app: 'web' } }, spec: { containers } },
    },
  };
}

const web = (more: JsonObject = {}): JsonObject => ({
  name: 'web',
  image: 'nginx:1',
  ports: [{ containerPort: 80 }],
  ...more,
});

/** A stored object: what the API server adds around a created one. */
function stored(o: JsonObject): JsonObject {
  const md = o.metadata as JsonObject;
  return {
    ...o,
    metadata: { ...md, uid: 'u-1', resourceVersion: '5', creationTimestamp: '2024-05-01T09:00:00Z' },
  };
}

function apply(live: JsonObject | undefined, cfg: JsonObject, manager: string, force = false, opts = deploy) {
  return serverSideApply(live, JSON.stringify(cfg), { ...opts, manager, force });
}

const entries = (o: JsonObject) => ((o.metadata as JsonObject).managedFields ?? []) as JsonObject[];
const managers = (o: JsonObject) => entries(o).map((e) => `${e.manager as string}/${e.operation as string}`);
const spec = (o: JsonObject) => o.spec as JsonObject;
const podSpec = (o: JsonObject) => (spec(o).template as JsonObject).spec as JsonObject;

function rejects(fn: () => unknown, reason: string, message: string | RegExp): KubeError {
  let caught: KubeError | undefined;
  assert.throws(fn, (e: unknown) => {
    assert.ok(e instanceof KubeError, String(e));
    assert.equal(e.reason, reason, e.message);
    if (typeof message === 'string') assert.equal(e.message, message);
    else assert.match(e.message, message);
    caught = e;
    return true;
  });
  return caught!;
}

describe('server-side apply: managedFields', () => {
  it('creates the object and records FieldsV1 as kube-apiserver does', () => {
    const r = apply(undefined, config(2, [web()]), 'kubectl');
    assert.equal(r.created, true);
    const [e] = entries(r.object);
    assert.deepEqual(Object.keys(e), [
      'manager',
      'operation',
      'apiVersion',
      'time',
      'fieldsType',
      'fieldsV1',
    ]);
    assert.equal(e.time, '2024-05-01T10:00:00Z');
    assert.deepEqual(e.fieldsV1, {
      'f:metadata': { 'f:labels': { 'f:app': {} } },
      'f:spec': {
        'f:replicas': {},
        'f:selector': {},
        'f:template': {
          'f:metadata': { 'f:labels': { 'f:app': {} } },
          'f:spec': {
            'f:containers': {
              'k:{"name":"web"}': {
                '.': {},
                'f:image': {},
                'f:name': {},
                'f:ports': { 'k:{"containerPort":80,"protocol":"TCP"}': { '.': {}, 'f:containerPort': {} } },
              },
            },
          },
        },
      },
    });
  });

  it('round-trips FieldsV1 with members, children, keys, values and indices', () => {
    const v1 = { 'f:a': { '.': {}, 'f:b': {} }, 'f:l': { 'k:{"n":"x","p":1}': {}, 'v:"s"': {}, 'i:3': {} } };
    const set = FieldSet.fromFieldsV1(v1);
    assert.deepEqual(set.toFieldsV1(), v1);
    assert.equal(set.paths().length, 5);
    assert.throws(() => FieldSet.fromFieldsV1({ 'k:notjson': {} }), /parsing key as path element/);
    assert.deepEqual(FieldSet.fromFieldsV1({ 'z:ignored': {}, 'f:x': {} }).toFieldsV1(), { 'f:x': {} });
  });
});

describe('server-side apply: ownership and conflicts', () => {
  const created = stored(apply(undefined, config(2, [web()]), 'alice').object);

  it('reports a conflict per field with kube-apiserver wording, and force takes ownership', () => {
    const err = rejects(
      () => apply(created, config(3, [web()]), 'bob'),
      'Conflict',
      'Apply failed with 1 conflict: conflict with "alice": .spec.replicas',
    );
    assert.deepEqual(err.causes, [
      { reason: 'FieldManagerConflict', message: 'conflict with "alice"', field: '.spec.replicas' },
    ]);
    const forced = apply(created, config(3, [web()]), 'bob', true).object;
    assert.equal(spec(forced).replicas, 3);
    const alice = entries(forced).find((e) => e.manager === 'alice')!;
    assert.equal('f:replicas' in ((alice.fieldsV1 as JsonObject)['f:spec'] as JsonObject), false);
  });

  it('lists several conflicts under their manager, and co-owns fields applied with the same value', () => {
    rejects(
      () => apply(created, config(4, [web({ image: 'nginx:2' })]), 'bob'),
      'Conflict',
      'Apply failed with 2 conflicts: conflicts with "alice":\n- .spec.replicas\n- .spec.template.spec.containers[name="web"].image',
    );
    const same = apply(created, config(2, [web()]), 'bob');
    // A no-op apply does not stamp its manager's time (kube-apiserver's managedFieldsUpdater): bob sorts first.
    assert.deepEqual(managers(same.object), ['bob/Apply', 'alice/Apply']);
    assert.equal(entries(same.object)[0].time, undefined);
    assert.equal(spec(same.object).replicas, 2);
  });

  it('removes fields a manager stopped applying unless another manager owns them', () => {
    const labelled = stored(
      apply(undefined, config(2, [web()], { app: 'web', tier: 'front' }), 'alice').object,
    );
    const dropped = apply(labelled, config(2, [web()]), 'alice').object;
    assert.deepEqual((dropped.metadata as JsonObject).labels, { app: 'web' });
    const shared = stored(
      apply(labelled, config(undefined, [web()], { app: 'web', tier: 'front' }), 'bob').object,
    );
    const kept = apply(shared, config(2, [web()]), 'alice').object;
    assert.deepEqual((kept.metadata as JsonObject).labels, { app: 'web', tier: 'front' });
  });

  it('merges list maps by key and removes an item the manager no longer applies', () => {
    const two = stored(
      apply(undefined, config(1, [web(), { name: 'side', image: 'busybox' }]), 'alice').object,
    );
    const other = apply(
      two,
      config(undefined, [
        { name: 'web', image: 'nginx:1' },
        { name: 'extra', image: 'x' },
      ]),
      'bob',
    ).object;
    assert.deepEqual(
      (podSpec(other).containers as JsonObject[]).map((c) => c.name),
      ['web', 'side', 'extra'],
    );
    const one = apply(two, config(1, [web()]), 'alice').object;
    assert.deepEqual(
      (podSpec(one).containers as JsonObject[]).map((c) => c.name),
      ['web'],
    );
  });

  it('treats sets by value: a finalizer another manager applied survives', () => {
    const withFin = (f: string[]) => ({
      ...config(1, [web()]),
      metadata: { name: 'web', namespace: 'default', finalizers: f },
    });
    const a = stored(apply(undefined, withFin(['a.io/x', 'a.io/y']), 'alice').object);
    const b = stored(apply(a, withFin(['a.io/y']), 'bob').object);
    const out = apply(b, withFin([]), 'alice').object;
    assert.deepEqual((out.metadata as JsonObject).finalizers, ['a.io/y']);
  });

  it('answers an apply that changes nothing with changed=false', () => {
    const r = apply(created, config(2, [web()]), 'alice');
    assert.equal(r.changed, false);
  });
});

describe('server-side apply: updates and client-side apply', () => {
  const csaCreate = (): JsonObject => {
    const obj = config(2, [web({ ports: [{ containerPort: 80, protocol: 'TCP' }] })]);
    (obj.metadata as JsonObject).annotations = {
      'kubectl.kubernetes.io/last-applied-configuration': `${JSON.stringify(obj)}\n`,
    };
    return stored(trackUpdate(undefined, obj, { ...deploy, manager: 'kubectl-client-side-apply' }));
  };

  it('tracks creates and updates as Update entries with apiVersion and time', () => {
    const o = csaCreate();
    assert.deepEqual(managers(o), ['kubectl-client-side-apply/Update']);
    const e = entries(o)[0];
    assert.equal(e.apiVersion, 'apps/v1');
    assert.equal(e.time, '2024-05-01T10:00:00Z');
    const scaled = trackUpdate(
      o,
      { ...o, spec: { ...spec(o), replicas: 5 } },
      { ...deploy, manager: 'kubectl', subresource: 'scale' },
    );
    const scale = entries(scaled).find((x) => x.subresource === 'scale')!;
    assert.deepEqual(scale.fieldsV1, { 'f:spec': { 'f:replicas': {} } });
    const csa = entries(scaled).find((x) => x.manager === 'kubectl-client-side-apply')!;
    assert.equal('f:replicas' in ((csa.fieldsV1 as JsonObject)['f:spec'] as JsonObject), false);
  });

  it('conflicts with the client-side manager for another server-side manager', () => {
    rejects(
      () => apply(csaCreate(), config(3, [web()]), 'helm'),
      'Conflict',
      'Apply failed with 1 conflict: conflict with "kubectl-client-side-apply" using apps/v1: .spec.replicas',
    );
  });

  it('lets kubectl take fields still at their last-applied values, and keeps the annotation current', () => {
    const r = apply(csaCreate(), config(3, [web()]), 'kubectl');
    assert.equal(spec(r.object).replicas, 3);
    const ann = ((r.object.metadata as JsonObject).annotations as JsonObject)[
      'kubectl.kubernetes.io/last-applied-configuration'
    ];
    assert.equal((JSON.parse(ann as string) as { spec: { replicas: number } }).spec.replicas, 3);
    assert.match(ann as string, /^\{"apiVersion":"apps\/v1","kind":"Deployment",/);
  });

  it('leaves untracked existing objects untracked, and honours requested managedFields', () => {
    const legacy = stored(config(1, [web()]));
    const upd = trackUpdate(
      legacy,
      { ...legacy, spec: { ...spec(legacy), replicas: 2 } },
      { ...deploy, manager: 'kubectl-edit' },
    );
    assert.equal((upd.metadata as JsonObject).managedFields, undefined);
    const o = csaCreate();
    const reset = trackUpdate(
      o,
      { ...o, metadata: { ...(o.metadata as JsonObject), managedFields: [] } },
      { ...deploy, manager: 'x' },
    );
    assert.equal((reset.metadata as JsonObject).managedFields, undefined);
    const first = apply(legacy, config(1, [web()]), 'kubectl').object;
    assert.deepEqual(managers(first), ['kubectl/Apply', 'before-first-apply/Update']);
  });

  it('folds update managers beyond ten into ancient-changes', () => {
    let o = stored(
      trackUpdate(
        undefined,
        { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'c' }, data: {} },
        { ...cm, manager: 'm0' },
      ),
    );
    for (let i = 1; i <= 11; i++) {
      const next = { ...o, data: { ...(o.data as JsonObject), [`k${i}`]: 'v' } };
      o = trackUpdate(o, next, { ...cm, manager: `m${i}`, now: new Date(NOW.getTime() + i * 1000) });
    }
    const names = entries(o).map((e) => e.manager as string);
    assert.equal(names.length, 10);
    assert.ok(names.includes('ancient-changes'), names.join(','));
  });
});

describe('server-side apply: bad configurations', () => {
  it('refuses another kind or version, and managedFields in the configuration (400)', () => {
    rejects(
      () => apply(undefined, { ...config(1, [web()]), kind: 'ReplicaSet' }, 'k'),
      'BadRequest',
      'invalid object type: apps/v1, Kind=ReplicaSet',
    );
    rejects(
      () => apply(undefined, { ...config(1, [web()]), apiVersion: 'v1' }, 'k'),
      'BadRequest',
      'invalid object type: /v1, Kind=Deployment',
    );
    const mf = config(1, [web()]);
    (mf.metadata as JsonObject).managedFields = [];
    rejects(() => apply(undefined, mf, 'k'), 'BadRequest', 'metadata.managedFields must be nil');
    rejects(
      () => serverSideApply(undefined, '', { ...deploy, manager: 'k', force: false }),
      'BadRequest',
      'invalid object type: /, Kind=',
    );
  });

  it('refuses undecodable bodies (400)', () => {
    rejects(
      () => serverSideApply(undefined, '- a\n- b\n', { ...deploy, manager: 'k', force: false }),
      'BadRequest',
      /^error decoding YAML: error unmarshaling JSON: .*cannot unmarshal array/,
    );
    rejects(
      () => serverSideApply(undefined, 'a: [b\n', { ...deploy, manager: 'k', force: false }),
      'BadRequest',
      /^error decoding YAML: /,
    );
  });

  it("answers schema violations as kube-apiserver's typed errors (500, SMD's message)", () => {
    const prefix = 'failed to create typed patch object (default/web; apps/v1, Kind=Deployment): ';
    const bogus = config(1, [web()]);
    (bogus.spec as JsonObject).bogus = 1;
    rejects(
      () => apply(undefined, bogus, 'k'),
      'Unknown',
      `${prefix}.spec.bogus: field not declared in schema`,
    );
    rejects(
      () => apply(undefined, config('x' as unknown as number, [web()]), 'k'),
      'Unknown',
      `${prefix}.spec.replicas: expected numeric (int or float), got string`,
    );
    rejects(
      () => apply(undefined, config(1, [web(), web()]), 'k'),
      'Unknown',
      `${prefix}.spec.template.spec.containers: duplicate entries for key [name="web"]`,
    );
    rejects(
      () => apply(undefined, config(1, [web({ ports: [{ name: 'http' }] })]), 'k'),
      'Unknown',
      `${prefix}.spec.template.spec.containers[name="web"].ports: element 0: associative list with keys has an element that omits key field "containerPort" (and doesn't have default value)`,
    );
  });

  it('reads YAML 1.1 bodies and reports duplicate keys for strict validation', () => {
    const yaml = 'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: c\ndata:\n  a: "1"\n  a: "2"\n';
    const ok = serverSideApply(undefined, yaml, {
      ...cm,
      manager: 'k',
      force: false,
      fieldValidation: 'Warn',
    });
    assert.deepEqual(ok.object.data, { a: '2' });
    assert.equal(ok.warnings.length, 1);
    rejects(
      () =>
        serverSideApply(undefined, yaml, { ...cm, manager: 'k', force: false, fieldValidation: 'Strict' }),
      'BadRequest',
      /^error strict decoding YAML: .*key "a" already set in map/s,
    );
  });
});
