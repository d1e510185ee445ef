/**
 * Indexed Jobs' per-index rules, as pkg/controller/job (1.32, JobBackoffLimitPerIndex and JobSuccessPolicy on):
 * - backoffLimitPerIndex: each pod carries `job-index-failure-count` (and `job-index-ignored-failure-count`), copied
 *   from the pod it replaces plus one; an index fails once a counted failure reaches the limit, or at once on a
 *   FailIndex rule of the pod failure policy. A failed index is not retried; the replacement of a failing one waits
 *   out its own back-off (10 s doubling by the index's failures). The Job fails with MaxFailedIndexesExceeded past
 *   maxFailedIndexes, else with FailedIndexes once every index has succeeded or failed.
 * - successPolicy: the first rule whose succeededIndexes (and/or succeededCount) the completed indexes meet
 *   makes the Job succeed ("Matched rules at index N"), its other pods deleted.
 * Pods' failure counts are read from the last failed pod of an index, which a Job keeps until it is deleted
 * (kube-controller-manager also delays that pod's finalizer removal until the replacement exists; we do not).
 */
import type { Job, Pod } from '../framework/types.js';
import {
  completionIndex,
  failureBackoffMs,
  finishTime,
  hasTracking,
  isPodFailed,
  matchFailurePolicy,
  parseIndexes,
} from './util.js';

export const FAILURE_COUNT_KEY = 'batch.kubernetes.io/job-index-failure-count';
export const IGNORED_COUNT_KEY = 'batch.kubernetes.io/job-index-ignored-failure-count';

export const hasBackoffLimitPerIndex = (job: Job): boolean =>
  job.spec?.completionMode === 'Indexed' &&
  job.spec.backoffLimitPerIndex !== undefined &&
  job.spec.backoffLimitPerIndex !== null;

/** An annotation's count: 0 when absent, not a number, negative or past int32 (as parseInt32 upstream). */
function count(p: Pod, key: string): number {
  const v = p.metadata?.annotations?.[key];
  if (v === undefined || !/^\d+$/.test(v)) return 0;
  const n = Number(v);
  return n > 2147483647 ? 0 : n;
}

const absoluteFailures = (p: Pod): number => count(p, FAILURE_COUNT_KEY) + count(p, IGNORED_COUNT_KEY);

/** Whether this failed pod fails its index (isIndexFailed). */
function failsIndex(job: Job, p: Pod): boolean {
  if (!isPodFailed(p, job)) return false;
  let counted = true;
  if (job.spec?.podFailurePolicy) {
    const action = p.status?.phase === 'Failed' ? matchFailurePolicy(job, p)?.action : undefined;
    if (action === 'FailIndex') return true;
    counted = action !== 'Ignore';
  }
  return counted && count(p, FAILURE_COUNT_KEY) >= (job.spec?.backoffLimitPerIndex ?? 0);
}

/** status.failedIndexes plus the indexes that tracked (not yet counted) pods fail now. */
export function failedIndexes(job: Job, pods: Pod[]): Set<number> {
  const completions = job.spec?.completions ?? 0;
  const out = parseIndexes(job.status?.failedIndexes ?? undefined, completions);
  for (const p of pods) {
    const ix = completionIndex(p);
    if (ix !== undefined && ix < completions && hasTracking(p) && failsIndex(job, p)) out.add(ix);
  }
  return out;
}

/** The last failed pod of each index still to run: the one a replacement takes its counts and back-off from. */
export function lastFailedByIndex(job: Job, pods: Pod[], now: number): Map<number, Pod> {
  const out = new Map<number, Pod>();
  for (const p of pods) {
    if (!isPodFailed(p, job)) continue;
    const ix = completionIndex(p);
    if (ix === undefined) continue;
    const prev = out.get(ix);
    if (
      !prev ||
      (absoluteFailures(prev) <= absoluteFailures(p) && finishTime(p, now) >= finishTime(prev, now))
    )
      out.set(ix, p);
  }
  return out;
}

/** The counts a replacement of `replaced` carries (getNewIndexFailureCounts). */
export function replacementAnnotations(job: Job, replaced: Pod | undefined): Record<string, string> {
  if (!replaced) return { [FAILURE_COUNT_KEY]: '0' };
  let failures = count(replaced, FAILURE_COUNT_KEY);
  let ignored = count(replaced, IGNORED_COUNT_KEY);
  const action =
    job.spec?.podFailurePolicy && replaced.status?.phase === 'Failed'
      ? matchFailurePolicy(job, replaced)?.action
      : undefined;
  if (action === 'Ignore') ignored++;
  else failures++;
  return {
    [FAILURE_COUNT_KEY]: String(failures),
    ...(ignored ? { [IGNORED_COUNT_KEY]: String(ignored) } : {}),
  };
}

/** How long the replacement of `replaced` must wait (getRemainingTimePerIndex); 0 when it may start now. */
export function indexBackoffMs(replaced: Pod | undefined, now: number): number {
  if (!replaced) return 0;
  return Math.max(0, finishTime(replaced, now) + failureBackoffMs(absoluteFailures(replaced) + 1) - now);
}

/** The FailureTarget the failed indexes decide, if any: [reason, message]. */
export function perIndexFailure(
  job: Job,
  failed: Set<number>,
  succeeded: Set<number>,
): [string, string] | undefined {
  const max = job.spec?.maxFailedIndexes;
  if (max !== undefined && max !== null && failed.size > max)
    return ['MaxFailedIndexesExceeded', 'Job has exceeded the specified maximal number of failed indexes'];
  if (failed.size > 0 && failed.size + succeeded.size >= (job.spec?.completions ?? 0))
    return ['FailedIndexes', 'Job has failed indexes'];
  return undefined;
}

/** The success policy's verdict on the completed indexes: "Matched rules at index N", or undefined. */
export function matchSuccessPolicy(job: Job, succeeded: Set<number>): string | undefined {
  const rules = job.spec?.successPolicy?.rules;
  if (!rules || succeeded.size === 0) return undefined;
  const completions = job.spec?.completions ?? 0;
  for (const [i, r] of rules.entries()) {
    if (r.succeededIndexes !== undefined && r.succeededIndexes !== null) {
      const wanted = parseIndexes(r.succeededIndexes, completions);
      if (wanted.size === 0) continue;
      let met = 0;
      for (const ix of wanted) if (succeeded.has(ix)) met++;
      if (met === wanted.size || (r.succeededCount !== undefined && met >= r.succeededCount))
        return `Matched rules at index ${i}`;
    } else if (r.succeededCount !== undefined && succeeded.size >= r.succeededCount)
      return `Matched rules at index ${i}`;
  }
  return undefined;
}
