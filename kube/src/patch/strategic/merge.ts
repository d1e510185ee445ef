/**
 * Strategic merge patch, applied as kube-apiserver applies it (apimachinery strategicpatch `mergeMap` with
 * MergeParallelList and IgnoreUnmatchedNulls): maps merge recursively and `null` deletes; lists with the `merge`
 * strategy merge by their merge key (maps) or as sets (scalars), other lists are replaced; and the directives
 * `$patch: replace|merge|delete` (in maps and list items), `$retainKeys`, `$setElementOrder/<list>` and
 * `$deleteFromPrimitiveList/<list>`. Lists keep the ordering rules of order.ts. Operates on copies it owns
 * (mutates its arguments like the Go code; strategic/index.ts passes clones).
 */
import { type JsonObject, type JsonValue, goPrint, isObject } from '../json.js';
import {
  type PatchSchema,
  SmpError,
  errBadPrimitiveList,
  errBadRetainKeys,
  errBadSetElementOrder,
  retainKeysStrategy,
} from './meta.js';
import {
  type ItemKind,
  deduplicateScalars,
  errBadArgType,
  errNoMergeKey,
  extractToDeleteItems,
  findMapByKey,
  goMap,
  goType,
  normalizeElementOrder,
  partition,
  sliceElementType,
} from './order.js';

const DIRECTIVE = '$patch';
const RETAIN_KEYS = '$retainKeys';
const DELETE_FROM_PRIMITIVE_LIST = '$deleteFromPrimitiveList';
const SET_ELEMENT_ORDER = '$setElementOrder';

const has = (o: JsonObject, k: string): boolean => Object.prototype.hasOwnProperty.call(o, k);

/** The list field a `$deleteFromPrimitiveList/x` or `$setElementOrder/x` key names. */
function extractKey(s: string, prefix: string): string {
  const slash = s.indexOf('/');
  if (slash < 0 || s.slice(0, slash) !== prefix) {
    if (prefix === DELETE_FROM_PRIMITIVE_LIST) throw errBadPrimitiveList();
    throw errBadSetElementOrder();
  }
  return s.slice(slash + 1);
}

function handleDirectiveInMergeMap(directive: JsonValue, patch: JsonObject): JsonObject {
  if (directive === 'replace') {
    delete patch[DIRECTIVE];
    return patch;
  }
  if (directive === 'delete') return {};
  throw new SmpError(`unknown patch type: ${goPrint(directive)} in map: ${goMap(patch)}`);
}

/** Removes directives; a map carrying `$patch` is dropped altogether (`keep` false). */
export function removeDirectives(obj: JsonValue): [JsonValue, boolean] {
  if (isObject(obj)) {
    if (has(obj, DIRECTIVE)) return [null, false];
    for (const k of Object.keys(obj)) {
      const [v, keep] = removeDirectives(obj[k]);
      if (keep) obj[k] = v;
      else delete obj[k];
    }
    return [obj, true];
  }
  if (Array.isArray(obj)) {
    const out: JsonValue[] = [];
    for (const v of obj) {
      const [nv, keep] = removeDirectives(v);
      if (keep) out.push(nv);
    }
    return [out, true];
  }
  return [obj, true];
}

function discardNulls(v: JsonValue): void {
  if (isObject(v)) {
    for (const k of Object.keys(v)) {
      if (v[k] === null) delete v[k];
      else discardNulls(v[k]);
    }
  } else if (Array.isArray(v)) {
    for (const x of v) discardNulls(x);
  }
}

function applyRetainKeysDirective(original: JsonObject, patch: JsonObject): void {
  if (!has(patch, RETAIN_KEYS)) return;
  const list = patch[RETAIN_KEYS];
  delete patch[RETAIN_KEYS];
  if (!Array.isArray(list)) throw errBadRetainKeys();
  const keep = new Set(list.map((v) => (typeof v === 'string' ? v : JSON.stringify(v))));
  for (const [k, v] of Object.entries(patch)) {
    if (v === null || k.startsWith(DELETE_FROM_PRIMITIVE_LIST) || k.startsWith(SET_ELEMENT_ORDER)) continue;
    if (!keep.has(k)) throw errBadRetainKeys();
  }
  for (const k of Object.keys(original)) if (!keep.has(k)) delete original[k];
}

function mergeKeyValueEqual(left: JsonValue, right: JsonValue, mergeKey: string): boolean {
  if (!mergeKey) return left === right;
  if (!isObject(left)) throw errBadArgType('map[string]interface {}', left);
  if (!isObject(right)) throw errBadArgType('map[string]interface {}', right);
  if (!has(left, mergeKey)) throw errNoMergeKey(left, mergeKey);
  if (!has(right, mergeKey)) throw errNoMergeKey(right, mergeKey);
  return left[mergeKey] === right[mergeKey];
}

/** The patch list's items must appear in `$setElementOrder`'s relative order (deletions aside). */
function validatePatchWithSetOrderList(patchList: JsonValue[], order: JsonValue[], mergeKey: string): void {
  if (order.length === 0 || patchList.length === 0) return;
  const nonDelete = mergeKey ? extractToDeleteItems(patchList)[0] : patchList;
  let p = 0;
  let o = 0;
  while (p < nonDelete.length && o < order.length) {
    const item = nonDelete[p]!;
    if (isObject(item) && has(item, DIRECTIVE)) {
      p++;
      continue;
    }
    if (mergeKeyValueEqual(item, order[o], mergeKey)) p++;
    o++;
  }
  if (p < nonDelete.length && o >= order.length) {
    throw new SmpError(
      `The order in patch list:\n${goList(patchList)}\n doesn't match ${SET_ELEMENT_ORDER} list:\n${goList(order)}\n`,
    );
  }
}

function goList(l: JsonValue[]): string {
  return `[${l.map((v) => (isObject(v) ? goMap(v) : goPrint(v))).join(' ')}]`;
}

/** Processes each `$setElementOrder/<list>` with its list: merge, then order by the directive. */
function mergePatchIntoOriginal(original: JsonObject, patch: JsonObject, schema: PatchSchema): void {
  for (const key of Object.keys(patch)) {
    if (!key.startsWith(SET_ELEMENT_ORDER)) continue;
    const order = patch[key]!;
    delete patch[key];
    if (!Array.isArray(order)) throw errBadArgType('[]interface {}', order);
    const listKey = extractKey(key, SET_ELEMENT_ORDER);
    const foundOriginal = has(original, listKey);
    const foundPatch = has(patch, listKey);
    let originalList: JsonValue[] = [];
    let patchList: JsonValue[] = [];
    if (foundOriginal) {
      const v = original[listKey]!;
      if (!Array.isArray(v)) throw errBadArgType('[]interface {}', v);
      originalList = v;
    }
    if (foundPatch) {
      const v = patch[listKey]!;
      if (!Array.isArray(v)) throw errBadArgType('[]interface {}', v);
      patchList = v;
    }
    const [sub, meta] = schema.lookupSlice(listKey);
    const [, strategy] = retainKeysStrategy(meta.strategies);
    validatePatchWithSetOrderList(patchList, order, meta.mergeKey);
    let merged: JsonValue[];
    if (foundOriginal && !foundPatch) merged = originalList;
    else if (!foundOriginal && foundPatch) merged = removeDirectives(patchList)[0] as JsonValue[];
    else if (foundOriginal && foundPatch) {
      merged = mergeSliceHandler(originalList, patchList, sub, strategy, meta.mergeKey, false);
    } else continue;
    const [patchItems, serverOnly] = partition(merged, order, meta.mergeKey);
    const kind: ItemKind = sliceElementType(originalList, patchList) === 'map' ? 'map' : 'scalar';
    original[listKey] = normalizeElementOrder(
      patchItems,
      serverOnly,
      order,
      originalList,
      meta.mergeKey,
      kind,
    );
    delete patch[listKey];
  }
}

/** mergeMap: merges `patch` into `original` (both owned by the caller; `original` is modified). */
export function mergeMap(original: JsonObject | null, patch: JsonObject, schema: PatchSchema): JsonObject {
  if (has(patch, DIRECTIVE)) return handleDirectiveInMergeMap(patch[DIRECTIVE], patch);
  const out = original ?? {};
  applyRetainKeysDirective(out, patch);
  mergePatchIntoOriginal(out, patch, schema);

  for (const [key, patchV] of Object.entries(patch)) {
    let k = key;
    let isDeleteList = false;
    if (k.startsWith(DELETE_FROM_PRIMITIVE_LIST)) {
      k = extractKey(k, DELETE_FROM_PRIMITIVE_LIST);
      isDeleteList = true;
    }
    if (patchV === null) {
      delete out[k];
      continue;
    }
    if (!has(out, k)) {
      if (!isDeleteList) {
        discardNulls(patchV);
        const [v, keep] = removeDirectives(patchV);
        if (keep) out[k] = v;
      }
      continue;
    }
    const origV = out[k]!;
    if (goType(origV) !== goType(patchV)) {
      if (!isDeleteList) {
        discardNulls(patchV);
        const [v, keep] = removeDirectives(patchV);
        if (keep) out[k] = v;
        else delete out[k];
      }
      continue;
    }
    if (isObject(origV) && isObject(patchV)) {
      const [sub, meta] = schema.lookupStruct(k);
      const [, strategy] = retainKeysStrategy(meta.strategies);
      out[k] = strategy === 'replace' ? patchV : mergeMap(origV, patchV, sub);
    } else if (Array.isArray(origV) && Array.isArray(patchV)) {
      const [sub, meta] = schema.lookupSlice(k);
      const [, strategy] = retainKeysStrategy(meta.strategies);
      out[k] = mergeSliceHandler(origV, patchV, sub, strategy, meta.mergeKey, isDeleteList);
    } else {
      const [v, keep] = removeDirectives(patchV);
      if (keep) out[k] = v;
      else delete out[k];
    }
  }
  return out;
}

function mergeSliceHandler(
  original: JsonValue[],
  patch: JsonValue[],
  schema: PatchSchema,
  strategy: string,
  mergeKey: string,
  isDeleteList: boolean,
): JsonValue[] {
  if (strategy === 'merge' || isDeleteList)
    return mergeSlice(original, patch, schema, mergeKey, isDeleteList);
  return patch;
}

function mergeSlice(
  original: JsonValue[],
  patch: JsonValue[],
  schema: PatchSchema,
  mergeKey: string,
  isDeleteList: boolean,
): JsonValue[] {
  if (original.length === 0 && patch.length === 0) return original;
  const t = sliceElementType(original, patch);
  let merged: JsonValue[];
  let kind: ItemKind = 'scalar';
  if (t !== 'map') {
    if (isDeleteList) return original.filter((v) => !patch.some((d) => d === v));
    merged = deduplicateScalars([...original, ...patch]);
  } else {
    kind = 'map';
    if (!mergeKey) throw new SmpError(`cannot merge lists without merge key for ${schema.name()}`);
    [original, patch] = mergeSliceWithSpecialElements(original, patch, mergeKey);
    merged = mergeSliceWithoutSpecialElements(original, patch, mergeKey, schema);
  }
  const [patchItems, serverOnly] = partition(merged, patch, kind === 'map' ? mergeKey : '');
  return normalizeElementOrder(patchItems, serverOnly, patch, original, mergeKey, kind);
}

/** Applies `$patch: delete` and `$patch: replace` items of a list of maps; returns [original, rest of patch]. */
function mergeSliceWithSpecialElements(
  original: JsonValue[],
  patch: JsonValue[],
  mergeKey: string,
): [JsonValue[], JsonValue[]] {
  const plain: JsonValue[] = [];
  let replace = false;
  for (const v of patch) {
    const m = v as JsonObject;
    if (!has(m, DIRECTIVE)) {
      plain.push(v);
      continue;
    }
    const directive = m[DIRECTIVE];
    if (directive === 'delete') {
      if (!has(m, mergeKey)) throw errNoMergeKey(m, mergeKey);
      for (;;) {
        const [, idx] = findMapByKey(original, mergeKey, m[mergeKey]);
        if (idx < 0) break;
        original = [...original.slice(0, idx), ...original.slice(idx + 1)];
      }
    } else if (directive === 'replace') {
      replace = true;
    } else if (directive === 'merge') {
      throw new SmpError('merging lists cannot yet be specified in the patch');
    } else {
      throw new SmpError(`unknown patch type: ${goPrint(directive ?? null)} in map: ${goMap(m)}`);
    }
  }
  return replace ? [plain, []] : [original, plain];
}

function mergeSliceWithoutSpecialElements(
  original: JsonValue[],
  patch: JsonValue[],
  mergeKey: string,
  schema: PatchSchema,
): JsonValue[] {
  for (const v of patch) {
    const m = v as JsonObject;
    if (!has(m, mergeKey)) throw errNoMergeKey(m, mergeKey);
    const [found, idx] = findMapByKey(original, mergeKey, m[mergeKey]);
    if (found) original[idx] = mergeMap(found, m, schema);
    else original = [...original, v];
  }
  return original;
}
