/**
 * The scheduler against an in-process API server: resource requests (init containers, overhead), nodeSelector
 * and node affinity, taints, cordoned nodes, host ports, pod (anti-)affinity, priorities and preemption, with
 * kube-scheduler's exact FitError texts in the condition and the FailedScheduling event, and retries when the
 * cluster changes.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { isKubeError } from '../src/errors.js';
import type { Node, Pod } from '../src/controllers/framework/types.js';
import { NODE, nodeObject, startTestCluster, until, type TestCluster } from './helpers/cluster.js';

let c: TestCluster;
before(async () => {
  c = await startTestCluster();
});
after(async () => {
  await c.stop();
});

const pods = () => c.s.client.resource<Pod>('v1', 'pods');
const nodes = () => c.s.client.resource<Node>('v1', 'nodes');
let n = 0;

function pod(spec: Record<string, unknown> = {}, meta: Record<string, unknown> = {}): Pod {
  return {
    metadata: { name: `p${++n}`, namespace: 'default', ...meta },
    spec: { containers: [{ name: 'c', image: 'nginx' }], ...spec },
  };
}

const cpu = (req: string, extra: Record<string, unknown> = {}) =>
  pod({ containers: [{ name: 'c', image: 'nginx', resources: { requests: { cpu: req } } }], ...extra });

const get = (name: string) => pods().get(name, { namespace: 'default' });
const bound = async (name: string) => !!(await get(name)).spec?.nodeName;
const scheduledCondition = async (name: string) =>
  (await get(name)).status?.conditions?.find((x) => x.type === 'PodScheduled');

async function unschedulable(name: string): Promise<string> {
  await until(`${name} unschedulable`, async () => (await scheduledCondition(name))?.status === 'False');
  const cond = (await scheduledCondition(name))!;
  assert.equal(cond.reason, 'Unschedulable');
  assert.equal((await get(name)).spec?.nodeName, undefined);
  await c.settle();
  const ev = (
    await c.s.client
      .resource('v1', 'events')
      .list({ namespace: 'default', fieldSelector: `involvedObject.name=${name},reason=FailedScheduling` })
  ).items as Array<{ message: string; type: string; source: { component: string } }>;
  assert.ok(ev.length >= 1, 'a FailedScheduling event');
  assert.equal(ev[0].type, 'Warning');
  assert.equal(ev[0].source.component, 'default-scheduler');
  assert.equal(ev[ev.length - 1].message, cond.message);
  return cond.message!;
}

async function patchNode(patch: Record<string, unknown>, sub?: 'status'): Promise<void> {
  await nodes().patch(NODE, 'merge', patch, sub ? { subresource: sub } : {});
}

describe('scheduler', () => {
  it('binds a pod and says so', async () => {
    const p = await pods().create(pod());
    await until('bound', () => bound(p.metadata!.name!));
    const cond = await scheduledCondition(p.metadata!.name!);
    assert.equal(cond?.status, 'True');
    await c.settle();
    const ev = (
      await c.s.client
        .resource('v1', 'events')
        .list({ namespace: 'default', fieldSelector: `involvedObject.name=${p.metadata!.name}` })
    ).items as Array<{ reason: string; message: string }>;
    assert.ok(
      ev.some(
        (e) =>
          e.reason === 'Scheduled' &&
          e.message === `Successfully assigned default/${p.metadata!.name} to ${NODE}`,
      ),
    );
  });

  it('counts requests (init containers take the max) and retries when room is made', async () => {
    const big = await pods().create(cpu('3'));
    await until('big bound', () => bound(big.metadata!.name!));
    // 500m + max(init 1500m, containers 500m) = 1500m > 1 cpu left.
    const init = await pods().create(
      pod({
        initContainers: [{ name: 'i', image: 'busybox', resources: { requests: { cpu: '1500m' } } }],
        containers: [{ name: 'c', image: 'nginx', resources: { requests: { cpu: '500m', memory: '9Gi' } } }],
      }),
    );
    const msg = await unschedulable(init.metadata!.name!);
    assert.equal(
      msg,
      '0/1 nodes are available: 1 Insufficient cpu, 1 Insufficient memory. preemption: 0/1 nodes are available: 1 No preemption victims found for incoming pod..',
    );
    const small = await pods().create(cpu('900m'));
    await until('small fits beside', () => bound(small.metadata!.name!));
    await pods().delete(big.metadata!.name!, { namespace: 'default' });
    await patchNode({ status: { allocatable: { cpu: '4', memory: '16Gi', pods: '110' } } }, 'status');
    await until('init pod scheduled after the change', () => bound(init.metadata!.name!), 8000);
    for (const p of [init, small]) await pods().delete(p.metadata!.name!, { namespace: 'default' });
    await patchNode({ status: { allocatable: { cpu: '4', memory: '8Gi', pods: '110' } } }, 'status');
  });

  it('honours nodeSelector and required node affinity, which preemption cannot help', async () => {
    const p = await pods().create(pod({ nodeSelector: { disk: 'ssd' } }));
    assert.equal(
      await unschedulable(p.metadata!.name!),
      "0/1 nodes are available: 1 node(s) didn't match Pod's node affinity/selector. preemption: 0/1 nodes are available: 1 Preemption is not helpful for scheduling..",
    );
    const q = await pods().create(
      pod({
        affinity: {
          nodeAffinity: {
            requiredDuringSchedulingIgnoredDuringExecution: {
              nodeSelectorTerms: [
                { matchExpressions: [{ key: 'disk', operator: 'In', values: ['ssd', 'nvme'] }] },
              ],
            },
          },
        },
      }),
    );
    await unschedulable(q.metadata!.name!);
    await patchNode({ metadata: { labels: { disk: 'ssd' } } });
    await until(
      'both scheduled once the label is there',
      async () => (await bound(p.metadata!.name!)) && bound(q.metadata!.name!),
    );
  });

  it('keeps pods off tainted and cordoned nodes unless they tolerate it', async () => {
    await patchNode({ spec: { taints: [{ key: 'dedicated', value: 'gpu', effect: 'NoSchedule' }] } });
    const p = await pods().create(pod());
    assert.equal(
      await unschedulable(p.metadata!.name!),
      '0/1 nodes are available: 1 node(s) had untolerated taint {dedicated: gpu}. preemption: 0/1 nodes are available: 1 Preemption is not helpful for scheduling..',
    );
    const tol = await pods().create(
      pod({ tolerations: [{ key: 'dedicated', operator: 'Equal', value: 'gpu', effect: 'NoSchedule' }] }),
    );
    await until('tolerating pod scheduled', () => bound(tol.metadata!.name!));
    await patchNode({ spec: { taints: null, unschedulable: true } });
    const q = await pods().create(pod());
    assert.match(
      await unschedulable(q.metadata!.name!),
      /^0\/1 nodes are available: 1 node\(s\) were unschedulable\. preemption: /,
    );
    await patchNode({ spec: { unschedulable: null } });
    await until(
      'scheduled after uncordon',
      async () => (await bound(p.metadata!.name!)) && bound(q.metadata!.name!),
    );
  });

  it('refuses a host port already taken, and pods anti-affine to each other', async () => {
    const port = {
      containers: [{ name: 'c', image: 'nginx', ports: [{ containerPort: 80, hostPort: 18080 }] }],
    };
    const a = await pods().create(pod(port));
    await until('a bound', () => bound(a.metadata!.name!));
    const b = await pods().create(pod(port));
    assert.match(
      await unschedulable(b.metadata!.name!),
      /^0\/1 nodes are available: 1 node\(s\) didn't have free ports for the requested pod ports\. preemption: 0\/1 nodes are available: 1 No preemption victims found for incoming pod\.\.$/,
    );
    const anti = {
      affinity: {
        podAntiAffinity: {
          requiredDuringSchedulingIgnoredDuringExecution: [
            { labelSelector: { matchLabels: { app: 'solo' } }, topologyKey: 'kubernetes.io/hostname' },
          ],
        },
      },
    };
    const s1 = await pods().create(pod(anti, { labels: { app: 'solo' } }));
    await until('first solo bound', () => bound(s1.metadata!.name!));
    const s2 = await pods().create(pod(anti, { labels: { app: 'solo' } }));
    assert.match(
      await unschedulable(s2.metadata!.name!),
      /1 node\(s\) didn't match pod anti-affinity rules\./,
    );
    const intruder = await pods().create(pod({}, { labels: { app: 'solo' } }));
    assert.match(
      await unschedulable(intruder.metadata!.name!),
      /1 node\(s\) didn't satisfy existing pods anti-affinity rules\./,
    );
    const aff = {
      affinity: {
        podAffinity: {
          requiredDuringSchedulingIgnoredDuringExecution: [
            { labelSelector: { matchLabels: { app: 'db' } }, topologyKey: 'kubernetes.io/hostname' },
          ],
        },
      },
    };
    const first = await pods().create(pod(aff, { labels: { app: 'db' } }));
    await until('first of a self-affine group goes anywhere', () => bound(first.metadata!.name!));
    const lonely = await pods().create(
      pod({
        affinity: {
          podAffinity: {
            requiredDuringSchedulingIgnoredDuringExecution: [
              { labelSelector: { matchLabels: { app: 'cache' } }, topologyKey: 'kubernetes.io/hostname' },
            ],
          },
        },
      }),
    );
    assert.match(
      await unschedulable(lonely.metadata!.name!),
      /1 node\(s\) didn't match pod affinity rules\. preemption: 0\/1 nodes are available: 1 Preemption is not helpful for scheduling\.\.$/,
    );
    await pods().delete(a.metadata!.name!, { namespace: 'default' });
    await until('b gets the port once a is gone', () => bound(b.metadata!.name!));
  });

  it('resolves priority classes at admission and preempts lower-priority pods', async () => {
    await assert.rejects(pods().create(pod({ priorityClassName: 'nope' })), (e) => {
      assert.ok(isKubeError(e, 'Forbidden'));
      assert.match(e.message, /^pods "p\d+" is forbidden: no PriorityClass with name nope was found$/);
      return true;
    });
    const crit = await pods().create(pod({ priorityClassName: 'system-cluster-critical' }));
    assert.equal(crit.spec?.priority, 2000000000);
    assert.equal(crit.spec?.preemptionPolicy, 'PreemptLowerPriority');
    await c.s.client
      .resource('scheduling.k8s.io/v1', 'priorityclasses')
      .create({ metadata: { name: 'high' }, value: 1000 });
    await c.s.client
      .resource('scheduling.k8s.io/v1', 'priorityclasses')
      .create({ metadata: { name: 'polite' }, value: 1000, preemptionPolicy: 'Never' });
    await patchNode({ status: { allocatable: { cpu: '2', memory: '8Gi', pods: '110' } } }, 'status');
    for (const p of (await pods().list({ namespace: 'default' })).items)
      await pods().delete(p.metadata!.name!, { namespace: 'default' });
    await until('empty', async () => (await pods().list({ namespace: 'default' })).items.length === 0);
    const low1 = await pods().create(cpu('1'));
    const low2 = await pods().create(cpu('900m'));
    await until('lows bound', async () => (await bound(low1.metadata!.name!)) && bound(low2.metadata!.name!));
    const polite = await pods().create(cpu('1', { priorityClassName: 'polite' }));
    assert.match(
      await unschedulable(polite.metadata!.name!),
      /preemption: not eligible due to preemptionPolicy=Never\.\.$/,
    );
    await pods().delete(polite.metadata!.name!, { namespace: 'default' });
    const high = await pods().create(cpu('1', { priorityClassName: 'high' }));
    await until('high scheduled by preemption', () => bound(high.metadata!.name!), 8000);
    // One victim was enough: the 900m pod (the smallest set that frees room, reprieving the other).
    const left = (await pods().list({ namespace: 'default' })).items.map((p) => p.metadata!.name);
    assert.equal(left.filter((x) => x === low1.metadata!.name || x === low2.metadata!.name).length, 1);
    await c.settle();
    const preempted = (
      await c.s.client
        .resource('v1', 'events')
        .list({ namespace: 'default', fieldSelector: 'reason=Preempted' })
    ).items as Array<{ message: string }>;
    assert.equal(preempted[0]?.message, `Preempted by pod ${high.metadata!.uid} on node ${NODE}`);
    await patchNode({ status: { allocatable: { cpu: '4', memory: '8Gi', pods: '110' } } }, 'status');
  });

  it('places on the node preferred by affinity when there are several', async () => {
    await nodes().create(
      nodeObject('second', {
        metadata: { name: 'second', labels: { 'kubernetes.io/hostname': 'second', zone: 'b' } },
      }),
    );
    const p = await pods().create(
      pod({
        affinity: {
          nodeAffinity: {
            preferredDuringSchedulingIgnoredDuringExecution: [
              {
                weight: 50,
                preference: { matchExpressions: [{ key: 'zone', operator: 'In', values: ['b'] }] },
              },
            ],
          },
        },
      }),
    );
    await until('bound', () => bound(p.metadata!.name!));
    assert.equal((await get(p.metadata!.name!)).spec?.nodeName, 'second');
    await pods().delete(p.metadata!.name!, { namespace: 'default', gracePeriodSeconds: 0 });
    await nodes().delete('second');
  });
});
