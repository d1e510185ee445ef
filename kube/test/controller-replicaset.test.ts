/** The ReplicaSet and ReplicationController controllers against an in-process API server and a stand-in kubelet. */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { Pod, ReplicaSet } from '../src/controllers/framework/types.js';
import type { KubeObject } from '../src/registry/types.js';
import { startTestCluster, until, type TestCluster } from './helpers/cluster.js';

let c: TestCluster;
before(async () => {
  c = await startTestCluster();
});
after(async () => {
  await c.stop();
});

const rs = (name: string, replicas: number, extra: Record<string, unknown> = {}): KubeObject => ({
  apiVersion: 'apps/v1',
  kind: 'ReplicaSet',
  metadata: { name, namespace: 'default' },
  spec: {
    replicas,
    selector: { matchLabels: { app: name } },
    template: {
      metadata: { labels: { app: name, tier: 'web' } },
      spec: { containers: [{ name: 'c', image: 'nginx:1.27' }] },
    },
    ...extra,
  },
});

const pods = async (app: string) =>
  (await c.s.client.resource<Pod>('v1', 'pods').list({ namespace: 'default', labelSelector: `app=${app}` }))
    .items;
const rsClient = () => c.s.client.resource<ReplicaSet>('apps/v1', 'replicasets');
const events = async (name: string) =>
  (
    await c.s.client
      .resource('v1', 'events')
      .list({ namespace: 'default', fieldSelector: `involvedObject.name=${name}` })
  ).items as Array<{ reason: string; message: string; source: { component: string }; count: number }>;

describe('replicaset controller', () => {
  it('creates the pods, owned, named after it, and reports ready and available replicas', async () => {
    await rsClient().create(rs('web', 3));
    await until('3 ready', async () => {
      const r = await rsClient().get('web', { namespace: 'default' });
      return r.status?.readyReplicas === 3 && r.status.availableReplicas === 3;
    });
    const ps = await pods('web');
    assert.equal(ps.length, 3);
    for (const p of ps) {
      assert.match(p.metadata!.name!, /^web-[bcdfghjklmnpqrstvwxz2456789]{5}$/);
      assert.deepEqual(p.metadata?.labels, { app: 'web', tier: 'web' });
      const ref = p.metadata.ownerReferences![0];
      assert.equal(ref.kind, 'ReplicaSet');
      assert.equal(ref.controller, true);
      assert.equal(ref.blockOwnerDeletion, true);
    }
    const r = await rsClient().get('web', { namespace: 'default' });
    assert.equal(r.status?.replicas, 3);
    assert.equal(r.status?.fullyLabeledReplicas, 3);
    assert.equal(r.status?.observedGeneration, 1);
    await c.settle();
    const evs = await events('web');
    const created = evs.filter((e) => e.reason === 'SuccessfulCreate');
    assert.equal(created.length, 3);
    assert.match(created[0].message, /^Created pod: web-/);
    assert.equal(created[0].source.component, 'replicaset-controller');
    assert.equal((await pods('web')).length, 3, 'no extra pods after settling');
  });

  it('scales down, deleting not-ready pods first, and heals a deleted pod', async () => {
    await rsClient().create(rs('scale', 3));
    await until(
      '3 ready',
      async () => (await rsClient().get('scale', { namespace: 'default' })).status?.readyReplicas === 3,
    );
    const [victim] = await pods('scale');
    await c.s.client.resource('v1', 'pods').delete(victim.metadata!.name!, { namespace: 'default' });
    await until('healed', async () => {
      const ps = await pods('scale');
      return ps.length === 3 && !ps.some((p) => p.metadata?.uid === victim.metadata?.uid);
    });
    await c.s.client.resource('apps/v1', 'replicasets').setReplicas('scale', 1, { namespace: 'default' });
    await until('1 pod', async () => (await pods('scale')).length === 1);
    await c.settle();
    const r = await rsClient().get('scale', { namespace: 'default' });
    assert.equal(r.status?.replicas, 1);
    assert.equal(r.status?.observedGeneration, 2);
    assert.ok((await events('scale')).some((e) => /^Deleted pod: scale-/.test(e.message)));
  });

  it('adopts matching orphans and releases pods whose labels no longer match', async () => {
    const podApi = c.s.client.resource<Pod>('v1', 'pods');
    await podApi.create({
      metadata: { name: 'orphan', namespace: 'default', labels: { app: 'adopt' } },
      spec: { containers: [{ name: 'c', image: 'nginx' }] },
    });
    await rsClient().create(rs('adopt', 2));
    await until('2 pods', async () => (await pods('adopt')).length === 2);
    await c.settle();
    const orphan = await podApi.get('orphan', { namespace: 'default' });
    assert.equal(orphan.metadata?.ownerReferences?.[0]?.name, 'adopt');
    assert.equal((await pods('adopt')).length, 2, 'the orphan counts: only one pod created');
    await podApi.patch(
      'orphan',
      'merge',
      { metadata: { labels: { app: 'gone' } } },
      { namespace: 'default' },
    );
    await until(
      'released',
      async () => !(await podApi.get('orphan', { namespace: 'default' })).metadata?.ownerReferences?.length,
    );
    await until('replaced', async () => (await pods('adopt')).length === 2);
  });

  it('runs ReplicationControllers the same way', async () => {
    const rcs = c.s.client.resource('v1', 'replicationcontrollers');
    await rcs.create({
      metadata: { name: 'legacy', namespace: 'default' },
      spec: {
        replicas: 2,
        selector: { app: 'legacy' },
        template: {
          metadata: { labels: { app: 'legacy' } },
          spec: { containers: [{ name: 'c', image: 'nginx' }] },
        },
      },
    });
    await until('2 ready', async () => {
      const r = await rcs.get('legacy', { namespace: 'default' });
      return (r.status as { readyReplicas?: number } | undefined)?.readyReplicas === 2;
    });
    const ps = await pods('legacy');
    assert.equal(ps[0].metadata?.ownerReferences?.[0]?.kind, 'ReplicationController');
    const ev = await events('legacy');
    assert.equal(ev[0]?.source.component, 'replication-controller');
  });
});
