/**
 * x-kubernetes-list-type set and map on custom resources: duplicates refused with kube-apiserver's words (the
 * second occurrence of a value only), non-objects in a map list, nesting under items and additionalProperties, and
 * on update the invariants ratchet as a whole (an object stored before the list became a set stays updatable).
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { fieldErrorText, type FieldError } from '../src/errors.js';
import { listTypeErrors } from '../src/schema/crd/listtype.js';
import type { Schema } from '../src/schema/types.js';
import { oneVersionCrd } from './fixtures/crd.js';
import { startTestServer, type TestServer, until } from './helpers/apiserver.js';

const texts = (errs: FieldError[]) => errs.map((e) => `${e.field}: ${fieldErrorText(e)}`);
const set = (items?: Schema): Schema => ({
  type: 'array',
  'x-kubernetes-list-type': 'set',
  ...(items ? { items } : {}),
});
const map = (keys: string[]): Schema => ({
  type: 'array',
  'x-kubernetes-list-type': 'map',
  'x-kubernetes-list-map-keys': keys,
  items: { type: 'object', additionalProperties: { type: 'string', nullable: true } },
});
const check = (properties: Record<string, Schema>, obj: Record<string, unknown>) =>
  texts(listTypeErrors({ type: 'object', properties }, obj));

describe('list-type invariants', () => {
  it('reports a repeated set value once, where it is first repeated, scalars and compound values alike', () => {
    assert.deepEqual(
      check(
        { s: set(), n: set(), b: set(), m: set(), a: set(), z: set() },
        {
          s: ['a', 'a', 'b', 'c', 'd', 'c', 'a'],
          n: [1, 2, 1],
          b: [false, true, true],
          m: [{ a: 'b', c: 'd' }, { a: 'c' }, { c: 'd', a: 'b' }],
          a: [[], ['a'], ['b'], ['a']],
          z: ['a', null, null],
        },
      ),
      [
        's[1]: Duplicate value: "a"',
        's[5]: Duplicate value: "c"',
        'n[2]: Duplicate value: 1',
        'b[2]: Duplicate value: true',
        'm[2]: Duplicate value: map[string]interface {}{"a":"b", "c":"d"}',
        'a[3]: Duplicate value: []interface {}{"a"}',
        'z[2]: Duplicate value: null',
      ],
    );
  });

  it('keys map lists by their key fields; a missing key differs from null, a null item has no keys', () => {
    assert.deepEqual(
      check(
        { one: map(['a']), two: map(['a', 'b']), nil: map(['a']), item: map(['a']), compound: map(['a']) },
        {
          one: [{ a: '0', c: '2' }, { a: '1', c: '1' }, { a: '1', c: '2' }, {}],
          two: [{ a: '1', b: '1' }, { a: '1', b: '2' }, { a: '1', b: '2', c: '3' }, {}],
          nil: [{ a: [], c: '1' }, { a: null }, { c: '1' }, { a: null }],
          item: [null, { a: '0' }, { a: null }, { c: '1' }],
          compound: [{ a: ['a'] }, { a: ['a', 42] }, { a: ['a', 42] }, { a: ['a'] }, { a: ['a'] }],
        },
      ),
      [
        'one[2]: Duplicate value: map[string]interface {}{"a":"1"}',
        'two[2]: Duplicate value: map[string]interface {}{"a":"1", "b":"2"}',
        'nil[3]: Duplicate value: map[string]interface {}{"a":interface {}(nil)}',
        'item[3]: Duplicate value: map[string]interface {}{}',
        'compound[2]: Duplicate value: map[string]interface {}{"a":[]interface {}{"a", 42}}',
        'compound[3]: Duplicate value: map[string]interface {}{"a":[]interface {}{"a"}}',
      ],
    );
  });

  it('refuses items that are not objects in a map list, once per list, even a list of one', () => {
    assert.deepEqual(check({ m: map(['a']), n: map(['a']) }, { m: ['x', 5], n: [null] }), [
      'm[0]: Invalid value: "x": must be an object for an array of list-type map',
    ]);
  });

  it('walks items and additionalProperties, and leaves atomic and untyped lists alone', () => {
    const schema: Schema = {
      type: 'object',
      properties: {
        nested: { type: 'array', items: set({ type: 'string' }) },
        byName: { type: 'object', additionalProperties: set() },
        atomic: { type: 'array', 'x-kubernetes-list-type': 'atomic' },
        plain: { type: 'array' },
      },
    };
    const obj = {
      nested: [
        ['a', 'b', 'a'],
        ['b', 'b'],
      ],
      byName: { x: [1, 1], y: [2] },
      atomic: ['a', 'a'],
      plain: ['a', 'a'],
    };
    assert.deepEqual(texts(listTypeErrors(schema, obj)), [
      'nested[0][2]: Duplicate value: "a"',
      'nested[1][1]: Duplicate value: "b"',
      'byName[x][1]: Duplicate value: 1',
    ]);
  });
});

const crd = (typed: boolean) =>
  oneVersionCrd('lists.berth.test', 'Rig', {
    spec: {
      type: 'object',
      properties: {
        tags: {
          type: 'array',
          items: { type: 'string' },
          ...(typed ? { 'x-kubernetes-list-type': 'set' } : {}),
        },
        ports: {
          type: 'array',
          ...(typed ? { 'x-kubernetes-list-type': 'map', 'x-kubernetes-list-map-keys': ['name'] } : {}),
          items: {
            type: 'object',
            required: ['name'],
            properties: { name: { type: 'string' }, port: { type: 'integer' } },
          },
        },
        note: { type: 'string' },
      },
    },
  });

describe('list-type invariants through the API server', () => {
  let s: TestServer;
  const CRDS = '/apis/apiextensions.k8s.io/v1/customresourcedefinitions';
  const RIGS = '/apis/lists.berth.test/v1/namespaces/default/rigs';
  const rig = (name: string, spec: object) => ({
    apiVersion: 'lists.berth.test/v1',
    kind: 'Rig',
    metadata: { name },
    spec,
  });
  const merge = (url: string, body: object) =>
    s.request('PATCH', url, { body, headers: { 'Content-Type': 'application/merge-patch+json' } });
  const message = (r: { json<T>(): T }) => r.json<{ message: string }>().message;

  before(async () => {
    s = await startTestServer();
    assert.equal((await s.request('POST', CRDS, { body: crd(false) })).status, 201);
    await until('rigs served', async () => {
      const r = await s.request('POST', RIGS, { body: rig('old', { tags: ['a', 'a'] }) });
      return r.status === 201;
    });
    assert.equal((await s.request('POST', RIGS, { body: rig('clean', { tags: ['a'] }) })).status, 201);
    assert.equal((await merge(`${CRDS}/rigs.lists.berth.test`, crd(true))).status, 200);
    await until('the list types served', async () => {
      const r = await s.request('POST', RIGS, { body: rig('probe', { tags: ['x', 'x'] }) });
      return r.status === 422;
    });
  });
  after(() => s?.stop());

  it('refuses duplicates in a set and a map list with 422 and a cause per duplicate', async () => {
    const r = await s.request('POST', RIGS, {
      body: rig('dup', {
        tags: ['a', 'b', 'a'],
        ports: [
          { name: 'http', port: 80 },
          { name: 'http', port: 8080 },
        ],
      }),
    });
    assert.equal(r.status, 422);
    const status = r.json<{ reason: string; message: string; details: { causes: unknown[] } }>();
    assert.equal(status.reason, 'Invalid');
    assert.equal(
      status.message,
      'Rig.lists.berth.test "dup" is invalid: [spec.tags[2]: Duplicate value: "a", ' +
        'spec.ports[1]: Duplicate value: map[string]interface {}{"name":"http"}]',
    );
    assert.deepEqual(status.details.causes, [
      { reason: 'FieldValueDuplicate', message: 'Duplicate value: "a"', field: 'spec.tags[2]' },
      {
        reason: 'FieldValueDuplicate',
        message: 'Duplicate value: map[string]interface {}{"name":"http"}',
        field: 'spec.ports[1]',
      },
    ]);
    assert.equal((await s.request('GET', `${RIGS}/dup`)).status, 404);
  });

  it('keeps an object stored before the list became a set updatable, and keeps clean objects clean', async () => {
    const note = await merge(`${RIGS}/old`, { spec: { note: 'still here' } });
    assert.equal(note.status, 200, note.text);
    const dirty = await merge(`${RIGS}/clean`, { spec: { tags: ['a', 'a'] } });
    assert.equal(
      message(dirty),
      'Rig.lists.berth.test "clean" is invalid: spec.tags[1]: Duplicate value: "a"',
    );
    const stored = await s.request('GET', `${RIGS}/clean`);
    assert.deepEqual(stored.json<{ spec: unknown }>().spec, { tags: ['a'] });
  });
});
