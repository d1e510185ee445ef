/**
 * The one place where the domains' error kinds become HTTP: each `StatusReason` has kube-apiserver's code, and
 * every error leaves as a metav1.Status (clients branch on reason and code, and print message as is).
 */
import { KubeError, type StatusCause, type StatusReason } from '../errors.js';

export interface Status {
  kind: 'Status';
  apiVersion: 'v1';
  metadata: { resourceVersion?: string; continue?: string };
  status: 'Success' | 'Failure';
  message?: string;
  /**
   * Absent for the Unknown kind (kube-apiserver's StatusReasonUnknown is the empty string, omitted); any string
   * for a Status passed through from a webhook.
   */
  reason?: Exclude<StatusReason, 'Unknown'> | (string & {});
  details?: {
    name?: string;
    group?: string;
    kind?: string;
    uid?: string;
    causes?: StatusCause[];
    retryAfterSeconds?: number;
  };
  /** Absent on a delete's Success (kube-apiserver leaves it zero, hence omitted). */
  code?: number;
}

const CODES: Record<StatusReason, number> = {
  NotFound: 404,
  AlreadyExists: 409,
  Conflict: 409,
  Invalid: 422,
  BadRequest: 400,
  Unauthorized: 401,
  Forbidden: 403,
  MethodNotAllowed: 405,
  NotAcceptable: 406,
  UnsupportedMediaType: 415,
  RequestEntityTooLarge: 413,
  Gone: 410,
  Expired: 410,
  TooManyRequests: 429,
  Timeout: 504,
  ServiceUnavailable: 503,
  InternalError: 500,
  Unknown: 500,
};

export function httpCode(reason: StatusReason): number {
  return CODES[reason];
}

/**
 * A KubeError as a Status. Any other error is a bug or an unexpected failure: kube-apiserver's ErrorToAPIStatus
 * answers those 500 with no reason and the error's text, as for the Unknown kind.
 */
export function statusOf(err: unknown): Status {
  if (!(err instanceof KubeError)) {
    // As kube-apiserver's ErrorToAPIStatus for an error that is no API status: 500, reason unknown, its text.
    const message = err instanceof Error ? err.message : String(err);
    return { kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Failure', message, code: 500 };
  }
  const details: NonNullable<Status['details']> = {};
  const s = err.subject;
  if (s.name) details.name = s.name;
  if (s.group) details.group = s.group;
  if (s.kind) details.kind = s.kind;
  if (s.uid) details.uid = s.uid;
  if (err.causes.length) details.causes = err.causes;
  if (err.retryAfterSeconds !== undefined) details.retryAfterSeconds = err.retryAfterSeconds;
  const status: Status = {
    kind: 'Status',
    apiVersion: 'v1',
    metadata: {},
    status: 'Failure',
    message: err.message,
    code: CODES[err.reason],
  };
  if (err.reason !== 'Unknown') status.reason = err.reason;
  if (err.passThrough) {
    status.code = err.passThrough.code;
    if (err.passThrough.reason) status.reason = err.passThrough.reason;
    else delete status.reason;
  }
  if (err.listContinue) status.metadata.continue = err.listContinue;
  if (Object.keys(details).length || err.emptyDetails) status.details = details;
  return status;
}

/** The Status a successful delete answers with when the resource does not return the deleted object. */
export function successStatus(details: NonNullable<Status['details']>): Status {
  return { kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Success', details };
}
