/**
 * RFC 7386 JSON merge patch (`application/merge-patch+json`) as kube-apiserver 1.32 applies it (evanphx/json-patch
 * v4 `MergePatch`): `null` deletes a member, objects merge recursively, anything else replaces; nulls inside an
 * added object are dropped, nulls inside arrays are kept. A body that is not JSON, or is `null`, a string or a
 * number, is 400 "Invalid JSON Patch"; an array body replaces the whole document (the typed decode then refuses it).
 */
import { badRequest } from '../errors.js';
import { type JsonObject, type JsonValue, clone, isObject, jsonKindWord, parseJson } from './json.js';

function pruneNulls(v: JsonValue): JsonValue {
  if (isObject(v)) {
    for (const k of Object.keys(v)) {
      if (v[k] === null) delete v[k];
      else pruneNulls(v[k]);
    }
  } else if (Array.isArray(v)) {
    for (const x of v) if (x !== null) pruneNulls(x);
  }
  return v;
}

function merge(cur: JsonValue, patch: JsonValue): JsonValue {
  if (!isObject(cur)) return pruneNulls(patch);
  if (!isObject(patch)) return patch;
  mergeDocs(cur, patch);
  return cur;
}

function mergeDocs(doc: JsonObject, patch: JsonObject): void {
  for (const [k, v] of Object.entries(patch)) {
    if (v === null) {
      delete doc[k];
      continue;
    }
    const cur = doc[k];
    doc[k] = cur === undefined || cur === null ? pruneNulls(v) : merge(cur, v);
  }
}

/**
 * Decodes a merge patch body; with strict field validation the decode error is worded as kube-apiserver's
 * strict pre-decode words it ("error decoding patch: ...").
 */
export function decodeMergePatch(body: string, strict = false): JsonValue {
  let patch: JsonValue;
  try {
    patch = parseJson(body);
  } catch (e) {
    throw badRequest(strict ? `error decoding patch: ${(e as Error).message}` : 'Invalid JSON Patch');
  }
  return checkMergePatch(patch, strict);
}

/** The shape checks of decodeMergePatch, for a body already parsed as JSON. */
export function checkMergePatch(patch: JsonValue, strict = false): JsonValue {
  if (strict && patch !== null && !isObject(patch)) {
    throw badRequest(
      `error decoding patch: json: cannot unmarshal ${jsonKindWord(patch)} into Go value of type map[string]interface {}`,
    );
  }
  if (patch === null || (!isObject(patch) && !Array.isArray(patch))) throw badRequest('Invalid JSON Patch');
  return patch;
}

/** Applies a decoded merge patch to a copy of `doc`. An array patch is the result itself (nulls pruned). */
export function applyMergePatchValue(doc: JsonObject, patch: JsonValue): JsonValue {
  const p = clone(patch);
  if (Array.isArray(p)) return pruneNulls(p);
  if (!isObject(p)) throw badRequest('Invalid JSON Patch');
  const out = clone(doc);
  mergeDocs(out, p);
  return out;
}

export function applyMergePatch(
  doc: JsonObject,
  body: string | { value: JsonValue },
  strict = false,
): JsonValue {
  const patch =
    typeof body === 'string' ? decodeMergePatch(body, strict) : checkMergePatch(body.value, strict);
  return applyMergePatchValue(doc, patch);
}
