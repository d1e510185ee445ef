/** Docker list filters as the domains apply them (the API layer's parseFilters builds them from the query). */
import { badParameter } from '../errors.js';

export type Filters = Map<string, string[]>;

/** Unknown filter keys are refused as dockerd refuses them. */
export function checkFilters(f: Filters, allowed: readonly string[]): void {
  for (const k of f.keys()) if (!allowed.includes(k)) throw badParameter(`invalid filter '${k}'`);
}

/** Matches `label` filters: `key` or `key=value`, all must hold. */
export function matchLabels(
  labels: Record<string, string> | null | undefined,
  wanted: string[] | undefined,
): boolean {
  if (!wanted) return true;
  return wanted.every((w) => {
    const eq = w.indexOf('=');
    if (eq < 0) return labels?.[w] !== undefined;
    return labels?.[w.slice(0, eq)] === w.slice(eq + 1);
  });
}
