/**
 * Pruning and defaulting of custom resources by their structural schema (apiextensions-apiserver
 * pkg/apiserver/schema/pruning and defaulting): fields the schema does not declare are dropped (and reported as
 * `spec.foo` paths, sorted, for fieldValidation), except under x-kubernetes-preserve-unknown-fields; apiVersion, kind
 * and metadata of the resource and of embedded resources are left to their own handling. Defaults fill absent
 * fields (and non-nullable nulls), top-down. Both work in place.
 */
import type { Schema } from '../types.js';

const META_FIELDS = new Set(['apiVersion', 'kind', 'metadata']);

type Json = unknown;
const isObject = (v: Json): v is Record<string, Json> =>
  typeof v === 'object' && v !== null && !Array.isArray(v);

/** Prunes `obj` (the whole resource when isResourceRoot) and returns the unknown field paths, sorted. */
export function prune(obj: Json, schema: Schema | undefined, isResourceRoot = true): string[] {
  const unknown: string[] = [];
  let s = schema;
  if (isResourceRoot) s = { ...(s ?? {}), 'x-kubernetes-embedded-resource': true };
  walk(obj, s, [], unknown);
  return unknown.sort();
}

function pathOf(parent: string[], key: string): string {
  const p = parent.join('');
  return p ? `${p}.${key}` : key;
}

function appendKey(parent: string[], key: string): string[] {
  return parent.length ? [...parent, '.', key] : [key];
}

function additional(s: Schema): Schema | undefined | null {
  const ap = s.additionalProperties;
  if (ap === undefined || ap === false) return null; // none
  return ap === true ? undefined : ap; // true: values have no schema (nested objects are emptied)
}

function walk(x: Json, s: Schema | undefined, parent: string[], unknown: string[]): void {
  if (s && s['x-kubernetes-preserve-unknown-fields']) return skip(x, s, parent, unknown);
  if (isObject(x)) {
    if (!s) {
      for (const k of Object.keys(x)) {
        unknown.push(pathOf(parent, k));
        delete x[k];
      }
      return;
    }
    const ap = additional(s);
    for (const k of Object.keys(x)) {
      if (s['x-kubernetes-embedded-resource'] && META_FIELDS.has(k)) continue;
      const prop =
        s.properties && Object.prototype.hasOwnProperty.call(s.properties, k) ? s.properties[k] : undefined;
      if (prop) walk(x[k], prop, appendKey(parent, k), unknown);
      else if (ap !== null) walk(x[k], ap, appendKey(parent, k), unknown);
      else {
        if (!META_FIELDS.has(k) || parent.length > 0) unknown.push(pathOf(parent, k));
        delete x[k];
      }
    }
  } else if (Array.isArray(x)) {
    const items = s && !Array.isArray(s.items) ? s.items : undefined;
    x.forEach((v, i) => walk(v, s ? items : undefined, [...parent, `[${i}]`], unknown));
  }
}

function skip(x: Json, s: Schema, parent: string[], unknown: string[]): void {
  if (isObject(x)) {
    const ap = additional(s);
    for (const k of Object.keys(x)) {
      if (s['x-kubernetes-embedded-resource'] && META_FIELDS.has(k)) continue;
      const prop =
        s.properties && Object.prototype.hasOwnProperty.call(s.properties, k) ? s.properties[k] : undefined;
      if (prop) walk(x[k], prop, appendKey(parent, k), unknown);
      else if (ap !== null) walk(x[k], ap, appendKey(parent, k), unknown);
    }
  } else if (Array.isArray(x)) {
    const items = !Array.isArray(s.items) ? s.items : undefined;
    x.forEach((v, i) => {
      if (items) skip(v, items, [...parent, `[${i}]`], unknown);
    });
  }
}

const clone = (v: unknown): Json => (v === undefined ? undefined : JSON.parse(JSON.stringify(v)));
const nonNullableNull = (x: Json, s: Schema | undefined): boolean => x === null && !!s && !s.nullable;

/** Applies the schema's defaults to `x` in place (returns it, or the default when `x` itself was absent). */
export function applyDefaults(x: Json, s: Schema | undefined): Json {
  if (!s) return x;
  if (isObject(x)) {
    for (const [k, prop] of Object.entries(s.properties ?? {})) {
      if (prop.default === undefined) continue;
      if (!Object.prototype.hasOwnProperty.call(x, k) || nonNullableNull(x[k], prop))
        x[k] = clone(prop.default);
    }
    const ap = typeof s.additionalProperties === 'object' ? s.additionalProperties : undefined;
    for (const k of Object.keys(x)) {
      const prop =
        s.properties && Object.prototype.hasOwnProperty.call(s.properties, k) ? s.properties[k] : undefined;
      if (prop) applyDefaults(x[k], prop);
      else if (ap) {
        if (nonNullableNull(x[k], ap) && ap.default !== undefined) x[k] = clone(ap.default);
        applyDefaults(x[k], ap);
      }
    }
  } else if (Array.isArray(x)) {
    const items = !Array.isArray(s.items) ? s.items : undefined;
    x.forEach((v, i) => {
      if (nonNullableNull(v, items) && items?.default !== undefined) x[i] = clone(items.default);
      applyDefaults(x[i], items);
    });
  }
  return x;
}
