/**
 * Error kinds of the engine's domains (moby's errdefs are the model). Domains throw these and know nothing of
 * HTTP; the API layer (agent/src/api, statusOf) maps each kind to Docker's status code and `{message}` once.
 * Callers that must tell failures apart match the kind (`isKind(err, 'NotFound')`) or a domain error class,
 * never the message text.
 */

export type ErrorKind =
  /** A request parameter or body is malformed or not allowed (dockerd: 400). */
  | 'InvalidParameter'
  /** Credentials were refused (401). */
  | 'Unauthorized'
  /** Allowed in general, not for this object (403). */
  | 'Forbidden'
  /** The object does not exist (404). */
  | 'NotFound'
  /** The object's current state forbids the operation: name in use, running, in use (409). */
  | 'Conflict'
  /** The engine failed (500). */
  | 'System'
  /** Berth does not implement it (501). */
  | 'NotImplemented'
  /** Temporarily or structurally unavailable: an exhausted pool, a swarm-only endpoint (503). */
  | 'Unavailable';

export class EngineError extends Error {
  constructor(
    readonly kind: ErrorKind,
    message: string,
  ) {
    super(message);
    this.name = 'EngineError';
  }
}

export const badParameter = (message: string): EngineError => new EngineError('InvalidParameter', message);
export const unauthorized = (message: string): EngineError => new EngineError('Unauthorized', message);
export const forbidden = (message: string): EngineError => new EngineError('Forbidden', message);
export const notFound = (message: string): EngineError => new EngineError('NotFound', message);
export const conflict = (message: string): EngineError => new EngineError('Conflict', message);
export const internal = (message: string): EngineError => new EngineError('System', message);
export const notImplemented = (message: string): EngineError => new EngineError('NotImplemented', message);
export const unavailable = (message: string): EngineError => new EngineError('Unavailable', message);

/** The kind an error carries (EngineError and its subclasses), or undefined for a plain Error. */
export function kindOf(err: unknown): ErrorKind | undefined {
  return err instanceof EngineError ? err.kind : undefined;
}

export function isKind(err: unknown, kind: ErrorKind): boolean {
  return kindOf(err) === kind;
}
