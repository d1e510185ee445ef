/**
 * JSON patch and merge patch with kube-apiserver's semantics and errors, and the request-level checks of the patch
 * API (content types, PatchOptions, the manager of a write).
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { KubeError } from '../../src/errors.js';
import {
  APPLY_PATCH,
  JSON_PATCH,
  MERGE_PATCH,
  STRATEGIC_MERGE_PATCH,
  type JsonObject,
  applyPatch,
  managerFor,
  parsePatchType,
  strictDecodingError,
  validatePatchOptions,
} from '../../src/patch/api.js';

const cm = (): JsonObject => ({
  apiVersion: 'v1',
  kind: 'ConfigMap',
  metadata: { name: 'c', labels: { 'app.kubernetes.io/name': 'x' } },
  data: { a: '1', b: '2' },
  list: [1, 2, 3],
});

const jp = (ops: unknown, doc = cm(), fieldValidation?: string) =>
  applyPatch(JSON_PATCH, doc, JSON.stringify(ops), { ...(fieldValidation ? { fieldValidation } : {}) });

function rejects(fn: () => unknown, reason: string, message: string | RegExp): void {
  assert.throws(fn, (e: unknown) => {
    assert.ok(e instanceof KubeError, String(e));
    assert.equal(e.reason, reason, e.message);
    if (typeof message === 'string') assert.equal(e.message, message);
    else assert.match(e.message, message);
    return true;
  });
}

const OPAQUE = 'the server rejected our request due to an error in our request';

describe('JSON patch', () => {
  it('adds, removes, replaces, moves, copies and tests, with pointer escaping', () => {
    const { object } = jp([
      { op: 'test', path: '/data/a', value: '1' },
      { op: 'add', path: '/data/c', value: '3' },
      { op: 'replace', path: '/data/a', value: 'one' },
      { op: 'remove', path: '/data/b' },
      { op: 'add', path: '/metadata/labels/app.kubernetes.io~1part-of', value: 'y' },
      { op: 'replace', path: '/metadata/labels/app.kubernetes.io~1name', value: 'z' },
      { op: 'move', from: '/data/c', path: '/data/d' },
      { op: 'copy', from: '/list', path: '/copied' },
      { op: 'add', path: '/list/1', value: 9 },
      { op: 'add', path: '/list/-', value: 4 },
      { op: 'remove', path: '/list/-1' },
    ]);
    assert.deepEqual(object.data, { a: 'one', d: '3' });
    assert.deepEqual((object.metadata as JsonObject).labels, {
      'app.kubernetes.io/name': 'z',
      'app.kubernetes.io/part-of': 'y',
    });
    assert.deepEqual(object.list, [1, 9, 2, 3]);
    assert.deepEqual(object.copied, [1, 2, 3]);
  });

  it('replaces a missing object member (as kube-apiserver does) and tests null against a missing one', () => {
    assert.equal((jp([{ op: 'replace', path: '/data/zz', value: 'x' }]).object.data as JsonObject).zz, 'x');
    assert.ok(jp([{ op: 'test', path: '/data/none', value: null }]));
  });

  it('answers every failure while applying with the opaque 422', () => {
    rejects(() => jp([{ op: 'test', path: '/data/a', value: 'nope' }]), 'Invalid', OPAQUE);
    rejects(() => jp([{ op: 'remove', path: '/data/missing' }]), 'Invalid', OPAQUE);
    rejects(() => jp([{ op: 'add', path: '/nope/x', value: 1 }]), 'Invalid', OPAQUE);
    rejects(() => jp([{ op: 'add', path: '/list/7', value: 1 }]), 'Invalid', OPAQUE);
    rejects(() => jp([{ op: 'frobnicate', path: '/a' }]), 'Invalid', OPAQUE);
    rejects(() => jp([{ op: 'replace', path: '/list/9', value: 1 }]), 'Invalid', OPAQUE);
    rejects(() => jp([{ op: 'add', value: 1 }]), 'Invalid', OPAQUE);
  });

  it('refuses undecodable bodies with 400, worded per field validation', () => {
    rejects(
      () => applyPatch(JSON_PATCH, cm(), '{"op":"add"}'),
      'BadRequest',
      'json: cannot unmarshal object into Go value of type jsonpatch.Patch',
    );
    rejects(
      () => applyPatch(JSON_PATCH, cm(), '{"op":"add"}', { fieldValidation: 'Strict' }),
      'BadRequest',
      'error decoding patch: json: cannot unmarshal object into Go value of type []handlers.jsonPatchOp',
    );
    rejects(() => applyPatch(JSON_PATCH, cm(), '[{"op":'), 'BadRequest', 'unexpected end of JSON input');
    rejects(
      () => jp([{ op: 5, path: '/a' }], cm(), 'Strict'),
      'BadRequest',
      'error decoding patch: json: cannot unmarshal number into Go struct field jsonPatchOp.op of type string',
    );
  });

  it('collects unknown operation members as strict-decoding errors', () => {
    const r = jp([{ op: 'add', path: '/data/x', value: '1', extra: true }], cm(), 'Strict');
    assert.deepEqual(r.strictErrors, ['json patch unknown field "extra"']);
    const e = strictDecodingError(r.object, r.strictErrors);
    assert.equal(e.reason, 'Invalid');
    assert.match(
      e.message,
      /^ "" is invalid: patch: Invalid value: ".*": strict decoding error: json patch unknown field "extra"$/,
    );
    assert.deepEqual(jp([{ op: 'add', path: '/data/x', value: '1', extra: true }]).strictErrors, []);
  });

  it('refuses more than 10000 operations with 413', () => {
    const ops = Array.from({ length: 10001 }, () => ({ op: 'test', path: '/kind', value: 'ConfigMap' }));
    rejects(
      () => jp(ops),
      'RequestEntityTooLarge',
      'The allowed maximum operations in a JSON patch is 10000, got 10001',
    );
  });
});

describe('merge patch', () => {
  const mp = (patch: string, doc = cm(), fieldValidation?: string) =>
    applyPatch(MERGE_PATCH, doc, patch, fieldValidation ? { fieldValidation } : {}).object;

  it('merges objects, deletes with null and replaces lists', () => {
    const out = mp('{"data":{"a":null,"c":"3"},"list":[5],"metadata":{"annotations":{"x":"1","y":null}}}');
    assert.deepEqual(out.data, { b: '2', c: '3' });
    assert.deepEqual(out.list, [5]);
    assert.deepEqual((out.metadata as JsonObject).annotations, { x: '1' });
  });

  it('keeps nulls inside lists and replaces non-objects', () => {
    const out = mp('{"list":[null,{"a":null}],"data":"x"}');
    assert.deepEqual(out.list, [null, {}]);
    assert.equal(out.data, 'x');
  });

  it('refuses bodies that are not an object or array (400), and an array result (422)', () => {
    rejects(() => mp('nope'), 'BadRequest', 'Invalid JSON Patch');
    rejects(() => mp('null'), 'BadRequest', 'Invalid JSON Patch');
    rejects(() => mp('"s"'), 'BadRequest', 'Invalid JSON Patch');
    rejects(
      () => mp('nope', cm(), 'Strict'),
      'BadRequest',
      "error decoding patch: invalid character 'o' in literal null (expecting 'u')",
    );
    rejects(
      () => mp('[1]', cm(), 'Strict'),
      'BadRequest',
      'error decoding patch: json: cannot unmarshal array into Go value of type map[string]interface {}',
    );
    rejects(
      () => mp('[1]'),
      'Invalid',
      /^ "" is invalid: patch: Invalid value: "\[1\]": json: cannot unmarshal array/,
    );
  });
});

describe('patch requests', () => {
  it('accepts the four patch types, ignoring parameters, and refuses others with 415', () => {
    assert.equal(parsePatchType('application/merge-patch+json; charset=utf-8', false), MERGE_PATCH);
    assert.equal(parsePatchType(APPLY_PATCH, true), APPLY_PATCH);
    rejects(
      () => parsePatchType(STRATEGIC_MERGE_PATCH, true),
      'UnsupportedMediaType',
      'the body of the request was in an unknown format - accepted media types include: application/json-patch+json, application/merge-patch+json, application/apply-patch+yaml',
    );
    rejects(
      () => parsePatchType('application/json', false),
      'UnsupportedMediaType',
      /strategic-merge-patch\+json, application\/apply-patch\+yaml$/,
    );
  });

  it('validates PatchOptions as kube-apiserver (422 on PatchOptions.meta.k8s.io)', () => {
    validatePatchOptions(APPLY_PATCH, { fieldManager: 'kubectl', force: true });
    rejects(
      () => validatePatchOptions(APPLY_PATCH, {}),
      'Invalid',
      'PatchOptions.meta.k8s.io "" is invalid: fieldManager: Required value: is required for apply patch',
    );
    rejects(
      () => validatePatchOptions(MERGE_PATCH, { force: false }),
      'Invalid',
      'PatchOptions.meta.k8s.io "" is invalid: force: Forbidden: may not be specified for non-apply patch',
    );
    rejects(
      () => validatePatchOptions(MERGE_PATCH, { fieldManager: 'x'.repeat(129) }),
      'Invalid',
      /fieldManager: Too long/,
    );
    rejects(
      () => validatePatchOptions(MERGE_PATCH, { fieldManager: 'a\u0007' }),
      'Invalid',
      /invalid character U\+0007 \(at position 1\)/,
    );
    rejects(
      () => validatePatchOptions(MERGE_PATCH, { dryRun: ['Some'] }),
      'Invalid',
      /dryRun: Unsupported value: \[\]string\{"Some"\}: supported values: "All"/,
    );
    rejects(
      () => validatePatchOptions(MERGE_PATCH, { fieldValidation: 'Loud' }),
      'Invalid',
      /fieldValidation: Unsupported value: "Loud"/,
    );
  });

  it('names the manager of a write from fieldManager or the User-Agent', () => {
    assert.equal(
      managerFor('kubectl-label', 'kubectl/v1.32.4 (linux/amd64) kubernetes/abc'),
      'kubectl-label',
    );
    assert.equal(managerFor(undefined, 'kubectl/v1.32.4 (linux/amd64) kubernetes/abc'), 'kubectl');
    assert.equal(managerFor('', 'OpenAPI-Generator/32.0.1/python'), 'OpenAPI-Generator');
    assert.equal(managerFor(undefined, 'a\u0001b/1'), 'ab');
    assert.equal(managerFor(undefined, undefined), '');
  });
});
