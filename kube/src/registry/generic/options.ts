/** The option checks the generic store shares with the HTTP layer (metav1 validation: ValidateDryRun, ValidateDeleteOptions). */
import { goStrings, invalid, type FieldError } from '../../errors.js';
import type { DeleteOptions } from './context.js';

/** ValidateDryRun: only "All". */
export function dryRunErrors(values: string[]): FieldError[] {
  return values.every((v) => v === 'All')
    ? []
    : [
        {
          type: 'FieldValueNotSupported',
          field: 'dryRun',
          badValue: goStrings(values),
          detail: 'supported values: "All"',
        },
      ];
}

/** ValidateDeleteOptions: 422 on DeleteOptions.meta.k8s.io with every field error. */
export function validateDeleteOptions(o: DeleteOptions): void {
  const errs: FieldError[] = [];
  if (o.orphanDependents !== undefined && o.propagationPolicy !== undefined)
    errs.push({
      type: 'FieldValueInvalid',
      field: 'propagationPolicy',
      badValue: o.propagationPolicy,
      detail: 'orphanDependents and deletionPropagation cannot be both set',
    });
  const p = o.propagationPolicy;
  if (p !== undefined && p !== 'Foreground' && p !== 'Background' && p !== 'Orphan')
    errs.push({
      type: 'FieldValueNotSupported',
      field: 'propagationPolicy',
      badValue: p,
      detail: 'supported values: "Foreground", "Background", "Orphan", "nil"',
    });
  errs.push(...dryRunErrors(o.dryRun ?? []));
  if (errs.length) throw invalid('DeleteOptions', '', errs, 'meta.k8s.io');
}
