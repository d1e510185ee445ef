/** Errors as they cross process boundaries (engine API, IPC, web bridge). */
export interface ErrorBody {
  message: string;
}

/** Wire form of an error between main and renderer: rebuilt as an Error on the other side. */
export interface SerializedError {
  name: string;
  code?: number | string;
  message: string;
}

export type IpcResult<T> = { result: T } | { error: SerializedError };

export function serializeError(err: unknown): SerializedError {
  if (err instanceof Error) {
    const code =
      (err as { statusCode?: number; code?: string | number }).statusCode ??
      (err as { code?: string | number }).code;
    return code === undefined
      ? { name: err.name, message: err.message }
      : { name: err.name, code, message: err.message };
  }
  return { name: 'Error', message: String(err) };
}

export class EngineError extends Error {
  constructor(
    message: string,
    readonly statusCode: number,
  ) {
    super(message);
    this.name = 'EngineError';
  }
}

export function decodeError(e: SerializedError): Error {
  const err = typeof e.code === 'number' ? new EngineError(e.message, e.code) : new Error(e.message);
  err.name = e.name;
  return err;
}
