/**
 * The cluster store's connection, as the status bar shows it: a cluster that stops or is reset under the page
 * (Settings → Kubernetes, `berth kube reset`) reads unreachable without a reload, and connected again when it
 * answers; a context merged by an enable is found. A scripted transport stands in for the host.
 */
import assert from 'node:assert/strict';
import { afterEach, beforeEach, mock, test } from 'node:test';
import { createPinia, setActivePinia } from 'pinia';
import type { ClusterContext, ClusterContexts, ClusterRequest } from '@berth/common';
import { setClusterClient } from '../src/api/index.js';
import { ClusterClient } from '../src/api/cluster-client.js';
import type { ClusterTransport } from '../src/api/cluster-transport.js';
import type { RawResponse } from '../src/api/transport.js';
import { useClusterStore } from '../src/stores/cluster.js';

const enc = new TextEncoder();
const BERTH: ClusterContext = {
  name: 'berth',
  cluster: 'berth',
  user: 'berth',
  server: 'https://127.0.0.1:6443',
  namespace: 'default',
  auth: 'client-certificate',
};

/** A cluster that is up or down (the API server refuses connections, as a stopped berth-kube does). */
class ScriptedCluster {
  up = true;
  contexts: ClusterContext[] = [BERTH];
  readonly paths: string[] = [];
  transport(): ClusterTransport {
    return {
      kind: 'web',
      contexts: async (): Promise<ClusterContexts> => ({
        contexts: this.contexts,
        ...(this.contexts[0] ? { current: this.contexts[0].name } : {}),
        files: [],
        problems: [],
      }),
      request: async (req: ClusterRequest): Promise<RawResponse> => {
        this.paths.push(req.path);
        if (!this.up) throw new Error('connect ECONNREFUSED 127.0.0.1:6443');
        const body =
          req.path === '/version' ? { major: '1', minor: '32', gitVersion: 'v1.32.0' } : { items: [] };
        return { status: 200, headers: {}, body: enc.encode(JSON.stringify(body)) };
      },
      stream: () => ({ write: () => undefined, close: () => undefined }),
      portForwards: async () => [],
      startPortForward: () => Promise.reject(new Error('not here')),
      stopPortForward: async () => undefined,
    };
  }
}

/** Lets the store's awaits run (setImmediate is not among the mocked timers). */
const settle = async () => {
  for (let i = 0; i < 5; i++) await new Promise((r) => setImmediate(r));
};

let cluster: ScriptedCluster;
beforeEach(() => {
  setActivePinia(createPinia());
  cluster = new ScriptedCluster();
  setClusterClient(new ClusterClient(cluster.transport()));
  mock.timers.enable({ apis: ['setTimeout'] });
});
afterEach(() => {
  useClusterStore().stop();
  mock.timers.reset();
});

test('a cluster that goes away under the page reads unreachable, then connected when it answers again', async () => {
  const store = useClusterStore();
  await store.connect();
  assert.equal(store.connection, 'connected');
  assert.equal(store.version, 'v1.32.0');

  // Reset or disable: nothing asks the cluster, yet within one probe interval the state says so.
  cluster.up = false;
  mock.timers.tick(10_000);
  await settle();
  assert.equal(store.connection, 'unreachable');
  assert.match(store.error ?? '', /ECONNREFUSED/);

  // Still down: asked again sooner, still unreachable.
  mock.timers.tick(3_000);
  await settle();
  assert.equal(store.connection, 'unreachable');

  // Enabled again: connected anew, the namespaces read again.
  cluster.up = true;
  const before = cluster.paths.length;
  mock.timers.tick(3_000);
  await settle();
  assert.equal(store.connection, 'connected');
  assert.ok(cluster.paths.slice(before).includes('/api/v1/namespaces'), cluster.paths.join(' '));
});

test('check() answers at once (Settings → Kubernetes asks during an action), and stop() ends the probes', async () => {
  const store = useClusterStore();
  await store.connect();
  cluster.up = false;
  await store.check();
  assert.equal(store.connection, 'unreachable');
  store.stop();
  const asked = cluster.paths.length;
  mock.timers.tick(60_000);
  await settle();
  assert.equal(cluster.paths.length, asked, 'no request after stop()');
});

test('no context at first: one an enable merges into the kubeconfig is found and connected', async () => {
  cluster.contexts = [];
  const store = useClusterStore();
  await store.connect();
  assert.equal(store.connection, 'none');
  cluster.contexts = [BERTH];
  await store.check();
  assert.equal(store.context, 'berth');
  assert.equal(store.connection, 'connected');
});
