/**
 * The three walks server-side apply makes over two typed values (structured-merge-diff's compare, merge and
 * remove): which fields were added, modified or removed between two objects; the live object with an applied
 * configuration merged in (the configuration wins, list maps and sets merge by key in SMD's order); and an object
 * with a set of fields taken out. Empty and atomic containers count as leaves.
 */
import { type JsonObject, type JsonValue, deepEqual, isObject } from '../json.js';
import { type Atom, DEDUCED, type ListType, type MapType, type TypeRef, deduceAtom } from '../schema.js';
import { FieldSet } from './fieldset.js';
import { type Path, type PathElement, peString, serializePE } from './path.js';
import { TypedError, listItemPE, scalarError } from './typed.js';

type Val = JsonValue | undefined;

export interface Comparison {
  added: FieldSet;
  modified: FieldSet;
  removed: FieldSet;
}

const sameShape = (a: Atom, b: Atom): boolean =>
  a.map === b.map && a.list === b.list && a.scalar === b.scalar;

function childType(m: MapType, key: string): TypeRef {
  return m.fields.get(key)?.type ?? m.elem ?? DEDUCED;
}

const asList = (v: Val): JsonValue[] | undefined => (Array.isArray(v) ? v : undefined);
const asMap = (v: Val): JsonObject | undefined => (isObject(v) ? v : undefined);

/** Compares two values of a type: the fields added, modified and removed going from lhs to rhs. */
export function compare(lhs: JsonValue, rhs: JsonValue, type: TypeRef): Comparison {
  const cmp = { added: new FieldSet(), modified: new FieldSet(), removed: new FieldSet() };
  compareWalk(lhs, rhs, type, [], cmp);
  return cmp;
}

function compareWalk(l: Val, r: Val, type: TypeRef, path: Path, cmp: Comparison): void {
  const atom = type.atom();
  const al = deduceAtom(atom, l);
  const ar = deduceAtom(atom, r);
  const state = { inLeaf: false };
  const leaf = (st: { inLeaf: boolean }): void => {
    if (st.inLeaf) return;
    st.inLeaf = true;
    if (l === undefined) cmp.added.insert(path);
    else if (r === undefined) cmp.removed.insert(path);
    else if (!deepEqual(l, r)) cmp.modified.insert(path);
  };
  const handle = (a: Atom, st: { inLeaf: boolean }): void => {
    if (a.map) {
      const lm = asMap(l);
      const rm = asMap(r);
      const empty = (!lm || Object.keys(lm).length === 0) && (!rm || Object.keys(rm).length === 0);
      if (a.map.relationship === 'atomic' || empty) return leaf(st);
      const keys = new Set([...Object.keys(lm ?? {}), ...Object.keys(rm ?? {})]);
      for (const k of keys) compareWalk(lm?.[k], rm?.[k], childType(a.map, k), [...path, { field: k }], cmp);
    } else if (a.scalar) {
      if (scalarError(a.scalar, l ?? null) && scalarError(a.scalar, r ?? null)) return;
      leaf(st);
    } else if (a.list) {
      const ll = asList(l);
      const rl = asList(r);
      const empty = (!ll || ll.length === 0) && (!rl || rl.length === 0);
      if (a.list.relationship === 'atomic' || empty) return leaf(st);
      compareListItems(a.list, ll ?? [], rl ?? [], path, cmp);
    }
  };
  if (r === undefined) handle(al, state);
  else if (l === undefined || sameShape(al, ar)) handle(ar, state);
  else {
    handle(al, { inLeaf: false });
    handle(ar, state);
  }
  if (!state.inLeaf) {
    if (l === undefined) cmp.added.insert(path);
    else if (r === undefined) cmp.removed.insert(path);
  }
}

function indexItems(list: ListType, items: JsonValue[]): [PathElement[], Map<string, JsonValue[]>] {
  const order: PathElement[] = [];
  const values = new Map<string, JsonValue[]>();
  for (const item of items) {
    let pe: PathElement;
    try {
      pe = listItemPE(list, item);
    } catch {
      continue;
    }
    const k = serializePE(pe);
    const seen = values.get(k);
    if (seen) seen.push(item);
    else {
      values.set(k, [item]);
      order.push(pe);
    }
  }
  return [order, values];
}

function compareListItems(list: ListType, l: JsonValue[], r: JsonValue[], path: Path, cmp: Comparison): void {
  const [lOrder, lValues] = indexItems(list, l);
  const [rOrder, rValues] = indexItems(list, r);
  const all = [...lOrder, ...rOrder.filter((pe) => !lValues.has(serializePE(pe)))];
  for (const pe of all) {
    const k = serializePE(pe);
    const ll = lValues.get(k) ?? [];
    const rl = rValues.get(k) ?? [];
    const p = [...path, pe];
    if (ll.length <= 1 && rl.length <= 1) compareWalk(ll[0], rl[0], list.elem, p, cmp);
    else if (ll.length >= 2 && rl.length >= 2) {
      if (!deepEqual(ll, rl)) cmp.modified.insert(p);
    } else if (ll.length >= 2) {
      if (rl.length) compareWalk(undefined, rl[0], list.elem, p, cmp);
      cmp.removed.insert(p);
    } else {
      if (ll.length) compareWalk(ll[0], undefined, list.elem, p, cmp);
      cmp.added.insert(p);
    }
  }
}

/** Merges `rhs` (an applied configuration) into `lhs` (the live object); rhs wins on every leaf. */
export function merge(lhs: JsonValue, rhs: JsonValue, type: TypeRef): JsonValue | undefined {
  return mergeWalk(lhs, rhs, type);
}

function mergeWalk(l: Val, r: Val, type: TypeRef): Val {
  const atom = type.atom();
  const a = r === undefined ? deduceAtom(atom, l) : deduceAtom(atom, r);
  const leaf = (): Val => (r !== undefined ? r : l);
  if (a.map) {
    const lm = asMap(l);
    const rm = asMap(r);
    const empty = (!lm || Object.keys(lm).length === 0) && (!rm || Object.keys(rm).length === 0);
    if (a.map.relationship === 'atomic' || empty) return leaf();
    if (!lm && !rm) return undefined;
    const out: JsonObject = {};
    const keys = new Set([...Object.keys(lm ?? {}), ...Object.keys(rm ?? {})]);
    for (const k of keys) {
      const v = mergeWalk(lm?.[k], rm?.[k], childType(a.map, k));
      if (v !== undefined) out[k] = v;
    }
    return Object.keys(out).length ? out : undefined;
  }
  if (a.scalar) return leaf();
  if (a.list) {
    const ll = asList(l);
    const rl = asList(r);
    const empty = (!ll || ll.length === 0) && (!rl || rl.length === 0);
    if (a.list.relationship === 'atomic' || empty) return leaf();
    if (!ll && !rl) return undefined;
    const out = mergeListItems(a.list, ll ?? [], rl ?? []);
    return out.length ? out : undefined;
  }
  return leaf();
}

function indexForMerge(
  list: ListType,
  items: JsonValue[],
  allowDuplicates: boolean,
): [PathElement[], Map<string, JsonValue>] {
  const pes: PathElement[] = [];
  const observed = new Map<string, JsonValue>();
  items.forEach((item, i) => {
    let pe: PathElement;
    try {
      pe = listItemPE(list, item);
    } catch (e) {
      throw new TypedError(`element ${i}: ${(e as Error).message}`);
    }
    const k = serializePE(pe);
    if (observed.has(k)) {
      if (!allowDuplicates) throw new TypedError(`duplicate entries for key ${peString(pe)}`);
      observed.set(k, null); // a duplicated live item merges as null
    } else observed.set(k, item);
    pes.push(pe);
  });
  return [pes, observed];
}

/** SMD's list merge: live order, with the configuration's items placed by the items both lists share. */
function mergeListItems(list: ListType, lhs: JsonValue[], rhs: JsonValue[]): JsonValue[] {
  const [rPEs, rObs] = indexForMerge(list, rhs, false);
  const [lPEs, lObs] = indexForMerge(list, lhs, true);
  const out: JsonValue[] = [];
  const shared = rPEs.filter((pe) => lObs.has(serializePE(pe)));
  let next: PathElement | undefined = shared.shift();
  const mergedR = new Set<string>();
  const item = (pe: PathElement, lc: Val, rc: Val): void => {
    const v = mergeWalk(lc, rc, list.elem);
    if (v !== undefined) out.push(v);
    void pe;
  };
  const eq = (a: PathElement | undefined, b: PathElement): boolean =>
    !!a && serializePE(a) === serializePE(b);
  let li = 0;
  let ri = 0;
  while (li < lPEs.length || ri < rPEs.length) {
    if (li < lPEs.length && ri < rPEs.length) {
      const pe = lPEs[li];
      const k = serializePE(pe);
      if (k === serializePE(rPEs[ri])) {
        mergedR.add(k);
        item(pe, lObs.get(k), rObs.get(k));
        li++;
        ri++;
        next = shared.shift();
        continue;
      }
      if (rObs.has(k) && next && !eq(next, pe)) {
        li++;
        continue;
      }
    }
    if (li < lPEs.length) {
      const pe = lPEs[li];
      const k = serializePE(pe);
      if (!rObs.has(k)) {
        item(pe, lhs[li], undefined);
        li++;
        continue;
      } else if (mergedR.has(k)) li++;
    }
    if (ri < rPEs.length) {
      const pe = rPEs[ri];
      const k = serializePE(pe);
      mergedR.add(k);
      item(pe, lObs.get(k), rObs.get(k));
      ri++;
      if (eq(next, pe)) next = shared.shift();
    }
  }
  return out;
}

/** The value with the fields of `toRemove` taken out; containers left empty disappear (undefined). */
export function removeItems(v: JsonValue, type: TypeRef, toRemove: FieldSet): JsonValue | undefined {
  const a = deduceAtom(type.atom(), v);
  if (a.map) {
    if (!isObject(v) || Object.keys(v).length === 0 || a.map.relationship === 'atomic') return undefined;
    const out: JsonObject = {};
    for (const [k, val] of Object.entries(v)) {
      const pe: PathElement = { field: k };
      if (toRemove.hasMember(pe)) continue;
      const sub = toRemove.withPrefix(pe);
      const nv = sub.empty() ? val : removeItems(val, childType(a.map, k), sub);
      if (nv !== undefined) out[k] = nv;
    }
    return Object.keys(out).length ? out : undefined;
  }
  if (a.list) {
    if (!Array.isArray(v) || v.length === 0 || a.list.relationship === 'atomic') return undefined;
    const out: JsonValue[] = [];
    for (const item of v) {
      let pe: PathElement;
      try {
        pe = listItemPE(a.list, item);
      } catch {
        out.push(item);
        continue;
      }
      if (toRemove.hasMember(pe)) continue;
      const sub = toRemove.withPrefix(pe);
      const nv = sub.empty() ? item : removeItems(item, a.list.elem, sub);
      if (nv !== undefined) out.push(nv);
    }
    return out.length ? out : undefined;
  }
  return v;
}
