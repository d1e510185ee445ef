/**
 * Query parameters and request options as kube-apiserver decodes and validates them: the parameter codec's
 * conversions (any bool but "0"/"false" is true, integers as strconv.ParseInt, 400 otherwise), then
 * ValidateCreateOptions / ValidateUpdateOptions / ValidatePatchOptions / ValidateDeleteOptions, each one 422 on
 * `<Kind>Options.meta.k8s.io` listing every field error. DeleteOptions come from the body when there is one, else
 * from the query, never both.
 */
import { badRequest, invalid, plainError, type FieldError } from '../../errors.js';
import type { DeleteOptions, ListOptions } from '../../registry/generic/context.js';
import { dryRunErrors, validateDeleteOptions } from '../../registry/generic/options.js';
import { validateFieldManager } from '../../patch/apply/managed.js';
import { parseJson } from '../../patch/json.js';
import type { FieldValidation } from '../../schema/body.js';

type OptionsKind = 'CreateOptions' | 'UpdateOptions' | 'PatchOptions' | 'DeleteOptions';

/** runtime.Convert_Slice_string_To_bool: present with any value but "0" or "false" (any case) is true. */
export function queryBool(q: URLSearchParams, name: string): boolean | undefined {
  const v = q.get(name);
  if (v === null) return undefined;
  return !(v === '0' || v.toLowerCase() === 'false');
}

/** runtime.Convert_Slice_string_To_int64: strconv.ParseInt, whose error is the 400's message. */
export function queryInt(q: URLSearchParams, name: string): number | undefined {
  const v = q.get(name);
  if (v === null) return undefined;
  if (!/^[+-]?\d+$/.test(v))
    throw badRequest(`strconv.ParseInt: parsing ${JSON.stringify(v)}: invalid syntax`);
  const n = BigInt(v);
  if (n > 9223372036854775807n || n < -9223372036854775808n)
    throw badRequest(`strconv.ParseInt: parsing ${JSON.stringify(v)}: value out of range`);
  return Number(n);
}

function fieldValidationErrors(v: string | null): FieldError[] {
  if (v === null || ['', 'Ignore', 'Warn', 'Strict'].includes(v)) return [];
  return [
    {
      type: 'FieldValueNotSupported',
      field: 'fieldValidation',
      badValue: v,
      detail: 'supported values: "", "Ignore", "Strict", "Warn"',
    },
  ];
}

function fail(kind: OptionsKind, errs: FieldError[]): void {
  if (errs.length) throw invalid(kind, '', errs, 'meta.k8s.io');
}

/** dryRun alone (subresource writes whose other options do not matter here): true for "All". */
export function dryRunOf(q: URLSearchParams, kind: OptionsKind): boolean {
  const values = q.getAll('dryRun');
  fail(kind, dryRunErrors(values));
  return values.length > 0;
}

export interface WriteOptions {
  dryRun: boolean;
  fieldManager?: string;
  fieldValidation: FieldValidation;
}

/** CreateOptions and UpdateOptions: fieldManager, dryRun, fieldValidation (ValidateCreateOptions' order). */
export function writeOptions(q: URLSearchParams, kind: 'CreateOptions' | 'UpdateOptions'): WriteOptions {
  const fieldManager = q.get('fieldManager') ?? '';
  const dryRun = q.getAll('dryRun');
  const fv = q.get('fieldValidation');
  fail(kind, [...validateFieldManager(fieldManager), ...dryRunErrors(dryRun), ...fieldValidationErrors(fv)]);
  return {
    dryRun: dryRun.length > 0,
    ...(fieldManager ? { fieldManager } : {}),
    fieldValidation: (fv || 'Warn') as FieldValidation,
  };
}

export function listOptions(
  q: URLSearchParams,
): ListOptions & { timeoutSeconds?: number; allowWatchBookmarks?: boolean; sendInitialEvents?: boolean } {
  const o: ReturnType<typeof listOptions> = {};
  for (const k of [
    'labelSelector',
    'fieldSelector',
    'resourceVersion',
    'resourceVersionMatch',
    'continue',
  ] as const) {
    const v = q.get(k);
    if (v !== null && v !== '') o[k] = v;
  }
  const limit = queryInt(q, 'limit');
  if (limit !== undefined) o.limit = limit;
  const timeout = queryInt(q, 'timeoutSeconds');
  if (timeout !== undefined) o.timeoutSeconds = timeout;
  if (queryBool(q, 'allowWatchBookmarks')) o.allowWatchBookmarks = true;
  const initial = queryBool(q, 'sendInitialEvents');
  if (initial !== undefined) o.sendInitialEvents = initial;
  return o;
}

/**
 * DeleteOptions from the body (as kubectl sends them) or, without a body, from the query; validated as
 * ValidateDeleteOptions. A body that is no JSON object is the decoder's plain error (500), as kube-apiserver's.
 */
export function deleteOptions(q: URLSearchParams, body: Buffer): DeleteOptions & { dryRun?: string[] } {
  const o: DeleteOptions & { dryRun?: string[] } = {};
  if (body.length) {
    let parsed: unknown;
    try {
      parsed = parseJson(body.toString('utf8'));
    } catch (e) {
      throw plainError(`couldn't get version/kind; json parse error: ${(e as Error).message}`);
    }
    const b = (parsed ?? {}) as Record<string, unknown>;
    if (typeof b.gracePeriodSeconds === 'number') o.gracePeriodSeconds = b.gracePeriodSeconds;
    if (typeof b.propagationPolicy === 'string')
      o.propagationPolicy = b.propagationPolicy as DeleteOptions['propagationPolicy'];
    if (typeof b.orphanDependents === 'boolean') o.orphanDependents = b.orphanDependents;
    if (b.preconditions && typeof b.preconditions === 'object') o.preconditions = b.preconditions;
    if (Array.isArray(b.dryRun)) o.dryRun = b.dryRun.map(String);
  } else {
    const grace = queryInt(q, 'gracePeriodSeconds');
    if (grace !== undefined) o.gracePeriodSeconds = grace;
    const policy = q.get('propagationPolicy');
    if (policy !== null) o.propagationPolicy = policy as DeleteOptions['propagationPolicy'];
    const orphan = queryBool(q, 'orphanDependents');
    if (orphan !== undefined) o.orphanDependents = orphan;
    const dry = q.getAll('dryRun');
    if (dry.length) o.dryRun = dry;
  }
  validateDeleteOptions(o);
  return o;
}
