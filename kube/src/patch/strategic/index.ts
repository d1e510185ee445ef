/**
 * `application/strategic-merge-patch+json` for built-in kinds: decodes the body as kube-apiserver does and maps
 * the merge's failures to its status codes (interpretStrategicMergePatchError): malformed directives and
 * undecodable documents are 400, lists of lists the opaque 422, anything else (a missing merge key, an unknown
 * field on the way to a merged list, an unknown `$patch`) a plain error, which kube-apiserver answers 500.
 */
import { badRequest, plainError } from '../../errors.js';
import { rejectedPatch } from '../json-patch.js';
import { type JsonObject, type JsonValue, clone, isObject, jsonKindWord, parseJson } from '../json.js';
import type { TypeSchema } from '../schema.js';
import { mergeMap } from './merge.js';
import { PatchSchema, SmpError, errUnsupported } from './meta.js';

export { SmpError } from './meta.js';

/** Decodes a strategic merge patch body into a map (`null` is an empty patch). */
export function decodeStrategicPatch(body: string): JsonObject {
  let v;
  try {
    v = parseJson(body);
  } catch (e) {
    throw badRequest((e as Error).message);
  }
  return checkStrategicPatch(v);
}

/** The shape check of decodeStrategicPatch, for a body already parsed as JSON. */
export function checkStrategicPatch(v: JsonValue): JsonObject {
  if (v === null) return {};
  if (!isObject(v)) {
    throw badRequest(
      `json: cannot unmarshal ${jsonKindWord(v)} into Go value of type map[string]interface {}`,
    );
  }
  return v;
}

/** Maps a strategic-merge failure to kube-apiserver's answer. */
export function smpFailure(e: unknown): unknown {
  if (!(e instanceof SmpError)) return e;
  if (e.kind === 'bad') return badRequest(e.message);
  if (e.kind === 'unprocessable') return rejectedPatch(e.message);
  return plainError(e.message);
}

/**
 * Applies a decoded strategic merge patch to `original` (neither is modified). `schema` is the kind's schema;
 * without one (custom resources) the format is refused, as kube-apiserver refuses it for unstructured objects.
 */
export function applyStrategicPatch(
  original: JsonObject,
  patch: JsonObject,
  schema: TypeSchema | undefined,
): JsonObject {
  try {
    if (!schema) throw errUnsupported();
    return mergeMap(clone(original), clone(patch), new PatchSchema(schema.source, schema.root, schema.name));
  } catch (e) {
    throw smpFailure(e);
  }
}

export function strategicMergePatch(
  original: JsonObject,
  body: string | { value: JsonValue },
  schema: TypeSchema | undefined,
): JsonObject {
  const patch = typeof body === 'string' ? decodeStrategicPatch(body) : checkStrategicPatch(body.value);
  return applyStrategicPatch(original, patch, schema);
}
