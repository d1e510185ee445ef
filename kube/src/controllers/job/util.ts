/**
 * What the Job controller asks of Jobs and their pods (pkg/controller/job's helpers): finished conditions, the
 * tracking finalizer, completion indexes and their interval text (`status.completedIndexes` "0-2,5"), which pods
 * count as failed, the pod-failure back-off, and a pod made for an index.
 */
import type { Condition, Job, Pod } from '../framework/types.js';
import { podFromTemplate } from '../framework/pods.js';

export const TRACKING_FINALIZER = 'batch.kubernetes.io/job-tracking';
export const INDEX_KEY = 'batch.kubernetes.io/job-completion-index';
export const INDEX_ENV = 'JOB_COMPLETION_INDEX';
/** DefaultJobPodFailureBackOff and MaxJobPodFailureBackOff. */
export const BACKOFF_BASE_MS = 10_000;
export const BACKOFF_MAX_MS = 10 * 60_000;
/** kube-apiserver's MaxGeneratedNameLength (63 less the 5-character suffix). */
const MAX_GENERATED_NAME = 58;

const condTrue = (job: Job, type: string): Condition | undefined =>
  (job.status?.conditions as Condition[] | undefined)?.find((c) => c.type === type && c.status === 'True');

/** The Complete or Failed condition, when the Job is finished. */
export const finishedCondition = (job: Job): Condition | undefined =>
  condTrue(job, 'Complete') ?? condTrue(job, 'Failed');

/** The interim condition of 1.31+: FailureTarget or SuccessCriteriaMet, set before the pods are all gone. */
export const interimCondition = (job: Job): Condition | undefined =>
  condTrue(job, 'FailureTarget') ?? condTrue(job, 'SuccessCriteriaMet');

export const hasTracking = (p: Pod): boolean => (p.metadata?.finalizers ?? []).includes(TRACKING_FINALIZER);

export const isIndexed = (job: Job): boolean => job.spec?.completionMode === 'Indexed';

/** onlyReplaceFailedPods: a pod being deleted is not replaced (nor counted) until it has failed. */
export const onlyReplaceFailed = (job: Job): boolean =>
  job.spec?.podReplacementPolicy === 'Failed' || !!job.spec?.podFailurePolicy;

/** isPodFailed: Failed, or (unless only failed pods are replaced) being deleted before it succeeded. */
export function isPodFailed(p: Pod, job: Job): boolean {
  if (p.status?.phase === 'Failed') return true;
  if (onlyReplaceFailed(job)) return false;
  return !!p.metadata?.deletionTimestamp && p.status?.phase !== 'Succeeded';
}

/** The pod's completion index, or undefined when it has none or it is not a number. */
export function completionIndex(p: Pod): number | undefined {
  const v = p.metadata?.annotations?.[INDEX_KEY];
  if (v === undefined || !/^\d+$/.test(v)) return undefined;
  return Number(v);
}

/** Parses `status.completedIndexes` ("1,3-5,7"); ignores what is malformed or out of range. */
export function parseIndexes(text: string | undefined, completions: number): Set<number> {
  const out = new Set<number>();
  for (const part of (text ?? '').split(',').filter(Boolean)) {
    const m = /^(\d+)(?:-(\d+))?$/.exec(part);
    if (!m) continue;
    const a = Number(m[1]);
    const b = m[2] === undefined ? a : Number(m[2]);
    for (let i = a; i <= b && i < completions; i++) out.add(i);
  }
  return out;
}

/** Formats indexes as kube's interval list: sorted, runs of three or more as "a-b". */
export function formatIndexes(ix: Iterable<number>): string {
  const sorted = [...new Set(ix)].sort((a, b) => a - b);
  const parts: string[] = [];
  for (let i = 0; i < sorted.length;) {
    let j = i;
    while (j + 1 < sorted.length && sorted[j + 1] === sorted[j] + 1) j++;
    // orderedIntervals.String: a run of two is written "a,b", longer runs "a-b".
    parts.push(j === i ? `${sorted[i]}` : `${sorted[i]}${j === i + 1 ? ',' : '-'}${sorted[j]}`);
    i = j + 1;
  }
  return parts.join(',');
}

/** The delay before a new pod after `failures` consecutive pod failures (10 s doubling, at most 10 minutes). */
export function failureBackoffMs(failures: number): number {
  if (failures <= 0) return 0;
  return Math.min(BACKOFF_BASE_MS * 2 ** (failures - 1), BACKOFF_MAX_MS);
}

/** pastBackoffLimitOnFailure: with restartPolicy OnFailure, container restarts count against backoffLimit. */
export function pastBackoffLimitOnFailure(job: Job, active: Pod[]): boolean {
  if (job.spec?.template?.spec?.restartPolicy !== 'OnFailure') return false;
  let restarts = 0;
  for (const p of active)
    for (const s of [...(p.status?.initContainerStatuses ?? []), ...(p.status?.containerStatuses ?? [])])
      restarts += s.restartCount ?? 0;
  const limit = job.spec?.backoffLimit ?? 6;
  return limit === 0 ? restarts > 0 : restarts >= limit;
}

/** When a pod finished (its last container's finishedAt), else `fallback`. */
export function finishTime(p: Pod, fallback: number): number {
  let t = 0;
  for (const s of p.status?.containerStatuses ?? []) {
    const f = s.state?.terminated?.finishedAt;
    if (f) t = Math.max(t, Date.parse(String(f)) || 0);
  }
  return t || fallback;
}

/**
 * A pod for the Job: the template's pod with the tracking finalizer; for an Indexed Job also the completion index
 * (annotation and label), JOB_COMPLETION_INDEX from the annotation, hostname `<job>-<index>` and generateName
 * `<job>-<index>-`.
 */
export function jobPod(job: Job, index: number | undefined): Pod {
  const name = job.metadata?.name ?? '';
  let generateName = `${name}-`;
  if (index !== undefined) {
    const append = `-${index}-`;
    generateName = `${name}${append}`;
    if (generateName.length > MAX_GENERATED_NAME)
      generateName = generateName.slice(0, MAX_GENERATED_NAME - append.length) + append;
  } else if (generateName.length > MAX_GENERATED_NAME)
    generateName = generateName.slice(0, MAX_GENERATED_NAME);
  const pod = podFromTemplate(job.spec?.template, job.metadata?.namespace ?? '', job, { generateName });
  const meta = (pod.metadata ??= {});
  meta.finalizers = [...(meta.finalizers ?? []).filter((f) => f !== TRACKING_FINALIZER), TRACKING_FINALIZER];
  if (index === undefined) return pod;
  meta.annotations = { ...meta.annotations, [INDEX_KEY]: String(index) };
  meta.labels = { ...meta.labels, [INDEX_KEY]: String(index) };
  const spec = pod.spec!;
  spec.hostname = `${name}-${index}`.slice(0, 63);
  const env = {
    name: INDEX_ENV,
    valueFrom: { fieldRef: { apiVersion: 'v1', fieldPath: `metadata.annotations['${INDEX_KEY}']` } },
  };
  for (const c of [...(spec.initContainers ?? []), ...spec.containers])
    if (!(c.env ?? []).some((e) => e.name === INDEX_ENV)) c.env = [...(c.env ?? []), env];
  return pod;
}

/** What a pod failure policy rule decides for a failed pod, and the message kube's controller writes. */
export interface PolicyMatch {
  action: string;
  message: string;
}

/**
 * matchPodFailurePolicy: the first rule whose onExitCodes matches a container that exited non-zero (init
 * containers too), or whose onPodConditions matches one of the pod's conditions.
 */
export function matchFailurePolicy(job: Job, p: Pod): PolicyMatch | undefined {
  const rules = job.spec?.podFailurePolicy?.rules ?? [];
  const who = `${p.metadata?.namespace}/${p.metadata?.name}`;
  const statuses = [...(p.status?.initContainerStatuses ?? []), ...(p.status?.containerStatuses ?? [])];
  for (const [i, r] of rules.entries()) {
    const codes = r.onExitCodes;
    if (codes) {
      for (const s of statuses) {
        const code = s.state?.terminated?.exitCode;
        if (code === undefined || code === 0) continue;
        if (codes.containerName && codes.containerName !== s.name) continue;
        const listed = codes.values.includes(code);
        if (codes.operator === 'In' ? listed : !listed)
          return {
            action: r.action,
            message: `Container ${s.name} for pod ${who} failed with exit code ${code} matching ${r.action} rule at index ${i}`,
          };
      }
    }
    for (const pc of r.onPodConditions ?? []) {
      const has = (p.status?.conditions ?? []).some(
        (c) => c.type === pc.type && c.status === (pc.status ?? 'True'),
      );
      if (has)
        return {
          action: r.action,
          message: `Pod ${who} has condition ${pc.type} matching ${r.action} rule at index ${i}`,
        };
    }
  }
  return undefined;
}
