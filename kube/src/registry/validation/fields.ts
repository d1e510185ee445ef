/**
 * The field rules strategies share, worded as apimachinery's field package and apivalidation helpers word them
 * (ValidateNonnegativeField, field.NotSupported, ValidateImmutableField, the selector-versus-template check).
 */
import type { FieldError } from '../../errors.js';
import { fromStructured, matchesLabels, type StructuredSelector } from '../../selectors/labels.js';
import { validatePodSpec } from '../core/podspec.js';
import { at } from '../printing.js';

/** ValidateNonnegativeField: nothing when the value is absent. */
export function nonNegative(field: string, v: unknown): FieldError[] {
  return typeof v === 'number' && v < 0
    ? [{ type: 'FieldValueInvalid', field, badValue: v, detail: 'must be greater than or equal to 0' }]
    : [];
}

/** field.NotSupported: `Unsupported value: "x": supported values: "a", "b"` (values in the order Go lists them). */
export function notSupported(field: string, v: unknown, values: readonly string[]): FieldError[] {
  if (v === undefined || values.includes(v as string)) return [];
  return [
    {
      type: 'FieldValueNotSupported',
      field,
      badValue: v,
      detail: `supported values: ${values.map((s) => `"${s}"`).join(', ')}`,
    },
  ];
}

export const same = (a: unknown, b: unknown): boolean =>
  JSON.stringify(a ?? null) === JSON.stringify(b ?? null);

/** ValidateImmutableField: `Invalid value: <new>: field is immutable`. */
export function immutable(field: string, obj: unknown, old: unknown): FieldError[] {
  const a = at(obj, field);
  const b = at(old, field);
  return same(a, b)
    ? []
    : [{ type: 'FieldValueInvalid', field, badValue: a ?? null, detail: 'field is immutable' }];
}

/**
 * A workload's selector against its template labels. `emptyKind` names the kind in "empty selector is invalid
 * for <kind>" (Deployment, ReplicaSet, StatefulSet, DaemonSet); `required` reports a missing selector as Required
 * (DaemonSet does not: a nil selector matches nothing, so only the labels mismatch is reported).
 */
export function selectorMatchesTemplate(
  spec: unknown,
  path: string,
  emptyKind: string,
  required = true,
): FieldError[] {
  const sel = at(spec, 'selector') as StructuredSelector | undefined | null;
  const labels = at(spec, 'template.metadata.labels') as Record<string, string> | undefined;
  const labelsField = `${path}.template.metadata.labels`;
  const mismatch: FieldError = {
    type: 'FieldValueInvalid',
    field: labelsField,
    badValue: labels ?? {},
    detail: '`selector` does not match template `labels`',
  };
  if (!sel) return required ? [{ type: 'FieldValueRequired', field: `${path}.selector` }] : [mismatch];
  const reqs = fromStructured(sel);
  if (!reqs.length)
    return [
      {
        type: 'FieldValueInvalid',
        field: `${path}.selector`,
        badValue: sel,
        detail: `empty selector is invalid for ${emptyKind}`,
      },
    ];
  return matchesLabels(reqs, labels) ? [] : [mismatch];
}

/** The template's restartPolicy against the values the kind allows (Always for sets, OnFailure/Never for jobs). */
export function restartPolicyIn(spec: unknown, path: string, allowed: readonly string[]): FieldError[] {
  const p = at(spec, 'template.spec.restartPolicy');
  return notSupported(`${path}.template.spec.restartPolicy`, p ?? '', allowed);
}

/**
 * A workload's pod template as kube-apiserver checks it: with `selectorOf` (the kind named in "empty selector is
 * invalid for <kind>"), the selector against the template's labels; then the template's PodSpec; then, with
 * `restart`, the restart policies the kind allows. Kinds that check their selector their own way (a
 * ReplicationController's map, a CronJob's jobTemplate) leave `selectorOf` out.
 */
export function podTemplateErrors(
  spec: unknown,
  path: string,
  o: { selectorOf?: string; selectorRequired?: boolean; restart?: readonly string[] } = {},
): FieldError[] {
  return [
    ...(o.selectorOf ? selectorMatchesTemplate(spec, path, o.selectorOf, o.selectorRequired) : []),
    ...validatePodSpec(
      at(spec, 'template.spec') as Record<string, unknown> | undefined,
      `${path}.template.spec`,
    ),
    ...(o.restart ? restartPolicyIn(spec, path, o.restart) : []),
  ];
}
