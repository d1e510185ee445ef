/**
 * metadata.managedFields ⇄ managers (apimachinery's managedfields/internal): each entry is one manager, identified
 * by manager name, operation, apiVersion (for updates) and subresource, owning a FieldsV1 set, stamped with the
 * time of its last change. Entries are written sorted (Apply before Update, then by time, manager, apiVersion,
 * subresource); updates beyond ten managers fold into `ancient-changes`; conflicts print their managers as
 * `"kubectl-client-side-apply" using apps/v1`.
 */
import { type FieldError, KubeError, type StatusCause } from '../../errors.js';
import { type JsonObject, isObject } from '../json.js';
import { FieldSet } from './fieldset.js';
import { pathString } from './path.js';
import type { Conflict, ManagedFields } from './updater.js';

export interface ManagedFieldsEntry {
  manager?: string;
  operation?: string;
  apiVersion?: string;
  time?: string;
  fieldsType?: string;
  fieldsV1?: JsonObject;
  subresource?: string;
}

export interface Managed {
  fields: ManagedFields;
  times: Map<string, string | undefined>;
}

export const emptyManaged = (): Managed => ({ fields: new Map(), times: new Map() });

export const MAX_UPDATE_MANAGERS = 10;
export const FIELD_MANAGER_MAX_LENGTH = 128;

/** BuildManagerIdentifier: the entry's JSON without fields and time (and without apiVersion for Apply). */
export function managerId(e: {
  manager?: string;
  operation?: string;
  apiVersion?: string;
  subresource?: string;
}): string {
  const o: Record<string, string> = {};
  if (e.manager) o.manager = e.manager;
  if (e.operation) o.operation = e.operation;
  if (e.apiVersion && e.operation !== 'Apply') o.apiVersion = e.apiVersion;
  if (e.subresource) o.subresource = e.subresource;
  return JSON.stringify(o);
}

function parseId(id: string): ManagedFieldsEntry {
  try {
    const v = JSON.parse(id) as unknown;
    return isObject(v) ? v : {};
  } catch {
    return {};
  }
}

/** DecodeManagedFields: fails on entries kube-apiserver would not decode. */
export function decodeManagedFields(entries: unknown): Managed {
  const m = emptyManaged();
  if (entries === undefined || entries === null) return m;
  if (!Array.isArray(entries)) throw new Error('managedFields must be a list');
  entries.forEach((raw, i) => {
    const e = (isObject(raw) ? raw : {}) as ManagedFieldsEntry;
    if (e.operation !== 'Apply' && e.operation !== 'Update')
      throw new Error('operation must be `Apply` or `Update`');
    if (!e.apiVersion) throw new Error('apiVersion must not be empty');
    if (e.fieldsType === undefined || e.fieldsType === '')
      throw new Error(`missing fieldsType in managed fields entry ${i}`);
    if (e.fieldsType !== 'FieldsV1')
      throw new Error(`invalid fieldsType "${e.fieldsType}" in managed fields entry ${i}`);
    const id = managerId(e);
    let set: FieldSet;
    try {
      set = FieldSet.fromFieldsV1(e.fieldsV1 ?? {});
    } catch (err) {
      throw new Error(
        `error decoding versioned set from ${JSON.stringify(e)}: error decoding set: ${(err as Error).message}`,
      );
    }
    m.fields.set(id, { set, apiVersion: e.apiVersion, applied: e.operation === 'Apply' });
    m.times.set(id, e.time);
  });
  return m;
}

const seconds = (t: string | undefined): number => (t ? Math.floor(Date.parse(t) / 1000) : 0);
const cmp = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0);

/** encodeManagedFields: one entry per manager, in kube-apiserver's order; undefined when there is none. */
export function encodeManagedFields(m: Managed): ManagedFieldsEntry[] | undefined {
  if (m.fields.size === 0) return undefined;
  const out: ManagedFieldsEntry[] = [];
  for (const [id, vs] of m.fields) {
    const idv = parseId(id);
    const e: ManagedFieldsEntry = {};
    if (idv.manager) e.manager = idv.manager;
    e.operation = vs.applied ? 'Apply' : (idv.operation ?? 'Update');
    e.apiVersion = vs.apiVersion;
    const t = m.times.get(id);
    if (t) e.time = t;
    e.fieldsType = 'FieldsV1';
    e.fieldsV1 = vs.set.toFieldsV1();
    if (idv.subresource) e.subresource = idv.subresource;
    out.push(e);
  }
  return out.sort(
    (p, q) =>
      cmp(p.operation ?? '', q.operation ?? '') ||
      seconds(p.time) - seconds(q.time) ||
      cmp(p.manager ?? '', q.manager ?? '') ||
      cmp(p.apiVersion ?? '', q.apiVersion ?? '') ||
      cmp(p.subresource ?? '', q.subresource ?? ''),
  );
}

/** capManagers: past ten update managers, the oldest fold into `ancient-changes` (one per apiVersion). */
export function capUpdateManagers(m: Managed, max = MAX_UPDATE_MANAGERS): void {
  const updaters = [...m.fields].filter(([, vs]) => !vs.applied).map(([id]) => id);
  if (updaters.length <= max) return;
  updaters.sort((a, b) => seconds(m.times.get(a)) - seconds(m.times.get(b)) || cmp(a, b));
  const firstOfVersion = new Map<string, string>();
  let length = updaters.length;
  for (let i = 0; i < updaters.length && length > max; i++) {
    const id = updaters[i];
    const vs = m.fields.get(id)!;
    const time = m.times.get(id);
    const bucket = managerId({ manager: 'ancient-changes', operation: 'Update', apiVersion: vs.apiVersion });
    const first = firstOfVersion.get(vs.apiVersion);
    if (first === undefined) {
      firstOfVersion.set(vs.apiVersion, id);
      continue;
    }
    if (!m.fields.has(bucket)) {
      const s = m.fields.get(first)!;
      m.fields.delete(first);
      m.fields.set(bucket, s);
    }
    m.fields.set(bucket, {
      set: vs.set.union(m.fields.get(bucket)!.set),
      apiVersion: vs.apiVersion,
      applied: vs.applied,
    });
    m.fields.delete(id);
    length--;
    m.times.set(bucket, time);
  }
}

/** printManager: `"name"`, `"name" with subresource "status"`, `... using apps/v1` for updates. */
export function printManager(id: string): string {
  let e: ManagedFieldsEntry;
  try {
    e = JSON.parse(id) as ManagedFieldsEntry;
  } catch {
    return JSON.stringify(id);
  }
  let s = JSON.stringify(e.manager ?? '');
  if (e.subresource) s = `${s} with subresource ${JSON.stringify(e.subresource)}`;
  if (e.operation === 'Update')
    return e.time ? `${s} using ${e.apiVersion} at ${e.time}` : `${s} using ${e.apiVersion ?? ''}`;
  return s;
}

/** 409 Conflict with one FieldManagerConflict cause per field, worded as kube-apiserver's NewConflictError. */
export function conflictError(conflicts: Conflict[]): KubeError {
  const causes: StatusCause[] = conflicts.map((c) => ({
    reason: 'FieldManagerConflict',
    message: `conflict with ${printManager(c.manager)}`,
    field: pathString(c.path),
  }));
  let message: string;
  if (conflicts.length === 1) {
    const c = conflicts[0];
    message = `Apply failed with 1 conflict: conflict with ${printManager(c.manager)}: ${pathString(c.path)}`;
  } else {
    const byManager = new Map<string, string[]>();
    for (const c of conflicts)
      byManager.set(c.manager, [...(byManager.get(c.manager) ?? []), pathString(c.path)]);
    const lines: string[] = [];
    for (const manager of [...byManager.keys()].sort()) {
      lines.push(`conflicts with ${printManager(manager)}:`);
      for (const p of byManager.get(manager)!) lines.push(`- ${p}`);
    }
    message = `Apply failed with ${conflicts.length} conflicts: ${lines.join('\n')}`;
  }
  return new KubeError('Conflict', message, {}, causes);
}

/** ValidateManagedFields (object metadata validation): operation, fieldsType, manager and subresource. */
export function validateManagedFields(entries: unknown, path = 'metadata.managedFields'): FieldError[] {
  const errs: FieldError[] = [];
  if (!Array.isArray(entries)) return errs;
  entries.forEach((raw, i) => {
    const e = (isObject(raw) ? raw : {}) as ManagedFieldsEntry;
    const p = `${path}[${i}]`;
    if (e.operation !== 'Apply' && e.operation !== 'Update') {
      errs.push({
        type: 'FieldValueInvalid',
        field: `${p}.operation`,
        badValue: e.operation ?? '',
        detail: 'must be `Apply` or `Update`',
      });
    }
    if (e.fieldsType && e.fieldsType !== 'FieldsV1') {
      errs.push({
        type: 'FieldValueInvalid',
        field: `${p}.fieldsType`,
        badValue: e.fieldsType,
        detail: 'must be `FieldsV1`',
      });
    }
    errs.push(...validateFieldManager(e.manager ?? '', `${p}.manager`));
    if ((e.subresource ?? '').length > 256) {
      errs.push({
        type: 'FieldValueTooLong',
        field: `${p}.subresource`,
        detail: 'may not be more than 256 bytes',
      });
    }
  });
  return errs;
}

/** ValidateFieldManager: at most 128 characters, all printable. */
export function validateFieldManager(manager: string, field = 'fieldManager'): FieldError[] {
  const errs: FieldError[] = [];
  if (manager.length > FIELD_MANAGER_MAX_LENGTH) {
    errs.push({
      type: 'FieldValueTooLong',
      field,
      detail: `may not be more than ${FIELD_MANAGER_MAX_LENGTH} bytes`,
    });
  }
  let pos = 0;
  for (const ch of manager) {
    if (!isPrintable(ch)) {
      const cp = ch.codePointAt(0)!;
      const u = `U+${cp.toString(16).toUpperCase().padStart(4, '0')}`;
      errs.push({
        type: 'FieldValueInvalid',
        field,
        badValue: manager,
        detail: `invalid character ${u} (at position ${pos})`,
      });
    }
    pos += Buffer.byteLength(ch);
  }
  return errs;
}

/** Go's unicode.IsPrint: letters, marks, numbers, punctuation, symbols and the ASCII space. */
export function isPrintable(ch: string): boolean {
  return ch === ' ' || /^[\p{L}\p{M}\p{N}\p{P}\p{S}]$/u.test(ch);
}
