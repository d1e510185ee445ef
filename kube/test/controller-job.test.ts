/**
 * The Job, TTL-after-finished and CronJob controllers against an in-process API server and the stand-in kubelet
 * (pods finish as their `test.berth.dev/exit` annotation says). The CronJob controller runs on a clock the test
 * moves, so schedules fire without waiting for the wall clock.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { CronJob, Job, Pod } from '../src/controllers/framework/types.js';
import type { KubeObject } from '../src/registry/types.js';
import { startTestCluster, until, type TestCluster } from './helpers/cluster.js';
import { matchFailurePolicy } from '../src/controllers/job/util.js';

let c: TestCluster;
let offset = 0;
before(async () => {
  c = await startTestCluster({ now: () => Date.now() + offset });
});
after(async () => {
  await c.stop();
});

const job = (name: string, spec: Record<string, unknown>, exit?: string): KubeObject => ({
  apiVersion: 'batch/v1',
  kind: 'Job',
  metadata: { name, namespace: 'default' },
  spec: {
    template: {
      metadata: exit === undefined ? {} : { annotations: { 'test.berth.dev/exit': exit } },
      spec: { restartPolicy: 'Never', containers: [{ name: 'c', image: 'busybox' }] },
    },
    ...spec,
  },
});

const jobs = () => c.s.client.resource<Job>('batch/v1', 'jobs');
const get = (name: string) => jobs().get(name, { namespace: 'default' });
const podsOf = async (name: string) =>
  (
    await c.s.client
      .resource<Pod>('v1', 'pods')
      .list({ namespace: 'default', labelSelector: `batch.kubernetes.io/job-name=${name}` })
  ).items;
const events = async (name: string) =>
  (
    await c.s.client
      .resource('v1', 'events')
      .list({ namespace: 'default', fieldSelector: `involvedObject.name=${name}` })
  ).items as Array<{ reason: string; message: string; type: string; source: { component: string } }>;
const cond = (j: Job, type: string) =>
  j.status?.conditions?.find((x) => x.type === type && x.status === 'True');

describe('job controller', () => {
  it('runs completions 3 at parallelism 2 to Complete, counting each pod once', async () => {
    await jobs().create(job('three', { completions: 3, parallelism: 2 }, '0'));
    await until('complete', async () => !!cond(await get('three'), 'Complete'), 10_000);
    const j = await get('three');
    assert.equal(j.status?.succeeded, 3);
    assert.equal(j.status?.failed, undefined);
    assert.equal(j.status?.active, undefined);
    assert.equal(j.status?.ready, 0);
    assert.equal(j.status?.terminating, 0);
    assert.deepEqual(j.status?.uncountedTerminatedPods, {});
    assert.ok(j.status?.startTime && j.status.completionTime);
    const complete = cond(j, 'Complete')!;
    assert.equal(complete.reason, 'CompletionsReached');
    assert.equal(complete.message, 'Reached expected number of succeeded pods');
    assert.ok(cond(j, 'SuccessCriteriaMet'));
    await c.settle();
    const pods = await podsOf('three');
    assert.equal(pods.length, 3);
    for (const p of pods) {
      assert.equal(p.status?.phase, 'Succeeded');
      assert.deepEqual(p.metadata?.finalizers ?? [], [], 'the tracking finalizer is removed');
      assert.match(p.metadata!.name!, /^three-[a-z0-9]{5}$/);
      assert.equal(p.metadata?.ownerReferences?.[0].kind, 'Job');
    }
    const evs = await events('three');
    assert.equal(evs.filter((e) => e.reason === 'SuccessfulCreate').length, 3);
    assert.ok(evs.some((e) => e.reason === 'Completed' && e.message === 'Job completed'));
    assert.equal(evs[0].source.component, 'job-controller');
  });

  it('resumes after a control-plane restart without counting a pod twice or making extra ones', async () => {
    await jobs().create(job('restarted', { completions: 6, parallelism: 1 }, '0'));
    await until('half way', async () => ((await get('restarted')).status?.succeeded ?? 0) >= 2);
    await c.restart();
    await until('complete', async () => !!cond(await get('restarted'), 'Complete'), 10_000);
    await c.settle();
    assert.equal((await get('restarted')).status?.succeeded, 6);
    assert.equal((await podsOf('restarted')).length, 6);
  });

  it('keeps parallelism while pods run and tracks them with the finalizer', async () => {
    await jobs().create(job('runner', { completions: 5, parallelism: 2 }));
    await until('2 ready', async () => (await get('runner')).status?.ready === 2);
    await c.settle();
    const pods = await podsOf('runner');
    assert.equal(pods.length, 2);
    for (const p of pods) assert.deepEqual(p.metadata?.finalizers, ['batch.kubernetes.io/job-tracking']);
    const j = await get('runner');
    assert.equal(j.status?.active, 2);
    // Deleting a running pod counts it failed (the replacement waits out the 10 s back-off) and releases it.
    await c.s.client.resource('v1', 'pods').delete(pods[0].metadata!.name!, { namespace: 'default' });
    await until('counted', async () => {
      const s = (await get('runner')).status;
      return s?.failed === 1 && s.active === 1;
    });
    await until('released and gone', async () => (await podsOf('runner')).length === 1);
    await jobs().delete('runner', { namespace: 'default', propagationPolicy: 'Background' });
  });

  it('runs an Indexed Job: one pod per index with the index annotation, label, env and hostname', async () => {
    await jobs().create(job('idx', { completions: 3, parallelism: 3, completionMode: 'Indexed' }, '0'));
    await until('complete', async () => !!cond(await get('idx'), 'Complete'), 10_000);
    const j = await get('idx');
    assert.equal(j.status?.completedIndexes, '0-2');
    assert.equal(j.status?.succeeded, 3);
    const pods = await podsOf('idx');
    const byIndex = new Map(
      pods.map((p) => [p.metadata?.annotations?.['batch.kubernetes.io/job-completion-index'], p]),
    );
    assert.deepEqual([...byIndex.keys()].sort(), ['0', '1', '2']);
    const p1 = byIndex.get('1')!;
    assert.match(p1.metadata!.name!, /^idx-1-[a-z0-9]{5}$/);
    assert.equal(p1.metadata?.labels?.['batch.kubernetes.io/job-completion-index'], '1');
    assert.equal(p1.spec?.hostname, 'idx-1');
    assert.deepEqual(p1.spec?.containers[0].env, [
      {
        name: 'JOB_COMPLETION_INDEX',
        valueFrom: {
          fieldRef: {
            apiVersion: 'v1',
            fieldPath: "metadata.annotations['batch.kubernetes.io/job-completion-index']",
          },
        },
      },
    ]);
  });

  it('fails with BackoffLimitExceeded once failures pass backoffLimit', async () => {
    await jobs().create(job('bad', { backoffLimit: 0 }, '1'));
    await until('failed', async () => !!cond(await get('bad'), 'Failed'), 10_000);
    const j = await get('bad');
    assert.equal(j.status?.failed, 1);
    const failed = cond(j, 'Failed')!;
    assert.equal(failed.reason, 'BackoffLimitExceeded');
    assert.equal(failed.message, 'Job has reached the specified backoff limit');
    assert.equal(cond(j, 'FailureTarget')?.reason, 'BackoffLimitExceeded');
    assert.equal(j.status?.completionTime, undefined);
    await c.settle();
    const evs = await events('bad');
    assert.ok(evs.some((e) => e.type === 'Warning' && e.reason === 'BackoffLimitExceeded'));
  });

  it('fails at once on a pod failure policy FailJob rule; rules match exit codes and conditions in order', async () => {
    const rules = (action: string, code: number) => ({
      podFailurePolicy: { rules: [{ action, onExitCodes: { operator: 'In', values: [code] } }] },
    });
    await jobs().create(job('fatal', { backoffLimit: 6, ...rules('FailJob', 42) }, '42'));
    await until('failed', async () => !!cond(await get('fatal'), 'Failed'), 10_000);
    const j = await get('fatal');
    const [p] = await podsOf('fatal');
    assert.deepEqual(
      { reason: cond(j, 'Failed')?.reason, message: cond(j, 'Failed')?.message, failed: j.status?.failed },
      {
        reason: 'PodFailurePolicy',
        message: `Container c for pod default/${p.metadata?.name} failed with exit code 42 matching FailJob rule at index 0`,
        failed: 1,
      },
    );
    // Ignore and conditions, on the rule matcher itself (an ignored pod is replaced at once: a stand-in kubelet
    // that fails pods instantly would spin).
    const failed = (code: number, conditions: Array<{ type: string; status: string }> = []): Pod => ({
      metadata: { name: 'p', namespace: 'default' },
      status: {
        phase: 'Failed',
        conditions,
        containerStatuses: [
          {
            name: 'c',
            image: 'x',
            imageID: '',
            ready: false,
            restartCount: 0,
            state: { terminated: { exitCode: code } },
          },
        ],
      },
    });
    const policy = {
      spec: {
        template: {},
        podFailurePolicy: {
          rules: [
            { action: 'Ignore', onPodConditions: [{ type: 'DisruptionTarget' }] },
            { action: 'Count', onExitCodes: { containerName: 'other', operator: 'In', values: [1] } },
            { action: 'FailJob', onExitCodes: { operator: 'NotIn', values: [1, 2] } },
          ],
        },
      },
    } as unknown as Job;
    assert.equal(matchFailurePolicy(policy, failed(1)), undefined);
    assert.deepEqual(matchFailurePolicy(policy, failed(7)), {
      action: 'FailJob',
      message: 'Container c for pod default/p failed with exit code 7 matching FailJob rule at index 2',
    });
    assert.deepEqual(matchFailurePolicy(policy, failed(7, [{ type: 'DisruptionTarget', status: 'True' }])), {
      action: 'Ignore',
      message: 'Pod default/p has condition DisruptionTarget matching Ignore rule at index 0',
    });
  });

  it('fails with DeadlineExceeded after activeDeadlineSeconds, deleting the running pods', async () => {
    await jobs().create(job('slow', { activeDeadlineSeconds: 1, parallelism: 2, completions: 2 }));
    await until('failed', async () => !!cond(await get('slow'), 'Failed'), 10_000);
    const j = await get('slow');
    assert.equal(cond(j, 'Failed')?.reason, 'DeadlineExceeded');
    assert.equal(cond(j, 'Failed')?.message, 'Job was active longer than specified deadline');
    assert.equal(j.status?.failed, 2);
    await until('pods gone', async () => (await podsOf('slow')).length === 0);
  });

  it('suspends (deleting pods) and resumes', async () => {
    await jobs().create(job('pausable', { parallelism: 1, completions: 1 }));
    await until('running', async () => (await get('pausable')).status?.active === 1);
    await jobs().patch('pausable', 'merge', { spec: { suspend: true } }, { namespace: 'default' });
    await until('suspended', async () => {
      const j = await get('pausable');
      return cond(j, 'Suspended')?.reason === 'JobSuspended' && !j.status?.active;
    });
    await until('no pods', async () => (await podsOf('pausable')).length === 0);
    await jobs().patch('pausable', 'merge', { spec: { suspend: false } }, { namespace: 'default' });
    await until('resumed', async () => {
      const j = await get('pausable');
      const s = j.status?.conditions?.find((x) => x.type === 'Suspended');
      return s?.status === 'False' && s.reason === 'JobResumed' && j.status?.active === 1;
    });
    await c.settle();
    const reasons = (await events('pausable')).map((e) => e.reason);
    assert.ok(reasons.includes('Suspended') && reasons.includes('Resumed'));
    await jobs().delete('pausable', { namespace: 'default', propagationPolicy: 'Background' });
  });

  it('deletes a finished Job after ttlSecondsAfterFinished, its pods with it', async () => {
    await jobs().create(job('short-lived', { ttlSecondsAfterFinished: 0 }, '0'));
    await until(
      'job gone',
      async () => {
        try {
          await get('short-lived');
          return false;
        } catch {
          return true;
        }
      },
      10_000,
    );
    await until('pods gone', async () => (await podsOf('short-lived')).length === 0, 10_000);
  });
});

const cronJobs = () => c.s.client.resource<CronJob>('batch/v1', 'cronjobs');
const cron = (name: string, spec: Record<string, unknown>): KubeObject => ({
  apiVersion: 'batch/v1',
  kind: 'CronJob',
  metadata: { name, namespace: 'default' },
  spec: {
    schedule: '*/5 * * * *',
    jobTemplate: {
      spec: {
        template: {
          metadata: { annotations: { 'test.berth.dev/exit': '0' } },
          spec: { restartPolicy: 'Never', containers: [{ name: 'c', image: 'busybox' }] },
        },
      },
    },
    ...spec,
  },
});
const ownedJobs = async (cj: string) =>
  (await jobs().list({ namespace: 'default' })).items.filter((j) =>
    j.metadata?.ownerReferences?.some((r) => r.name === cj && r.kind === 'CronJob'),
  );
/** Moves the controllers' clock to just after the next five-minute boundary, and pokes the CronJob. */
const tick = async (name: string) => {
  const now = Date.now() + offset;
  offset += 300_000 - (now % 300_000) + 2000;
  await cronJobs().patch(
    name,
    'merge',
    { metadata: { annotations: { tick: String(offset) } } },
    {
      namespace: 'default',
    },
  );
};

describe('cronjob controller', () => {
  it('creates the Job of each schedule time, named by its minute, and keeps the history limit', async () => {
    await cronJobs().create(cron('every5', { successfulJobsHistoryLimit: 2 }));
    await c.settle();
    const lastSchedule = async () =>
      (await cronJobs().get('every5', { namespace: 'default' })).status?.lastScheduleTime;
    for (let i = 1; i <= 3; i++) {
      const before = await lastSchedule();
      await tick('every5');
      await until(`run ${i}`, async () => (await lastSchedule()) !== before, 10_000);
      await until(
        `run ${i} done`,
        async () => (await ownedJobs('every5')).every((j) => !!cond(j, 'Complete')),
        10_000,
      );
    }
    await until('history trimmed to 2', async () => (await ownedJobs('every5')).length === 2, 10_000);
    const cj = await cronJobs().get('every5', { namespace: 'default' });
    const names = (await ownedJobs('every5')).map((j) => j.metadata!.name!).sort();
    const last = Date.parse(String(cj.status?.lastScheduleTime));
    assert.equal(last % 300_000, 0);
    assert.ok(names.includes(`every5-${last / 60_000}`), `${names.join(',')} has the last scheduled minute`);
    assert.ok(cj.status?.lastSuccessfulTime);
    await until(
      'active emptied',
      async () => !(await cronJobs().get('every5', { namespace: 'default' })).status?.active,
    );
    await c.settle();
    const reasons = (await events('every5')).map((e) => e.reason);
    for (const r of ['SuccessfulCreate', 'SawCompletedJob', 'SuccessfulDelete'])
      assert.ok(reasons.includes(r), r);
    await cronJobs().delete('every5', { namespace: 'default' });
  });

  it('does not start a second Job under Forbid while one runs, and Replace swaps it', async () => {
    const body = cron('forbid', { concurrencyPolicy: 'Forbid' }) as { spec: Record<string, never> };
    const tmpl = body.spec.jobTemplate as { spec: { template: { metadata: object } } };
    tmpl.spec.template.metadata = {}; // pods keep running
    await cronJobs().create(body as KubeObject);
    // The moved clock may already be past a schedule time of the new CronJob: let that run happen first.
    await c.settle();
    await tick('forbid');
    await until(
      'one active',
      async () => (await cronJobs().get('forbid', { namespace: 'default' })).status?.active?.length === 1,
    );
    const first = (await ownedJobs('forbid'))[0].metadata!.name!;
    await tick('forbid');
    await until('JobAlreadyActive', async () =>
      (await events('forbid')).some((e) => e.reason === 'JobAlreadyActive'),
    );
    assert.deepEqual(
      (await ownedJobs('forbid')).map((j) => j.metadata!.name),
      [first],
    );
    await cronJobs().patch(
      'forbid',
      'merge',
      { spec: { concurrencyPolicy: 'Replace' } },
      { namespace: 'default' },
    );
    await tick('forbid');
    await until('replaced', async () => {
      const active = (await cronJobs().get('forbid', { namespace: 'default' })).status?.active ?? [];
      return active.length === 1 && active[0].name !== first;
    });
    await cronJobs().delete('forbid', { namespace: 'default' });
  });

  it('does nothing while suspended', async () => {
    await cronJobs().create(cron('held', { suspend: true }));
    await tick('held');
    await c.settle();
    assert.equal((await ownedJobs('held')).length, 0);
    assert.equal(
      (await cronJobs().get('held', { namespace: 'default' })).status?.lastScheduleTime,
      undefined,
    );
  });
});
