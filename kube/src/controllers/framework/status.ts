/** Status objects as the API stores them: Go omits zero-valued fields tagged omitempty. */

/** Zero counts as absent when comparing (the API omits zero-valued fields). */
export function compact(s: object | undefined): Record<string, unknown> {
  return Object.fromEntries(Object.entries(s ?? {}).filter(([, v]) => v !== 0 && v !== undefined));
}

/** Drops zero numbers but those in `keep`, as Go's omitempty does for the status fields that carry it. */
export function omitZero<T extends object>(s: T, keep: string[] = []): T {
  return Object.fromEntries(
    Object.entries(s).filter(([k, v]) => v !== undefined && (v !== 0 || keep.includes(k))),
  ) as T;
}
