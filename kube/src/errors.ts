/**
 * Error kinds of the cluster's domains. Domains (store, registry, admission, controllers, kubelet) throw these and
 * know nothing of HTTP; the API server maps each kind to its HTTP code and a `Status` once
 * (apiserver/status.ts). The reasons and the shape of details/causes are kube-apiserver's (metav1.StatusReason,
 * metav1.StatusDetails, metav1.StatusCause), because clients branch on them (client-go's IsNotFound, IsConflict,
 * kubectl's apply retry on Conflict, relist on Expired).
 */

/** metav1.StatusReason values the cluster produces. */
export type StatusReason =
  | 'NotFound'
  | 'AlreadyExists'
  | 'Conflict'
  | 'Invalid'
  | 'BadRequest'
  | 'Unauthorized'
  | 'Forbidden'
  | 'MethodNotAllowed'
  | 'NotAcceptable'
  | 'UnsupportedMediaType'
  | 'RequestEntityTooLarge'
  | 'Gone'
  | 'Expired'
  | 'TooManyRequests'
  | 'Timeout'
  | 'ServiceUnavailable'
  | 'InternalError'
  /**
   * metav1.StatusReasonUnknown (""): what kube-apiserver answers for an error that is a plain Go error, not an API
   * status (ErrorToAPIStatus): 500, no reason, the error's text as the message. kubectl prints it as
   * "Error from server: <message>". The Status carries no reason field.
   */
  | 'Unknown';

/**
 * A bad value Go would print with %#v (a []string, a map): field.Error prints other types that way, so the text is
 * given as is. `goStrings(["a"])` is `[]string{"a"}`.
 */
export class GoValue {
  constructor(readonly text: string) {}
}

/** Go's %#v of a decoded JSON value: `map[string]interface {}{"a":"b"}`, `[]interface {}{"a"}`, `interface {}(nil)`. */
export function goSharp(v: unknown): string {
  if (v === null || v === undefined) return 'interface {}(nil)';
  if (Array.isArray(v)) return `[]interface {}{${v.map(goSharp).join(', ')}}`;
  if (typeof v === 'object') {
    const o = v as Record<string, unknown>;
    return `map[string]interface {}{${Object.keys(o)
      .sort()
      .map((k) => `${JSON.stringify(k)}:${goSharp(o[k])}`)
      .join(', ')}}`;
  }
  if (typeof v === 'number' || typeof v === 'boolean') return String(v);
  return JSON.stringify(v) ?? 'null';
}

export const goStrings = (values: string[]): GoValue =>
  new GoValue(`[]string{${values.map((v) => JSON.stringify(v)).join(', ')}}`);

/** metav1.CauseType values used in causes (field errors use the field.ErrorType strings). */
export type CauseType =
  | 'FieldValueNotFound'
  | 'FieldValueRequired'
  | 'FieldValueDuplicate'
  | 'FieldValueInvalid'
  | 'FieldValueNotSupported'
  | 'FieldValueForbidden'
  | 'FieldValueTooLong'
  | 'FieldValueTooMany'
  | 'InternalError'
  | 'FieldValueTypeInvalid'
  | 'UnexpectedServerResponse'
  | 'FieldManagerConflict'
  | 'ResourceVersionTooLarge'
  | 'ExitCode'
  | 'NamespaceTerminating'
  | 'DisruptionBudget';

export interface StatusCause {
  reason?: CauseType;
  message?: string;
  field?: string;
}

/** Which object an error is about (metav1.StatusDetails without causes). */
export interface ErrorSubject {
  /** Resource (plural) name with its group, as kube-apiserver prints it: "pods", "deployments.apps". */
  resource?: string;
  /** metav1.StatusDetails.kind: the resource for most errors, the Kind for Invalid. */
  kind?: string;
  group?: string;
  name?: string;
  uid?: string;
}

export class KubeError extends Error {
  /** A continue token the Status carries in metadata.continue (the 410 for an expired continue token). */
  listContinue?: string;
  /** The Status carries `details: {}` even when empty (apimachinery's NewGenericServerResponse always sets it). */
  emptyDetails?: boolean;
  /**
   * A Status made elsewhere and passed on as it came (an admission webhook's denial): its code and its reason,
   * which may be any string, replace the kind's.
   */
  passThrough?: { code: number; reason: string };

  constructor(
    readonly reason: StatusReason,
    message: string,
    readonly subject: ErrorSubject = {},
    readonly causes: StatusCause[] = [],
    /** Seconds a client should wait (Retry-After; 429 and 503). */
    readonly retryAfterSeconds?: number,
  ) {
    super(message);
    this.name = 'KubeError';
  }
}

function qualified(resource: string, group?: string): string {
  return group ? `${resource}.${group}` : resource;
}

export const notFound = (resource: string, name: string, group?: string): KubeError =>
  new KubeError('NotFound', `${qualified(resource, group)} "${name}" not found`, {
    kind: resource,
    name,
    ...(group ? { group } : {}),
  });

export const alreadyExists = (resource: string, name: string, group?: string): KubeError =>
  new KubeError('AlreadyExists', `${qualified(resource, group)} "${name}" already exists`, {
    kind: resource,
    name,
    ...(group ? { group } : {}),
  });

/** An optimistic-concurrency loss, worded as kube-apiserver words it (kubectl retries on this reason). */
export const conflict = (resource: string, name: string, why: string, group?: string): KubeError =>
  new KubeError(
    'Conflict',
    `Operation cannot be fulfilled on ${qualified(resource, group)} "${name}": ${why}`,
    { kind: resource, name, ...(group ? { group } : {}) },
  );

/** One field.Error: `spec.replicas: Invalid value: -1: must be greater than or equal to 0`. */
export interface FieldError {
  type: Exclude<
    CauseType,
    'InternalError' | 'UnexpectedServerResponse' | 'ExitCode' | 'NamespaceTerminating' | 'DisruptionBudget'
  >;
  field: string;
  /** The offending value, printed as kube-apiserver prints it; omitted for Required/Forbidden. */
  badValue?: unknown;
  detail?: string;
}

const FIELD_TEXT: Record<FieldError['type'], string> = {
  FieldValueNotFound: 'Not found',
  FieldValueRequired: 'Required value',
  FieldValueDuplicate: 'Duplicate value',
  FieldValueInvalid: 'Invalid value',
  FieldValueNotSupported: 'Unsupported value',
  FieldValueForbidden: 'Forbidden',
  FieldValueTooLong: 'Too long',
  FieldValueTooMany: 'Too many',
  FieldValueTypeInvalid: 'Invalid value',
  FieldManagerConflict: 'Conflict',
  ResourceVersionTooLarge: 'Too large resource version',
};

/** field.Error.Error(): the text after "<field>: " in a 422 message and in each cause's message. */
export function fieldErrorText(e: FieldError): string {
  const head = FIELD_TEXT[e.type];
  // field.Error.ErrorBody: Required, Forbidden and TooLong never print the value.
  const withValue =
    e.type !== 'FieldValueRequired' &&
    e.type !== 'FieldValueForbidden' &&
    e.type !== 'FieldValueTooLong' &&
    'badValue' in e;
  const value = withValue ? `: ${printValue(e.badValue)}` : '';
  return e.detail ? `${head}${value}: ${e.detail}` : `${head}${value}`;
}

function printValue(v: unknown): string {
  if (v instanceof GoValue) return v.text;
  if (typeof v === 'number' || typeof v === 'boolean' || typeof v === 'bigint') return String(v);
  // strings quoted, objects as JSON; undefined (no value) prints as null
  return JSON.stringify(v) ?? 'null';
}

/**
 * 422 Invalid: `ConfigMap "x" is invalid: [a: Required value, b: Invalid value: ...]` (one error without brackets),
 * causes one per field error. `kind` is the Kind ("ConfigMap"), as kube-apiserver's NewInvalid puts it.
 */
export function invalid(kind: string, name: string, errors: FieldError[], group?: string): KubeError {
  const texts = errors.map((e) => `${e.field}: ${fieldErrorText(e)}`);
  const list = texts.length === 1 ? texts[0] : `[${texts.join(', ')}]`;
  return new KubeError(
    'Invalid',
    `${qualified(kind, group)} "${name}" is invalid: ${list}`,
    { kind, name, ...(group ? { group } : {}) },
    errors.map((e) => ({ reason: e.type, message: fieldErrorText(e), field: e.field })),
  );
}

export const badRequest = (message: string, causes: StatusCause[] = []): KubeError =>
  new KubeError('BadRequest', message, {}, causes);

export const forbidden = (message: string, subject: ErrorSubject = {}): KubeError =>
  new KubeError('Forbidden', message, subject);

export const unauthorized = (message = 'Unauthorized'): KubeError => new KubeError('Unauthorized', message);

/** 410 Expired: a watch or continue token from a revision that was compacted away (clients relist). */
export const expired = (message: string): KubeError => new KubeError('Expired', message);

export const gone = (message: string): KubeError => new KubeError('Gone', message);

/**
 * A read at a revision the store has not reached: kube-apiserver's storage.NewTooLargeResourceVersionError
 * (504 Timeout with a ResourceVersionTooLarge cause and Retry-After 1; clients retry).
 */
export const tooLargeResourceVersion = (requested: number, current: number): KubeError =>
  new KubeError(
    'Timeout',
    `Too large resource version: ${requested}, current: ${current}`,
    {},
    [{ reason: 'ResourceVersionTooLarge', message: 'Too large resource version' }],
    1,
  );

export const tooLarge = (message: string): KubeError => new KubeError('RequestEntityTooLarge', message);

export const tooManyRequests = (message: string, retryAfterSeconds?: number): KubeError =>
  new KubeError('TooManyRequests', message, {}, [], retryAfterSeconds);

export const unavailable = (message: string, retryAfterSeconds?: number): KubeError =>
  new KubeError('ServiceUnavailable', message, {}, [], retryAfterSeconds);

export const internal = (message: string): KubeError => new KubeError('InternalError', message);

/**
 * An error kube-apiserver returns as a plain Go error (`errors.New`, `fmt.Errorf`): 500 with no reason. Use it
 * where kube-apiserver does (storage.ErrResourceVersionSetOnCreate, field manager and merge failures), so clients
 * see the same Status; InternalError is for kube-apiserver's own NewInternalError.
 */
export const plainError = (message: string): KubeError => new KubeError('Unknown', message);

export function isKubeError(e: unknown, reason?: StatusReason): e is KubeError {
  return e instanceof KubeError && (reason === undefined || e.reason === reason);
}
