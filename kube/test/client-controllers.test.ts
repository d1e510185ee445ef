/** The in-process client (same rules as HTTP), watch semantics, deletion, the garbage collector and the namespace controller. */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { isKubeError } from '../src/errors.js';
import type { TypedWatchEvent } from '../src/client/index.js';
import type { KubeObject } from '../src/registry/types.js';
import { startTestServer, type TestServer } from './helpers/apiserver.js';

let s: TestServer;
before(async () => {
  s = await startTestServer();
});
after(async () => {
  await s.stop();
});

const until = async (what: string, cond: () => Promise<boolean> | boolean, ms = 5000): Promise<void> => {
  const end = Date.now() + ms;
  while (!(await cond())) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
};

const cms = () => s.client.resource('v1', 'configmaps');
const deployment = (name: string, replicas = 1): KubeObject => ({
  apiVersion: 'apps/v1',
  kind: 'Deployment',
  metadata: { name, namespace: 'default' },
  spec: {
    replicas,
    selector: { matchLabels: { app: name } },
    template: {
      metadata: { labels: { app: name } },
      spec: { containers: [{ name: 'c', image: 'nginx:1.27' }] },
    },
  },
});

describe('client', () => {
  it('creates, reads, updates with optimistic concurrency, and validates like HTTP', async () => {
    const c = await cms().create({ metadata: { name: 'cli', namespace: 'default' }, data: { a: '1' } });
    assert.equal(c.kind, 'ConfigMap');
    const got = await cms().get('cli', { namespace: 'default' });
    assert.equal(got.metadata?.uid, c.metadata?.uid);
    await cms().update({ ...got, data: { a: '2' } });
    await assert.rejects(cms().update({ ...got, data: { a: '3' } }), (e) => isKubeError(e, 'Conflict'));
    await assert.rejects(cms().create({ metadata: { name: 'UPPER', namespace: 'default' } }), (e) =>
      isKubeError(e, 'Invalid'),
    );
    await assert.rejects(cms().create({ metadata: { name: 'x', namespace: 'nowhere' } }), (e) =>
      isKubeError(e, 'NotFound'),
    );
  });

  it('bumps generation on spec changes only; status writes touch only status', async () => {
    const d = s.client.resource('apps/v1', 'deployments');
    const created = await d.create(deployment('gen'));
    assert.equal(created.metadata?.generation, 1);
    assert.deepEqual(created.status, {});
    const relabeled = await d.update({ ...created, metadata: { ...created.metadata, labels: { x: 'y' } } });
    assert.equal(relabeled.metadata?.generation, 1);
    const scaled = await d.update({
      ...relabeled,
      spec: { ...(relabeled.spec as object), replicas: 3 },
      status: { replicas: 99 },
    });
    assert.equal(scaled.metadata?.generation, 2);
    assert.deepEqual(scaled.status, {}, 'a main-resource update cannot write status');
    const st = await d.updateStatus({
      ...scaled,
      spec: { ...(scaled.spec as object), replicas: 7 },
      status: { observedGeneration: 2, replicas: 3 },
    });
    assert.deepEqual(st.status, { observedGeneration: 2, replicas: 3 });
    assert.equal((st.spec as { replicas: number }).replicas, 3, 'a status update cannot write spec');
    assert.equal((await d.getScale('gen', { namespace: 'default' })).kind, 'Scale');
    const after = await d.setReplicas('gen', 5, { namespace: 'default' });
    assert.deepEqual(after.spec, { replicas: 5 });
  });

  it('binds pods once', async () => {
    const pods = s.client.resource('v1', 'pods');
    await pods.create({
      metadata: { name: 'p1', namespace: 'default' },
      spec: { containers: [{ name: 'c', image: 'busybox' }] },
    });
    await s.client.bindPod('default', 'p1', 'node-a');
    const p = await pods.get('p1', { namespace: 'default' });
    assert.equal((p.spec as { nodeName: string }).nodeName, 'node-a');
    await assert.rejects(s.client.bindPod('default', 'p1', 'node-b'), (e) => isKubeError(e, 'Conflict'));
    // Graceful deletion: the pod stays with a deletionTimestamp until deleted with no grace.
    const first = await pods.delete('p1', { namespace: 'default' });
    assert.equal(first.deleted, false);
    assert.equal(first.object.metadata?.deletionGracePeriodSeconds, 30);
    const second = await pods.delete('p1', { namespace: 'default', gracePeriodSeconds: 0 });
    assert.equal(second.deleted, true);
  });
});

describe('watch', () => {
  it('replays from a resourceVersion and follows label selections in and out', async () => {
    const start = (await cms().list({ namespace: 'default' })).metadata.resourceVersion;
    const seen: Array<[string, string]> = [];
    const w = await cms().watch(
      { namespace: 'default', resourceVersion: start, labelSelector: 'watched=yes' },
      (e) => seen.push([e.type, e.object.metadata?.name ?? '']),
    );
    const c = await cms().create({
      metadata: { name: 'w1', namespace: 'default', labels: { watched: 'yes' } },
    });
    const u = await cms().update({ ...c, metadata: { ...c.metadata, labels: { watched: 'no' } } });
    await cms().update({ ...u, metadata: { ...u.metadata, labels: { watched: 'yes' } } });
    await cms().delete('w1', { namespace: 'default' });
    await until('four events', () => seen.length >= 4);
    w.stop();
    assert.deepEqual(seen, [
      ['ADDED', 'w1'],
      ['DELETED', 'w1'],
      ['ADDED', 'w1'],
      ['DELETED', 'w1'],
    ]);
  });

  it('starts with the current state when no resourceVersion is given, and sends bookmarks', async () => {
    const events: Array<TypedWatchEvent<KubeObject>> = [];
    const w = await s.client
      .resource('v1', 'namespaces')
      .watch({ allowWatchBookmarks: true, bookmarkIntervalMs: 30 }, (e) => events.push(e));
    await until('a bookmark', () => events.some((e) => e.type === 'BOOKMARK'));
    w.stop();
    assert.ok(
      events.filter((e) => e.type === 'ADDED').some((e) => e.object.metadata?.name === 'kube-system'),
    );
    const bm = events.find((e) => e.type === 'BOOKMARK')!;
    assert.ok(Number(bm.object.metadata?.resourceVersion) > 0);
    assert.deepEqual(Object.keys(bm.object.metadata ?? {}), ['resourceVersion']);
  });

  it('ends with a 410 Expired ERROR event for a compacted revision', async () => {
    const old = await s.store.revision();
    await cms().create({ metadata: { name: 'compact-me', namespace: 'default' } });
    await s.store.compact(await s.store.revision());
    const events: Array<TypedWatchEvent<KubeObject>> = [];
    const w = await cms().watch({ namespace: 'default', resourceVersion: String(old - 1) }, (e) =>
      events.push(e),
    );
    await w.done;
    assert.equal(events.length, 1);
    assert.equal(events[0].type, 'ERROR');
    const st = events[0].object as unknown as { code: number; reason: string; message: string };
    assert.equal(st.code, 410);
    assert.equal(st.reason, 'Expired');
    assert.match(st.message, /^too old resource version: \d+ \(\d+\)$/);
  });

  it('fans one store watch out to many watchers, each seeing every event', async () => {
    const rv = (await cms().list({ namespace: 'default' })).metadata.resourceVersion;
    const counts = new Array<number>(50).fill(0);
    const sessions = await Promise.all(
      counts.map((_, i) => cms().watch({ namespace: 'default', resourceVersion: rv }, () => counts[i]++)),
    );
    for (let i = 0; i < 20; i++) await cms().create({ metadata: { name: `fan-${i}`, namespace: 'default' } });
    await until('all events', () => counts.every((c) => c === 20));
    for (const x of sessions) x.stop();
  });
});

describe('deletion and controllers', () => {
  it('holds an object with finalizers until they are removed', async () => {
    await cms().create({ metadata: { name: 'fin', namespace: 'default', finalizers: ['example.com/hold'] } });
    const r = await cms().delete('fin', { namespace: 'default' });
    assert.equal(r.deleted, false);
    assert.ok(r.object.metadata?.deletionTimestamp);
    assert.equal(r.object.metadata?.deletionGracePeriodSeconds, 0);
    const cur = await cms().get('fin', { namespace: 'default' });
    await assert.rejects(
      cms().update({ ...cur, metadata: { ...cur.metadata, finalizers: ['example.com/hold', 'new/one'] } }),
      (e) => isKubeError(e, 'Invalid'),
    );
    await cms().update({ ...cur, metadata: { ...cur.metadata, finalizers: [] } });
    await assert.rejects(cms().get('fin', { namespace: 'default' }), (e) => isKubeError(e, 'NotFound'));
  });

  const owned = async (owner: string, dependent: string) => {
    const o = await cms().create({ metadata: { name: owner, namespace: 'default' } });
    await cms().create({
      metadata: {
        name: dependent,
        namespace: 'default',
        ownerReferences: [
          {
            apiVersion: 'v1',
            kind: 'ConfigMap',
            name: owner,
            uid: o.metadata!.uid!,
            blockOwnerDeletion: true,
          },
        ],
      },
    });
  };
  const exists = async (name: string) => {
    try {
      await cms().get(name, { namespace: 'default' });
      return true;
    } catch (e) {
      if (isKubeError(e, 'NotFound')) return false;
      throw e;
    }
  };

  it('collects dependents in the background', async () => {
    await owned('bg-owner', 'bg-dep');
    await cms().delete('bg-owner', { namespace: 'default', propagationPolicy: 'Background' });
    await until('dependent collected', async () => !(await exists('bg-dep')));
  });

  it('orphans dependents with the orphan finalizer', async () => {
    await owned('or-owner', 'or-dep');
    const r = await cms().delete('or-owner', { namespace: 'default', propagationPolicy: 'Orphan' });
    assert.deepEqual(r.object.metadata?.finalizers, ['orphan']);
    await until('owner gone', async () => !(await exists('or-owner')));
    const dep = await cms().get('or-dep', { namespace: 'default' });
    assert.equal(dep.metadata?.ownerReferences, undefined);
  });

  it('deletes in the foreground: the owner waits for its dependents', async () => {
    await owned('fg-owner', 'fg-dep');
    await cms().update({
      ...(await cms().get('fg-dep', { namespace: 'default' })),
      metadata: {
        ...(await cms().get('fg-dep', { namespace: 'default' })).metadata,
        finalizers: ['example.com/slow'],
      },
    });
    const r = await cms().delete('fg-owner', { namespace: 'default', propagationPolicy: 'Foreground' });
    assert.deepEqual(r.object.metadata?.finalizers, ['foregroundDeletion']);
    await until(
      'dependent marked',
      async () => !!(await cms().get('fg-dep', { namespace: 'default' })).metadata?.deletionTimestamp,
    );
    assert.ok(await exists('fg-owner'), 'the owner stays while a blocking dependent exists');
    const dep = await cms().get('fg-dep', { namespace: 'default' });
    await cms().update({ ...dep, metadata: { ...dep.metadata, finalizers: [] } });
    await until('owner gone', async () => !(await exists('fg-owner')));
  });

  it('empties a deleted namespace, then removes it', async () => {
    const nss = s.client.resource('v1', 'namespaces');
    await nss.create({ metadata: { name: 'doomed' } });
    await cms().create({ metadata: { name: 'a', namespace: 'doomed' } });
    await s.client
      .resource('apps/v1', 'deployments')
      .create({ ...deployment('d'), metadata: { name: 'd', namespace: 'doomed' } });
    await cms().create({ metadata: { name: 'held', namespace: 'doomed', finalizers: ['example.com/hold'] } });
    const first = await nss.delete('doomed');
    assert.equal(first.deleted, false);
    assert.equal((first.object.status as { phase: string }).phase, 'Terminating');
    await assert.rejects(cms().create({ metadata: { name: 'late', namespace: 'doomed' } }), (e) => {
      assert.ok(isKubeError(e, 'Forbidden'));
      assert.equal(
        e.message,
        'configmaps "late" is forbidden: unable to create new content in namespace doomed because it is being terminated',
      );
      return true;
    });
    await assert.rejects(nss.delete('doomed'), (e) => {
      assert.ok(isKubeError(e, 'Conflict'));
      assert.match(e.message, /The system is ensuring all content is removed from this namespace/);
      return true;
    });
    await until(
      'the plain objects gone',
      async () => (await cms().list({ namespace: 'doomed' })).items.length === 1,
    );
    const held = await cms().get('held', { namespace: 'doomed' });
    await cms().update({ ...held, metadata: { ...held.metadata, finalizers: [] } });
    await until('namespace gone', async () => {
      try {
        await nss.get('doomed');
        return false;
      } catch (e) {
        return isKubeError(e, 'NotFound');
      }
    });
  });
});
