/**
 * The Job controller, as kube-controller-manager's pkg/controller/job (1.32): pods carry the
 * `batch.kubernetes.io/job-tracking` finalizer; a finished pod is first recorded in
 * `status.uncountedTerminatedPods`, then released (finalizer removed), then counted in succeeded/failed, so no
 * pod is counted twice or lost across restarts. Pods are kept at parallelism (never more than the remaining
 * completions; one per pending index for Indexed Jobs), replaced after the pod-failure back-off (10 s doubling),
 * deleted when suspended. backoffLimit (and container restarts under OnFailure) and activeDeadlineSeconds fail
 * the Job: FailureTarget first, the active pods deleted, then Failed once none is left; success is
 * SuccessCriteriaMet then Complete with completionTime. Events: SuccessfulCreate, SuccessfulDelete, Completed,
 * BackoffLimitExceeded / DeadlineExceeded, Suspended, Resumed. Indexed Jobs' per-index back-off and success policy:
 * per-index.ts.
 */
import { isKubeError } from '../../errors.js';
import { removeTrackingFinalizer } from './finalizer.js';
import type { ResourceClient } from '../../client/index.js';
import type { KubeObject } from '../../registry/types.js';
import { fromStructured } from '../../selectors/labels.js';
import { deepEqual } from '../../registry/generic/metadata.js';
import { claim, ownerStillThere } from '../framework/claim.js';
import { nowRfc3339, setCondition } from '../framework/conditions.js';
import { QueueController, type ControllerContext } from '../framework/controller.js';
import { Expectations } from '../framework/expectations.js';
import { keyOf, type Informer } from '../framework/informer.js';
import { controllerOf, deletionOrder, isReady, isTerminal } from '../framework/pods.js';
import type { Condition, Job, Pod } from '../framework/types.js';
import {
  completionIndex,
  failureBackoffMs,
  finishedCondition,
  finishTime,
  formatIndexes,
  hasTracking,
  interimCondition,
  isIndexed,
  isPodFailed,
  jobPod,
  matchFailurePolicy,
  onlyReplaceFailed,
  parseIndexes,
  pastBackoffLimitOnFailure,
} from './util.js';
import {
  failedIndexes,
  hasBackoffLimitPerIndex,
  indexBackoffMs,
  lastFailedByIndex,
  matchSuccessPolicy,
  perIndexFailure,
  replacementAnnotations,
} from './per-index.js';

/** MaxPodCreateDeletePerSync. */
const BURST = 500;

type JobStatus = NonNullable<Job['status']>;

/** A Job as stored, the status its finished pods make, and the counts. */
interface Counted {
  /** A failed pod matched a FailJob rule of the pod failure policy: the message. */
  failJob?: string;
  job: Job;
  status: JobStatus;
  succeeded: number;
  failed: number;
  indexes: Set<number>;
  /** With backoffLimitPerIndex: the indexes that failed for good. */
  failedIndexes?: Set<number>;
}

interface Backoff {
  failures: number;
  last: number;
}

export class JobController extends QueueController {
  private readonly jobs: Informer<Job>;
  private readonly pods: Informer<Pod>;
  private readonly expectations: Expectations;
  private readonly rc: ResourceClient<Job>;
  private readonly podClient: ResourceClient<Pod>;
  /** Pods whose finalizer this controller removed (and counted) but whose update the informer has not shown yet. */
  private readonly released = new Map<string, Set<string>>();
  /** Pods this controller deleted (suspend, scale-down, a decided outcome): their end is no failure to back off from. */
  private readonly deletedByUs = new Set<string>();
  /** Consecutive pod failures per Job since its last success (the back-off record). */
  private readonly backoff = new Map<string, Backoff>();

  constructor(ctx: ControllerContext) {
    super('job', ctx, 'job-controller');
    this.expectations = new Expectations(() => ctx.now());
    this.rc = ctx.client.resource<Job>('batch/v1', 'jobs');
    this.podClient = ctx.client.resource<Pod>('v1', 'pods');
    this.jobs = ctx.informers.for<Job>('batch/v1', 'jobs');
    this.pods = ctx.informers.for<Pod>('v1', 'pods');
    this.jobs.on({
      add: (j) => this.enqueue(keyOf(j)),
      update: (_old, j) => this.enqueue(keyOf(j)),
      delete: (j) => {
        this.expectations.forget(keyOf(j));
        this.backoff.delete(keyOf(j));
        this.released.delete(keyOf(j));
        // Its pods are orphans now: their finalizers must not hold them.
        for (const p of this.pods.list(j.metadata?.namespace ?? ''))
          if (controllerOf(p)?.uid === j.metadata?.uid && hasTracking(p)) void this.releaseOrphan(p);
      },
    });
    this.pods.on({
      add: (p) => this.podEvent(p, true),
      update: (old, p) => {
        if (old !== p && p.metadata?.deletionTimestamp && !old.metadata?.deletionTimestamp) {
          const key = this.jobKey(p);
          if (key) this.expectations.deletionObserved(key, keyOf(p));
        }
        this.podEvent(p, false);
      },
      delete: (p) => {
        const key = this.jobKey(p);
        if (!key) return;
        this.expectations.deletionObserved(key, keyOf(p));
        this.released.get(key)?.delete(p.metadata?.uid ?? '');
        this.enqueue(key);
      },
    });
  }

  protected initialKeys(): string[] {
    return this.jobs.list().map(keyOf);
  }

  private jobKey(p: Pod): string | undefined {
    const ref = controllerOf(p);
    if (!ref || ref.kind !== 'Job') return undefined;
    const j = this.jobs.getIn(p.metadata?.namespace, ref.name);
    return j?.metadata?.uid === ref.uid ? keyOf(j) : undefined;
  }

  private podEvent(p: Pod, added: boolean): void {
    const key = this.jobKey(p);
    if (key) {
      if (added) this.expectations.creationObserved(key);
      if (!hasTracking(p)) this.released.get(key)?.delete(p.metadata?.uid ?? '');
      this.enqueue(key);
      return;
    }
    // A pod of a Job that is gone keeps no finalizer (the Job's own pods are released by its sync).
    const ref = controllerOf(p);
    if (ref?.kind === 'Job' && hasTracking(p) && this.jobs.hasSynced()) void this.releaseOrphan(p);
  }

  private async releaseOrphan(p: Pod): Promise<void> {
    try {
      await removeTrackingFinalizer(this.podClient, p);
    } catch (e) {
      this.log.warn('could not remove the tracking finalizer of an orphan pod', {
        pod: keyOf(p),
        error: e as Error,
      });
    }
  }

  protected async sync(key: string): Promise<void> {
    const job = this.jobs.get(key);
    if (!job) {
      this.expectations.forget(key);
      return;
    }
    const ns = job.metadata?.namespace ?? '';
    const owned = await claim(this.pods.list(ns), {
      owner: job,
      selector: fromStructured(job.spec?.selector as Parameters<typeof fromStructured>[0]),
      rc: this.podClient,
      canAdopt: ownerStillThere(this.rc as unknown as ResourceClient<KubeObject>, job),
    });
    if (finishedCondition(job)) {
      // Finished: nothing to run; let go of whatever is still tracked.
      await Promise.all(owned.filter(hasTracking).map((p) => removeTrackingFinalizer(this.podClient, p)));
      return;
    }
    const counted = await this.track(key, job, owned);
    if (!counted) return;
    await this.reconcile(key, counted, owned);
  }

  /**
   * Counts finished pods: records the new ones as uncounted, removes their finalizers, then moves them into the
   * counts. Returns the Job as written and the counts to reconcile with; undefined when the Job changed under us.
   */
  private async track(key: string, job: Job, pods: Pod[]): Promise<Counted | undefined> {
    const status: JobStatus = job.status ?? {};
    const indexed = isIndexed(job);
    const completions = job.spec?.completions ?? 0;
    const unc = status.uncountedTerminatedPods ?? {};
    const uncSucceeded = new Set(unc.succeeded ?? []);
    const uncFailed = new Set(unc.failed ?? []);
    const released = this.released.get(key) ?? new Set<string>();
    const indexes = indexed ? parseIndexes(status.completedIndexes, completions) : new Set<number>();
    const toRelease: Pod[] = [];
    const newFailed: Pod[] = [];
    let failJob: string | undefined;
    let newSucceeded = 0;
    const before = indexes.size;
    // Read before the finalizers go: a pod fails its index only while it is still tracked.
    const failedIx = hasBackoffLimitPerIndex(job) ? failedIndexes(job, pods) : undefined;
    const failedBefore = parseIndexes(status.failedIndexes ?? undefined, completions).size;
    // Any failed pod matching a FailJob rule decides (looked at every time: a write lost to a conflict loses nothing).
    if (job.spec?.podFailurePolicy)
      for (const p of pods) {
        const rule = p.status?.phase === 'Failed' ? matchFailurePolicy(job, p) : undefined;
        if (rule?.action === 'FailJob') {
          failJob = rule.message;
          break;
        }
      }
    for (const p of pods) {
      const uid = p.metadata?.uid ?? '';
      if (!hasTracking(p) || released.has(uid)) continue;
      const failed = isPodFailed(p, job);
      if (!isTerminal(p) && !failed) continue;
      toRelease.push(p);
      if (p.status?.phase === 'Succeeded' && !uncFailed.has(uid)) {
        if (indexed) {
          const ix = completionIndex(p);
          if (ix !== undefined && ix < completions) indexes.add(ix);
        } else if (!uncSucceeded.has(uid)) {
          uncSucceeded.add(uid);
          newSucceeded++;
        }
      } else if (!uncFailed.has(uid)) {
        const ix = completionIndex(p);
        const rule = p.status?.phase === 'Failed' ? matchFailurePolicy(job, p) : undefined;
        // An Ignore rule: the failure counts for nothing (neither failed nor back-off).
        if (rule?.action === 'Ignore') continue;
        if (!indexed || (ix !== undefined && ix < completions)) {
          uncFailed.add(uid);
          newFailed.push(p);
        }
      }
    }
    this.recordBackoff(key, newSucceeded > 0 || indexes.size > before, newFailed);
    // Recorded before any finalizer goes, so a pod released is never a pod forgotten.
    const moreFailedIx = failedIx !== undefined && failedIx.size > failedBefore;
    if (newSucceeded || newFailed.length || indexes.size > before || moreFailedIx) {
      const written = await this.writeStatus(job, {
        ...status,
        uncountedTerminatedPods: uncounted(uncSucceeded, uncFailed),
        ...(indexes.size > before
          ? { completedIndexes: formatIndexes(indexes), succeeded: indexes.size }
          : {}),
        ...(moreFailedIx ? { failedIndexes: formatIndexes(failedIx) } : {}),
      });
      if (!written) return undefined;
      job = written;
    }
    const gone = new Set<string>();
    await Promise.all(
      toRelease.map(async (p) => {
        const uid = p.metadata?.uid ?? '';
        const there = await removeTrackingFinalizer(this.podClient, p);
        if (!there) gone.add(uid);
        else {
          released.add(uid);
          this.released.set(key, released);
        }
      }),
    );
    // Everything uncounted whose pod is released or gone moves into the counts.
    const stillTracked = new Set(
      pods.filter((p) => hasTracking(p) && !released.has(p.metadata?.uid ?? '')).map((p) => p.metadata?.uid),
    );
    let succeeded = status.succeeded ?? 0;
    let failed = status.failed ?? 0;
    for (const uid of [...uncSucceeded])
      if (!stillTracked.has(uid)) {
        uncSucceeded.delete(uid);
        succeeded++;
      }
    for (const uid of [...uncFailed])
      if (!stillTracked.has(uid)) {
        uncFailed.delete(uid);
        failed++;
      }
    if (indexed) succeeded = indexes.size;
    const next: JobStatus = {
      ...job.status,
      uncountedTerminatedPods: uncounted(uncSucceeded, uncFailed),
      ...(indexed ? { completedIndexes: formatIndexes(indexes) || undefined } : {}),
      ...(failedIx ? { failedIndexes: formatIndexes(failedIx) } : {}),
    };
    return {
      job,
      status: next,
      succeeded,
      failed,
      indexes,
      ...(failJob ? { failJob } : {}),
      ...(failedIx ? { failedIndexes: failedIx } : {}),
    };
  }

  private recordBackoff(key: string, success: boolean, failed: Pod[]): void {
    const now = this.now();
    const rec = this.backoff.get(key) ?? { failures: 0, last: 0 };
    if (success) rec.failures = 0;
    for (const p of failed) {
      if (this.deletedByUs.delete(p.metadata?.uid ?? '')) continue;
      rec.failures++;
      rec.last = Math.max(rec.last, finishTime(p, now));
    }
    this.backoff.set(key, rec);
  }

  /** Conditions, pods toward parallelism, and the status write. */
  private async reconcile(key: string, counted: Counted, pods: Pod[]): Promise<void> {
    const { job, succeeded, failed, indexes } = counted;
    const now = this.now();
    const spec = job.spec ?? { template: {} };
    const status: JobStatus = { ...counted.status };
    const active = pods.filter((p) => !isTerminal(p) && !p.metadata?.deletionTimestamp);
    const terminating = pods.filter((p) => !isTerminal(p) && !!p.metadata?.deletionTimestamp).length;
    const suspended = spec.suspend === true;
    let conditions = (status.conditions ?? []) as Condition[];
    if (!status.startTime && !suspended) status.startTime = nowRfc3339(now);

    let interim = interimCondition(job);
    const backoffLimit = spec.backoffLimit ?? 6;
    if (!interim) {
      if (counted.failJob)
        interim = this.condition('FailureTarget', 'PodFailurePolicy', counted.failJob, now);
      else if (failed > backoffLimit || pastBackoffLimitOnFailure(job, active))
        interim = this.condition(
          'FailureTarget',
          'BackoffLimitExceeded',
          'Job has reached the specified backoff limit',
          now,
        );
      else if (this.pastDeadline(job, now))
        interim = this.condition(
          'FailureTarget',
          'DeadlineExceeded',
          'Job was active longer than specified deadline',
          now,
        );
      else if (spec.activeDeadlineSeconds !== undefined && status.startTime && !suspended)
        this.enqueueAfter(key, Date.parse(status.startTime) + spec.activeDeadlineSeconds * 1000 - now + 50);
    }
    if (!interim && counted.failedIndexes) {
      const f = perIndexFailure(job, counted.failedIndexes, indexes);
      if (f) interim = this.condition('FailureTarget', f[0], f[1], now);
    }
    const policy = !interim && isIndexed(job) ? matchSuccessPolicy(job, indexes) : undefined;
    if (policy) interim = this.condition('SuccessCriteriaMet', 'SuccessPolicy', policy, now);
    if (!interim) {
      const completions = spec.completions;
      const done =
        completions === undefined || completions === null
          ? succeeded > 0 && active.length === 0
          : succeeded >= completions && active.length === 0;
      if (done)
        interim = this.condition(
          'SuccessCriteriaMet',
          'CompletionsReached',
          'Reached expected number of succeeded pods',
          now,
        );
    }

    let activeCount = active.length;
    if (interim) {
      conditions = setCondition(conditions, interim);
      // Whatever still runs goes: the Job's outcome is decided.
      activeCount -= await this.deletePods(key, job, active);
    } else if (suspended) {
      activeCount -= await this.deletePods(key, job, active);
    } else if (this.expectations.satisfied(key) && !job.metadata?.deletionTimestamp) {
      activeCount += await this.manage(key, counted, pods, active, terminating, now);
    }

    // Suspension, as ensureJobConditionStatus: Suspended True while suspended, False (Resumed) after.
    const susp = conditions.find((c) => c.type === 'Suspended');
    if (suspended && !interim && susp?.status !== 'True') {
      conditions = setCondition(
        conditions,
        this.condition('Suspended', 'JobSuspended', 'Job suspended', now, 'True'),
      );
      this.recorder.event(job, 'Normal', 'Suspended', 'Job suspended');
    } else if (!suspended && susp?.status === 'True') {
      conditions = setCondition(
        conditions,
        this.condition('Suspended', 'JobResumed', 'Job resumed', now, 'False'),
      );
      this.recorder.event(job, 'Normal', 'Resumed', 'Job resumed');
      // ActiveDeadlineSeconds counts continuous activity: the clock starts again.
      status.startTime = nowRfc3339(now);
    }

    // The terminal condition waits until no pod runs, terminates or is left uncounted.
    const unc = status.uncountedTerminatedPods ?? {};
    const settled =
      interim &&
      activeCount <= 0 &&
      terminating === 0 &&
      !(unc.succeeded ?? []).length &&
      !(unc.failed ?? []).length &&
      pods.every((p) => !hasTracking(p) || this.released.get(key)?.has(p.metadata?.uid ?? ''));
    let finished: Condition | undefined;
    if (settled && interim) {
      const success = interim.type === 'SuccessCriteriaMet';
      finished = this.condition(
        success ? 'Complete' : 'Failed',
        interim.reason ?? '',
        interim.message ?? '',
        now,
      );
      conditions = setCondition(conditions, finished);
      if (success) status.completionTime = nowRfc3339(now);
    } else if (interim && terminating) this.enqueueAfter(key, 1000);

    const next: JobStatus = {
      ...status,
      active: activeCount > 0 ? activeCount : undefined,
      ready: active.filter(isReady).length,
      terminating,
      succeeded: succeeded || undefined,
      failed: failed || undefined,
      conditions: conditions.length ? (conditions as JobStatus['conditions']) : undefined,
    };
    for (const k of Object.keys(next) as (keyof JobStatus)[]) if (next[k] === undefined) delete next[k];
    if (deepEqual(job.status, next)) return;
    const written = await this.writeStatus(job, next);
    if (written && finished) {
      if (finished.type === 'Complete') this.recorder.event(job, 'Normal', 'Completed', 'Job completed');
      else this.recorder.event(job, 'Warning', finished.reason ?? 'Failed', finished.message ?? '');
      this.backoff.delete(key);
    }
  }

  private condition(type: string, reason: string, message: string, now: number, status = 'True'): Condition {
    const t = nowRfc3339(now);
    return { type, status, reason, message, lastProbeTime: t, lastTransitionTime: t };
  }

  private pastDeadline(job: Job, now: number): boolean {
    const ads = job.spec?.activeDeadlineSeconds;
    const start = job.status?.startTime;
    if (ads === undefined || ads === null || !start || job.spec?.suspend) return false;
    return now - Date.parse(start) >= ads * 1000;
  }

  /**
   * Creates or deletes pods toward the wanted number of active ones (manageJob); returns the change in active
   * pods. New pods wait out the pod-failure back-off.
   */
  private async manage(
    key: string,
    counted: Counted,
    pods: Pod[],
    active: Pod[],
    terminating: number,
    now: number,
  ): Promise<number> {
    const { job, succeeded, indexes } = counted;
    const done = new Set([...indexes, ...(counted.failedIndexes ?? [])]);
    const spec = job.spec!;
    const parallelism = spec.parallelism ?? 1;
    const completions = spec.completions;
    let want: number;
    if (completions === undefined || completions === null) want = succeeded > 0 ? active.length : parallelism;
    else want = Math.max(0, Math.min(parallelism, completions - succeeded));

    // Pods to remove: for Indexed Jobs duplicates, out-of-range and completed indexes first.
    const remove: Pod[] = [];
    let keep = active;
    if (isIndexed(job)) {
      const seen = new Set<number>();
      keep = [];
      for (const p of [...active].sort((a, b) => -deletionOrder(a, b))) {
        const ix = completionIndex(p);
        if (ix === undefined || ix >= (completions ?? 0) || done.has(ix) || seen.has(ix)) remove.push(p);
        else {
          seen.add(ix);
          keep.push(p);
        }
      }
    }
    if (keep.length > want) remove.push(...[...keep].sort(deletionOrder).slice(0, keep.length - want));
    if (remove.length) return -(await this.deletePods(key, job, remove.slice(0, BURST)));

    let diff = want - active.length;
    if (onlyReplaceFailed(job)) diff -= terminating;
    if (diff <= 0) return 0;
    // With backoffLimitPerIndex each index waits out its own back-off instead of the Job's.
    const perIndex = counted.failedIndexes ? lastFailedByIndex(job, pods, now) : undefined;
    const rec = perIndex ? undefined : this.backoff.get(key);
    const wait = rec ? rec.last + failureBackoffMs(rec.failures) - now : 0;
    if (wait > 0) {
      this.enqueueAfter(key, wait + 50);
      return 0;
    }
    let toCreate: Array<number | undefined>;
    if (isIndexed(job)) {
      const busy = new Set([...done, ...active.map(completionIndex)]);
      toCreate = [];
      let soonest = Infinity;
      for (let i = 0; i < (completions ?? 0) && toCreate.length < diff; i++) {
        if (busy.has(i)) continue;
        const indexWait = indexBackoffMs(perIndex?.get(i), now);
        if (indexWait > 0) soonest = Math.min(soonest, indexWait);
        else toCreate.push(i);
      }
      if (soonest < Infinity) this.enqueueAfter(key, soonest + 50);
    } else toCreate = Array.from({ length: diff }, () => undefined);
    toCreate = toCreate.slice(0, BURST);
    this.expectations.expectCreations(key, toCreate.length);
    let created = 0;
    // Slow start, as the ReplicaSet controller: batches of 1, 2, 4... stopping at the first failure.
    for (let i = 0, batch = 1; i < toCreate.length; i += batch, batch *= 2) {
      const slice = toCreate.slice(i, i + batch);
      const results = await Promise.allSettled(
        slice.map((ix) =>
          this.createPod(
            job,
            ix,
            perIndex && ix !== undefined ? replacementAnnotations(job, perIndex.get(ix)) : undefined,
          ),
        ),
      );
      const ok = results.filter((r) => r.status === 'fulfilled').length;
      created += ok;
      if (ok < slice.length) {
        this.expectations.lowerCreations(key, toCreate.length - i - ok);
        break;
      }
    }
    return created;
  }

  private async createPod(
    job: Job,
    index: number | undefined,
    annotations?: Record<string, string>,
  ): Promise<void> {
    const pod = jobPod(job, index);
    if (annotations)
      pod.metadata = { ...pod.metadata, annotations: { ...pod.metadata?.annotations, ...annotations } };
    try {
      const created = await this.podClient.create(pod);
      this.recorder.event(job, 'Normal', 'SuccessfulCreate', `Created pod: ${created.metadata?.name}`);
    } catch (e) {
      if (!isKubeError(e, 'Forbidden') || !/being terminated/.test((e as Error).message))
        this.recorder.event(job, 'Warning', 'FailedCreate', `Error creating: ${(e as Error).message}`);
      throw e;
    }
  }

  /** Deletes pods (their uid as precondition); returns how many were deleted. */
  private async deletePods(key: string, job: Job, pods: Pod[]): Promise<number> {
    if (!pods.length) return 0;
    this.expectations.expectDeletions(key, pods.map(keyOf));
    let n = 0;
    await Promise.all(
      pods.map(async (p) => {
        try {
          await this.podClient.delete(p.metadata?.name ?? '', {
            namespace: p.metadata?.namespace ?? '',
            preconditions: { uid: p.metadata?.uid ?? '' },
          });
          n++;
          this.deletedByUs.add(p.metadata?.uid ?? '');
          this.recorder.event(job, 'Normal', 'SuccessfulDelete', `Deleted pod: ${p.metadata?.name}`);
        } catch (e) {
          this.expectations.deletionObserved(key, keyOf(p));
          if (isKubeError(e, 'NotFound')) return;
          this.recorder.event(job, 'Warning', 'FailedDelete', `Error deleting: ${(e as Error).message}`);
          throw e;
        }
      }),
    );
    return n;
  }

  /** Writes status against the Job's resourceVersion; undefined when it is gone. A conflict retries the sync. */
  private async writeStatus(job: Job, status: JobStatus): Promise<Job | undefined> {
    try {
      return await this.rc.updateStatus({ ...job, status });
    } catch (e) {
      if (isKubeError(e, 'NotFound')) return undefined;
      throw e;
    }
  }
}

function uncounted(succeeded: Set<string>, failed: Set<string>): JobStatus['uncountedTerminatedPods'] {
  return {
    ...(succeeded.size ? { succeeded: [...succeeded] } : {}),
    ...(failed.size ? { failed: [...failed] } : {}),
  };
}
