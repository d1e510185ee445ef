/**
 * When a CronJob should run (pkg/controller/cronjob/utils.go): the most recent schedule time not yet run (after
 * the last schedule, or creation, and within startingDeadlineSeconds), how many were missed, when to look next,
 * and the Job it makes: named `<cronjob>-<scheduled minutes since the epoch>`, owned by the CronJob, with the
 * `batch.kubernetes.io/cronjob-scheduled-timestamp` annotation.
 */
import type { CronJob, Job } from '../framework/types.js';
import { controllerRef } from '../framework/pods.js';
import type { Schedule } from '../../util/cron.js';

export const SCHEDULED_TIMESTAMP = 'batch.kubernetes.io/cronjob-scheduled-timestamp';
/** Beyond this many missed start times the controller warns (TooManyMissedTimes). */
export const MANY_MISSED = 100;

export interface MostRecent {
  /** When the search started: the last schedule time, creation, or now - startingDeadlineSeconds. */
  earliest: number;
  /** The most recent schedule time in (earliest, now], if any. */
  time?: number;
  missed: number;
}

const ms = (t: string | undefined | null): number => (t ? Date.parse(t) : 0) || 0;

/** mostRecentScheduleTime: counts missed times by the schedule's interval rather than walking them all. */
export function mostRecentScheduleTime(
  cj: CronJob,
  now: number,
  sched: Schedule,
  withDeadline: boolean,
): MostRecent {
  let earliest = ms(cj.metadata?.creationTimestamp);
  const last = ms(cj.status?.lastScheduleTime);
  if (last) earliest = last;
  const sds = cj.spec?.startingDeadlineSeconds;
  if (withDeadline && sds !== undefined && sds !== null) earliest = Math.max(earliest, now - sds * 1000);
  const t1 = sched.next(earliest);
  if (t1 === undefined || now < t1) return { earliest, missed: 0 };
  const t2 = sched.next(t1);
  if (t2 === undefined || now < t2) return { earliest, time: t1, missed: 1 };
  const interval = Math.round((t2 - t1) / 1000);
  if (interval < 1) throw new Error('time difference between two schedules is less than 1 second');
  const missed = Math.floor((now - t1) / 1000 / interval) + 1;
  let recent: number | undefined;
  const from = t1 + (missed - 2) * interval * 1000;
  for (let t = sched.next(from); t !== undefined && t <= now; t = sched.next(t)) recent = t;
  return { earliest, ...(recent !== undefined ? { time: recent } : {}), missed };
}

/** Milliseconds from now until the next schedule time after the most recent one (plus 100 ms, as upstream). */
export function untilNext(cj: CronJob, now: number, sched: Schedule): number | undefined {
  const r = mostRecentScheduleTime(cj, now, sched, false);
  const next = sched.next(r.time ?? r.earliest);
  return next === undefined ? undefined : Math.max(0, next - now + 100);
}

export const jobName = (cj: CronJob, scheduled: number): string =>
  `${cj.metadata?.name}-${Math.floor(scheduled / 60_000)}`;

/** RFC 3339 in the CronJob's zone (the scheduled-timestamp annotation), e.g. 2026-12-03T10:00:00-05:00. */
export function zonedRfc3339(at: number, tz: string | undefined): string {
  const utc = new Date(Math.floor(at / 1000) * 1000).toISOString().replace(/\.\d+Z$/, 'Z');
  if (!tz || tz === 'UTC') return utc;
  const f = new Intl.DateTimeFormat('en-US', {
    timeZone: tz,
    hourCycle: 'h23',
    year: 'numeric',
    month: '2-digit',
    day: '2-digit',
    hour: '2-digit',
    minute: '2-digit',
    second: '2-digit',
  });
  const p: Record<string, string> = {};
  for (const x of f.formatToParts(at)) if (x.type !== 'literal') p[x.type] = x.value;
  const wall = Date.UTC(+p.year, +p.month - 1, +p.day, +p.hour, +p.minute, +p.second);
  const off = Math.round((wall - Math.floor(at / 1000) * 1000) / 60_000);
  if (off === 0) return `${p.year}-${p.month}-${p.day}T${p.hour}:${p.minute}:${p.second}Z`;
  const sign = off < 0 ? '-' : '+';
  const a = Math.abs(off);
  const hh = String(Math.floor(a / 60)).padStart(2, '0');
  const mm = String(a % 60).padStart(2, '0');
  return `${p.year}-${p.month}-${p.day}T${p.hour}:${p.minute}:${p.second}${sign}${hh}:${mm}`;
}

/** getJobFromTemplate2: the Job for one scheduled time. */
export function jobFromTemplate(cj: CronJob, scheduled: number): Job {
  const t = structuredClone(cj.spec?.jobTemplate ?? {});
  return {
    apiVersion: 'batch/v1',
    kind: 'Job',
    metadata: {
      name: jobName(cj, scheduled),
      namespace: cj.metadata?.namespace ?? '',
      ...(t.metadata?.labels ? { labels: t.metadata.labels } : {}),
      annotations: {
        ...t.metadata?.annotations,
        [SCHEDULED_TIMESTAMP]: zonedRfc3339(scheduled, cj.spec?.timeZone ?? undefined),
      },
      ownerReferences: [controllerRef(cj)],
    },
    spec: t.spec ?? { template: {} },
  };
}
