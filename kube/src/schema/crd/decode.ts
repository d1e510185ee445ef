/**
 * Decoding a custom resource as kube-apiserver does (unstructured JSON, then the schema coercer): duplicate keys
 * anywhere are strict errors; metadata is decoded as ObjectMeta (its unknown fields reported as `metadata.x`, its type
 * mismatches fatal); everything else the schema does not declare is pruned and reported (sorted); then defaults
 * apply. Same result shape as the built-in decoder, so request handling does not care which kind it decodes.
 */
import type { TypedDecodeResult } from '../decode.js';
import { decodeTyped, duplicateFields } from '../decode.js';
import type { JsonObject, JsonValue } from '../json.js';
import type { SchemaNode } from '../node.js';
import { applyDefaults, prune } from './prune.js';

const OBJECT_META = { $ref: '#/definitions/io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta' };

export function decodeCustom(
  root: SchemaNode,
  value: JsonValue,
  members: WeakMap<object, Array<[string, JsonValue]>> = new WeakMap(),
): TypedDecodeResult {
  const strict = duplicateFields(value, members);
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    return {
      value,
      strict,
      error: `json: cannot unmarshal ${Array.isArray(value) ? 'array' : typeof value} into Go value of type map[string]interface {}`,
    };
  }
  const obj: JsonObject = structuredClone(value);
  const unknown: string[] = [];
  if (obj.metadata !== undefined && obj.metadata !== null) {
    const meta = decodeTyped(root.catalog.node(OBJECT_META), obj.metadata);
    if (meta.error !== undefined) return { value: obj, strict, error: meta.error };
    for (const s of meta.strict)
      if (s.startsWith('unknown field "')) unknown.push(`metadata.${s.slice('unknown field "'.length, -1)}`);
    if (meta.value !== undefined) obj.metadata = meta.value;
  }
  const paths = prune(obj, root.resolved, true);
  applyDefaults(obj, root.resolved);
  const pruned = [...unknown, ...paths].sort();
  return { value: obj, strict: [...strict, ...pruned.map((p) => `unknown field ${JSON.stringify(p)}`)] };
}
