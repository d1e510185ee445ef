/**
 * ObjectMeta rules every kind shares (apimachinery api/validation/objectmeta.go), with its field paths and texts:
 * names, namespace, labels, annotations (256 KiB in total), owner references, finalizers, and on update the
 * fields no update may change.
 */
import type { FieldError } from '../../errors.js';
import type { ObjectMeta } from '../types.js';
import { isDNS1123Label, isQualifiedName, isValidLabelValue, type NameValidator } from './names.js';

export const TOTAL_ANNOTATION_SIZE_LIMIT = 256 * 1024;
const ORPHAN = 'orphan';
const FOREGROUND = 'foregroundDeletion';

const invalid = (field: string, badValue: unknown, detail: string): FieldError => ({
  type: 'FieldValueInvalid',
  field,
  badValue,
  detail,
});

export function validateLabels(labels: Record<string, string> | undefined, path: string): FieldError[] {
  const errs: FieldError[] = [];
  for (const [k, v] of Object.entries(labels ?? {})) {
    for (const m of isQualifiedName(k)) errs.push(invalid(path, k, m));
    for (const m of isValidLabelValue(v)) errs.push(invalid(path, v, m));
  }
  return errs;
}

export function validateAnnotations(
  annotations: Record<string, string> | undefined,
  path: string,
): FieldError[] {
  const errs: FieldError[] = [];
  let size = 0;
  for (const [k, v] of Object.entries(annotations ?? {})) {
    for (const m of isQualifiedName(k.toLowerCase())) errs.push(invalid(path, k, m));
    size += Buffer.byteLength(k) + Buffer.byteLength(v);
  }
  if (size > TOTAL_ANNOTATION_SIZE_LIMIT)
    errs.push({
      type: 'FieldValueTooLong',
      field: path,
      badValue: '',
      detail: `may not be more than ${TOTAL_ANNOTATION_SIZE_LIMIT} bytes`,
    });
  return errs;
}

function validateOwnerReferences(meta: ObjectMeta, path: string): FieldError[] {
  const errs: FieldError[] = [];
  let controllers = 0;
  for (const [i, r] of (meta.ownerReferences ?? []).entries()) {
    const p = `${path}[${i}]`;
    const version = (r.apiVersion ?? '').split('/').pop() ?? '';
    if (!version) errs.push(invalid(`${p}.apiVersion`, r.apiVersion ?? '', 'version must not be empty'));
    if (!r.kind) errs.push(invalid(`${p}.kind`, r.kind ?? '', 'kind must not be empty'));
    if (!r.name) errs.push(invalid(`${p}.name`, r.name ?? '', 'name must not be empty'));
    if (!r.uid) errs.push(invalid(`${p}.uid`, r.uid ?? '', 'uid must not be empty'));
    if (r.controller) controllers++;
  }
  if (controllers > 1)
    errs.push(
      invalid(
        path,
        meta.ownerReferences,
        `Only one reference can have Controller set to true. Found "true" in references for ${(
          meta.ownerReferences ?? []
        )
          .filter((r) => r.controller)
          .map((r) => `${r.kind}/${r.name}`)
          .join(' and ')}`,
      ),
    );
  return errs;
}

function validateFinalizers(finalizers: string[] | undefined, path: string): FieldError[] {
  const errs: FieldError[] = [];
  for (const f of finalizers ?? []) for (const m of isQualifiedName(f)) errs.push(invalid(path, f, m));
  if (finalizers?.includes(ORPHAN) && finalizers.includes(FOREGROUND))
    errs.push(invalid(path, finalizers, `finalizer ${ORPHAN} and ${FOREGROUND} cannot be both set`));
  return errs;
}

/** ValidateObjectMetaAccessor: run after the kind's own validation, on create. */
export function validateObjectMeta(
  meta: ObjectMeta,
  namespaced: boolean,
  nameFn: NameValidator,
): FieldError[] {
  const errs: FieldError[] = [];
  if (meta.generateName)
    for (const m of nameFn(meta.generateName, true))
      errs.push(invalid('metadata.generateName', meta.generateName, m));
  if (!meta.name)
    errs.push({
      type: 'FieldValueRequired',
      field: 'metadata.name',
      detail: 'name or generateName is required',
    });
  else for (const m of nameFn(meta.name, false)) errs.push(invalid('metadata.name', meta.name, m));
  if (namespaced) {
    if (!meta.namespace) errs.push({ type: 'FieldValueRequired', field: 'metadata.namespace' });
    else
      for (const m of isDNS1123Label(meta.namespace))
        errs.push(invalid('metadata.namespace', meta.namespace, m));
  } else if (meta.namespace) {
    errs.push({
      type: 'FieldValueForbidden',
      field: 'metadata.namespace',
      detail: 'not allowed on this type',
    });
  }
  if ((meta.generation ?? 0) < 0)
    errs.push(invalid('metadata.generation', meta.generation, 'must be greater than or equal to 0'));
  errs.push(...validateLabels(meta.labels, 'metadata.labels'));
  errs.push(...validateAnnotations(meta.annotations, 'metadata.annotations'));
  errs.push(...validateOwnerReferences(meta, 'metadata.ownerReferences'));
  errs.push(...validateFinalizers(meta.finalizers, 'metadata.finalizers'));
  return errs;
}

const same = (a: unknown, b: unknown) => JSON.stringify(a ?? null) === JSON.stringify(b ?? null);

/** ValidateObjectMetaAccessorUpdate. */
export function validateObjectMetaUpdate(meta: ObjectMeta, old: ObjectMeta): FieldError[] {
  const errs: FieldError[] = [];
  if (old.deletionTimestamp) {
    const before = new Set(old.finalizers ?? []);
    const added = (meta.finalizers ?? []).filter((f) => !before.has(f));
    if (added.length)
      errs.push({
        type: 'FieldValueForbidden',
        field: 'metadata.finalizers',
        detail: `no new finalizers can be added if the object is being deleted, found new finalizers ${JSON.stringify(added)}`,
      });
  }
  if (!meta.resourceVersion)
    errs.push(invalid('metadata.resourceVersion', '', 'must be specified for an update'));
  if ((meta.generation ?? 0) < (old.generation ?? 0))
    errs.push(invalid('metadata.generation', meta.generation, 'must not be decremented'));
  for (const f of [
    'name',
    'namespace',
    'uid',
    'creationTimestamp',
    'deletionTimestamp',
    'deletionGracePeriodSeconds',
  ] as const)
    if (!same(meta[f], old[f])) errs.push(invalid(`metadata.${f}`, meta[f] ?? '', 'field is immutable'));
  errs.push(...validateLabels(meta.labels, 'metadata.labels'));
  errs.push(...validateAnnotations(meta.annotations, 'metadata.annotations'));
  errs.push(...validateOwnerReferences(meta, 'metadata.ownerReferences'));
  errs.push(...validateFinalizers(meta.finalizers, 'metadata.finalizers'));
  return errs;
}
