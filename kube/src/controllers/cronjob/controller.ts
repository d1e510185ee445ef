/**
 * The CronJob controller, as kube-controller-manager's pkg/controller/cronjob (v2): keeps `status.active` in step
 * with the Jobs it owns (SawCompletedJob, MissingJob, UnexpectedJob), `lastSuccessfulTime`, creates the Job of
 * the most recent unmet schedule time (in `timeZone`) unless suspended, past startingDeadlineSeconds
 * (MissSchedule) or forbidden by concurrencyPolicy (Forbid: JobAlreadyActive; Replace: the running Jobs are
 * deleted first), trims finished Jobs to the history limits, and requeues itself for the next schedule time. The
 * Job name carries the scheduled minute, so a Job is never made twice for one time, even across restarts.
 */
import { isKubeError } from '../../errors.js';
import type { ResourceClient } from '../../client/index.js';
import { rfc3339 } from '../../registry/generic/metadata.js';
import { CronError, parseSchedule, validTimeZone, type Schedule } from '../../util/cron.js';
import { QueueController, type ControllerContext } from '../framework/controller.js';
import { keyOf, type Informer } from '../framework/informer.js';
import { controllerOf } from '../framework/pods.js';
import type { CronJob, Job } from '../framework/types.js';
import { finishedCondition } from '../job/util.js';
import { MANY_MISSED, jobFromTemplate, jobName, mostRecentScheduleTime, untilNext } from './schedule.js';

type CronStatus = NonNullable<CronJob['status']>;
type JobRef = NonNullable<CronStatus['active']>[number];

export class CronJobController extends QueueController {
  private readonly cronjobs: Informer<CronJob>;
  private readonly jobs: Informer<Job>;
  private readonly rc: ResourceClient<CronJob>;
  private readonly jobClient: ResourceClient<Job>;

  constructor(ctx: ControllerContext) {
    super('cronjob', ctx, 'cronjob-controller');
    this.rc = ctx.client.resource<CronJob>('batch/v1', 'cronjobs');
    this.jobClient = ctx.client.resource<Job>('batch/v1', 'jobs');
    this.cronjobs = ctx.informers.for<CronJob>('batch/v1', 'cronjobs');
    this.jobs = ctx.informers.for<Job>('batch/v1', 'jobs');
    this.cronjobs.on({
      add: (c) => this.enqueue(keyOf(c)),
      update: (_old, c) => this.enqueue(keyOf(c)),
    });
    const jobEvent = (j: Job) => {
      const key = this.ownerKey(j);
      if (key) this.enqueue(key);
    };
    this.jobs.on({ add: jobEvent, update: (_old, j) => jobEvent(j), delete: jobEvent });
  }

  protected initialKeys(): string[] {
    return this.cronjobs.list().map(keyOf);
  }

  private ownerKey(j: Job): string | undefined {
    const ref = controllerOf(j);
    if (!ref || ref.kind !== 'CronJob') return undefined;
    const cj = this.cronjobs.getIn(j.metadata?.namespace, ref.name);
    return cj?.metadata?.uid === ref.uid ? keyOf(cj) : undefined;
  }

  protected async sync(key: string): Promise<void> {
    const cached = this.cronjobs.get(key);
    if (!cached) return;
    const cj: CronJob = structuredClone(cached);
    const status: CronStatus = (cj.status ??= {});
    const ns = cj.metadata?.namespace ?? '';
    const owned = this.jobs.list(ns).filter((j) => controllerOf(j)?.uid === cj.metadata?.uid);
    let changed = this.reconcileActive(cj, owned);
    if (await this.reconcileMissing(cj, owned)) changed = true;
    const schedule = await this.scheduleJob(key, cj);
    if (schedule.changed) changed = true;
    if (await this.cleanup(cj, owned)) changed = true;
    if (changed) {
      if (!status.active?.length) delete status.active;
      try {
        await this.rc.updateStatus(cj);
      } catch (e) {
        if (isKubeError(e, 'NotFound')) return;
        throw e;
      }
    }
    if (schedule.requeueMs !== undefined) this.enqueueAfter(key, schedule.requeueMs);
  }

  /** Active list against the owned Jobs; lastSuccessfulTime from the succeeded ones. */
  private reconcileActive(cj: CronJob, owned: Job[]): boolean {
    const status = cj.status!;
    let changed = false;
    const inActive = (uid: string | undefined) => (status.active ?? []).some((r) => r.uid === uid);
    for (const j of owned) {
      const fin = finishedCondition(j);
      const name = j.metadata?.name ?? '';
      if (!inActive(j.metadata?.uid) && !fin) {
        this.recorder.event(
          cj,
          'Warning',
          'UnexpectedJob',
          `Saw a job that the controller did not create or forgot: ${name}`,
        );
      } else if (inActive(j.metadata?.uid) && fin) {
        status.active = (status.active ?? []).filter((r) => r.uid !== j.metadata?.uid);
        this.recorder.event(
          cj,
          'Normal',
          'SawCompletedJob',
          `Saw completed job: ${name}, condition: ${fin.type}`,
        );
        changed = true;
      }
      if (fin?.type === 'Complete' && j.status?.completionTime) {
        const t = String(j.status.completionTime);
        if (!status.lastSuccessfulTime || Date.parse(t) > Date.parse(String(status.lastSuccessfulTime))) {
          status.lastSuccessfulTime = t;
          changed = true;
        }
      }
    }
    return changed;
  }

  /** Active Jobs that no longer exist (read from the API, not the cache, before dropping them). */
  private async reconcileMissing(cj: CronJob, owned: Job[]): Promise<boolean> {
    const status = cj.status!;
    const uids = new Set(owned.map((j) => j.metadata?.uid));
    let changed = false;
    for (const ref of [...(status.active ?? [])]) {
      if (uids.has(ref.uid)) continue;
      try {
        const j = await this.jobClient.get(ref.name ?? '', { namespace: ref.namespace ?? '' });
        if (j.metadata?.uid === ref.uid) continue;
      } catch (e) {
        if (!isKubeError(e, 'NotFound')) throw e;
      }
      this.recorder.event(cj, 'Normal', 'MissingJob', `Active job went missing: ${ref.name}`);
      status.active = (status.active ?? []).filter((r) => r.uid !== ref.uid);
      changed = true;
    }
    return changed;
  }

  /** Creates the Job of the most recent unmet schedule time; says when to look again. */
  private async scheduleJob(key: string, cj: CronJob): Promise<{ changed: boolean; requeueMs?: number }> {
    const status = cj.status!;
    const spec = cj.spec!;
    const none = { changed: false };
    if (cj.metadata?.deletionTimestamp) return none;
    const tz = spec.timeZone ?? undefined;
    if (tz !== undefined && !validTimeZone(tz)) {
      this.recorder.event(
        cj,
        'Warning',
        'UnknownTimeZone',
        `invalid timeZone: "${tz}": unknown time zone ${tz}`,
      );
      return none;
    }
    if (spec.suspend) return none;
    let sched: Schedule;
    try {
      sched = parseSchedule(spec.schedule, tz);
    } catch (e) {
      if (!(e instanceof CronError)) throw e;
      const msg = `unparseable schedule: "${spec.schedule}" : ${e.message}`;
      this.recorder.event(cj, 'Warning', 'UnparseableSchedule', msg);
      return none;
    }
    const now = this.now();
    const next = () => ({ changed: false, requeueMs: untilNext(cj, now, sched) });
    let recent;
    try {
      recent = mostRecentScheduleTime(cj, now, sched, true);
    } catch (e) {
      const msg = `invalid schedule: ${spec.schedule} : ${(e as Error).message}`;
      this.recorder.event(cj, 'Warning', 'InvalidSchedule', msg);
      return none;
    }
    if (recent.missed > MANY_MISSED)
      this.recorder.event(
        cj,
        'Warning',
        'TooManyMissedTimes',
        `too many missed start times: ${recent.missed}. Set or decrease .spec.startingDeadlineSeconds or check clock skew`,
      );
    const scheduled = recent.time;
    if (scheduled === undefined) return next();
    const sds = spec.startingDeadlineSeconds;
    if (sds !== undefined && sds !== null && scheduled + sds * 1000 < now) {
      this.recorder.event(
        cj,
        'Warning',
        'MissSchedule',
        `Missed scheduled time to start a job: ${rfc1123z(scheduled)}`,
      );
      return next();
    }
    const name = jobName(cj, scheduled);
    const last = status.lastScheduleTime ? Date.parse(String(status.lastScheduleTime)) : 0;
    if ((status.active ?? []).some((r) => r.name === name) || last === Math.floor(scheduled / 1000) * 1000)
      return next();
    if (spec.concurrencyPolicy === 'Forbid' && (status.active ?? []).length) {
      this.recorder.event(
        cj,
        'Normal',
        'JobAlreadyActive',
        'Not starting job because prior execution is running and concurrency policy is Forbid',
      );
      return next();
    }
    let changed = false;
    if (spec.concurrencyPolicy === 'Replace')
      for (const ref of [...(status.active ?? [])]) {
        await this.deleteJob(cj, ref.name ?? '');
        changed = true;
      }
    let created: Job;
    try {
      created = await this.jobClient.create(jobFromTemplate(cj, scheduled));
      this.recorder.event(cj, 'Normal', 'SuccessfulCreate', `Created job ${created.metadata?.name}`);
    } catch (e) {
      if (isKubeError(e, 'AlreadyExists')) {
        const existing = await this.jobClient.get(name, { namespace: cj.metadata?.namespace ?? '' });
        // Someone else's Job by that name, or ours already listed: nothing to record.
        if (controllerOf(existing)?.uid !== cj.metadata?.uid) return { changed, requeueMs: next().requeueMs };
        if ((status.active ?? []).some((r) => r.uid === existing.metadata?.uid))
          return { changed, requeueMs: next().requeueMs };
        created = existing;
      } else {
        if (!isKubeError(e, 'Forbidden') || !/being terminated/.test((e as Error).message))
          this.recorder.event(cj, 'Warning', 'FailedCreate', `Error creating job: ${(e as Error).message}`);
        throw e;
      }
    }
    const ref: JobRef = {
      kind: 'Job',
      namespace: created.metadata?.namespace,
      name: created.metadata?.name,
      uid: created.metadata?.uid,
      apiVersion: 'batch/v1',
      resourceVersion: created.metadata?.resourceVersion,
    };
    status.active = [...(status.active ?? []), ref];
    status.lastScheduleTime = rfc3339(new Date(scheduled));
    this.log.debug('cronjob started a job', { cronjob: key, job: ref.name });
    return { changed: true, requeueMs: untilNext(cj, now, sched) };
  }

  /** Deletes the oldest finished Jobs beyond the history limits. */
  private async cleanup(cj: CronJob, owned: Job[]): Promise<boolean> {
    const spec = cj.spec!;
    const ok: Job[] = [];
    const failed: Job[] = [];
    for (const j of owned) {
      if (j.metadata?.deletionTimestamp) continue;
      const fin = finishedCondition(j);
      if (fin?.type === 'Complete') ok.push(j);
      else if (fin?.type === 'Failed') failed.push(j);
    }
    let changed = false;
    for (const [jobs, limit] of [
      [ok, spec.successfulJobsHistoryLimit],
      [failed, spec.failedJobsHistoryLimit],
    ] as const) {
      if (limit === undefined || limit === null || jobs.length <= limit) continue;
      // byJobStartTime: oldest start first (no start time last), then by name.
      const sorted = [...jobs].sort((a, b) => {
        const sa = a.status?.startTime ? Date.parse(String(a.status.startTime)) : Infinity;
        const sb = b.status?.startTime ? Date.parse(String(b.status.startTime)) : Infinity;
        if (sa !== sb) return sa - sb;
        return (a.metadata?.name ?? '').localeCompare(b.metadata?.name ?? '');
      });
      for (const j of sorted.slice(0, jobs.length - limit))
        if (await this.deleteJob(cj, j.metadata?.name ?? '')) changed = true;
    }
    return changed;
  }

  /** Deletes a Job in the background (its pods follow through the garbage collector). */
  private async deleteJob(cj: CronJob, name: string): Promise<boolean> {
    const status = cj.status!;
    try {
      await this.jobClient.delete(name, {
        namespace: cj.metadata?.namespace ?? '',
        propagationPolicy: 'Background',
      });
    } catch (e) {
      if (!isKubeError(e, 'NotFound')) {
        this.recorder.event(cj, 'Warning', 'FailedDelete', `Deleted job: ${(e as Error).message}`);
        throw e;
      }
    }
    const before = (status.active ?? []).length;
    status.active = (status.active ?? []).filter((r) => r.name !== name);
    this.recorder.event(cj, 'Normal', 'SuccessfulDelete', `Deleted job ${name}`);
    return before !== status.active.length || before === 0;
  }
}

/** Go's time.RFC1123Z in UTC: "Mon, 02 Jan 2006 15:04:05 +0000". */
function rfc1123z(ms: number): string {
  return new Date(ms).toUTCString().replace(/GMT$/, '+0000');
}
