/** Typed readers for the JSON the tests get back, so assertions work on declared shapes, not `any`. */

/** The engine's error body (Docker's `{"message"}`) of a raw response. */
export function apiMessage(r: { body: string }): string {
  return (JSON.parse(r.body) as { message: string }).message;
}

/** What `docker … inspect` prints: always an array, one object per name asked for. */
export function inspectJson<T>(stdout: string): T[] {
  return JSON.parse(stdout) as T[];
}
