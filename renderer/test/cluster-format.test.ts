/** kubectl 1.32's pod columns (printPod) and HumanDuration, as the Cluster views print them. */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import {
  kubeAge,
  matchesLabels,
  podReady,
  podRestarts,
  podStatus,
  workloadReady,
  type ContainerStatus,
  type Pod,
} from '../src/stores/cluster-format.js';
import { cascadeText, nameFromImage } from '../src/stores/cluster-actions.js';

const NOW = Date.parse('2026-01-01T12:00:00Z');
const before = (s: number) => new Date(NOW - s * 1000).toISOString();

function pod(statuses: Partial<ContainerStatus>[], extra: Partial<Pod['status']> = {}, inits = 0): Pod {
  return {
    metadata: { name: 'p', creationTimestamp: before(90) },
    spec: {
      containers: statuses.map((_, i) => ({ name: `c${i}` })),
      ...(inits ? { initContainers: Array.from({ length: inits }, (_, i) => ({ name: `i${i}` })) } : {}),
    },
    status: {
      phase: 'Running',
      containerStatuses: statuses.map((s, i) => ({ name: `c${i}`, ready: false, restartCount: 0, ...s })),
      ...extra,
    },
  };
}

describe('cluster columns as kubectl prints them', () => {
  test('AGE: HumanDuration', () => {
    const cases: [number, string][] = [
      [5, '5s'],
      [119, '119s'],
      [125, '2m5s'],
      [600, '10m'],
      [3 * 3600 + 240, '3h4m'],
      [10 * 3600, '10h'],
      [50 * 3600, '2d2h'],
      [400 * 86400, '400d'],
      [3 * 365 * 86400 + 20 * 86400, '3y20d'],
    ];
    for (const [s, want] of cases) assert.equal(kubeAge(before(s), NOW), want, `${s}s`);
    assert.equal(kubeAge(undefined, NOW), '<unknown>');
    assert.equal(kubeAge(before(-3), NOW), '0s', 'newer than the page’s last tick');
  });

  test('STATUS: the reason that matters', () => {
    assert.equal(podStatus(pod([{ ready: true, state: { running: {} } }])), 'Running');
    assert.equal(
      podStatus(pod([{ state: { waiting: { reason: 'CrashLoopBackOff' } } }])),
      'CrashLoopBackOff',
    );
    assert.equal(
      podStatus(pod([{ state: { waiting: { reason: 'ImagePullBackOff' } } }])),
      'ImagePullBackOff',
    );
    assert.equal(
      podStatus(pod([{ state: { terminated: { reason: 'OOMKilled', exitCode: 137 } } }])),
      'OOMKilled',
    );
    assert.equal(podStatus(pod([{ state: { terminated: { exitCode: 3 } } }])), 'ExitCode:3');
    assert.equal(podStatus(pod([{ state: { terminated: { exitCode: 0, signal: 9 } } }])), 'Signal:9');
    assert.equal(podStatus(pod([], { phase: 'Pending' })), 'Pending');
    assert.equal(podStatus(pod([], { phase: 'Failed', reason: 'Evicted' })), 'Evicted');
    // Init containers: the first one not done decides.
    const init = pod(
      [{ state: { waiting: { reason: 'PodInitializing' } } }],
      {
        phase: 'Pending',
        initContainerStatuses: [
          {
            name: 'i0',
            ready: false,
            restartCount: 0,
            state: { terminated: { exitCode: 0, reason: 'Completed' } },
          },
          { name: 'i1', ready: false, restartCount: 0, state: { running: {} } },
        ],
      },
      2,
    );
    assert.equal(podStatus(init), 'Init:1/2');
    init.status!.initContainerStatuses![1].state = { waiting: { reason: 'CrashLoopBackOff' } };
    assert.equal(podStatus(init), 'Init:CrashLoopBackOff');
    // A completed container beside a running one reads Running when the pod is Ready, else NotReady.
    const mixed = pod([
      { state: { terminated: { reason: 'Completed', exitCode: 0 } } },
      { ready: true, state: { running: {} } },
    ]);
    assert.equal(podStatus(mixed), 'NotReady');
    mixed.status!.conditions = [{ type: 'Ready', status: 'True' }];
    assert.equal(podStatus(mixed), 'Running');
    const going = pod([{ ready: true, state: { running: {} } }]);
    going.metadata.deletionTimestamp = before(1);
    assert.equal(podStatus(going), 'Terminating');
  });

  test('READY and RESTARTS with the last restart’s age', () => {
    const p = pod([
      { ready: true, restartCount: 2, lastState: { terminated: { finishedAt: before(300) } } },
      { ready: false, restartCount: 1, lastState: { terminated: { finishedAt: before(30) } } },
    ]);
    assert.equal(podReady(p), '1/2');
    assert.equal(podRestarts(p, NOW), '3 (30s ago)');
    assert.equal(podRestarts(pod([{}]), NOW), '0');
  });

  test('workload READY and label filters', () => {
    assert.equal(
      workloadReady({
        kind: 'Deployment',
        metadata: { name: 'd' },
        spec: { replicas: 3 },
        status: { readyReplicas: 2 },
      }),
      '2/3',
    );
    assert.equal(
      workloadReady({
        kind: 'DaemonSet',
        metadata: { name: 'd' },
        status: { numberReady: 1, desiredNumberScheduled: 1 },
      }),
      '1/1',
    );
    assert.equal(
      workloadReady({ kind: 'Job', metadata: { name: 'j' }, spec: {}, status: { succeeded: 1 } }),
      '1/1',
    );
    const l = { app: 'web', tier: 'front' };
    assert.ok(matchesLabels(l, 'app=web'));
    assert.ok(matchesLabels(l, 'app==web,tier!=db'));
    assert.ok(!matchesLabels(l, 'app=db'));
    assert.ok(matchesLabels(l, 'tier'));
    assert.ok(!matchesLabels(l, '!tier'));
    assert.ok(matchesLabels(undefined, ''));
  });

  test('Run in cluster names the Deployment after the image; delete explains the cascade', () => {
    assert.equal(nameFromImage('docker.io/library/nginx:1.27'), 'nginx');
    assert.equal(nameFromImage('127.0.0.1:5000/My_App@sha256:abc'), 'my-app');
    assert.equal(nameFromImage(':::'), 'app');
    assert.match(cascadeText({ kind: 'Deployment', metadata: { name: 'd' } }), /ReplicaSets and their pods/);
    assert.match(
      cascadeText({
        kind: 'Pod',
        metadata: {
          name: 'p',
          ownerReferences: [
            { apiVersion: 'apps/v1', kind: 'ReplicaSet', name: 'rs', uid: 'u', controller: true },
          ],
        },
      }),
      /managed by ReplicaSet rs, which will create a replacement/,
    );
  });
});
