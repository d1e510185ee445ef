/**
 * kube-apiserver's field manager (apimachinery managedfields/internal, the default chain): managedFields
 * bookkeeping for every write, and server-side apply. In the order the chain runs:
 * - an update by a manager that is not tracked yet on an existing object without managedFields is not tracked
 *   (creates are); a request that sets managedFields itself is taken at its word (`[]` or `[{}]` resets them);
 * - apply: the applied configuration must be of the request's kind and version and carry no managedFields; fields
 *   of an object that had no managedFields are first attributed to `before-first-apply`;
 * - `kubectl`'s apply may take fields from the client-side-apply manager without force when they still hold the
 *   values of the last-applied-configuration annotation, and it keeps that annotation current;
 * - apiVersion, kind, name, namespace, uid and the other identity fields are never owned.
 */
import { KubeError, plainError } from '../../errors.js';
import { type JsonObject, type JsonValue, clone, deepEqual, isObject } from '../json.js';
import { type TypeRef } from '../schema.js';
import { FieldSet } from './fieldset.js';
import {
  type Managed,
  capUpdateManagers,
  conflictError,
  decodeManagedFields,
  emptyManaged,
  encodeManagedFields,
  managerId,
} from './managed.js';
import { type Path, goJson } from './path.js';
import { type TypedError, toFieldSet, validate, validationMessage, withoutManagedFields } from './typed.js';
import { Conflicts, apply as smdApply, update as smdUpdate } from './updater.js';
import { compare } from './walkers.js';

export const LAST_APPLIED = 'kubectl.kubernetes.io/last-applied-configuration';

export interface FieldManagerContext {
  /** The request's group-version-kind (the one the object is served and stored as). */
  group: string;
  version: string;
  kind: string;
  type: TypeRef;
  /** '' for the main resource, 'status', 'scale'... */
  subresource: string;
  /** Field paths this (sub)resource resets (e.g. [['status']] for the main resource of a kind with status). */
  resetFields?: string[][];
  now: Date;
}

const f = (name: string): { field: string } => ({ field: name });
const STRIP = FieldSet.of(
  [f('apiVersion')],
  [f('kind')],
  [f('metadata')],
  ...[
    'name',
    'namespace',
    'creationTimestamp',
    'selfLink',
    'uid',
    'clusterName',
    'generation',
    'managedFields',
    'resourceVersion',
  ].map((n): Path => [f('metadata'), f(n)]),
);

const apiVersionOf = (c: FieldManagerContext): string => (c.group ? `${c.group}/${c.version}` : c.version);
const gvkString = (g: string, v: string, k: string): string => `${g ? `${g}/` : '/'}${v}, Kind=${k}`;
/** metav1.Time: RFC 3339, seconds. */
export const timeString = (d: Date): string => d.toISOString().replace(/\.\d{3}Z$/, 'Z');

function ignoreSet(c: FieldManagerContext): FieldSet | undefined {
  if (!c.resetFields?.length) return undefined;
  return FieldSet.of(...c.resetFields.map((p) => p.map(f)));
}

function objectGVKNN(o: JsonObject): string {
  const md = isObject(o.metadata) ? o.metadata : {};
  const av = typeof o.apiVersion === 'string' ? o.apiVersion : '';
  const slash = av.lastIndexOf('/');
  const [g, v] = slash < 0 ? ['', av] : [av.slice(0, slash), av.slice(slash + 1)];
  return `${typeof md.namespace === 'string' ? md.namespace : ''}/${typeof md.name === 'string' ? md.name : ''}; ${gvkString(g, v, typeof o.kind === 'string' ? o.kind : '')}`;
}

/** Typed-object failures are plain errors in kube-apiserver: 500, its message verbatim. */
function serverError(message: string): KubeError {
  return plainError(message);
}

function stripMeta(m: Managed, id: string): void {
  const vs = m.fields.get(id);
  if (!vs) return;
  const set = vs.set.difference(STRIP);
  if (set.empty()) m.fields.delete(id);
  else m.fields.set(id, { ...vs, set });
}

/**
 * The update half of the chain, from capManagers down: the manager ends up owning what changed, stamped now.
 * Throws on a typed failure (the caller drops managedFields then, as UpdateNoErrors does).
 */
function updateChain(
  live: JsonObject,
  next: JsonObject,
  m: Managed,
  manager: string,
  c: FieldManagerContext,
): void {
  const id = managerId({
    manager: manager || 'unknown',
    operation: 'Update',
    apiVersion: apiVersionOf(c),
    subresource: c.subresource,
  });
  const self = 'current-operation';
  smdUpdate(live, next, apiVersionOf(c), m.fields, self, { type: c.type, ignore: ignoreSet(c) });
  stripMeta(m, self);
  const vs = m.fields.get(self);
  if (vs) {
    m.fields.delete(self);
    const prev = m.fields.get(id);
    m.fields.set(
      id,
      prev ? { set: vs.set.union(prev.set), apiVersion: vs.apiVersion, applied: vs.applied } : vs,
    );
    m.times.set(id, timeString(c.now));
  }
  capUpdateManagers(m);
}

function isResetManagedFields(v: unknown): boolean {
  if (!Array.isArray(v)) return false;
  if (v.length === 0) return true;
  return v.length === 1 && isObject(v[0]) && Object.keys(v[0]).length === 0;
}

/**
 * managedFields for a write that is not an apply (create, update, patch): returns `next` (a copy) with
 * metadata.managedFields set. `live` is undefined for a create. Never fails: on an internal failure the object is
 * returned without managedFields, as kube-apiserver's UpdateNoErrors does.
 */
export function trackUpdate(
  live: JsonObject | undefined,
  next: JsonObject,
  manager: string,
  c: FieldManagerContext,
): JsonObject {
  const out = clone(next);
  const md = isObject(out.metadata) ? out.metadata : (out.metadata = {});
  const requested = md.managedFields;
  delete md.managedFields;
  const liveMd = live && isObject(live.metadata) ? live.metadata : {};
  let m: Managed;
  const fromLive = (): Managed => {
    try {
      return decodeManagedFields(liveMd.managedFields);
    } catch {
      return emptyManaged();
    }
  };
  if (c.subresource) m = fromLive();
  else if (isResetManagedFields(requested)) m = emptyManaged();
  else {
    try {
      m = decodeManagedFields(requested);
      if (m.fields.size === 0) m = fromLive();
    } catch {
      m = fromLive();
    }
  }
  // skipNonApplied: an existing object nobody tracks stays untracked until someone applies.
  if (m.fields.size === 0 && live && typeof liveMd.uid === 'string' && liveMd.uid) return out;
  try {
    updateChain(live ? withoutManagedFields(live) : {}, withoutManagedFields(out), m, manager, c);
  } catch {
    return out;
  }
  const entries = encodeManagedFields(m);
  if (entries) md.managedFields = entries as unknown as JsonValue;
  return out;
}

/** The fields of the last-applied configuration that still hold their values in the live object. */
function allowedFromLastApplied(live: JsonObject, c: FieldManagerContext): FieldSet | undefined {
  const md = isObject(live.metadata) ? live.metadata : {};
  const ann = isObject(md.annotations) ? md.annotations : {};
  const text = ann[LAST_APPLIED];
  if (typeof text !== 'string' || !text) return undefined;
  let last: unknown;
  try {
    last = JSON.parse(text);
  } catch {
    return undefined;
  }
  if (!isObject(last) || last.apiVersion !== apiVersionOf(c)) return undefined;
  if (validate(last, c.type, false).length) return undefined;
  const lastSet = toFieldSet(last, c.type);
  const cmp = compare(last, withoutManagedFields(live), c.type);
  return lastSet.difference(cmp.modified).difference(cmp.added).difference(cmp.removed);
}

export interface ApplyResult {
  object: JsonObject;
  /** False when the result equals the live object, managedFields included (kube-apiserver then writes nothing). */
  changed: boolean;
}

/**
 * Server-side apply of `config` by `manager` onto `live` ({} for a create). Throws 400 for a configuration of
 * another kind or version or one with managedFields, 409 with FieldManagerConflict causes on conflicts (unless
 * `force`), 500 with SMD's message for a configuration that does not fit the schema.
 */
export function serverSideApplyObject(
  live: JsonObject,
  config: JsonObject,
  manager: string,
  force: boolean,
  c: FieldManagerContext,
): ApplyResult {
  const apiVersion = apiVersionOf(c);
  const cav = typeof config.apiVersion === 'string' ? config.apiVersion : '';
  const slash = cav.lastIndexOf('/');
  const [cg, cv] = slash < 0 ? ['', cav] : [cav.slice(0, slash), cav.slice(slash + 1)];
  const ck = typeof config.kind === 'string' ? config.kind : '';
  if (cg !== c.group || cv !== c.version || ck !== c.kind)
    throw new KubeError('BadRequest', `invalid object type: ${gvkString(cg, cv, ck)}`);
  const cmd = isObject(config.metadata) ? config.metadata : {};
  if ('managedFields' in cmd && cmd.managedFields !== null)
    throw new KubeError('BadRequest', 'metadata.managedFields must be nil');

  const liveMd = isObject(live.metadata) ? live.metadata : {};
  let m: Managed;
  try {
    m = decodeManagedFields(liveMd.managedFields);
  } catch (e) {
    throw serverError(`failed to decode managed fields: ${(e as Error).message}`);
  }
  const base = withoutManagedFields(live);
  if (m.fields.size === 0) {
    // skipNonApplied: attribute what exists to before-first-apply.
    try {
      updateChain({}, base, m, 'before-first-apply', c);
    } catch (e) {
      throw serverError(`failed to create manager for existing fields: ${(e as Error).message}`);
    }
  }
  const errs = validate(config, c.type, false);
  if (errs.length)
    throw serverError(
      `failed to create typed patch object (${objectGVKNN(config)}): ${validationMessage(errs)}`,
    );

  const id = managerId({ manager, operation: 'Apply', subresource: c.subresource });
  const opts = { type: c.type, ignore: ignoreSet(c) };
  const run = (forced: boolean): { object: JsonObject | undefined; m: Managed } => {
    const attempt: Managed = { fields: new Map(m.fields), times: new Map(m.times) };
    let res;
    try {
      res = smdApply(base, config, apiVersion, attempt.fields, id, forced, opts);
    } catch (e) {
      if (e instanceof Conflicts) throw e;
      throw serverError(`failed to merge config: ${(e as TypedError).message}`);
    }
    stripMeta(attempt, id);
    if (res.object) attempt.times.set(id, timeString(c.now));
    return { object: res.object, m: attempt };
  };
  let result: { object: JsonObject | undefined; m: Managed };
  try {
    result = run(force);
  } catch (e) {
    if (!(e instanceof Conflicts)) throw e;
    let conflicts = e.conflicts;
    const allowed = manager === 'kubectl' ? allowedFromLastApplied(live, c) : undefined;
    if (allowed) conflicts = conflicts.filter((x) => !allowed.has(x.path));
    if (conflicts.length) throw conflictError(conflicts);
    result = run(true);
  }
  const object = clone(result.object ?? base);
  if (manager === 'kubectl') keepLastApplied(object, config);
  const md = isObject(object.metadata) ? object.metadata : (object.metadata = {});
  const entries = encodeManagedFields(result.m);
  if (entries) md.managedFields = entries as unknown as JsonValue;
  else delete md.managedFields;
  return { object, changed: !deepEqual(object, live) };
}

/** lastAppliedUpdater: while the annotation exists, kubectl's server-side applies keep it current. */
function keepLastApplied(object: JsonObject, config: JsonObject): void {
  const md = isObject(object.metadata) ? object.metadata : undefined;
  const ann = md && isObject(md.annotations) ? md.annotations : undefined;
  if (!ann || typeof ann[LAST_APPLIED] !== 'string' || !ann[LAST_APPLIED]) return;
  const copy = clone(config);
  const cmd = isObject(copy.metadata) ? copy.metadata : undefined;
  if (cmd && isObject(cmd.annotations)) delete cmd.annotations[LAST_APPLIED];
  const value = `${goJson(copy)}\n`;
  // ValidateAnnotationsSize: all annotations together stay under 256 KiB, or the annotation is dropped.
  const total = Object.entries(ann).reduce(
    (n, [k, v]) =>
      n +
      k.length +
      (k === LAST_APPLIED ? value.length : typeof v === 'string' ? v.length : JSON.stringify(v).length),
    0,
  );
  if (total > 256 * 1024) delete ann[LAST_APPLIED];
  else ann[LAST_APPLIED] = value;
}
