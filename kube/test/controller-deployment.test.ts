/**
 * The Deployment controller over the ReplicaSet controller, the scheduler and a stand-in kubelet: rollouts within
 * maxSurge/maxUnavailable, Recreate, revisions and rollback as `kubectl rollout undo` does it, history limits,
 * pause/resume, the progress deadline, proportional scaling, and a restart of the controllers mid-rollout.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { Deployment, Pod, ReplicaSet } from '../src/controllers/framework/types.js';
import { startTestCluster, until, type TestCluster } from './helpers/cluster.js';

let c: TestCluster;
before(async () => {
  c = await startTestCluster();
});
after(async () => {
  await c.stop();
});

const NS = { namespace: 'default' };
const deps = () => c.s.client.resource<Deployment>('apps/v1', 'deployments');
const rss = () => c.s.client.resource<ReplicaSet>('apps/v1', 'replicasets');
const podsApi = () => c.s.client.resource<Pod>('v1', 'pods');

function deployment(
  name: string,
  replicas: number,
  spec: Record<string, unknown> = {},
  annotations: Record<string, string> = {},
): Deployment {
  return {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name, namespace: 'default' },
    spec: {
      replicas,
      selector: { matchLabels: { app: name } },
      template: {
        metadata: { labels: { app: name }, ...(Object.keys(annotations).length ? { annotations } : {}) },
        spec: { containers: [{ name: 'web', image: 'nginx:1.26' }] },
      },
      ...spec,
    },
  };
}

const get = (name: string) => deps().get(name, NS);
const cond = (d: Deployment, type: string) => d.status?.conditions?.find((x) => x.type === type);
const ownedRSs = async (name: string) =>
  (await rss().list(NS)).items.filter((r) => r.metadata?.ownerReferences?.[0]?.name === name);
const livePods = async (app: string) =>
  (await podsApi().list({ namespace: 'default', labelSelector: `app=${app}` })).items.filter(
    (p) => !p.metadata?.deletionTimestamp,
  );

/** The `kubectl rollout status` test: observed, all updated, old ones gone, all available. */
async function rolledOut(name: string, ms = 8000): Promise<Deployment> {
  await until(
    `${name} rolled out`,
    async () => {
      const d = await get(name);
      const s = d.status ?? {};
      const n = d.spec?.replicas ?? 1;
      return (
        (s.observedGeneration ?? 0) >= (d.metadata?.generation ?? 0) &&
        (s.updatedReplicas ?? 0) === n &&
        (s.replicas ?? 0) === n &&
        (s.availableReplicas ?? 0) === n &&
        cond(d, 'Progressing')?.reason === 'NewReplicaSetAvailable'
      );
    },
    ms,
  );
  return get(name);
}

async function setImage(name: string, image: string): Promise<void> {
  await deps().patch(
    name,
    'strategic',
    { spec: { template: { spec: { containers: [{ name: 'web', image }] } } } },
    NS,
  );
}

const events = async (name: string) =>
  (
    (
      await c.s.client
        .resource('v1', 'events')
        .list({ namespace: 'default', fieldSelector: `involvedObject.name=${name}` })
    ).items as Array<{ reason: string; message: string }>
  ).map((e) => `${e.reason}: ${e.message}`);

describe('deployment controller', () => {
  it('rolls out a new Deployment and writes status, conditions, revision and events as kube-controller-manager', async () => {
    await deps().create(deployment('web', 3));
    const d = await rolledOut('web');
    const [rs] = await ownedRSs('web');
    const hash = rs.metadata!.labels!['pod-template-hash'];
    assert.match(hash, /^[bcdfghjklmnpqrstvwxz2456789]{6,10}$/);
    assert.equal(rs.metadata!.name, `web-${hash}`);
    assert.deepEqual(rs.spec?.selector?.matchLabels, { app: 'web', 'pod-template-hash': hash });
    assert.equal(rs.metadata!.annotations!['deployment.kubernetes.io/revision'], '1');
    assert.equal(rs.metadata!.annotations!['deployment.kubernetes.io/desired-replicas'], '3');
    assert.equal(rs.metadata!.annotations!['deployment.kubernetes.io/max-replicas'], '4');
    assert.equal(d.metadata!.annotations!['deployment.kubernetes.io/revision'], '1');
    assert.deepEqual(
      { ...d.status, conditions: undefined },
      {
        observedGeneration: 1,
        replicas: 3,
        updatedReplicas: 3,
        readyReplicas: 3,
        availableReplicas: 3,
        conditions: undefined,
      },
    );
    assert.equal(cond(d, 'Available')?.reason, 'MinimumReplicasAvailable');
    assert.equal(cond(d, 'Available')?.message, 'Deployment has minimum availability.');
    assert.equal(cond(d, 'Progressing')?.message, `ReplicaSet "web-${hash}" has successfully progressed.`);
    await c.settle();
    assert.ok(
      (await events('web')).includes(`ScalingReplicaSet: Scaled up replica set web-${hash} from 0 to 3`),
    );
    assert.equal((await livePods('web')).length, 3);
  });

  it('rolls a new image within maxSurge and maxUnavailable, then undoes to the previous revision', async () => {
    await deps().create(
      deployment('surge', 3, {
        strategy: { type: 'RollingUpdate', rollingUpdate: { maxSurge: 1, maxUnavailable: 0 } },
      }),
    );
    await rolledOut('surge');
    let peak = 0;
    const w = await podsApi().watch({ namespace: 'default', labelSelector: 'app=surge' }, () => {
      void livePods('surge').then((ps) => (peak = Math.max(peak, ps.length)));
    });
    await setImage('surge', 'nginx:1.27');
    const d = await rolledOut('surge');
    w.stop();
    assert.ok(peak <= 4, `never more than replicas + maxSurge pods (saw ${peak})`);
    const owned = await ownedRSs('surge');
    assert.equal(owned.length, 2);
    const newRS = owned.find((r) => r.spec?.template?.spec?.containers[0].image === 'nginx:1.27')!;
    const oldRS = owned.find((r) => r !== newRS)!;
    assert.equal(newRS.metadata!.annotations!['deployment.kubernetes.io/revision'], '2');
    assert.equal(oldRS.spec?.replicas, 0);
    assert.equal(d.metadata!.annotations!['deployment.kubernetes.io/revision'], '2');
    for (const p of await livePods('surge')) assert.equal(p.spec?.containers[0].image, 'nginx:1.27');
    await c.settle();
    const ev = await events('surge');
    assert.ok(
      ev.includes(`ScalingReplicaSet: Scaled down replica set ${oldRS.metadata!.name} from 3 to 2`),
      ev.join('\n'),
    );
    // `kubectl rollout undo`: the old ReplicaSet's template (without the hash label) patched into the Deployment.
    const template = structuredClone(oldRS.spec.template!);
    delete template.metadata!.labels!['pod-template-hash'];
    await deps().patch('surge', 'json', [{ op: 'replace', path: '/spec/template', value: template }], NS);
    const undone = await rolledOut('surge');
    const back = await rss().get(oldRS.metadata!.name!, NS);
    assert.equal(back.metadata!.annotations!['deployment.kubernetes.io/revision'], '3');
    assert.equal(back.metadata!.annotations!['deployment.kubernetes.io/revision-history'], '1');
    assert.equal(back.spec?.replicas, 3);
    assert.equal(undone.metadata!.annotations!['deployment.kubernetes.io/revision'], '3');
    assert.equal((await ownedRSs('surge')).length, 2, 'no third ReplicaSet: the old one came back');
  });

  it('keeps revisionHistoryLimit old ReplicaSets and recreates with Recreate', async () => {
    await deps().create(deployment('hist', 1, { revisionHistoryLimit: 1, strategy: { type: 'Recreate' } }));
    await rolledOut('hist');
    for (const tag of ['a', 'b', 'c']) {
      await setImage('hist', `nginx:${tag}`);
      await rolledOut('hist');
    }
    await c.settle();
    const owned = await ownedRSs('hist');
    assert.equal(owned.length, 2, owned.map((r) => r.metadata?.name).join());
    assert.deepEqual(owned.map((r) => r.metadata!.annotations!['deployment.kubernetes.io/revision']).sort(), [
      '3',
      '4',
    ]);
    const ev = await events('hist');
    const last = owned.find((r) => r.metadata!.annotations!['deployment.kubernetes.io/revision'] === '4')!;
    const prev = owned.find((r) => r !== last)!;
    const down = ev.indexOf(`ScalingReplicaSet: Scaled down replica set ${prev.metadata!.name} from 1 to 0`);
    const up = ev.indexOf(`ScalingReplicaSet: Scaled up replica set ${last.metadata!.name} from 0 to 1`);
    assert.ok(down >= 0 && up > down, `Recreate scales the old one down first:\n${ev.join('\n')}`);
  });

  it('pauses (scaling only) and resumes, with the Progressing reasons', async () => {
    await deps().create(deployment('pause', 2));
    await rolledOut('pause');
    await deps().patch('pause', 'merge', { spec: { paused: true } }, NS);
    await until(
      'paused condition',
      async () => cond(await get('pause'), 'Progressing')?.reason === 'DeploymentPaused',
    );
    const paused = await get('pause');
    assert.equal(cond(paused, 'Progressing')?.status, 'Unknown');
    assert.equal(cond(paused, 'Progressing')?.message, 'Deployment is paused');
    await setImage('pause', 'nginx:paused');
    await deps().patch('pause', 'merge', { spec: { replicas: 3 } }, NS);
    await until('scaled while paused', async () => (await livePods('pause')).length === 3);
    await c.settle();
    assert.equal((await ownedRSs('pause')).length, 1, 'no rollout while paused');
    await deps().patch('pause', 'merge', { spec: { paused: false } }, NS);
    const d = await rolledOut('pause');
    assert.equal(d.spec?.replicas, 3);
    assert.equal((await ownedRSs('pause')).length, 2);
  });

  it('reports ProgressDeadlineExceeded when the new pods never become ready', async () => {
    await deps().create(
      deployment('stuck', 1, { progressDeadlineSeconds: 1 }, { 'test.berth.dev/ready': 'false' }),
    );
    await until(
      'timed out',
      async () => cond(await get('stuck'), 'Progressing')?.reason === 'ProgressDeadlineExceeded',
      8000,
    );
    const d = await get('stuck');
    const [rs] = await ownedRSs('stuck');
    assert.equal(cond(d, 'Progressing')?.status, 'False');
    assert.equal(
      cond(d, 'Progressing')?.message,
      `ReplicaSet "${rs.metadata!.name}" has timed out progressing.`,
    );
    assert.equal(cond(d, 'Available')?.status, 'False');
    assert.equal(cond(d, 'Available')?.reason, 'MinimumReplicasUnavailable');
    assert.equal(d.status?.unavailableReplicas, 1);
  });

  it('scales proportionally mid-rollout and finishes a rollout across a controller restart', async () => {
    await deps().create(
      deployment(
        'prop',
        4,
        { strategy: { type: 'RollingUpdate', rollingUpdate: { maxSurge: 0, maxUnavailable: 1 } } },
        { 'test.berth.dev/ready': 'true' },
      ),
    );
    await rolledOut('prop');
    // New pods never ready: the rollout stops with the old ReplicaSet at 3 and the new at 1.
    await deps().patch(
      'prop',
      'merge',
      { spec: { template: { metadata: { annotations: { 'test.berth.dev/ready': 'false' } } } } },
      NS,
    );
    await until('mid rollout', async () => {
      const o = await ownedRSs('prop');
      return o.length === 2 && o.every((r) => (r.status?.replicas ?? 0) > 0);
    });
    await c.settle();
    await deps().patch('prop', 'merge', { spec: { replicas: 8 } }, NS);
    await until('8 pods spread', async () => {
      const o = await ownedRSs('prop');
      return (
        o.reduce((s, r) => s + (r.spec?.replicas ?? 0), 0) === 8 &&
        o.every((r) => (r.spec?.replicas ?? 0) > 1)
      );
    });
    await c.restart(async () => {
      await deps().patch(
        'prop',
        'merge',
        { spec: { template: { metadata: { annotations: { 'test.berth.dev/ready': 'yes' } } } } },
        NS,
      );
    });
    await rolledOut('prop', 10_000);
    assert.equal((await livePods('prop')).length, 8);
    await c.settle();
    assert.equal((await livePods('prop')).length, 8, 'the restarted controllers create nothing twice');
  });
});
