/**
 * Jobs and CronJobs with the real kubectl 1.32 against berth-kube over a real berthd, where the pods really run:
 * a Job of 3 completions at parallelism 2 completes (`kubectl wait --for=condition=complete`, `get jobs` columns);
 * a failing Job reaches BackoffLimitExceeded after the pod-failure back-off with its pods' exit reasons;
 * activeDeadlineSeconds fails a running Job; ttlSecondsAfterFinished deletes one; an Indexed Job's pods see
 * JOB_COMPLETION_INDEX; a CronJob fires for its missed schedule time, `kubectl create job --from=cronjob/...`
 * works and the history limit trims finished Jobs. Bad input: an invalid schedule and a Job with restartPolicy
 * Always get kube-apiserver's 422. Pod network: a random /24 of 10.222.0.0/16.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { until } from '../helpers/kube-cluster.js';
import { podClusterSuite, podSuiteSkip } from '../helpers/kube-pods.js';

const skip = podSuiteSkip();

interface Cond {
  type: string;
  status: string;
  reason?: string;
  message?: string;
}
interface JobObj {
  metadata: {
    name: string;
    annotations?: Record<string, string>;
    ownerReferences?: { kind: string; name: string }[];
  };
  status: {
    succeeded?: number;
    failed?: number;
    active?: number;
    conditions?: Cond[];
    completedIndexes?: string;
    failedIndexes?: string;
  };
}
interface PodObj {
  metadata: { name: string; annotations?: Record<string, string> };
  status: {
    phase: string;
    containerStatuses?: { state: { terminated?: { exitCode: number; reason: string } } }[];
  };
}

/** Several manifests as one kubectl input: a v1 List. */
const list = (docs: string[]) =>
  JSON.stringify({ apiVersion: 'v1', kind: 'List', items: docs.map((d) => JSON.parse(d) as unknown) });

const jobYaml = (name: string, spec: Record<string, unknown>, script: string) =>
  JSON.stringify({
    apiVersion: 'batch/v1',
    kind: 'Job',
    metadata: { name, namespace: 'default' },
    spec: {
      ...spec,
      template: {
        spec: {
          restartPolicy: 'Never',
          terminationGracePeriodSeconds: 1,
          containers: [
            {
              name: 'work',
              image: 'busybox',
              imagePullPolicy: 'IfNotPresent',
              command: ['sh', '-c', script],
            },
          ],
        },
      },
    },
  });

describe('Jobs and CronJobs with kubectl against berth-kube on berthd', { skip }, () => {
  const { kube } = podClusterSuite({
    port: 18600 + (process.pid % 50),
    nodeName: 'jobs-node',
    podCIDR: `10.222.${Math.floor(Math.random() * 120) + 1}.0/24`,
    podNetwork: `jobs-${process.pid}`,
    cleanup: ['cronjobs,jobs', '--all', '--wait=false'],
  });

  const job = (name: string) => kube.json<JobObj>(['get', 'job', name]);
  const podsOf = async (name: string) =>
    (await kube.json<{ items: PodObj[] }>(['get', 'pods', '-l', `batch.kubernetes.io/job-name=${name}`]))
      .items;
  const cond = (j: JobObj, type: string) =>
    j.status.conditions?.find((c) => c.type === type && c.status === 'True');

  it('runs 3 completions at parallelism 2 to Complete; wait and get jobs show it', async () => {
    await kube.k(['apply', '-f', '-'], {
      input: jobYaml('three', { completions: 3, parallelism: 2 }, 'echo done'),
    });
    const out = await kube.k(['wait', '--for=condition=complete', 'job/three', '--timeout=60s'], {
      timeoutMs: 70_000,
    });
    assert.equal(out, 'job.batch/three condition met\n');
    const j = await job('three');
    assert.equal(j.status.succeeded, 3);
    const pods = await podsOf('three');
    assert.equal(pods.length, 3);
    assert.ok(pods.every((p) => p.status.phase === 'Succeeded'));
    const table = await kube.k(['get', 'jobs', 'three']);
    assert.match(
      table,
      /^NAME\s+STATUS\s+COMPLETIONS\s+DURATION\s+AGE\nthree\s+Complete\s+3\/3\s+\d+s\s+\d+s\n$/,
    );
    const logs = await kube.k(['logs', `job/three`]);
    assert.equal(logs, 'done\n');
  });

  it('fails with BackoffLimitExceeded after the back-off, its pods showing the exit code', async () => {
    await kube.k(['apply', '-f', '-'], { input: jobYaml('broken', { backoffLimit: 1 }, 'exit 3') });
    await kube.k(['wait', '--for=condition=failed', 'job/broken', '--timeout=60s'], { timeoutMs: 70_000 });
    const j = await job('broken');
    assert.equal(cond(j, 'Failed')?.reason, 'BackoffLimitExceeded');
    assert.equal(cond(j, 'Failed')?.message, 'Job has reached the specified backoff limit');
    assert.equal(j.status.failed, 2);
    const pods = await podsOf('broken');
    assert.equal(pods.length, 2, 'one retry after the first failure');
    for (const p of pods) {
      assert.equal(p.status.phase, 'Failed');
      assert.deepEqual(
        {
          code: p.status.containerStatuses?.[0].state.terminated?.exitCode,
          reason: p.status.containerStatuses?.[0].state.terminated?.reason,
        },
        { code: 3, reason: 'Error' },
      );
    }
    assert.match(
      await kube.k(['get', 'jobs', 'broken', '--no-headers']),
      /^broken\s+Failed\s+0\/1\s+\d+s\s+\d+s\n$/,
    );
    const events = await kube.k(['get', 'events', '--field-selector', 'involvedObject.name=broken']);
    assert.match(
      events,
      /Warning\s+BackoffLimitExceeded\s+job\/broken\s+Job has reached the specified backoff limit/,
    );
    assert.match(events, /Normal\s+SuccessfulCreate\s+job\/broken\s+Created pod: broken-/);
  });

  it('fails a running Job at activeDeadlineSeconds and deletes its pods', async () => {
    await kube.k(['apply', '-f', '-'], {
      input: jobYaml('deadline', { activeDeadlineSeconds: 3 }, "trap 'exit 0' TERM; sleep 3600 & wait"),
    });
    await kube.k(['wait', '--for=condition=failed', 'job/deadline', '--timeout=60s'], { timeoutMs: 70_000 });
    const j = await job('deadline');
    assert.equal(cond(j, 'Failed')?.reason, 'DeadlineExceeded');
    assert.equal(cond(j, 'Failed')?.message, 'Job was active longer than specified deadline');
    await until('pods gone or finished', async () =>
      (await podsOf('deadline')).every((p) => p.status.phase === 'Failed' || p.status.phase === 'Succeeded'),
    );
  });

  it('gives an Indexed Job index-named pods that see JOB_COMPLETION_INDEX; TTL deletes it after', async () => {
    await kube.k(['apply', '-f', '-'], {
      input: jobYaml(
        'indexed',
        { completions: 2, parallelism: 2, completionMode: 'Indexed', ttlSecondsAfterFinished: 3 },
        'echo index=$JOB_COMPLETION_INDEX host=$(hostname)',
      ),
    });
    await kube.k(['wait', '--for=condition=complete', 'job/indexed', '--timeout=60s'], { timeoutMs: 70_000 });
    assert.equal((await job('indexed')).status.completedIndexes, '0,1');
    const pods = await podsOf('indexed');
    const logs = await Promise.all(pods.map((p) => kube.k(['logs', p.metadata.name])));
    assert.deepEqual(logs.sort(), ['index=0 host=indexed-0\n', 'index=1 host=indexed-1\n']);
    await kube.k(['wait', '--for=delete', 'job/indexed', '--timeout=30s'], { timeoutMs: 40_000 });
    await until('pods deleted with it', async () => (await podsOf('indexed')).length === 0);
  });

  it('runs Indexed Jobs per index: backoffLimitPerIndex and FailIndex, maxFailedIndexes, a success policy', async () => {
    const indexed = { completionMode: 'Indexed', parallelism: 4 };
    const hold = "trap 'exit 0' TERM; sleep 3600 & wait";
    await kube.k(['apply', '-f', '-'], {
      input: list([
        jobYaml(
          'perindex',
          {
            ...indexed,
            completions: 4,
            backoffLimitPerIndex: 1,
            podFailurePolicy: {
              rules: [{ action: 'FailIndex', onExitCodes: { operator: 'In', values: [42] } }],
            },
          },
          'case $JOB_COMPLETION_INDEX in 0) exit 1;; 1) exit 42;; *) echo ok;; esac',
        ),
        jobYaml(
          'maxfail',
          { ...indexed, completions: 2, backoffLimitPerIndex: 0, maxFailedIndexes: 0 },
          'exit 1',
        ),
        jobYaml(
          'policy',
          { ...indexed, completions: 3, successPolicy: { rules: [{ succeededIndexes: '0' }] } },
          `[ $JOB_COMPLETION_INDEX = 0 ] && exit 0; ${hold}`,
        ),
      ]),
    });
    await kube.k(['wait', '--for=condition=failed', 'job/maxfail', '--timeout=60s'], { timeoutMs: 70_000 });
    const mf = await job('maxfail');
    assert.equal(cond(mf, 'Failed')?.reason, 'MaxFailedIndexesExceeded');
    assert.equal(
      cond(mf, 'Failed')?.message,
      'Job has exceeded the specified maximal number of failed indexes',
    );
    // The first failure decides; the other index's pod, failed or deleted for the verdict, fails too (as upstream).
    assert.equal(mf.status.failedIndexes, '0,1');
    await kube.k(['wait', '--for=condition=complete', 'job/policy', '--timeout=60s'], { timeoutMs: 70_000 });
    const pol = await job('policy');
    assert.equal(cond(pol, 'Complete')?.reason, 'SuccessPolicy');
    assert.equal(cond(pol, 'SuccessCriteriaMet')?.message, 'Matched rules at index 0');
    assert.equal(pol.status.completedIndexes, '0');
    await until('the success policy ended the other indexes', async () =>
      (await podsOf('policy')).every((p) => p.status.phase !== 'Running' && p.status.phase !== 'Pending'),
    );
    // Index 0 fails twice (one retry, after its 10 s back-off), index 1 once (FailIndex), 2 and 3 succeed.
    await kube.k(['wait', '--for=condition=failed', 'job/perindex', '--timeout=60s'], { timeoutMs: 70_000 });
    const pi = await job('perindex');
    assert.equal(cond(pi, 'Failed')?.reason, 'FailedIndexes');
    assert.equal(cond(pi, 'Failed')?.message, 'Job has failed indexes');
    assert.deepEqual(
      [pi.status.failedIndexes, pi.status.completedIndexes, pi.status.failed],
      ['0,1', '2,3', 3],
    );
    const counts = (await podsOf('perindex'))
      .map((p) => {
        const a = p.metadata.annotations ?? {};
        return `${a['batch.kubernetes.io/job-completion-index']}:${a['batch.kubernetes.io/job-index-failure-count']}:${p.status.phase}`;
      })
      .sort();
    assert.deepEqual(counts, ['0:0:Failed', '0:1:Failed', '1:0:Failed', '2:0:Succeeded', '3:0:Succeeded']);
    const bad = await kube.kubectl(['create', '-f', '-'], {
      input: jobYaml(
        'badindex',
        {
          backoffLimitPerIndex: 1,
          podFailurePolicy: {
            rules: [{ action: 'FailIndex', onExitCodes: { operator: 'In', values: [42] } }],
          },
          successPolicy: { rules: [{ succeededCount: 1 }] },
        },
        'true',
      ),
    });
    assert.notEqual(bad.code, 0);
    assert.match(
      bad.stderr,
      /spec\.backoffLimitPerIndex: Invalid value: 1: requires indexed completion mode/,
    );
    assert.match(bad.stderr, /spec\.successPolicy: Invalid value: .*: requires indexed completion mode/);
    const badIx = await kube.kubectl(['create', '-f', '-'], {
      input: jobYaml(
        'badix',
        { ...indexed, completions: 3, successPolicy: { rules: [{ succeededIndexes: '2-1' }] } },
        'true',
      ),
    });
    assert.match(
      badIx.stderr,
      /spec\.successPolicy\.rules\[0\]\.succeededIndexes: Invalid value: "2-1": error parsing succeededIndexes: non-increasing order, previous: 2, current: 1/,
    );
  });

  it('fires a CronJob for its missed schedule time; create job --from; the history limit trims', async () => {
    await kube.k([
      'create',
      'cronjob',
      'tick',
      '--image=busybox',
      '--schedule=*/1 * * * *',
      '--',
      'sh',
      '-c',
      'echo tick',
    ]);
    await kube.k([
      'patch',
      'cronjob',
      'tick',
      '--type=merge',
      '-p',
      '{"spec":{"successfulJobsHistoryLimit":1}}',
    ]);
    // Missed runs: the last schedule was ten minutes ago, so the most recent minute runs now.
    const tenAgo = new Date(Date.now() - 600_000).toISOString().replace(/\.\d+Z$/, 'Z');
    await kube.k([
      'patch',
      'cronjob',
      'tick',
      '--subresource=status',
      '--type=merge',
      '-p',
      JSON.stringify({ status: { lastScheduleTime: tenAgo } }),
    ]);
    const owned = async () =>
      (await kube.json<{ items: JobObj[] }>(['get', 'jobs'])).items.filter((j) =>
        j.metadata.ownerReferences?.some((r) => r.kind === 'CronJob' && r.name === 'tick'),
      );
    const scheduled = await until('a scheduled job', async () =>
      (await owned()).find((j) => /^tick-\d+$/.test(j.metadata.name)),
    );
    const minute = Number(scheduled.metadata.name.slice('tick-'.length));
    assert.ok(Math.abs(minute * 60_000 - Date.now()) < 120_000, 'named after the scheduled minute');
    assert.equal(
      scheduled.metadata.annotations?.['batch.kubernetes.io/cronjob-scheduled-timestamp'],
      new Date(minute * 60_000).toISOString().replace(/\.\d+Z$/, 'Z'),
    );
    await kube.k(['wait', '--for=condition=complete', `job/${scheduled.metadata.name}`, '--timeout=60s'], {
      timeoutMs: 70_000,
    });
    const cj = await kube.json<{ status: { lastScheduleTime?: string; lastSuccessfulTime?: string } }>([
      'get',
      'cronjob',
      'tick',
    ]);
    assert.equal(Date.parse(cj.status.lastScheduleTime!), minute * 60_000);
    assert.ok(cj.status.lastSuccessfulTime);
    // History goes oldest start time first, by the second (ties by name, as kube's byJobStartTime): start the
    // manual Job in a later second than the scheduled one, whose start is at most its completion.
    const done = Math.floor(Date.parse(cj.status.lastSuccessfulTime) / 1000);
    await until('a later second', async () => Math.floor(Date.now() / 1000) > done);

    assert.equal(
      await kube.k(['create', 'job', 'by-hand', '--from=cronjob/tick']),
      'job.batch/by-hand created\n',
    );
    const manual = await job('by-hand');
    assert.equal(manual.metadata.annotations?.['cronjob.kubernetes.io/instantiate'], 'manual');
    await kube.k(['wait', '--for=condition=complete', 'job/by-hand', '--timeout=60s'], { timeoutMs: 70_000 });
    // Two finished Jobs, limit 1: the older (the scheduled one) goes.
    await until('history trimmed', async () => {
      const names = (await owned()).map((j) => j.metadata.name);
      return names.length === 1 && names[0] === 'by-hand';
    });
    const table = await kube.k(['get', 'cronjob', 'tick']);
    assert.match(
      table,
      /^NAME\s+SCHEDULE\s+TIMEZONE\s+SUSPEND\s+ACTIVE\s+LAST SCHEDULE\s+AGE\ntick\s+\*\/1 \* \* \* \*\s+<none>\s+False\s+\d\s+\S+\s+\d+s\n$/,
    );
  });

  it('refuses an invalid schedule and a Job that restarts Always with 422', async () => {
    const bad = await kube.kubectl(['create', 'cronjob', 'bad', '--image=busybox', '--schedule=61 * * * *']);
    assert.notEqual(bad.code, 0);
    assert.match(
      bad.stderr,
      /CronJob\.batch "bad" is invalid: spec\.schedule: Invalid value: "61 \* \* \* \*": end of range \(61\) above maximum \(59\): 61/,
    );
    const always = JSON.parse(jobYaml('always', {}, 'true')) as {
      spec: { template: { spec: { restartPolicy: string } } };
    };
    always.spec.template.spec.restartPolicy = 'Always';
    const r = await kube.kubectl(['create', '-f', '-'], { input: JSON.stringify(always) });
    assert.notEqual(r.code, 0);
    assert.match(
      r.stderr,
      /The Job "always" is invalid: spec\.template\.spec\.restartPolicy: Unsupported value: "Always": supported values: "OnFailure", "Never"/,
    );
  });
});
