/** Engine API errors: each carries Docker's status code; the server turns them into `{"message": ...}`. */
export class ApiError extends Error {
  constructor(
    readonly statusCode: number,
    message: string,
  ) {
    super(message);
    this.name = 'ApiError';
  }
}

/** 400: the request is malformed or a parameter is invalid. */
export const badParameter = (message: string): ApiError => new ApiError(400, message);
/** 401: the registry refused the credentials. */
export const unauthorized = (message: string): ApiError => new ApiError(401, message);
/** 403: forbidden. */
export const forbidden = (message: string): ApiError => new ApiError(403, message);
/** 404: no such object. */
export const notFound = (message: string): ApiError => new ApiError(404, message);
/** 409: conflicts with the current state (name in use, image in use...). */
export const conflict = (message: string): ApiError => new ApiError(409, message);
/** 500: the engine failed. */
export const internal = (message: string): ApiError => new ApiError(500, message);
/** 501: not implemented in Berth. */
export const notImplemented = (message: string): ApiError => new ApiError(501, message);

export function statusOf(err: unknown): number {
  if (err instanceof ApiError) return err.statusCode;
  const code = (err as { statusCode?: unknown })?.statusCode;
  return typeof code === 'number' && code >= 400 && code < 600 ? code : 500;
}
