/**
 * CRD validation ratcheting (CRDValidationRatcheting, on in 1.32) and the status subresource's validation: on an
 * update, schema errors and failed rules without oldSelf at values unchanged from the old object are not reported
 * (rules warn instead); /status checks the status schema without ratcheting and runs every rule.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { fieldErrorText, type FieldError } from '../src/errors.js';
import { Correlated } from '../src/schema/crd/correlate.js';
import { evaluateRules } from '../src/schema/crd/rules.js';
import { validateValue } from '../src/schema/crd/values.js';
import type { Schema } from '../src/schema/types.js';
import { oneVersionCrd } from './fixtures/crd.js';
import { startTestServer, type TestServer, until } from './helpers/apiserver.js';

const texts = (errs: FieldError[]) => errs.map((e) => `${e.field}: ${fieldErrorText(e)}`);

const spec: Schema = {
  type: 'object',
  required: ['name'],
  properties: {
    name: { type: 'string', maxLength: 3 },
    size: { type: 'integer', maximum: 5 },
    note: { type: 'string' },
    tags: {
      type: 'array',
      'x-kubernetes-list-type': 'set',
      items: { type: 'string', maxLength: 2 },
    },
    plain: { type: 'array', items: { type: 'string', maxLength: 2 } },
    ports: {
      type: 'array',
      'x-kubernetes-list-type': 'map',
      'x-kubernetes-list-map-keys': ['name'],
      items: {
        type: 'object',
        properties: { name: { type: 'string' }, port: { type: 'integer', maximum: 100 } },
      },
    },
    labels: { type: 'object', additionalProperties: { type: 'string', maxLength: 2 } },
  },
};
const schema: Schema = { type: 'object', properties: { spec } };

const obj = (s: Record<string, unknown>) => ({
  apiVersion: 'x.test/v1',
  kind: 'X',
  metadata: { name: 'a', resourceVersion: '1' },
  spec: s,
});

/** The schema errors of an update from `old` to `now`. */
const ratcheted = (now: unknown, old: unknown) =>
  texts(validateValue(schema, now, '', new Correlated(now, old, schema)));

describe('schema ratcheting', () => {
  const bad = {
    name: 'long',
    size: 9,
    note: 'n',
    tags: ['aaa', 'b'],
    plain: ['ccc'],
    ports: [
      { name: 'http', port: 800 },
      { name: 'dns', port: 53 },
    ],
    labels: { a: 'xyz' },
  };

  it('reports everything without an old object', () => {
    assert.deepEqual(texts(validateValue(schema, obj(bad))), [
      'spec.name: Too long: may not be more than 3 bytes',
      'spec.size: Invalid value: 9: spec.size in body should be less than or equal to 5',
      'spec.tags[0]: Too long: may not be more than 2 bytes',
      'spec.plain[0]: Too long: may not be more than 2 bytes',
      'spec.ports[0].port: Invalid value: 800: spec.ports[0].port in body should be less than or equal to 100',
      'spec.labels.a: Too long: may not be more than 2 bytes',
    ]);
  });

  it('drops the errors of unchanged values, whatever else changed', () => {
    assert.deepEqual(ratcheted(obj({ ...bad, note: 'changed' }), obj(bad)), []);
    // Map-list items correlate by key: reordered and with a new item, the old items are unchanged.
    const ports = [{ name: 'web', port: 1 }, ...bad.ports.slice().reverse()];
    assert.deepEqual(ratcheted(obj({ ...bad, ports }), obj(bad)), []);
  });

  it('reports the errors of changed values', () => {
    assert.deepEqual(ratcheted(obj({ ...bad, size: 8, name: 'lon' }), obj(bad)), [
      'spec.size: Invalid value: 8: spec.size in body should be less than or equal to 5',
    ]);
    const ports = [{ name: 'http', port: 801 }, bad.ports[1]];
    assert.deepEqual(ratcheted(obj({ ...bad, ports }), obj(bad)), [
      'spec.ports[0].port: Invalid value: 801: spec.ports[0].port in body should be less than or equal to 100',
    ]);
    assert.deepEqual(ratcheted(obj({ ...bad, labels: { a: 'xyz', b: 'abc' } }), obj(bad)), [
      'spec.labels.b: Too long: may not be more than 2 bytes',
    ]);
  });

  it('does not correlate items of other lists: a changed list reports all its items', () => {
    assert.deepEqual(ratcheted(obj({ ...bad, tags: ['aaa', 'b', 'c'] }), obj(bad)), [
      'spec.tags[0]: Too long: may not be more than 2 bytes',
    ]);
    assert.deepEqual(ratcheted(obj({ ...bad, plain: ['ccc', 'd'] }), obj(bad)), [
      'spec.plain[0]: Too long: may not be more than 2 bytes',
    ]);
  });

  it('ratchets a missing required field only with its parent unchanged', () => {
    const noName: Partial<typeof bad> = { ...bad };
    delete noName.name;
    assert.deepEqual(ratcheted(obj(noName), obj(noName)), []);
    assert.deepEqual(ratcheted(obj({ ...noName, note: 'x' }), obj(noName)), ['spec.name: Required value']);
  });

  it('correlates only what both objects have and the schema declares', () => {
    const c = new Correlated({ a: 1, b: [1] }, { a: 1, c: 2 }, { type: 'object', properties: { a: {} } });
    assert.equal(c.key('a')?.unchanged(), true);
    assert.equal(c.key('b'), undefined);
    assert.equal(c.key('c'), undefined);
    assert.equal(c.unchanged(), false);
    const same = new Correlated({ a: 1, x: 1 }, { a: 1, x: 1 }, { type: 'object', properties: { a: {} } });
    assert.equal(same.unchanged(), false, 'an undeclared field never correlates');
  });
});

describe('rule ratcheting', () => {
  const ruled: Schema = {
    type: 'object',
    properties: {
      spec: {
        type: 'object',
        'x-kubernetes-validations': [
          { rule: 'self.size != 4', message: 'size 4 is retired' },
          { rule: 'oldSelf.size != 3', message: 'size 3 must move' },
        ],
        properties: {
          size: { type: 'integer' },
          note: { type: 'string' },
          tags: {
            type: 'array',
            items: { type: 'string', 'x-kubernetes-validations': [{ rule: 'self != "x"' }] },
          },
        },
      },
    },
  };
  const run = (now: Record<string, unknown>, old: Record<string, unknown>) => {
    const warnings: string[] = [];
    const n = obj(now);
    const o = obj(old);
    const errs = evaluateRules(ruled, n, o, {
      ratchet: new Correlated(n, o, ruled),
      warn: (w) => warnings.push(w),
    });
    return { errors: texts(errs), warnings };
  };

  it('turns failures on unchanged values into warnings', () => {
    assert.deepEqual(run({ size: 4, tags: ['x'] }, { size: 4, tags: ['x'] }), {
      errors: [],
      warnings: [
        'spec: Invalid value: "object": size 4 is retired',
        'spec.tags[0]: Invalid value: "string": failed rule: self != "x"',
      ],
    });
  });

  it('refuses them on changed values; list items ratchet with their list', () => {
    assert.deepEqual(run({ size: 4, note: 'n', tags: ['x', 'y'] }, { size: 4, tags: ['x'] }), {
      errors: [
        'spec: Invalid value: "object": size 4 is retired',
        'spec.tags[0]: Invalid value: "string": failed rule: self != "x"',
      ],
      warnings: [],
    });
  });

  it('always runs transition rules (those naming oldSelf)', () => {
    assert.deepEqual(run({ size: 3 }, { size: 3 }), {
      errors: ['spec: Invalid value: "object": size 3 must move'],
      warnings: [],
    });
  });
});

const crd = (strict: boolean) =>
  oneVersionCrd(
    'ratchet.berth.test',
    'Gadget',
    {
      spec: {
        type: 'object',
        properties: {
          size: { type: 'integer', ...(strict ? { maximum: 5 } : {}) },
          mode: {
            type: 'string',
            ...(strict
              ? {
                  'x-kubernetes-validations': [
                    { rule: "self.startsWith('new')", message: 'mode must start with new' },
                  ],
                }
              : {}),
          },
          note: { type: 'string' },
        },
      },
      status: {
        type: 'object',
        properties: {
          phase: { type: 'string', enum: ['Ready', 'Pending'] },
          count: { type: 'integer' },
        },
        'x-kubernetes-validations': [
          { rule: '!has(self.count) || self.count >= 0', message: 'count must not be negative' },
        ],
      },
    },
    { status: {} },
  );

describe('custom resources through the API server', () => {
  let s: TestServer;
  before(async () => {
    s = await startTestServer();
  });
  after(() => s?.stop());

  const CRDS = '/apis/apiextensions.k8s.io/v1/customresourcedefinitions';
  const GADGETS = '/apis/ratchet.berth.test/v1/namespaces/default/gadgets';
  const merge = (url: string, body: object) =>
    s.request('PATCH', url, { body, headers: { 'Content-Type': 'application/merge-patch+json' } });
  const message = (r: { json<T>(): T }) => r.json<{ message: string }>().message;
  const gadget = (name: string, spec: object) => ({
    apiVersion: 'ratchet.berth.test/v1',
    kind: 'Gadget',
    metadata: { name },
    spec,
  });

  before(async () => {
    assert.equal((await s.request('POST', CRDS, { body: crd(false) })).status, 201);
    await until('gadgets served', async () => {
      const r = await s.request('POST', GADGETS, { body: gadget('old', { size: 9, mode: 'old' }) });
      return r.status === 201;
    });
    const fine = await s.request('POST', GADGETS, { body: gadget('fine', { size: 9, mode: 'new' }) });
    assert.equal(fine.status, 201, fine.text);
    assert.equal((await merge(`${CRDS}/gadgets.ratchet.berth.test`, crd(true))).status, 200);
    await until('the strict schema served', async () => {
      const r = await s.request('POST', GADGETS, { body: gadget('strict', { size: 9 }) });
      return r.status === 422;
    });
  });

  it('keeps objects stored under a looser schema updatable, and refuses changes to their bad fields', async () => {
    const note = await merge(`${GADGETS}/old`, { spec: { note: 'hello' } });
    assert.equal(note.status, 200, note.text);
    assert.equal(
      note.headers.warning,
      '299 - "spec.mode: Invalid value: \\"string\\": mode must start with new"',
    );
    const size = await merge(`${GADGETS}/old`, { spec: { size: 8 } });
    assert.equal(
      message(size),
      'Gadget.ratchet.berth.test "old" is invalid: spec.size: Invalid value: 8: spec.size in body should be less than or equal to 5',
    );
    const mode = await merge(`${GADGETS}/old`, { spec: { mode: 'older', size: 1 } });
    assert.equal(
      message(mode),
      'Gadget.ratchet.berth.test "old" is invalid: spec.mode: Invalid value: "string": mode must start with new',
    );
  });

  it('validates the status part through /status, and runs every rule there without ratcheting', async () => {
    // The spec's schema is not checked through /status (size 9 stays), its rules are.
    const ok = await merge(`${GADGETS}/fine/status`, { status: { phase: 'Ready', count: 1 } });
    assert.equal(ok.status, 200, ok.text);
    const negative = await merge(`${GADGETS}/fine/status`, { status: { count: -1 } });
    assert.equal(
      message(negative),
      'Gadget.ratchet.berth.test "fine" is invalid: status: Invalid value: "object": count must not be negative',
    );
    const phase = await merge(`${GADGETS}/fine/status`, { status: { phase: 'Bogus' } });
    assert.equal(
      message(phase),
      'Gadget.ratchet.berth.test "fine" is invalid: [status.phase: Unsupported value: "Bogus": supported values: "Ready", "Pending", ' +
        '<nil>: Invalid value: "null": some validation rules were not checked because the object was invalid; correct the existing errors to complete validation]',
    );
    const old = await merge(`${GADGETS}/old/status`, { status: { count: 2 } });
    assert.equal(
      message(old),
      'Gadget.ratchet.berth.test "old" is invalid: spec.mode: Invalid value: "string": mode must start with new',
    );
  });

  it('ignores status in writes to the main resource', async () => {
    const r = await merge(`${GADGETS}/fine`, { status: { count: -5 } });
    assert.equal(r.status, 200, r.text);
    assert.deepEqual(r.json<{ status: unknown }>().status, { phase: 'Ready', count: 1 });
  });
});
