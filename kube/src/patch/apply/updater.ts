/**
 * Field ownership (structured-merge-diff's merge.Updater): an update gives its manager every field it added or
 * changed and takes changed fields away from the others; an apply merges the configuration into the live object,
 * removes the fields its manager applied last time and no longer applies (unless another manager owns them), and
 * fails with conflicts when it changes fields other managers own, unless forced. All versions of an object share
 * one field layout here (berth-kube serves one version per kind), so no conversion happens between versions.
 */
import type { JsonObject, JsonValue } from '../json.js';
import { deepEqual } from '../json.js';
import type { TypeRef } from '../schema.js';
import { FieldSet } from './fieldset.js';
import type { Path } from './path.js';
import { toFieldSet } from './typed.js';
import { type Comparison, compare, merge, removeItems } from './walkers.js';

export interface VersionedSet {
  set: FieldSet;
  apiVersion: string;
  applied: boolean;
}

/** Manager identifier (apimachinery's JSON of manager, operation, apiVersion, subresource) → owned fields. */
export type ManagedFields = Map<string, VersionedSet>;

export interface Conflict {
  manager: string;
  path: Path;
}

export class Conflicts extends Error {
  constructor(readonly conflicts: Conflict[]) {
    super(`${conflicts.length} conflicts`);
  }
}

export interface UpdaterOptions {
  type: TypeRef;
  /** Fields this (sub)resource does not let a write own (status for the main resource, the rest for status). */
  ignore?: FieldSet;
}

function filtered(set: FieldSet, ignore: FieldSet | undefined): FieldSet {
  return ignore ? set.recursiveDifference(ignore) : set;
}

function filterComparison(c: Comparison, ignore: FieldSet | undefined): Comparison {
  if (!ignore) return c;
  return {
    added: filtered(c.added, ignore),
    modified: filtered(c.modified, ignore),
    removed: filtered(c.removed, ignore),
  };
}

/** Shared by update and apply: takes changed fields from other managers (or reports them as conflicts). */
function updateOthers(
  oldObj: JsonValue,
  newObj: JsonValue,
  managers: ManagedFields,
  workflow: string,
  force: boolean,
  opts: UpdaterOptions,
): Comparison {
  const cmp = filterComparison(compare(oldObj, newObj, opts.type), opts.ignore);
  const changed = cmp.modified.union(cmp.added);
  const conflicts = new Map<string, FieldSet>();
  for (const [manager, vs] of managers) {
    if (manager === workflow) continue;
    const c = vs.set.intersection(changed);
    if (!c.empty()) conflicts.set(manager, c);
  }
  if (!force && conflicts.size) {
    const list: Conflict[] = [];
    for (const [manager, set] of [...conflicts].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))) {
      set.iterate((path) => list.push({ manager, path }));
    }
    throw new Conflicts(list);
  }
  for (const [manager, vs] of managers) {
    let set = vs.set;
    const c = manager === workflow ? undefined : conflicts.get(manager);
    if (c) set = set.difference(c);
    if (manager !== workflow && !cmp.removed.empty()) set = set.difference(cmp.removed);
    if (set.empty()) managers.delete(manager);
    else managers.set(manager, { ...vs, set });
  }
  return cmp;
}

/** An update (any write but apply) by `manager`: it owns what it added or changed. */
export function update(
  live: JsonValue,
  next: JsonValue,
  apiVersion: string,
  managers: ManagedFields,
  manager: string,
  opts: UpdaterOptions,
): ManagedFields {
  const cmp = updateOthers(live, next, managers, manager, true, opts);
  const prev = managers.get(manager)?.set ?? new FieldSet();
  const set = filtered(prev.difference(cmp.removed).union(cmp.modified).union(cmp.added), opts.ignore);
  if (set.empty()) managers.delete(manager);
  else managers.set(manager, { set, apiVersion, applied: false });
  return managers;
}

/**
 * An apply of `config` by `manager`. Returns the new object (undefined when it equals the live one) and the
 * managers; throws Conflicts when it would change fields others own and `force` is false.
 */
export function apply(
  live: JsonObject,
  config: JsonObject,
  apiVersion: string,
  managers: ManagedFields,
  manager: string,
  force: boolean,
  opts: UpdaterOptions,
): { object: JsonObject | undefined; managers: ManagedFields } {
  let merged = (merge(live, config, opts.type) ?? {}) as JsonObject;
  const last = managers.get(manager);
  const set = filtered(toFieldSet(config, opts.type), opts.ignore);
  managers.set(manager, { set, apiVersion, applied: true });
  merged = prune(merged, managers, last, opts.type);
  updateOthers(live, merged, managers, manager, force, opts);
  return { object: deepEqual(live, merged) ? undefined : merged, managers };
}

/** Removes what `manager` applied last time and no longer does, keeping what any manager (still) owns. */
function prune(
  merged: JsonObject,
  managers: ManagedFields,
  last: VersionedSet | undefined,
  type: TypeRef,
): JsonObject {
  if (!last || last.set.empty()) return merged;
  const named = (s: FieldSet): FieldSet => s.ensureNamedFieldsAreMembers(type);
  const lastSet = named(last.set);
  let pruned = (removeItems(merged, type, lastSet) ?? {}) as JsonObject;
  // addBackOwnedItems: everything some manager owns comes back.
  let owned = new FieldSet();
  for (const vs of managers.values()) owned = owned.union(vs.set);
  const mergedSet = named(toFieldSet(merged, type));
  pruned = (removeItems(
    merged,
    type,
    mergedSet.difference(named(toFieldSet(pruned, type)).union(named(owned))),
  ) ?? {}) as JsonObject;
  // addBackDanglingItems: only fields of the last applied set stay removed.
  const prunedSet = named(toFieldSet(pruned, type));
  return (removeItems(merged, type, mergedSet.difference(prunedSet).intersection(lastSet)) ??
    {}) as JsonObject;
}
