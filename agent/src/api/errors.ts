/**
 * Where domain error kinds (../errors.ts) become Docker's status codes, once. The server turns every error into
 * `{"message": ...}` with the code statusOf gives. ApiError is for the HTTP layer's own answers (405, version
 * checks); domains never see it.
 */
import { kindOf, type ErrorKind } from '../errors.js';

export {
  badParameter,
  conflict,
  EngineError,
  forbidden,
  internal,
  notFound,
  notImplemented,
  unauthorized,
  unavailable,
} from '../errors.js';

export class ApiError extends Error {
  constructor(
    readonly statusCode: number,
    message: string,
  ) {
    super(message);
    this.name = 'ApiError';
  }
}

/** dockerd's httpstatus.FromError table. */
const STATUS: Record<ErrorKind, number> = {
  InvalidParameter: 400,
  Unauthorized: 401,
  Forbidden: 403,
  NotFound: 404,
  Conflict: 409,
  System: 500,
  NotImplemented: 501,
  Unavailable: 503,
};

export function statusOf(err: unknown): number {
  if (err instanceof ApiError) return err.statusCode;
  const kind = kindOf(err);
  return kind ? STATUS[kind] : 500;
}
