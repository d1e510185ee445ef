/**
 * Decoding a built-in kind as kube-apiserver's Go decoder (sigs.k8s.io/json into the typed struct) does: walks
 * the parsed body beside the kind's schema, keeps the fields the type has, and reports
 *   - unknown fields (`unknown field "spec.foo"`) and duplicate fields (`duplicate field "spec.replicas"`), in the
 *     order the decoder meets them, deduplicated, at most 100: the strict errors of fieldValidation;
 *   - the first type mismatch, in Go's words (`json: cannot unmarshal string into Go struct field
 *     DeploymentSpec.spec.replicas of type int32`), which fails the request whatever the validation mode.
 * The result has the unknown fields dropped, as a Go struct would drop them.
 */
import type { JsonObject, JsonValue } from './json.js';
import type { SchemaNode } from './node.js';
import { base64Error, goStructName, goTypeName, jsonKind, timeError } from './gotypes.js';
import { canonicalQuantity, QUANTITY_FORMAT_ERROR, quantityError } from '@berth/common/quantity';

export interface TypedDecodeResult {
  value: JsonValue | undefined;
  /** Strict decoding errors, kube-apiserver's texts: `unknown field "spec.foo"`, `duplicate field "a"`. */
  strict: string[];
  /** The first decode error (type mismatch, bad quantity, bad base64), as Go words it. */
  error?: string;
}

const MAX_STRICT = 100;

interface State {
  members: WeakMap<object, Array<[string, JsonValue]>>;
  strict: string[];
  seenStrict: Set<string>;
  error?: string;
  /** Keys and [i] indexes: the strict error paths. */
  path: string[];
  /** Struct field names only: Go's errorContext.FieldStack for type errors. */
  fields: string[];
  struct: string;
}

export function decodeTyped(
  root: SchemaNode,
  value: JsonValue,
  members: WeakMap<object, Array<[string, JsonValue]>> = new WeakMap(),
): TypedDecodeResult {
  const st: State = { members, strict: [], seenStrict: new Set(), path: [], fields: [], struct: '' };
  const out = decode(st, root, value);
  return { value: out, strict: st.strict, ...(st.error !== undefined ? { error: st.error } : {}) };
}

/**
 * Decoding into map[string]interface{} (a patch, a custom resource): only duplicate keys can be wrong. `at` is
 * where the value sits in a larger document (`[0].value` in a JSON patch), for the error paths.
 */
export function duplicateFields(
  value: JsonValue,
  members: WeakMap<object, Array<[string, JsonValue]>>,
  at = '',
): string[] {
  const path = at ? [at] : [];
  const st: State = { members, strict: [], seenStrict: new Set(), path, fields: [], struct: '' };
  untyped(st, value);
  return st.strict;
}

function strictError(st: State, what: 'unknown field' | 'duplicate field', key: string): void {
  const path = st.path.length ? `${st.path.join('')}.${key}` : key;
  const text = `${what} ${JSON.stringify(path)}`;
  if (st.seenStrict.has(text) || st.strict.length >= MAX_STRICT) return;
  st.seenStrict.add(text);
  st.strict.push(text);
}

/** Go's UnmarshalTypeError, with the struct context its decoder adds. */
function typeError(st: State, what: string, node: SchemaNode): void {
  if (st.error !== undefined) return;
  const type = goTypeName(node);
  st.error =
    st.struct || st.fields.length
      ? `json: cannot unmarshal ${what} into Go struct field ${st.struct}.${st.fields.join('.')} of type ${type}`
      : `json: cannot unmarshal ${what} into Go value of type ${type}`;
}

function otherError(st: State, message: string): void {
  if (st.error === undefined) st.error = message;
}

function pushKey(st: State, key: string): void {
  if (st.path.length) st.path.push('.', key);
  else st.path.push(key);
}

function entries(st: State, obj: JsonObject): Array<[string, JsonValue]> {
  return st.members.get(obj) ?? Object.entries(obj);
}

function isObject(v: JsonValue): v is JsonObject {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function decode(st: State, node: SchemaNode, v: JsonValue): JsonValue | undefined {
  if (v === null) return null;
  const def = node.definitionName;
  if (def === 'io.k8s.apimachinery.pkg.api.resource.Quantity') return quantity(st, v);
  if (node.isIntOrString) return intOrString(st, node, v);
  if (
    def === 'io.k8s.apimachinery.pkg.apis.meta.v1.Time' ||
    def === 'io.k8s.apimachinery.pkg.apis.meta.v1.MicroTime'
  ) {
    if (typeof v !== 'string') {
      typeError(st, jsonKind(v), node.catalog.node({ type: 'string' }));
      return undefined;
    }
    const err = timeError(v);
    if (err) otherError(st, err);
    return v;
  }
  switch (node.shape) {
    case 'struct':
      return struct(st, node, v);
    case 'map':
      return map(st, node, v);
    case 'list':
      return list(st, node, v);
    case 'untyped':
      return untyped(st, v);
    default:
      return scalar(st, node, v);
  }
}

function struct(st: State, node: SchemaNode, v: JsonValue): JsonValue | undefined {
  if (!isObject(v)) {
    typeError(st, jsonKind(v), node);
    return undefined;
  }
  const out: JsonObject = {};
  const seen = new Set<string>();
  const depth = st.path.length;
  const fieldDepth = st.fields.length;
  const outerStruct = st.struct;
  const name = goStructName(node.definitionName) || outerStruct;
  for (const [key, value] of entries(st, v)) {
    const field = node.field(key);
    if (!field) {
      strictError(st, 'unknown field', key);
      continue;
    }
    if (seen.has(key)) strictError(st, 'duplicate field', key);
    seen.add(key);
    pushKey(st, key);
    st.fields.push(key);
    st.struct = name;
    const decoded = decode(st, field, value);
    st.path.length = depth;
    st.fields.length = fieldDepth;
    st.struct = outerStruct;
    if (decoded !== undefined) setOwn(out, key, decoded);
  }
  return out;
}

function map(st: State, node: SchemaNode, v: JsonValue): JsonValue | undefined {
  if (!isObject(v)) {
    typeError(st, jsonKind(v), node);
    return undefined;
  }
  const values = node.values;
  const out: JsonObject = {};
  const seen = new Set<string>();
  const depth = st.path.length;
  for (const [key, value] of entries(st, v)) {
    if (seen.has(key)) strictError(st, 'duplicate field', key);
    seen.add(key);
    pushKey(st, key);
    const decoded = values ? decode(st, values, value) : untyped(st, value);
    st.path.length = depth;
    if (decoded !== undefined) setOwn(out, key, decoded === null ? zero(values) : decoded);
  }
  return out;
}

function list(st: State, node: SchemaNode, v: JsonValue): JsonValue | undefined {
  if (!Array.isArray(v)) {
    typeError(st, jsonKind(v), node);
    return undefined;
  }
  const items = node.items;
  const depth = st.path.length;
  const out: JsonValue[] = [];
  v.forEach((value, i) => {
    st.path.push(`[${i}]`);
    const decoded = items ? decode(st, items, value) : untyped(st, value);
    st.path.length = depth;
    out.push(decoded === undefined || decoded === null ? zero(items) : decoded);
  });
  return out;
}

/** interface{} values: kept as they are, but Go still reports duplicate keys inside them. */
function untyped(st: State, v: JsonValue): JsonValue {
  if (Array.isArray(v)) {
    const depth = st.path.length;
    return v.map((x, i) => {
      st.path.push(`[${i}]`);
      const out = untyped(st, x);
      st.path.length = depth;
      return out;
    });
  }
  if (!isObject(v)) return v;
  // Go walks every occurrence of a key in order (a duplicate is reported when met, and its value is decoded
  // too: duplicates inside an overwritten value count); the last occurrence is the one kept.
  const seen = new Set<string>();
  const depth = st.path.length;
  const out: JsonObject = {};
  for (const [key, value] of entries(st, v)) {
    if (seen.has(key)) strictError(st, 'duplicate field', key);
    seen.add(key);
    pushKey(st, key);
    setOwn(out, key, untyped(st, value));
    st.path.length = depth;
  }
  return out;
}

function scalar(st: State, node: SchemaNode, v: JsonValue): JsonValue | undefined {
  switch (node.type) {
    case 'string':
      if (typeof v !== 'string') {
        typeError(st, jsonKind(v), node);
        return undefined;
      }
      if (node.format === 'byte') {
        const err = base64Error(v);
        if (err) otherError(st, err);
      }
      return v;
    case 'boolean':
      if (typeof v !== 'boolean') {
        typeError(st, jsonKind(v), node);
        return undefined;
      }
      return v;
    case 'integer': {
      if (typeof v !== 'number') {
        typeError(st, jsonKind(v), node);
        return undefined;
      }
      const bits = node.format === 'int32' ? 31 : 63;
      if (!Number.isInteger(v) || Math.abs(v) > 2 ** bits) {
        typeError(st, `number ${String(v)}`, node);
        return undefined;
      }
      return v;
    }
    case 'number':
      if (typeof v !== 'number') {
        typeError(st, jsonKind(v), node);
        return undefined;
      }
      return v;
    default:
      return v;
  }
}

function quantity(st: State, v: JsonValue): JsonValue | undefined {
  // resource.Quantity.UnmarshalJSON parses the literal (quoted or not); anything else fails its grammar.
  const text = typeof v === 'string' ? v.trim() : typeof v === 'number' ? String(v) : undefined;
  const err = text === undefined ? QUANTITY_FORMAT_ERROR : quantityError(text);
  if (err || text === undefined) {
    otherError(st, err ?? QUANTITY_FORMAT_ERROR);
    return undefined;
  }
  // Stored as Quantity.String() writes it.
  return canonicalQuantity(text);
}

function intOrString(st: State, node: SchemaNode, v: JsonValue): JsonValue | undefined {
  if (typeof v === 'string') return v;
  // intstr.IntOrString.UnmarshalJSON decodes anything unquoted as an int32.
  const int32 = node.catalog.node({ type: 'integer', format: 'int32' });
  if (typeof v !== 'number') typeError(st, jsonKind(v), int32);
  else if (!Number.isInteger(v) || Math.abs(v) > 2 ** 31) typeError(st, `number ${String(v)}`, int32);
  else return v;
  return undefined;
}

/** The zero value Go leaves for a null list element or map value. */
function zero(node: SchemaNode | undefined): JsonValue {
  if (!node) return null;
  switch (node.shape) {
    case 'struct':
    case 'map':
      return {};
    case 'list':
    case 'untyped':
      return null;
    default:
      break;
  }
  if (node.isIntOrString) return 0;
  switch (node.type) {
    case 'string':
      return '';
    case 'integer':
    case 'number':
      return 0;
    case 'boolean':
      return false;
    default:
      return null;
  }
}

function setOwn(o: JsonObject, key: string, value: JsonValue): void {
  if (key === '__proto__')
    Object.defineProperty(o, key, { value, writable: true, enumerable: true, configurable: true });
  else o[key] = value;
}
