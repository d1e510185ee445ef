/** Asserts the HTTP status a domain error gets from the API's one mapping (api/errors.ts statusOf). */
import { statusOf } from '../src/api/errors.js';

export const httpStatus =
  (code: number) =>
  (err: unknown): boolean =>
    statusOf(err) === code;
