/**
 * validateJobSpec's rules for Indexed Jobs' per-index fields and the policies (pkg/apis/batch/validation, 1.32):
 * backoffLimitPerIndex and maxFailedIndexes, the pod failure policy's actions (FailIndex needs
 * backoffLimitPerIndex), and the success policy with its index intervals ("0-2,5"), in kube-apiserver's words.
 */
import type { FieldError } from '../../errors.js';
import { nonNegative } from '../validation/fields.js';

type Obj = Record<string, unknown>;

const MAX_INDEXED_PARALLELISM = 100_000;
const MAX_FAILED_INDEXES = 100_000;
const COMPLETIONS_SOFT_LIMIT = 100_000;
const HIGH_COMPLETIONS_LIMIT = 10_000;
const MAX_SUCCESS_RULES = 20;
const MAX_SUCCEEDED_INDEXES_LENGTH = 64 * 1024;
const ACTIONS = ['Count', 'FailIndex', 'FailJob', 'Ignore'];

const num = (v: unknown): number | undefined => (typeof v === 'number' ? v : undefined);
const invalid = (field: string, badValue: unknown, detail: string): FieldError => ({
  type: 'FieldValueInvalid',
  field,
  badValue,
  detail,
});

/** Per-index fields, the policies' actions and the success policy. */
export function indexedJobErrors(spec: Obj, path: string): FieldError[] {
  const errs: FieldError[] = [];
  const perIndex = num(spec.backoffLimitPerIndex);
  const maxFailed = num(spec.maxFailedIndexes);
  const completions = num(spec.completions);
  const parallelism = num(spec.parallelism);
  errs.push(...nonNegative(`${path}.backoffLimitPerIndex`, perIndex));
  if (maxFailed !== undefined) {
    errs.push(...nonNegative(`${path}.maxFailedIndexes`, maxFailed));
    if (perIndex === undefined)
      errs.push({
        type: 'FieldValueRequired',
        field: `${path}.backoffLimitPerIndex`,
        detail: 'when maxFailedIndexes is specified',
      });
  }
  const indexed = spec.completionMode === 'Indexed';
  if (indexed) {
    if (parallelism !== undefined && parallelism > MAX_INDEXED_PARALLELISM)
      errs.push(
        invalid(
          `${path}.parallelism`,
          parallelism,
          `must be less than or equal to ${MAX_INDEXED_PARALLELISM} when completion mode is Indexed`,
        ),
      );
    if (completions !== undefined && maxFailed !== undefined && maxFailed > completions)
      errs.push(invalid(`${path}.maxFailedIndexes`, maxFailed, 'must be less than or equal to completions'));
    if (maxFailed !== undefined && maxFailed > MAX_FAILED_INDEXES)
      errs.push(
        invalid(`${path}.maxFailedIndexes`, maxFailed, `must be less than or equal to ${MAX_FAILED_INDEXES}`),
      );
    if (completions !== undefined && completions > COMPLETIONS_SOFT_LIMIT && perIndex !== undefined) {
      const tail = `when completions are above ${COMPLETIONS_SOFT_LIMIT} and used with backoff limit per index`;
      if (maxFailed === undefined)
        errs.push({
          type: 'FieldValueRequired',
          field: `${path}.maxFailedIndexes`,
          detail: `must be specified when completions is above ${COMPLETIONS_SOFT_LIMIT}`,
        });
      if (parallelism !== undefined && parallelism > HIGH_COMPLETIONS_LIMIT)
        errs.push(
          invalid(
            `${path}.parallelism`,
            parallelism,
            `must be less than or equal to ${HIGH_COMPLETIONS_LIMIT} ${tail}`,
          ),
        );
      if (maxFailed !== undefined && maxFailed > HIGH_COMPLETIONS_LIMIT)
        errs.push(
          invalid(
            `${path}.maxFailedIndexes`,
            maxFailed,
            `must be less than or equal to ${HIGH_COMPLETIONS_LIMIT} ${tail}`,
          ),
        );
    }
  } else {
    if (perIndex !== undefined)
      errs.push(invalid(`${path}.backoffLimitPerIndex`, perIndex, 'requires indexed completion mode'));
    if (maxFailed !== undefined)
      errs.push(invalid(`${path}.maxFailedIndexes`, maxFailed, 'requires indexed completion mode'));
  }
  const rules = ((spec.podFailurePolicy as Obj | undefined)?.rules as Obj[] | undefined) ?? [];
  for (const [i, r] of rules.entries()) {
    const field = `${path}.podFailurePolicy.rules[${i}].action`;
    if (r.action === undefined || r.action === '')
      errs.push({ type: 'FieldValueRequired', field, detail: `valid values: ${goQuoted(ACTIONS)}` });
    else if (r.action === 'FailIndex') {
      if (perIndex === undefined)
        errs.push(invalid(field, r.action, 'requires the backoffLimitPerIndex to be set'));
    } else if (!ACTIONS.includes(r.action as string))
      errs.push({
        type: 'FieldValueNotSupported',
        field,
        badValue: r.action,
        detail: `supported values: ${ACTIONS.map((a) => `"${a}"`).join(', ')}`,
      });
  }
  if (spec.successPolicy !== undefined && spec.successPolicy !== null) {
    if (!indexed)
      errs.push(invalid(`${path}.successPolicy`, spec.successPolicy, 'requires indexed completion mode'));
    else
      errs.push(...successPolicyErrors(spec.successPolicy as Obj, completions ?? 0, `${path}.successPolicy`));
  }
  return errs;
}

/** Go's %q of a []string: ["a" "b"]. */
const goQuoted = (values: string[]): string => `[${values.map((v) => JSON.stringify(v)).join(' ')}]`;

function successPolicyErrors(policy: Obj, completions: number, path: string): FieldError[] {
  const errs: FieldError[] = [];
  const rules = (policy.rules as Obj[] | undefined) ?? [];
  if (rules.length === 0)
    errs.push({
      type: 'FieldValueRequired',
      field: `${path}.rules`,
      detail: 'at least one rules must be specified when the successPolicy is specified',
    });
  if (rules.length > MAX_SUCCESS_RULES)
    errs.push({
      type: 'FieldValueTooMany',
      field: `${path}.rules`,
      badValue: rules.length,
      detail: `must have at most ${MAX_SUCCESS_RULES} items`,
    });
  for (const [i, r] of rules.entries()) {
    const rp = `${path}.rules[${i}]`;
    const indexes = typeof r.succeededIndexes === 'string' ? r.succeededIndexes : undefined;
    const count = num(r.succeededCount);
    if (indexes === undefined && count === undefined)
      errs.push({
        type: 'FieldValueRequired',
        field: rp,
        detail: 'at least one of succeededCount or succeededIndexes must be specified',
      });
    let total = 0;
    if (indexes !== undefined) {
      if (indexes.length > MAX_SUCCEEDED_INDEXES_LENGTH)
        errs.push({
          type: 'FieldValueTooLong',
          field: `${rp}.succeededIndexes`,
          detail: `may not be more than ${MAX_SUCCEEDED_INDEXES_LENGTH} bytes`,
        });
      const parsed = indexesTotal(indexes, completions);
      if (typeof parsed === 'string')
        errs.push(invalid(`${rp}.succeededIndexes`, indexes, `error parsing succeededIndexes: ${parsed}`));
      else total = parsed;
    }
    if (count !== undefined) {
      const cp = `${rp}.succeededCount`;
      errs.push(...nonNegative(cp, count));
      if (count > completions)
        errs.push(
          invalid(
            cp,
            count,
            `must be less than or equal to ${completions} (the number of specified completions)`,
          ),
        );
      if (indexes !== undefined && count > total)
        errs.push(
          invalid(
            cp,
            count,
            `must be less than or equal to ${total} (the number of indexes in the specified succeededIndexes field)`,
          ),
        );
    }
  }
  return errs;
}

/** validateIndexesFormat: how many indexes "1,3-5" names, or the error's text. */
export function indexesTotal(text: string, completions: number): number | string {
  if (text === '') return 0;
  let last: number | undefined;
  let total = 0;
  for (const part of text.split(',')) {
    const limits = part.split('-');
    if (limits.length > 2)
      return `the fragment ${JSON.stringify(part)} violates the requirement that an index interval can have at most two parts separated by '-'`;
    const ends: number[] = [];
    for (const l of limits) {
      if (!/^[+-]?\d+$/.test(l)) return `cannot convert string to integer for index: ${JSON.stringify(l)}`;
      if (Number(l) >= completions) return `too large index: ${JSON.stringify(l)}`;
      ends.push(Number(l));
    }
    const [x, y = x] = ends;
    if (ends.length > 1 && x >= y) return `non-increasing order, previous: ${x}, current: ${y}`;
    if (last !== undefined && last >= x) return `non-increasing order, previous: ${last}, current: ${x}`;
    total += y - x + 1;
    last = y;
  }
  return total;
}
