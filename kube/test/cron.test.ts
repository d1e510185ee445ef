/** The cron schedule parser (robfig/cron's ParseStandard semantics and error texts) and the CronJob timing rules. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { CronError, parseSchedule } from '../src/util/cron.js';
import {
  jobFromTemplate,
  jobName,
  mostRecentScheduleTime,
  untilNext,
  zonedRfc3339,
} from '../src/controllers/cronjob/schedule.js';
import type { CronJob } from '../src/controllers/framework/types.js';

const at = (s: string) => Date.parse(s);
const iso = (ms: number | undefined) => (ms === undefined ? 'none' : new Date(ms).toISOString());
const next = (spec: string, from: string, tz?: string) => iso(parseSchedule(spec, tz).next(at(from)));

describe('cron schedule parser', () => {
  it('walks minutes, hours, days and months as robfig does', () => {
    assert.equal(next('*/1 * * * *', '2026-12-03T10:00:00Z'), '2026-12-03T10:01:00.000Z');
    assert.equal(next('* * * * *', '2026-12-03T10:00:30.500Z'), '2026-12-03T10:01:00.000Z');
    assert.equal(next('*/15 * * * *', '2026-12-03T10:16:00Z'), '2026-12-03T10:30:00.000Z');
    assert.equal(next('5-10/2 3 * * *', '2026-12-03T03:07:00Z'), '2026-12-03T03:09:00.000Z');
    assert.equal(next('5-10/2 3 * * *', '2026-12-03T03:09:00Z'), '2026-12-04T03:05:00.000Z');
    assert.equal(next('0 0 29 2 *', '2026-03-01T00:00:00Z'), '2028-02-29T00:00:00.000Z');
    assert.equal(next('30 6 * JAN,jul *', '2026-12-03T00:00:00Z'), '2027-01-01T06:30:00.000Z');
    assert.equal(next('0 9 * * MON-FRI', '2026-12-04T10:00:00Z'), '2026-12-07T09:00:00.000Z'); // Fri -> Mon
    assert.equal(next('0 12 ? * sun', '2026-12-03T00:00:00Z'), '2026-12-06T12:00:00.000Z');
    // "N/step" means N through the maximum.
    assert.equal(next('50/5 * * * *', '2026-12-03T10:56:00Z'), '2026-12-03T11:50:00.000Z');
  });

  it('ORs day-of-month and day-of-week when both are restricted, ANDs when one is a star', () => {
    // 2026-12-03 is a Thursday; the 13th is a Sunday.
    assert.equal(next('0 0 13 * 5', '2026-12-03T01:00:00Z'), '2026-12-04T00:00:00.000Z');
    assert.equal(next('0 0 13 * *', '2026-12-03T01:00:00Z'), '2026-12-13T00:00:00.000Z');
    assert.equal(next('0 0 * * 5', '2026-12-03T01:00:00Z'), '2026-12-04T00:00:00.000Z');
    // A stepped star is no longer a star: */2 (odd days) in day-of-month ORs with Friday the 4th.
    assert.equal(next('0 0 */2 * 5', '2026-12-03T01:00:00Z'), '2026-12-04T00:00:00.000Z');
  });

  it('knows the descriptors and @every', () => {
    assert.equal(next('@hourly', '2026-12-03T10:00:00Z'), '2026-12-03T11:00:00.000Z');
    assert.equal(next('@daily', '2026-12-03T10:00:00Z'), '2026-12-04T00:00:00.000Z');
    assert.equal(next('@midnight', '2026-12-03T10:00:00Z'), '2026-12-04T00:00:00.000Z');
    assert.equal(next('@weekly', '2026-12-03T10:00:00Z'), '2026-12-06T00:00:00.000Z');
    assert.equal(next('@monthly', '2026-12-03T10:00:00Z'), '2027-01-01T00:00:00.000Z');
    assert.equal(next('@yearly', '2026-12-03T10:00:00Z'), '2027-01-01T00:00:00.000Z');
    assert.equal(next('@annually', '2026-12-03T10:00:00Z'), '2027-01-01T00:00:00.000Z');
    assert.equal(next('@every 1h30m', '2026-12-03T10:00:00.700Z'), '2026-12-03T11:30:00.000Z');
  });

  it('follows a time zone, DST included', () => {
    // New York is UTC-5 in December, UTC-4 in July.
    assert.equal(next('0 9 * * *', '2026-12-03T00:00:00Z', 'America/New_York'), '2026-12-03T14:00:00.000Z');
    assert.equal(next('0 9 * * *', '2026-07-03T00:00:00Z', 'America/New_York'), '2026-07-03T13:00:00.000Z');
    // Across the spring-forward night (2026-03-08), a daily 01:30 stays at local 01:30.
    assert.equal(next('30 1 * * *', '2026-03-07T12:00:00Z', 'America/New_York'), '2026-03-08T06:30:00.000Z');
    assert.equal(next('30 1 * * *', '2026-03-08T12:00:00Z', 'America/New_York'), '2026-03-09T05:30:00.000Z');
    assert.equal(next('TZ=Asia/Tokyo 0 0 * * *', '2026-12-03T00:00:00Z'), '2026-12-03T15:00:00.000Z');
  });

  it('gives none for a date that never comes', () => {
    assert.equal(next('0 0 30 2 *', '2026-01-01T00:00:00Z'), 'none');
  });

  it("refuses bad schedules with robfig's messages", () => {
    const cases: Array<[string, string]> = [
      ['', 'empty spec string'],
      ['* * * *', 'expected exactly 5 fields, found 4: [* * * *]'],
      ['0 0 * * * *', 'expected exactly 5 fields, found 6: [0 0 * * * *]'],
      ['60 * * * *', 'end of range (60) above maximum (59): 60'],
      ['* * 0 * *', 'beginning of range (0) below minimum (1): 0'],
      ['* * * * 7', 'end of range (7) above maximum (6): 7'],
      ['5-2 * * * *', 'beginning of range (5) beyond end of range (2): 5-2'],
      ['*/0 * * * *', 'step of range should be a positive number: */0'],
      ['1-2-3 * * * *', 'too many hyphens: 1-2-3'],
      ['*/2/3 * * * *', 'too many slashes: */2/3'],
      ['x * * * *', 'failed to parse int from x: strconv.Atoi: parsing "x": invalid syntax'],
      ['* * * foo *', 'failed to parse int from foo: strconv.Atoi: parsing "foo": invalid syntax'],
      ['@fortnightly', 'unrecognized descriptor: @fortnightly'],
      ['TZ=Nowhere/Land * * * * *', 'provided bad location Nowhere/Land: unknown time zone Nowhere/Land'],
    ];
    for (const [spec, msg] of cases)
      assert.throws(
        () => parseSchedule(spec),
        (e: unknown) => e instanceof CronError && e.message === msg,
        `${JSON.stringify(spec)} should fail with ${msg}`,
      );
  });
});

const cronJob = (o: {
  created: string;
  last?: string;
  sds?: number;
  schedule?: string;
  tz?: string;
}): CronJob => ({
  apiVersion: 'batch/v1',
  kind: 'CronJob',
  metadata: { name: 'nightly', namespace: 'default', uid: 'u1', creationTimestamp: o.created },
  spec: {
    schedule: o.schedule ?? '*/5 * * * *',
    ...(o.tz ? { timeZone: o.tz } : {}),
    ...(o.sds !== undefined ? { startingDeadlineSeconds: o.sds } : {}),
    jobTemplate: {
      metadata: { labels: { app: 'n' }, annotations: { note: 'x' } },
      spec: { template: { spec: { restartPolicy: 'Never', containers: [{ name: 'c', image: 'busybox' }] } } },
    },
  },
  status: o.last ? { lastScheduleTime: o.last } : {},
});

describe('CronJob timing', () => {
  const sched = parseSchedule('*/5 * * * *');

  it('finds the most recent unmet time after creation or the last schedule', () => {
    const cj = cronJob({ created: '2026-12-03T10:01:00Z' });
    assert.deepEqual(mostRecentScheduleTime(cj, at('2026-12-03T10:04:59Z'), sched, true), {
      earliest: at('2026-12-03T10:01:00Z'),
      missed: 0,
    });
    const r = mostRecentScheduleTime(cj, at('2026-12-03T10:05:10Z'), sched, true);
    assert.equal(iso(r.time), '2026-12-03T10:05:00.000Z');
    assert.equal(r.missed, 1);
    // Three hours down: the most recent of the 36 missed times, not the first.
    const late = mostRecentScheduleTime(cj, at('2026-12-03T13:02:00Z'), sched, true);
    assert.equal(iso(late.time), '2026-12-03T13:00:00.000Z');
    assert.equal(late.missed, 36);
    const after = cronJob({ created: '2026-12-03T10:01:00Z', last: '2026-12-03T13:00:00Z' });
    assert.equal(mostRecentScheduleTime(after, at('2026-12-03T13:02:00Z'), sched, true).time, undefined);
    assert.equal(untilNext(after, at('2026-12-03T13:02:00Z'), sched), 3 * 60_000 + 100);
  });

  it('looks no further back than startingDeadlineSeconds', () => {
    const cj = cronJob({ created: '2026-12-03T10:01:00Z', sds: 60 });
    const r = mostRecentScheduleTime(cj, at('2026-12-03T10:07:00Z'), sched, true);
    assert.equal(r.time, undefined);
    assert.equal(
      iso(mostRecentScheduleTime(cj, at('2026-12-03T10:05:30Z'), sched, true).time),
      '2026-12-03T10:05:00.000Z',
    );
  });

  it('names the Job after the scheduled minute and stamps the scheduled time in the zone', () => {
    const cj = cronJob({ created: '2026-12-03T10:01:00Z', tz: 'America/New_York' });
    const t = at('2026-12-03T15:00:00Z');
    assert.equal(jobName(cj, t), `nightly-${t / 60_000}`);
    const j = jobFromTemplate(cj, t);
    assert.equal(j.metadata?.name, 'nightly-29938500');
    assert.deepEqual(j.metadata?.labels, { app: 'n' });
    assert.deepEqual(j.metadata?.annotations, {
      note: 'x',
      'batch.kubernetes.io/cronjob-scheduled-timestamp': '2026-12-03T10:00:00-05:00',
    });
    assert.deepEqual(j.metadata?.ownerReferences, [
      {
        apiVersion: 'batch/v1',
        kind: 'CronJob',
        name: 'nightly',
        uid: 'u1',
        controller: true,
        blockOwnerDeletion: true,
      },
    ]);
    assert.equal(zonedRfc3339(t, undefined), '2026-12-03T15:00:00Z');
  });
});
