/** The CEL evaluator on Kubernetes-style rules, and CRD x-kubernetes-validations checked and run as upstream. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { compile, CelError } from '../src/cel/program.js';
import { fieldErrorText } from '../src/errors.js';
import { defaultCrd } from '../src/schema/crd/strategy.js';
import { evaluateRules } from '../src/schema/crd/rules.js';
import { describe as texts, validateCrd } from '../src/schema/crd/validation.js';
import type { CustomResourceDefinition } from '../src/schema/crd/types.js';
import type { Schema } from '../src/schema/types.js';
import { cronTabCrd } from './fixtures/crontab.js';

const run = (expr: string, self: unknown, oldSelf?: unknown) =>
  compile(expr, ['self', 'oldSelf']).evaluate({ self, oldSelf });

describe('CEL evaluator with the Kubernetes libraries', () => {
  const self = {
    replicas: 3n,
    minReplicas: 1n,
    name: 'web-1',
    tags: ['a', 'b'],
    ports: [80n, 443n],
    labels: { app: 'web' },
    url: 'https://example.com:8443/x?q=1',
    cpu: '500m',
  };
  const truths = [
    'self.minReplicas <= self.replicas',
    'has(self.labels) && !has(self.missing)',
    'self.tags.all(t, t.size() == 1) && self.tags.exists(t, t == "a") && self.tags.exists_one(t, t == "b")',
    'self.tags.map(t, t + "!") == ["a!", "b!"] && self.tags.filter(t, t != "a") == ["b"]',
    '"a" in self.tags && "app" in self.labels && self.labels.all(k, k == "app")',
    'self.replicas > 2 ? true : false',
    'self.name.matches("^[a-z]+-[0-9]$") && self.name.startsWith("web") && self.name.contains("-")',
    'self.name.find("[0-9]+") == "1" && "a1b22".findAll("[0-9]+") == ["1", "22"]',
    'self.?spec.?foo.orValue("d") == "d" && self.?labels.?app.orValue("") == "web"',
    'self.ports.isSorted() && self.ports.sum() == 523 && self.ports.max() == 443 && self.ports.min() == 80',
    'self.ports.indexOf(443) == 1 && [1, 2, 1].lastIndexOf(1) == 2',
    'sets.contains(self.tags, ["a"]) && sets.intersects(self.tags, ["b", "c"]) && !sets.equivalent(self.tags, ["a"])',
    'self.name.replace("-", "_") == "web_1" && self.name.charAt(0) == "w" && "abc".reverse() == "cba"',
    'url(self.url).getHost() == "example.com:8443" && url(self.url).getPort() == "8443" && isURL(self.url)',
    'url(self.url).getScheme() == "https" && url(self.url).getQuery()["q"] == ["1"] && !isURL("nope")',
    'quantity(self.cpu).isLessThan(quantity("1")) && isQuantity("2Gi") && !isQuantity("2GG")',
    'quantity("1Gi").compareTo(quantity("1024Mi")) == 0 && quantity("2").asInteger() == 2',
    'self.replicas == 3.0 && int("7") == 7 && string(self.replicas) == "3"',
    'self.name.split("-").size() == 2 && self.name.lowerAscii() == self.name && size(self.tags) == 2',
  ];
  for (const expr of truths) it(expr, () => assert.equal(run(expr, self), true));

  it('transition rules see oldSelf', () => {
    assert.equal(run('self.replicas >= oldSelf.replicas', self, { replicas: 2n }), true);
    assert.equal(run('self == oldSelf', self, { ...self, name: 'x' }), false);
  });

  it('refuses bad expressions with cel-go style errors', () => {
    const errOf = (expr: string) => {
      try {
        compile(expr, ['self', 'oldSelf']);
      } catch (e) {
        assert.ok(e instanceof CelError);
        return e.message;
      }
      assert.fail(`${expr} compiled`);
    };
    assert.equal(
      errOf('foo == 1'),
      "ERROR: <input>:1:1: undeclared reference to 'foo' (in container '')\n | foo == 1\n | ^",
    );
    assert.match(errOf('self.x +'), /^ERROR: <input>:1:\d+: Syntax error: .*\n \| self\.x \+\n \| \.+\^$/);
    assert.match(errOf('[1, "a"]'), /^ERROR: <input>:1:\d+: List elements must have the same type/);
  });

  it('words runtime errors as cel-go does', () => {
    assert.throws(() => run('self.nope == 1', {}), { message: 'no such key: nope' });
    assert.throws(() => run('self.n / 0 == 1', { n: 1n }), { message: 'division by zero' });
    assert.throws(() => run('[1].min() == 1 && [].max() == 1', {}), { message: /max called on empty list/ });
  });
});

function crdWith(spec: Schema): CustomResourceDefinition {
  const c = cronTabCrd();
  c.spec.versions[0].schema = {
    openAPIV3Schema: { type: 'object', properties: { spec } },
  };
  delete c.spec.versions[0].subresources;
  defaultCrd(c);
  return c;
}

describe('CRD x-kubernetes-validations at CRD create/update', () => {
  it('accepts compiling rules', () => {
    const c = crdWith({
      type: 'object',
      properties: { a: { type: 'integer' } },
      'x-kubernetes-validations': [
        { rule: 'self.a > 0', message: 'a must be positive', fieldPath: '.a', reason: 'FieldValueForbidden' },
        { rule: 'self.a >= oldSelf.a', messageExpression: '"a went down to " + string(self.a)' },
      ],
    });
    assert.deepEqual(texts(validateCrd(c)), []);
  });

  it('refuses rules that do not compile, with the rule printed as Go prints it', () => {
    const c = crdWith({
      type: 'object',
      properties: { a: { type: 'integer' }, l: { type: 'array', items: { type: 'string' } } },
      'x-kubernetes-validations': [{ rule: 'self.a >' }, { rule: '1 + 2' }],
    });
    const p = 'spec.validation.openAPIV3Schema.properties[spec].x-kubernetes-validations';
    const got = texts(validateCrd(c));
    assert.equal(got.length, 2);
    assert.ok(
      got[0].startsWith(
        `${p}[0].rule: Invalid value: apiextensions.ValidationRule{Rule:"self.a >", Message:"", MessageExpression:"", Reason:(*apiextensions.FieldValueErrorReason)(nil), FieldPath:"", OptionalOldSelf:(*bool)(nil)}: compilation failed: ERROR: <input>:1:`,
      ),
      got[0],
    );
    assert.match(got[1], /\[1\]\.rule: Invalid value: .*: cel expression must evaluate to a bool$/);
  });

  it('checks message, reason, fieldPath and oldSelf on lists that do not correlate', () => {
    const c = crdWith({
      type: 'object',
      properties: {
        a: { type: 'integer' },
        l: {
          type: 'array',
          items: { type: 'object', 'x-kubernetes-validations': [{ rule: 'self == oldSelf' }] },
        },
      },
      'x-kubernetes-validations': [
        { rule: '' },
        { rule: 'true', message: 'two\nlines' },
        { rule: 'true', reason: 'Nope' },
        { rule: 'true', fieldPath: '.b' },
      ],
    });
    const p = 'spec.validation.openAPIV3Schema.properties[spec]';
    assert.deepEqual(texts(validateCrd(c)), [
      `${p}.x-kubernetes-validations[0].rule: Required value: rule is not specified`,
      `${p}.x-kubernetes-validations[1].message: Invalid value: "two\\nlines": message must not contain line breaks`,
      `${p}.x-kubernetes-validations[2].reason: Unsupported value: "Nope": supported values: "FieldValueDuplicate", "FieldValueForbidden", "FieldValueInvalid", "FieldValueRequired"`,
      `${p}.x-kubernetes-validations[3].fieldPath: Invalid value: ".b": fieldPath must be a valid path`,
      `${p}.properties[l].items.x-kubernetes-validations[0].rule: Invalid value: "self == oldSelf": oldSelf cannot be used on the uncorrelatable portion of the schema within ${p}.properties[l]`,
    ]);
  });
});

describe('CRD x-kubernetes-validations on custom resources', () => {
  const schema: Schema = {
    type: 'object',
    properties: {
      spec: {
        type: 'object',
        properties: {
          min: { type: 'integer' },
          max: { type: 'integer' },
          ratio: { type: 'number' },
          name: {
            type: 'string',
            'x-kubernetes-validations': [{ rule: 'self == oldSelf', message: 'is immutable' }],
          },
          items: {
            type: 'array',
            'x-kubernetes-list-type': 'map',
            'x-kubernetes-list-map-keys': ['k'],
            items: {
              type: 'object',
              properties: { k: { type: 'string' }, v: { type: 'integer' } },
              'x-kubernetes-validations': [
                { rule: 'self.v >= oldSelf.v', messageExpression: '"v of " + self.k + " went down"' },
              ],
            },
          },
        },
        'x-kubernetes-validations': [
          { rule: 'self.min <= self.max', fieldPath: '.min' },
          { rule: 'self.ratio < 1.5', reason: 'FieldValueForbidden', message: 'ratio too big' },
          { rule: 'self.extra == 1', message: 'extra must be 1' },
        ],
      },
    },
    'x-kubernetes-validations': [{ rule: "self.metadata.name.startsWith('ok')" }],
  };
  const obj = (spec: Record<string, unknown>, name = 'ok-1') => ({
    metadata: { name, uid: 'x' },
    spec: { extra: 1, ...spec },
  });
  const msgs = (errs: ReturnType<typeof evaluateRules>) =>
    errs.map((e) => `${e.field}: ${fieldErrorText(e)}`);

  it('passes a valid object', () => {
    assert.deepEqual(evaluateRules(schema, obj({ min: 1, max: 2, ratio: 1 })), []);
  });

  it('gives upstream messages, fieldPath and reason', () => {
    const { spec } = obj({ min: 3, max: 2, ratio: 2 });
    delete (spec as Record<string, unknown>).extra;
    assert.deepEqual(msgs(evaluateRules(schema, { metadata: { name: 'bad' }, spec })), [
      `<nil>: Invalid value: "object": failed rule: self.metadata.name.startsWith('ok')`,
      'spec.min: Invalid value: "object": failed rule: self.min <= self.max',
      'spec: Forbidden: ratio too big',
      'spec: Invalid value: "object": no such key: extra evaluating rule: extra must be 1',
    ]);
  });

  it('runs transition rules only with an old object, correlating map-list items by key', () => {
    const old = obj({
      min: 1,
      max: 2,
      ratio: 1,
      name: 'a',
      items: [
        { k: 'x', v: 5 },
        { k: 'y', v: 1 },
      ],
    });
    const now = obj({
      min: 1,
      max: 2,
      ratio: 1,
      name: 'b',
      items: [
        { k: 'y', v: 0 },
        { k: 'x', v: 6 },
        { k: 'z', v: 0 },
      ],
    });
    assert.deepEqual(evaluateRules(schema, now), []);
    assert.deepEqual(msgs(evaluateRules(schema, now, old)), [
      'spec.name: Invalid value: "string": is immutable',
      'spec.items[0]: Invalid value: "object": v of y went down',
    ]);
  });
});
