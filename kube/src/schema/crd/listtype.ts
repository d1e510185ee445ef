/**
 * The invariants of x-kubernetes-list-type set and map on a custom resource (apiextensions' listtype validation):
 * a set holds no value twice, a map list holds objects and no two with the same keys. Only the second occurrence
 * of a value is reported, as kube-apiserver does. Items that are not objects in a map list end the check of that
 * list with one Invalid error.
 */
import { type FieldError, GoValue, goSharp } from '../../errors.js';
import type { Schema } from '../types.js';
import { FieldPath } from './path.js';

type Value = unknown;

const isObject = (v: Value): v is Record<string, Value> =>
  typeof v === 'object' && v !== null && !Array.isArray(v);

/** JSON with sorted keys, so equal compound values compare equal (Go's json.Marshal sorts map keys). */
function canonical(v: Value): string {
  if (Array.isArray(v)) return `[${v.map(canonical).join(',')}]`;
  if (isObject(v))
    return `{${Object.keys(v)
      .sort()
      .map((k) => `${JSON.stringify(k)}:${canonical(v[k])}`)
      .join(',')}}`;
  return JSON.stringify(v) ?? 'null';
}

/** A value as field.Duplicate prints it: scalars plainly, compound values with Go's %#v. */
const badValue = (v: Value): Value => (v !== null && typeof v === 'object' ? new GoValue(goSharp(v)) : v);

/** Indexes of second occurrences: kube-apiserver reports a repeated value once, where it is first repeated. */
function repeats(keys: string[]): number[] {
  const seen = new Map<string, number>();
  const out: number[] = [];
  keys.forEach((k, i) => {
    const n = seen.get(k) ?? 0;
    if (n === 1) out.push(i);
    seen.set(k, n + 1);
  });
  return out;
}

/** A map list item's key fields; a missing key (or a null item) is "unspecified", which differs from null. */
function mapKey(item: Value, keys: string[]): string {
  const m = isObject(item) ? item : {};
  return keys.map((k) => (k in m ? canonical(m[k]) : '<unspecified>')).join('\u0000');
}

function keyValue(item: Value, keys: string[]): Record<string, Value> {
  const m = isObject(item) ? item : {};
  return Object.fromEntries(keys.filter((k) => k in m).map((k) => [k, m[k]]));
}

function listErrors(s: Schema, list: Value[], path: FieldPath): FieldError[] {
  const errs: FieldError[] = [];
  const type = s['x-kubernetes-list-type'];
  if (type === 'set') {
    for (const i of repeats(list.map(canonical)))
      errs.push({
        type: 'FieldValueDuplicate',
        field: path.index(i).toString(),
        badValue: badValue(list[i]),
      });
  } else if (type === 'map') {
    const bad = list.findIndex((x) => x !== null && !isObject(x));
    if (bad >= 0) {
      errs.push({
        type: 'FieldValueInvalid',
        field: path.index(bad).toString(),
        badValue: badValue(list[bad]),
        detail: 'must be an object for an array of list-type map',
      });
    } else {
      const keys = s['x-kubernetes-list-map-keys'] ?? [];
      for (const i of repeats(list.map((x) => mapKey(x, keys))))
        errs.push({
          type: 'FieldValueDuplicate',
          field: path.index(i).toString(),
          badValue: new GoValue(goSharp(keyValue(list[i], keys))),
        });
    }
  }
  if (s.items) list.forEach((x, i) => errs.push(...walk(s.items!, x, path.index(i))));
  return errs;
}

function walk(s: Schema, v: Value, path: FieldPath): FieldError[] {
  if (Array.isArray(v)) return listErrors(s, v, path);
  if (!isObject(v)) return [];
  const errs: FieldError[] = [];
  const extra = typeof s.additionalProperties === 'object' ? s.additionalProperties : undefined;
  for (const [k, x] of Object.entries(v)) {
    if (extra) errs.push(...walk(extra, x, path.key(k)));
    const sub = s.properties?.[k];
    if (sub) errs.push(...walk(sub, x, path.child(k)));
  }
  return errs;
}

/** ValidateListSetsAndMaps over a whole object (paths from its root, as `spec.ports[1]`). */
export function listTypeErrors(schema: Schema, obj: Value): FieldError[] {
  return walk(schema, obj, FieldPath.of());
}

/** Whether any list in the schema is a set or a map list (else there is nothing to walk on each write). */
export function hasListInvariants(s: Schema | undefined): boolean {
  if (!s) return false;
  const t = s['x-kubernetes-list-type'];
  if (t === 'set' || t === 'map') return true;
  if (hasListInvariants(s.items)) return true;
  if (typeof s.additionalProperties === 'object' && hasListInvariants(s.additionalProperties)) return true;
  return Object.values(s.properties ?? {}).some(hasListInvariants);
}
