/**
 * The list ordering rules of strategic merge patch (apimachinery's patch.go): after a merge, items named by the
 * patch keep the patch's order (or `$setElementOrder`'s), items only on the server keep the live order, and the
 * two are interleaved by their live positions; an item the server did not have goes before the server-only items
 * that follow it. Also the scalar de-duplication and the type checks that come with list merging.
 */
import { type JsonObject, type JsonValue, goTypeName, isObject } from '../json.js';
import { SmpError, errNoListOfLists } from './meta.js';

export type ItemKind = 'map' | 'scalar';

export function errNoMergeKey(m: JsonObject, key: string): SmpError {
  return new SmpError(`map: ${goMap(m)} does not contain declared merge key: ${key}`);
}

export function errBadArgType(expected: string, actual: unknown): SmpError {
  return new SmpError(`expected a ${expected}, but received a ${goTypeName(actual)}`);
}

/** Go's %v of a map[string]interface{} (keys sorted). */
export function goMap(m: JsonObject): string {
  const show = (v: JsonValue): string =>
    v === null
      ? '<nil>'
      : Array.isArray(v)
        ? `[${v.map(show).join(' ')}]`
        : isObject(v)
          ? goMap(v)
          : String(v);
  return `map[${Object.keys(m)
    .sort()
    .map((k) => `${k}:${show(m[k])}`)
    .join(' ')}]`;
}

/** The Go dynamic type of a decoded JSON value, for "all elements have the same type" checks. */
export function goType(v: JsonValue): string {
  if (v === null) return 'nil';
  if (Array.isArray(v)) return 'slice';
  if (typeof v === 'object') return 'map';
  if (typeof v === 'number') return Number.isInteger(v) ? 'int64' : 'float64';
  return typeof v;
}

/** sliceElementType: the common element type of the lists (an error for mixed types, lists of lists, none). */
export function sliceElementType(...lists: JsonValue[][]): string {
  let prev: string | undefined;
  for (const l of lists) {
    for (const v of l) {
      const t = goType(v);
      if (prev === undefined) {
        prev = t;
        if (t === 'slice') throw errNoListOfLists();
      } else if (prev !== t) {
        throw new SmpError(`list element types are not identical: ${goSlices(lists)}`);
      }
    }
  }
  if (prev === undefined) throw new SmpError('no elements in any of the given slices');
  return prev;
}

function goSlices(lists: JsonValue[][]): string {
  const show = (v: JsonValue): string =>
    v === null
      ? '<nil>'
      : Array.isArray(v)
        ? `[${v.map(show).join(' ')}]`
        : isObject(v)
          ? goMap(v)
          : String(v);
  return `[${lists.map((l) => `[${l.map(show).join(' ')}]`).join(' ')}]`;
}

/** deduplicateScalars, with apimachinery's "swap the last in" algorithm (the later sort fixes the order). */
export function deduplicateScalars(s: JsonValue[]): JsonValue[] {
  let length = s.length - 1;
  for (let i = 0; i < length; i++) {
    for (let j = i + 1; j <= length; j++) {
      if (s[i] === s[j]) {
        s[j] = s[length]!;
        s = s.slice(0, length);
        length--;
        j--;
      }
    }
  }
  return s;
}

function keyOf(item: JsonValue, mergeKey: string, kind: ItemKind): JsonValue | undefined {
  if (kind !== 'map') return item;
  return isObject(item) ? item[mergeKey] : undefined;
}

/** index(): position of the item in `l` by merge key (maps) or value, -1 when absent. */
export function indexOf(l: JsonValue[], item: JsonValue, mergeKey: string, kind: ItemKind): number {
  const want = keyOf(item, mergeKey, kind);
  return l.findIndex((v) => keyOf(v, mergeKey, kind) === want);
}

export function findMapByKey(
  m: JsonValue[],
  key: string,
  value: JsonValue | undefined,
): [JsonObject | undefined, number] {
  for (let k = 0; k < m.length; k++) {
    const v = m[k];
    if (!isObject(v)) throw new SmpError(`value for key ${k} is not a map`);
    if (Object.prototype.hasOwnProperty.call(v, key) && v[key] === value) return [v, k];
  }
  return [undefined, -1];
}

export function validateMergeKeyInLists(mergeKey: string, ...lists: JsonValue[][]): void {
  for (const list of lists) {
    for (const item of list) {
      if (!isObject(item)) throw errBadArgType('map[string]interface {}', item);
      if (!Object.prototype.hasOwnProperty.call(item, mergeKey)) throw errNoMergeKey(item, mergeKey);
    }
  }
}

/** Items to keep and items carrying `$patch: delete`. */
export function extractToDeleteItems(l: JsonValue[]): [JsonValue[], JsonValue[]] {
  const keep: JsonValue[] = [];
  const del: JsonValue[] = [];
  for (const v of l) {
    if (!isObject(v)) throw errBadArgType('map[string]interface {}', v);
    if (v['$patch'] === 'delete') del.push(v);
    else keep.push(v);
  }
  return [keep, del];
}

function normalizeSliceOrder(
  toSort: JsonValue[],
  order: JsonValue[],
  mergeKey: string,
  kind: ItemKind,
): JsonValue[] {
  let del: JsonValue[] = [];
  if (kind === 'map') {
    validateMergeKeyInLists(mergeKey, toSort, order);
    [toSort, del] = extractToDeleteItems(toSort);
  }
  const sorted = [...toSort].sort((a, b) => {
    const ia = indexOf(order, a, mergeKey, kind);
    const ib = indexOf(order, b, mergeKey, kind);
    return ia >= 0 && ib >= 0 ? ia - ib : 0;
  });
  return [...sorted, ...del];
}

/**
 * mergeSortedSlice: inserts the server-only items (`left`) among the patch items (`right`), each before the first
 * patch item that follows it in the live list; items missing from the live list go first.
 */
function mergeSortedSlice(
  left: JsonValue[],
  right: JsonValue[],
  serverOrder: JsonValue[],
  mergeKey: string,
  kind: ItemKind,
): JsonValue[] {
  const out: JsonValue[] = [];
  let i = 0;
  let j = 0;
  while (i < left.length || j < right.length) {
    if (i >= left.length) out.push(right[j++]);
    else if (j >= right.length) out.push(left[i++]);
    else {
      const li = indexOf(serverOrder, left[i], mergeKey, kind);
      const ri = indexOf(serverOrder, right[j], mergeKey, kind);
      if (li >= 0 && ri >= 0 && li < ri) out.push(left[i++]);
      else out.push(right[j++]);
    }
  }
  return out;
}

export function normalizeElementOrder(
  patch: JsonValue[],
  serverOnly: JsonValue[],
  patchOrder: JsonValue[],
  serverOrder: JsonValue[],
  mergeKey: string,
  kind: ItemKind,
): JsonValue[] {
  const p = normalizeSliceOrder(patch, patchOrder, mergeKey, kind);
  const s = normalizeSliceOrder(serverOnly, serverOrder, mergeKey, kind);
  return mergeSortedSlice(s, p, serverOrder, mergeKey, kind);
}

/** Splits `list` into the items present in `by` and the others (by value, or by merge key for maps). */
export function partition(list: JsonValue[], by: JsonValue[], mergeKey: string): [JsonValue[], JsonValue[]] {
  const inPatch: JsonValue[] = [];
  const serverOnly: JsonValue[] = [];
  if (!mergeKey) {
    for (const v of list) (by.some((b) => b === v) ? inPatch : serverOnly).push(v);
    return [inPatch, serverOnly];
  }
  for (const v of list) {
    if (!isObject(v)) throw errBadArgType('map[string]interface {}', v);
    if (!Object.prototype.hasOwnProperty.call(v, mergeKey)) throw errNoMergeKey(v, mergeKey);
    const [found] = findMapByKey(by, mergeKey, v[mergeKey]);
    (found ? inPatch : serverOnly).push(v);
  }
  return [inPatch, serverOnly];
}
