/**
 * @kubernetes/client-node 1.1 (API level 1.32) against the API server: typed list and create, and an informer
 * that lists, watches, resumes after its stream ends, and relists after the 410 a compacted revision gives.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import {
  CoreV1Api,
  KubeConfig,
  makeInformer,
  type ObjectCache,
  type V1ConfigMap,
} from '@kubernetes/client-node';
import { startTestServer, type TestServer } from './helpers/apiserver.js';

let s: TestServer;
let kc: KubeConfig;
before(async () => {
  s = await startTestServer();
  kc = new KubeConfig();
  kc.loadFromFile(s.kubeconfig);
});
after(async () => {
  await s.stop();
});

const until = async (what: string, cond: () => boolean, ms = 10_000): Promise<void> => {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
};

describe('@kubernetes/client-node', () => {
  it('lists and creates through the typed API', async () => {
    const core = kc.makeApiClient(CoreV1Api);
    const ns = await core.listNamespace();
    assert.ok(ns.items.some((n) => n.metadata?.name === 'kube-system'));
    const created = await core.createNamespacedConfigMap({
      namespace: 'default',
      body: { metadata: { name: 'from-js' }, data: { a: '1' } },
    });
    assert.equal(created.metadata?.name, 'from-js');
    await assert.rejects(
      core.createNamespacedConfigMap({ namespace: 'default', body: { metadata: { name: 'from-js' } } }),
      (e: { code?: number }) => e.code === 409,
    );
  });

  it('keeps an informer in sync across a resumed watch and a relist after 410', async () => {
    const core = kc.makeApiClient(CoreV1Api);
    let lists = 0;
    const informer = makeInformer(
      kc,
      '/api/v1/namespaces/default/configmaps',
      () => {
        lists++;
        return core.listNamespacedConfigMap({ namespace: 'default', labelSelector: 'informed=yes' });
      },
      'informed=yes',
    );
    const seen = new Set<string>();
    const gone = new Set<string>();
    informer.on('add', (o: V1ConfigMap) => seen.add(o.metadata!.name!));
    informer.on('delete', (o: V1ConfigMap) => gone.add(o.metadata!.name!));
    await informer.start();
    const cm = (name: string) => ({ metadata: { name, labels: { informed: 'yes' } } });
    await core.createNamespacedConfigMap({ namespace: 'default', body: cm('i1') });
    await until('i1 added', () => seen.has('i1'));
    assert.equal(lists, 1);

    // The stream ends (as at a timeout): the informer resumes from its resourceVersion, no relist.
    s.hub.interrupt();
    await core.createNamespacedConfigMap({ namespace: 'default', body: cm('i2') });
    await until('i2 added', () => seen.has('i2'));
    assert.equal(lists, 1);

    // Its revision compacted away while the stream is down: the watch answers 410 and the informer relists.
    await s.client.resource('v1', 'secrets').create({ metadata: { name: 'advance', namespace: 'default' } });
    await s.store.compact(await s.store.revision());
    s.hub.interrupt();
    await until('relist', () => lists >= 2);
    await core.deleteNamespacedConfigMap({ name: 'i1', namespace: 'default' });
    await core.createNamespacedConfigMap({ namespace: 'default', body: cm('i3') });
    await until('i3 added and i1 deleted', () => seen.has('i3') && gone.has('i1'));
    const cache = informer as unknown as ObjectCache<V1ConfigMap>;
    assert.deepEqual(
      cache
        .list()
        .map((o) => o.metadata?.name)
        .sort(),
      ['i2', 'i3'],
    );
    await informer.stop();
  });
});
