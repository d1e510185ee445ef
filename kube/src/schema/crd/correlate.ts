/**
 * A custom resource's new value paired with its old one, node by node (k8s.io/apiserver pkg/cel/common
 * CorrelatedObject, which 1.32's CRDValidationRatcheting uses for both the schema and the CEL rules): object fields
 * correlate by name (when the schema declares them), items of x-kubernetes-list-type=map lists by their keys; items
 * of other lists do not correlate, so such a list only counts as unchanged when it is equal as a whole. A node whose
 * new value is unchanged has its validation errors dropped (ratcheted) on update.
 */
import type { Schema } from '../types.js';
import { deepEqual } from './values.js';

const isMap = (v: unknown): v is Record<string, unknown> =>
  typeof v === 'object' && v !== null && !Array.isArray(v);
const isNil = (v: unknown) => v === null || v === undefined;
const has = (o: Record<string, unknown>, k: string) => Object.prototype.hasOwnProperty.call(o, k);

/** A map-type list's items by key (common.MapList): the first item with a key wins; items without keys never match. */
export class MapList {
  private readonly keyed = new Map<string, Record<string, unknown>>();
  private pending: unknown[];

  constructor(
    private readonly keys: string[],
    items: unknown[],
  ) {
    this.pending = [...items];
  }

  /** The list's map-type keys when `s` is one (type array, list-type map, keys named), else undefined. */
  static keysOf(s: Schema | undefined): string[] | undefined {
    const keys = s?.['x-kubernetes-list-map-keys'];
    if (s?.type !== 'array' || s['x-kubernetes-list-type'] !== 'map' || !keys?.length) return undefined;
    return keys;
  }

  private keyOf(item: Record<string, unknown>): string | undefined {
    const parts: string[] = [];
    for (const k of this.keys) {
      if (!has(item, k)) return undefined;
      const v = item[k];
      // Keys are scalars; anything else does not correlate.
      if (typeof v !== 'string' && typeof v !== 'number' && typeof v !== 'boolean') return undefined;
      parts.push(`${typeof v}:${String(v)}`);
    }
    return parts.join('\u0000');
  }

  /** The item of this list with the same keys as `item`, if any. */
  get(item: unknown): Record<string, unknown> | undefined {
    if (!isMap(item)) return undefined;
    const key = this.keyOf(item);
    if (key === undefined) return undefined;
    const found = this.keyed.get(key);
    if (found) return found;
    while (this.pending.length) {
      const next = this.pending.shift();
      if (!isMap(next)) continue;
      const k = this.keyOf(next);
      if (k === undefined) continue;
      if (!this.keyed.has(k)) this.keyed.set(k, next);
      if (k === key) return next;
    }
    return undefined;
  }
}

export class Correlated {
  private equal?: boolean;
  private readonly children = new Map<string | number, Correlated>();
  /** Set once an item was looked up in a map-type list (an uncorrelated item then means "changed"). */
  private mapList?: MapList;

  constructor(
    readonly value: unknown,
    readonly old: unknown,
    readonly schema: Schema | undefined,
  ) {}

  /** The node of object field `field`, when both values have it and the schema declares it. */
  key(field: string): Correlated | undefined {
    const s = this.schema;
    if (!s) return undefined;
    const seen = this.children.get(field);
    if (seen) return seen;
    if (!isMap(this.value) || !isMap(this.old) || !has(this.value, field) || !has(this.old, field))
      return undefined;
    const sub =
      s.properties?.[field] ??
      (typeof s.additionalProperties === 'object' ? s.additionalProperties : undefined);
    if (!sub) return undefined;
    const child = new Correlated(this.value[field], this.old[field], sub);
    this.children.set(field, child);
    return child;
  }

  /** The node of list item `i`: only items of map-type lists correlate (by key). */
  index(i: number): Correlated | undefined {
    const s = this.schema;
    if (!s) return undefined;
    const seen = this.children.get(i);
    if (seen) return seen;
    if (!Array.isArray(this.value) || i >= this.value.length || !Array.isArray(this.old)) return undefined;
    if (s['x-kubernetes-list-type'] !== 'map') return undefined;
    const keys = MapList.keysOf(s);
    this.mapList ??= new MapList(keys ?? [], keys && this.old.length ? this.old : []);
    const old = this.mapList.get(this.value[i]);
    if (old === undefined || !s.items) return undefined;
    const child = new Correlated(this.value[i], old, s.items);
    this.children.set(i, child);
    return child;
  }

  /** Is the new value unchanged from the old one (CachedDeepEqual: through correlated children only)? */
  unchanged(): boolean {
    if (this.equal === undefined) this.equal = this.compare();
    return this.equal;
  }

  private compare(): boolean {
    const { value, old } = this;
    if (isNil(value) && isNil(old)) return true;
    if (isNil(value) || isNil(old)) return false;
    if (Array.isArray(old) !== Array.isArray(value) || isMap(old) !== isMap(value)) return false;
    if (Array.isArray(old) && Array.isArray(value)) {
      if (old.length !== value.length) return false;
      for (let i = 0; i < value.length; i++) {
        const child = this.index(i);
        if (!child) return this.mapList ? false : deepEqual(old, value);
        if (!child.unchanged()) return false;
      }
      return true;
    }
    if (isMap(old) && isMap(value)) {
      if (Object.keys(old).length !== Object.keys(value).length) return false;
      return Object.keys(value).every((k) => this.key(k)?.unchanged() === true);
    }
    return deepEqual(old, value);
  }
}
