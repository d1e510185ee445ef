/**
 * Objects read through their schema (structured-merge-diff's typed values): validation with SMD's messages (which
 * kube-apiserver returns verbatim, e.g. `.spec.replicas: expected numeric (int or float), got string`), the path
 * element of a list item, and the field set of a value (what an applied configuration claims).
 */
import { type JsonObject, type JsonValue, goTypeName, isObject } from '../json.js';
import {
  type Atom,
  type ListType,
  type MapType,
  type ScalarType,
  type TypeRef,
  deduceAtom,
} from '../schema.js';
import { goSharp } from '../../errors.js';
import { FieldSet } from './fieldset.js';
import { type PathElement, peString, serializePE, sortKey } from './path.js';

export class TypedError extends Error {}

/** Go's %v of a *valueUnstructured. */
function goValue(v: JsonValue): string {
  const inner = (x: JsonValue): string =>
    x === null
      ? '<nil>'
      : Array.isArray(x)
        ? `[${x.map(inner).join(' ')}]`
        : isObject(x)
          ? `map[${Object.keys(x)
              .sort()
              .map((k) => `${k}:${inner(x[k])}`)
              .join(' ')}]`
          : String(x);
  return `&{${inner(v)}}`;
}

export function scalarError(t: ScalarType, v: JsonValue | undefined, prefix = ''): string | undefined {
  if (v === undefined || v === null) return undefined;
  const isNum = typeof v === 'number';
  const isScalar = isNum || typeof v === 'string' || typeof v === 'boolean';
  switch (t) {
    case 'numeric':
      return isNum ? undefined : `${prefix}expected numeric (int or float), got ${goTypeName(v)}`;
    case 'string':
      return typeof v === 'string'
        ? undefined
        : `${prefix}expected string, got &value.valueUnstructured{Value:${goSharp(v)}}`;
    case 'boolean':
      return typeof v === 'boolean' ? undefined : `${prefix}expected boolean, got ${goValue(v)}`;
    default:
      return isScalar ? undefined : `${prefix}expected any scalar, got ${goValue(v)}`;
  }
}

/** The default of a list-map key field, from the element's schema. */
function keyDefault(list: ListType, field: string): JsonValue | undefined {
  const atom = list.elem.atom();
  if (!atom.map) throw new TypedError('associative list may not have non-map types');
  return atom.map.fields.get(field)?.default as JsonValue | undefined;
}

/** The path element of an item of an associative list: its keys, or its value for a set. */
export function listItemPE(list: ListType, item: JsonValue): PathElement {
  if (list.relationship !== 'associative') throw new TypedError('invalid indexing of non-associative list');
  if (list.keys.length > 0) {
    if (item === null) throw new TypedError('associative list with keys may not have a null element');
    if (!isObject(item)) throw new TypedError('associative list with keys may not have non-map elements');
    const key: [string, JsonValue][] = [];
    for (const k of list.keys) {
      if (Object.prototype.hasOwnProperty.call(item, k)) key.push([k, item[k]!]);
      else {
        const def = keyDefault(list, k);
        if (def === undefined) {
          throw new TypedError(
            `associative list with keys has an element that omits key field "${k}" (and doesn't have default value)`,
          );
        }
        key.push([k, def]);
      }
    }
    return { key: sortKey(key) };
  }
  if (isObject(item)) throw new TypedError("associative list without keys has an element that's a map type");
  if (Array.isArray(item)) throw new TypedError('not supported: associative list with lists as elements');
  if (item === null)
    throw new TypedError("associative list without keys has an element that's an explicit null");
  return { value: item };
}

/** The single shape a value takes in a type, failing when it fits none (SMD's resolve + deduce). */
export function shapeOf(type: TypeRef, v: JsonValue | undefined): Atom {
  return deduceAtom(type.atom(), v);
}

export function fieldType(m: MapType, key: string): TypeRef | undefined {
  return m.fields.get(key)?.type ?? m.elem;
}

/** Validates a value against its type; returns SMD's errors (path-prefixed), none when valid. */
export function validate(v: JsonValue, type: TypeRef, allowDuplicates: boolean): string[] {
  const errs: string[] = [];
  walkValidate(v, type, '', allowDuplicates, errs);
  return errs;
}

function walkValidate(v: JsonValue, type: TypeRef, path: string, dups: boolean, errs: string[]): void {
  const a = shapeOf(type, v);
  const at = (msg: string): void => void errs.push(path ? `${path}: ${msg}` : msg);
  if (a.map) {
    if (v === null) return;
    if (!isObject(v)) return at(`expected map, got ${goValue(v)}`);
    for (const [k, child] of Object.entries(v)) {
      const t = fieldType(a.map, k);
      if (!t) {
        errs.push(`${path}.${k}: field not declared in schema`);
        return; // SMD stops reading this map at the first undeclared field
      }
      walkValidate(child, t, `${path}.${k}`, dups, errs);
    }
    return;
  }
  if (a.scalar) {
    const e = scalarError(a.scalar, v);
    if (e) at(e);
    return;
  }
  if (a.list) {
    if (v === null) return;
    if (!Array.isArray(v)) return at(`expected list, got ${goValue(v)}`);
    const seen = new Set<string>();
    for (let i = 0; i < v.length; i++) {
      let pe: PathElement = { index: i };
      if (a.list.relationship === 'associative') {
        try {
          pe = listItemPE(a.list, v[i]);
        } catch (e) {
          return at(`element ${i}: ${(e as Error).message}`);
        }
        const k = peString(pe);
        if (seen.has(k) && !dups) at(`duplicate entries for key ${k}`);
        seen.add(k);
      }
      walkValidate(v[i], a.list.elem, `${path}${peString(pe)}`, dups, errs);
    }
  }
}

/** SMD's ValidationErrors text: one error as is, several as an indented list. */
export function validationMessage(errs: string[]): string {
  return errs.length === 1 ? errs[0] : ['errors:', ...errs.map((e) => `  ${e}`)].join('\n');
}

/**
 * The fields a value sets: leaves, list items (and their fields), map keys, and declared struct fields only when
 * null or empty; atomic lists and maps as a whole.
 */
export function toFieldSet(v: JsonValue, type: TypeRef): FieldSet {
  const root = new FieldSet();
  walkFields(v, type, root);
  return root;
}

/** Adds the fields of `v` (of `type`) below `node`, the set at the value's own path. */
function walkFields(v: JsonValue, type: TypeRef, node: FieldSet): void {
  const a = shapeOf(type, v);
  if (a.map) {
    if (!isObject(v)) return;
    for (const [k, child] of Object.entries(v)) {
      const pe: PathElement = { field: k };
      const declared = a.map.fields.get(k);
      walkChild(child, declared?.type ?? a.map.elem, node, pe);
      if (child === null || (isObject(child) && Object.keys(child).length === 0) || !declared)
        node.addMember(pe);
    }
    return;
  }
  if (a.list && Array.isArray(v)) {
    const pes = v.map((item) => listItemPE(a.list!, item));
    const counts = new Map<string, number>();
    for (const pe of pes) counts.set(serializePE(pe), (counts.get(serializePE(pe)) ?? 0) + 1);
    pes.forEach((pe, i) => {
      // Duplicated items are owned as a whole.
      if ((counts.get(serializePE(pe)) ?? 0) <= 1) walkChild(v[i], a.list!.elem, node, pe);
      node.addMember(pe);
    });
  }
}

/** A member for leaves and atomic values; a child set (kept only when not empty) for the others. */
function walkChild(v: JsonValue, type: TypeRef | undefined, parent: FieldSet, pe: PathElement): void {
  if (!type) return;
  const a = shapeOf(type, v);
  if (
    (a.map && a.map.relationship === 'atomic') ||
    (a.list && a.list.relationship === 'atomic') ||
    (!a.map && !a.list)
  ) {
    if (a.scalar || a.map || a.list) parent.addMember(pe);
    return;
  }
  const child = new FieldSet();
  walkFields(v, type, child);
  if (!child.empty()) parent.attach(pe, child);
}

/** Strips the bookkeeping no typed operation should see. */
export function withoutManagedFields(o: JsonObject): JsonObject {
  const md = o.metadata;
  if (!isObject(md) || !('managedFields' in md)) return o;
  const { managedFields: _drop, ...rest } = md;
  void _drop;
  return { ...o, metadata: rest };
}
