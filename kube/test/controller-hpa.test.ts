/**
 * The HorizontalPodAutoscaler: its arithmetic (replica counts from PodMetrics against requests, tolerance,
 * behavior stabilization and rate policies) and the controller against an in-process API server, the Deployment
 * and ReplicaSet controllers and the stand-in kubelet, with metrics.k8s.io PodMetrics objects the test sets.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { PodMetrics } from '../src/controllers/hpa/controller.js';
import { defaultBehavior, normalize, resourceReplicas } from '../src/controllers/hpa/replicas.js';
import type { Deployment, HorizontalPodAutoscaler, Pod } from '../src/controllers/framework/types.js';
import type { KubeObject } from '../src/registry/types.js';
import { matchesLabels } from '../src/selectors/labels.js';
import { startTestCluster, until, type TestCluster } from './helpers/cluster.js';

const T0 = Date.parse('2026-12-03T10:00:00Z');
const pod = (name: string, cpu = '100m', readyAt = T0 - 600_000): Pod => ({
  metadata: { name, namespace: 'default' },
  spec: { containers: [{ name: 'c', image: 'x', resources: { requests: { cpu } } }] },
  status: {
    phase: 'Running',
    startTime: new Date(T0 - 600_000).toISOString(),
    conditions: [{ type: 'Ready', status: 'True', lastTransitionTime: new Date(readyAt).toISOString() }],
  },
});

describe('autoscaler arithmetic', () => {
  it('computes replicas from usage against requests, within a 10% tolerance', () => {
    const pods = [pod('a'), pod('b')];
    const use = (a: number, b: number) =>
      new Map([
        ['a', a],
        ['b', b],
      ]);
    assert.deepEqual(resourceReplicas(2, pods, use(0.2, 0.2), 'cpu', { utilization: 50 }, T0), {
      replicas: 8,
      utilization: 200,
      averageValue: 0.2,
    });
    assert.equal(resourceReplicas(2, pods, use(0.054, 0.054), 'cpu', { utilization: 50 }, T0).replicas, 2);
    assert.equal(resourceReplicas(2, pods, use(0.01, 0.01), 'cpu', { utilization: 50 }, T0).replicas, 1);
    // AverageValue: 300Mi per pod against 100Mi.
    const mem = resourceReplicas(
      2,
      pods,
      use(300 * 2 ** 20, 300 * 2 ** 20),
      'memory',
      { averageValue: 100 * 2 ** 20 },
      T0,
    );
    assert.equal(mem.replicas, 6);
  });

  it('leaves out a pod that only just became ready, and treats a missing one as idle on a scale-up', () => {
    const fresh = {
      ...pod('new'),
      status: { ...pod('new').status, startTime: new Date(T0 - 10_000).toISOString() },
    };
    fresh.status.conditions![0].lastTransitionTime = new Date(T0 - 500).toISOString();
    const r = resourceReplicas(
      2,
      [pod('a'), fresh],
      new Map([
        ['a', 0.2],
        ['new', 0.9],
      ]),
      'cpu',
      { utilization: 50 },
      T0,
      new Map([['new', 1000]]),
    );
    // Only a counts: 200% of its request; "new" adds one pod at 0% for the recomputation: ceil(2 * 2) = 4.
    assert.equal(r.replicas, 4);
    const missing = resourceReplicas(
      2,
      [pod('a'), pod('gone')],
      new Map([['a', 0.2]]),
      'cpu',
      { utilization: 50 },
      T0,
    );
    assert.equal(missing.replicas, 4);
  });

  it('refuses pods without a request', () => {
    const bare = pod('a');
    bare.spec!.containers[0].resources = {};
    assert.throws(
      () => resourceReplicas(1, [bare], new Map([['a', 0.1]]), 'cpu', { utilization: 50 }, T0),
      /missing request for cpu in container c of Pod a/,
    );
  });

  it('stabilizes scale-downs over the window and limits scale-ups by policy', () => {
    const b = defaultBehavior();
    assert.deepEqual(b.scaleDown.stabilizationWindowSeconds, 300);
    // A recommendation of 5 two minutes ago holds a scale-down to 2.
    const held = normalize(5, 2, 1, 10, b, [{ at: T0 - 120_000, replicas: 5 }], { up: [], down: [] }, T0);
    assert.deepEqual(held, { replicas: 5, stabilized: 'ScaleDownStabilized', limited: undefined });
    // Up from 1 to 20: at most max(1 + 4 pods, 1 * 200%) = 5 per 15 s.
    const up = normalize(1, 20, 1, 10, b, [], { up: [], down: [] }, T0);
    assert.equal(up.replicas, 5);
    assert.equal(up.limited?.reason, 'ScaleUpLimit');
    // And 4 already added within the period leave room for nothing more than the policies allow from 1.
    const again = normalize(5, 20, 1, 10, b, [], { up: [{ at: T0 - 5000, change: 4 }], down: [] }, T0);
    assert.equal(again.replicas, 5);
    assert.equal(normalize(1, 20, 1, 3, b, [], { up: [], down: [] }, T0).limited?.reason, 'TooManyReplicas');
    assert.equal(
      normalize(
        3,
        0,
        2,
        10,
        { ...b, scaleDown: { ...b.scaleDown, stabilizationWindowSeconds: 0 } },
        [],
        { up: [], down: [] },
        T0,
      ).replicas,
      2,
    );
  });

  it('limits scale-downs by policy, selectPolicy Min and Disabled in both directions', () => {
    const d = defaultBehavior();
    const rules = (
      policies: { type: 'Pods' | 'Percent'; value: number; periodSeconds: number }[],
      sel: 'Max' | 'Min' | 'Disabled',
    ) => ({
      stabilizationWindowSeconds: 0,
      selectPolicy: sel,
      policies,
    });
    const two = [
      { type: 'Pods' as const, value: 2, periodSeconds: 60 },
      { type: 'Percent' as const, value: 50, periodSeconds: 60 },
    ];
    const none = { up: [], down: [] };
    // Down from 10 to 1: Max allows the larger drop (50%: to 5, over 2 pods: to 8), Min the smaller.
    const downMax = normalize(10, 1, 1, 10, { ...d, scaleDown: rules(two, 'Max') }, [], none, T0);
    assert.deepEqual(downMax.replicas, 5);
    assert.equal(downMax.limited?.reason, 'ScaleDownLimit');
    assert.match(downMax.limited?.message ?? '', /decreasing faster than the maximum scale rate/);
    assert.equal(normalize(10, 1, 1, 10, { ...d, scaleDown: rules(two, 'Min') }, [], none, T0).replicas, 8);
    // 3 removed within the period count against it: the period started at 13, so 50% allows down to 7.
    const after = { up: [], down: [{ at: T0 - 10_000, change: 3 }] };
    assert.equal(normalize(10, 1, 1, 10, { ...d, scaleDown: rules(two, 'Max') }, [], after, T0).replicas, 7);
    // Up from 4 to 20 with +2 and +1 pod policies: Max takes 6, Min 5.
    const one = [two[0], { type: 'Pods' as const, value: 1, periodSeconds: 60 }];
    assert.equal(normalize(4, 20, 1, 30, { ...d, scaleUp: rules(one, 'Max') }, [], none, T0).replicas, 6);
    assert.equal(normalize(4, 20, 1, 30, { ...d, scaleUp: rules(one, 'Min') }, [], none, T0).replicas, 5);
    // Disabled holds the count in that direction only.
    const off = { ...d, scaleUp: rules(two, 'Disabled'), scaleDown: rules(two, 'Disabled') };
    assert.equal(normalize(4, 20, 1, 30, off, [], none, T0).replicas, 4);
    assert.equal(normalize(4, 1, 1, 30, off, [], none, T0).replicas, 4);
    assert.equal(normalize(4, 4, 1, 30, off, [], none, T0).limited, undefined);
  });
});

describe('autoscaler controller', () => {
  let c: TestCluster;
  const cpuByPod = new Map<string, string>();
  let usage = '0';
  before(async () => {
    c = await startTestCluster({ hpaSyncMs: 200 });
    c.cm.podMetrics = async (ns, sel) => {
      const pods = (await c.s.client.resource<Pod>('v1', 'pods').list({ namespace: ns })).items.filter(
        (p) =>
          p.status?.phase === 'Running' &&
          !p.metadata?.deletionTimestamp &&
          matchesLabels(sel, p.metadata?.labels),
      );
      return pods.map((p): PodMetrics => ({
        metadata: { name: p.metadata?.name, namespace: ns },
        window: '0s',
        containers: [{ name: 'c', usage: { cpu: cpuByPod.get(p.metadata!.name!) ?? usage, memory: '10Mi' } }],
      }));
    };
  });
  after(async () => {
    await c?.stop();
  });

  const deploy: KubeObject = {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name: 'web', namespace: 'default' },
    spec: {
      replicas: 1,
      selector: { matchLabels: { app: 'web' } },
      template: {
        metadata: { labels: { app: 'web' } },
        spec: { containers: [{ name: 'c', image: 'nginx', resources: { requests: { cpu: '100m' } } }] },
      },
    },
  };
  const hpas = () =>
    c.s.client.resource<HorizontalPodAutoscaler>('autoscaling/v2', 'horizontalpodautoscalers');
  const replicas = async () =>
    (await c.s.client.resource<Deployment>('apps/v1', 'deployments').get('web', { namespace: 'default' }))
      .spec?.replicas;

  it('scales a Deployment up to maxReplicas when CPU is over target, then down when idle', async () => {
    await c.s.client.resource('apps/v1', 'deployments').create(deploy);
    usage = '200m';
    await hpas().create({
      apiVersion: 'autoscaling/v2',
      kind: 'HorizontalPodAutoscaler',
      metadata: { name: 'web', namespace: 'default' },
      spec: {
        scaleTargetRef: { apiVersion: 'apps/v1', kind: 'Deployment', name: 'web' },
        minReplicas: 1,
        maxReplicas: 3,
        metrics: [
          {
            type: 'Resource',
            resource: { name: 'cpu', target: { type: 'Utilization', averageUtilization: 50 } },
          },
        ],
        behavior: { scaleDown: { stabilizationWindowSeconds: 0 } },
      },
    });
    await until('scaled to 3', async () => (await replicas()) === 3, 10_000);
    const h = await hpas().get('web', { namespace: 'default' });
    assert.deepEqual(h.status?.currentMetrics?.[0], {
      type: 'Resource',
      resource: { name: 'cpu', current: { averageUtilization: 200, averageValue: '200m' } },
    });
    const reasons = Object.fromEntries((h.status?.conditions ?? []).map((x) => [x.type, x.reason]));
    assert.equal(reasons.AbleToScale, 'SucceededRescale');
    assert.equal(reasons.ScalingActive, 'ValidMetricFound');
    assert.ok(h.status?.lastScaleTime);
    await c.settle();
    const events = (
      await c.s.client.resource('v1', 'events').list({
        namespace: 'default',
        fieldSelector: 'involvedObject.name=web,involvedObject.kind=HorizontalPodAutoscaler',
      })
    ).items as Array<{ reason: string; message: string }>;
    assert.ok(
      events.some(
        (e) =>
          e.reason === 'SuccessfulRescale' &&
          e.message === 'New size: 3; reason: cpu resource utilization (percentage of request) above target',
      ),
      JSON.stringify(events),
    );
    await until('limited at max', async () => {
      const x = await hpas().get('web', { namespace: 'default' });
      return (
        x.status?.conditions?.some((k) => k.type === 'ScalingLimited' && k.reason === 'TooManyReplicas') ??
        false
      );
    });
    usage = '5m';
    await until('back to 1', async () => (await replicas()) === 1, 10_000);
  });

  it('says why when the target does not exist', async () => {
    await hpas().create({
      apiVersion: 'autoscaling/v2',
      kind: 'HorizontalPodAutoscaler',
      metadata: { name: 'nothing', namespace: 'default' },
      spec: {
        scaleTargetRef: { apiVersion: 'apps/v1', kind: 'Deployment', name: 'nothing' },
        maxReplicas: 2,
      },
    });
    await until('FailedGetScale', async () => {
      const x = await hpas().get('nothing', { namespace: 'default' });
      return (
        x.status?.conditions?.some(
          (k) => k.type === 'AbleToScale' && k.status === 'False' && k.reason === 'FailedGetScale',
        ) ?? false
      );
    });
  });

  it('is the v2 object converted: the CPU target both ways, other metrics and behavior kept in annotations', async () => {
    const v1 = c.s.client.resource<KubeObject & { spec: Record<string, unknown> }>(
      'autoscaling/v1',
      'horizontalpodautoscalers',
    );
    const v2 = c.s.client.resource<HorizontalPodAutoscaler>('autoscaling/v2', 'horizontalpodautoscalers');
    await v1.create({
      apiVersion: 'autoscaling/v1',
      kind: 'HorizontalPodAutoscaler',
      metadata: { name: 'conv', namespace: 'default' },
      spec: {
        scaleTargetRef: { apiVersion: 'apps/v1', kind: 'Deployment', name: 'x' },
        maxReplicas: 4,
        targetCPUUtilizationPercentage: 60,
      },
    });
    const asV2 = await v2.get('conv', { namespace: 'default' });
    assert.equal(asV2.apiVersion, 'autoscaling/v2');
    assert.deepEqual(asV2.spec?.metrics, [
      {
        type: 'Resource',
        resource: { name: 'cpu', target: { type: 'Utilization', averageUtilization: 60 } },
      },
    ]);
    await v2.patch(
      'conv',
      'merge',
      { spec: { behavior: { scaleDown: { stabilizationWindowSeconds: 30 } } } },
      { namespace: 'default' },
    );
    let asV1 = await v1.get('conv', { namespace: 'default' });
    assert.equal(asV1.apiVersion, 'autoscaling/v1');
    assert.equal(asV1.spec.targetCPUUtilizationPercentage, 60);
    assert.equal(asV1.spec.metrics, undefined);
    assert.match(
      asV1.metadata?.annotations?.['autoscaling.alpha.kubernetes.io/behavior'] ?? '',
      /"stabilizationWindowSeconds":30/,
    );
    // A v1 update keeps what only v2 can say.
    // (The controller writes status meanwhile: read again on a conflict.)
    await until('updated through v1', async () => {
      asV1 = await v1.get('conv', { namespace: 'default' });
      return v1.update({ ...asV1, spec: { ...asV1.spec, maxReplicas: 5 } }).then(
        () => true,
        () => false,
      );
    });
    const back = await v2.get('conv', { namespace: 'default' });
    assert.equal(back.spec?.maxReplicas, 5);
    assert.equal(back.spec?.behavior?.scaleDown?.stabilizationWindowSeconds, 30);
    assert.equal(back.metadata?.annotations, undefined);
  });
});
