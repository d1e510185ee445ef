/**
 * RFC 6902 JSON patch (`application/json-patch+json`) with the semantics of the library kube-apiserver 1.32 uses
 * (evanphx/json-patch v4): negative array indices count from the end, `replace` of a missing object member adds
 * it, `test` against a missing member passes only for `null`. Errors are kube-apiserver's: an undecodable body is
 * 400 with Go's decoder message, more than 10000 operations is 413, and any failure while applying (a failed
 * `test`, a missing path, an unknown op) is the opaque 422 "the server rejected our request due to an error in our
 * request" (kube-apiserver drops the reason), which is what kubectl shows.
 */
import { KubeError, badRequest, tooLarge } from '../errors.js';
import {
  type JsonObject,
  type JsonValue,
  clone,
  deepEqual,
  isObject,
  jsonKindWord,
  parseJson,
} from './json.js';

export const MAX_JSON_PATCH_OPERATIONS = 10000;

/** The opaque 422 kube-apiserver answers for any error while applying a JSON patch. */
export function rejectedPatch(detail: string): KubeError {
  const e = new KubeError('Invalid', 'the server rejected our request due to an error in our request');
  // Not sent to clients (kube-apiserver drops it too), but kept for logs and tests.
  Object.defineProperty(e, 'detail', { value: detail });
  return e;
}

const OP_FIELDS = new Set(['op', 'path', 'from', 'value']);

/**
 * Decodes a JSON patch body. With strict field validation (Strict or Warn), unknown members of an operation are
 * returned as strict-decoding errors (`json patch unknown field "x"`), as kube-apiserver collects them.
 */
export function decodeJsonPatch(
  body: string,
  strict: boolean,
): { ops: JsonObject[]; strictErrors: string[] } {
  let doc: JsonValue;
  try {
    doc = parseJson(body);
  } catch (e) {
    throw badRequest(strict ? `error decoding patch: ${(e as Error).message}` : (e as Error).message);
  }
  return decodeJsonPatchValue(doc, strict);
}

/** decodeJsonPatch for a body already parsed as JSON. */
export function decodeJsonPatchValue(
  doc: JsonValue,
  strict: boolean,
): { ops: JsonObject[]; strictErrors: string[] } {
  if (!Array.isArray(doc)) {
    const msg = `json: cannot unmarshal ${jsonKindWord(doc)} into Go value of type `;
    if (doc === null) return { ops: [], strictErrors: [] };
    throw badRequest(strict ? `error decoding patch: ${msg}[]handlers.jsonPatchOp` : `${msg}jsonpatch.Patch`);
  }
  const strictErrors: string[] = [];
  doc.forEach((op) => {
    if (!isObject(op)) {
      if (op === null) return;
      const msg = `json: cannot unmarshal ${jsonKindWord(op)} into Go value of type `;
      throw badRequest(
        strict ? `error decoding patch: ${msg}handlers.jsonPatchOp` : `${msg}jsonpatch.Operation`,
      );
    }
    if (!strict) return;
    for (const k of ['op', 'path', 'from'] as const) {
      const v = op[k];
      if (v !== undefined && v !== null && typeof v !== 'string') {
        throw badRequest(
          `error decoding patch: json: cannot unmarshal ${jsonKindWord(v)} into Go struct field jsonPatchOp.${k} of type string`,
        );
      }
    }
    for (const k of Object.keys(op)) {
      if (!OP_FIELDS.has(k)) strictErrors.push(`json patch unknown field "${k}"`);
    }
  });
  const ops = doc.map((op) => (isObject(op) ? op : {}));
  if (ops.length > MAX_JSON_PATCH_OPERATIONS) {
    throw tooLarge(
      `The allowed maximum operations in a JSON patch is ${MAX_JSON_PATCH_OPERATIONS}, got ${ops.length}`,
    );
  }
  return { ops, strictErrors };
}

type Container = JsonObject | JsonValue[];

class PatchError extends Error {}

function decodeKey(k: string): string {
  return k.replace(/~1/g, '/').replace(/~0/g, '~');
}

/** Go's strconv.Atoi: optional sign and decimal digits only. */
function atoi(s: string): number {
  if (!/^[+-]?\d+$/.test(s)) throw new PatchError(`strconv.Atoi: parsing "${s}": invalid syntax`);
  return Number(s);
}

function get(c: Container, key: string): JsonValue | undefined {
  if (!Array.isArray(c)) return Object.prototype.hasOwnProperty.call(c, key) ? c[key] : undefined;
  let idx = atoi(key);
  if (idx < 0) {
    if (idx < -c.length) throw new PatchError(`Unable to access invalid index: ${idx}`);
    idx += c.length;
  }
  if (idx >= c.length) throw new PatchError(`Unable to access invalid index: ${idx}`);
  return c[idx];
}

/** The container holding the last segment of `path`, and that segment; undefined when a parent is missing. */
function findObject(root: Container, path: string): [Container, string] | undefined {
  const split = path.split('/');
  if (split.length < 2) return undefined;
  let doc: Container = root;
  for (const part of split.slice(1, -1)) {
    let next: JsonValue | undefined;
    try {
      next = get(doc, decodeKey(part));
    } catch {
      return undefined;
    }
    if (next === undefined || next === null || typeof next !== 'object') return undefined;
    doc = next;
  }
  return [doc, decodeKey(split[split.length - 1])];
}

function add(c: Container, key: string, val: JsonValue): void {
  if (!Array.isArray(c)) {
    c[key] = val;
    return;
  }
  if (key === '-') {
    c.push(val);
    return;
  }
  let idx: number;
  try {
    idx = atoi(key);
  } catch (e) {
    throw new PatchError(`value was not a proper array index: '${key}': ${(e as Error).message}`);
  }
  const size = c.length + 1;
  if (idx >= size) throw new PatchError(`Unable to access invalid index: ${idx}`);
  if (idx < 0) {
    if (idx < -size) throw new PatchError(`Unable to access invalid index: ${idx}`);
    idx += size;
  }
  c.splice(idx, 0, val);
}

function remove(c: Container, key: string): void {
  if (!Array.isArray(c)) {
    if (!Object.prototype.hasOwnProperty.call(c, key)) {
      throw new PatchError(`Unable to remove nonexistent key: ${key}: missing value`);
    }
    delete c[key];
    return;
  }
  let idx = atoi(key);
  if (idx >= c.length) throw new PatchError(`Unable to access invalid index: ${idx}`);
  if (idx < 0) {
    if (idx < -c.length) throw new PatchError(`Unable to access invalid index: ${idx}`);
    idx += c.length;
  }
  c.splice(idx, 1);
}

function setExisting(c: Container, key: string, val: JsonValue): void {
  if (!Array.isArray(c)) {
    c[key] = val;
    return;
  }
  let idx = atoi(key);
  if (idx < 0) {
    if (idx < -c.length) throw new PatchError(`Unable to access invalid index: ${idx}`);
    idx += c.length;
  }
  c[idx] = val;
}

function str(op: JsonObject, field: 'path' | 'from', kind: string): string {
  const v = op[field];
  if (typeof v !== 'string')
    throw new PatchError(`${kind} operation failed to decode ${field}: missing value`);
  return v;
}

/** Applies decoded operations to a copy of `doc`; throws the opaque 422 on any failure. */
export function applyJsonPatchOps<T extends JsonValue>(doc: T, ops: JsonObject[]): T {
  let root = clone(doc) as JsonValue;
  if (root === null || typeof root !== 'object') throw rejectedPatch('document is not an object or array');
  try {
    for (const op of ops) {
      const kind = typeof op.op === 'string' ? op.op : 'unknown';
      const value: JsonValue = op.value === undefined ? null : clone(op.value);
      const r = root;
      switch (kind) {
        case 'add': {
          const path = str(op, 'path', 'add');
          const found = findObject(r, path);
          if (!found) throw new PatchError(`add operation does not apply: doc is missing path: "${path}"`);
          add(found[0], found[1], value);
          break;
        }
        case 'remove': {
          const path = str(op, 'path', 'remove');
          const found = findObject(r, path);
          if (!found) throw new PatchError(`remove operation does not apply: doc is missing path: "${path}"`);
          remove(found[0], found[1]);
          break;
        }
        case 'replace': {
          const path = str(op, 'path', 'replace');
          if (path === '') {
            if (value === null || typeof value !== 'object') {
              throw new PatchError('replace operation value must be object or array');
            }
            root = value;
            break;
          }
          const found = findObject(r, path);
          if (!found) throw new PatchError(`replace operation does not apply: doc is missing path: ${path}`);
          try {
            get(found[0], found[1]);
          } catch {
            throw new PatchError(`replace operation does not apply: doc is missing key: ${path}`);
          }
          setExisting(found[0], found[1], value);
          break;
        }
        case 'move':
        case 'copy': {
          const from = str(op, 'from', kind);
          const src = findObject(r, from);
          if (!src)
            throw new PatchError(`${kind} operation does not apply: doc is missing from path: ${from}`);
          const val = get(src[0], src[1]) ?? null;
          if (kind === 'move') remove(src[0], src[1]);
          const path = str(op, 'path', kind);
          const dst = findObject(r, path);
          if (!dst)
            throw new PatchError(
              `${kind} operation does not apply: doc is missing destination path: ${path}`,
            );
          add(dst[0], dst[1], kind === 'copy' ? clone(val) : val);
          break;
        }
        case 'test': {
          const path = str(op, 'path', 'test');
          if (path === '') {
            if (!deepEqual(r, op.value)) throw new PatchError(`testing value ${path} failed: test failed`);
            break;
          }
          const found = findObject(r, path);
          if (!found) throw new PatchError(`test operation does not apply: is missing path: ${path}`);
          const val = get(found[0], found[1]);
          const expected = op.value;
          const ok =
            val === undefined || val === null
              ? expected === null
              : expected !== undefined && deepEqual(val, expected);
          if (!ok) throw new PatchError(`testing value ${path} failed: test failed`);
          break;
        }
        default:
          throw new PatchError(`Unexpected kind: ${kind}`);
      }
    }
  } catch (e) {
    if (e instanceof PatchError) throw rejectedPatch(e.message);
    throw e;
  }
  return root as T;
}

/** Decodes and applies a JSON patch body to `doc` (which it does not modify). */
export function applyJsonPatch<T extends JsonValue>(
  doc: T,
  body: string | { value: JsonValue },
  strict = false,
): { result: T; strictErrors: string[] } {
  const { ops, strictErrors } =
    typeof body === 'string' ? decodeJsonPatch(body, strict) : decodeJsonPatchValue(body.value, strict);
  return { result: applyJsonPatchOps(doc, ops), strictErrors };
}
