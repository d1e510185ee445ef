/**
 * What every kubelet test sets up and tears down: a berthd with busybox and berth-app pulled, berth-kube with its
 * kubelet over it (its own node, pod network and subnet), and the pod helpers they all write (a pod manifest,
 * apply, a pod's events, waiting for Running). destroy() leaves no pod container, network or process behind.
 */
import { after, before } from 'node:test';
import { startContainerDaemon, type ContainerTestEnv } from './container-daemon.js';
import { IS_ROOT, requirement } from './env.js';
import {
  haveKubectl,
  KUBECTL,
  startKubeCluster,
  until,
  type KubeCluster,
  type KubeClusterOptions,
} from './kube-cluster.js';

/** The fields of a pod these tests read to wait for it; each test's own Pod type extends it. */
export interface RunningPod {
  status: {
    phase: string;
    containerStatuses?: Array<{ restartCount: number; state: { running?: object } }>;
  };
}

export interface PodCluster {
  env: ContainerTestEnv;
  kube: KubeCluster;
  node: string;
  /** A Pod in `default` on this node (labels app=<name>, a 2 s grace period unless `spec` says otherwise), as JSON. */
  podJson(name: string, spec: object, meta?: object): string;
  /** `kubectl apply -f -` of a manifest (an object or its JSON). */
  apply(manifest: object | string): Promise<string>;
  /** The events about `name` (a Pod unless `kind` says otherwise; any kind when it is null). */
  events<E>(name: string, kind?: string | null): Promise<E[]>;
  /** Waits until the pod is Running with every container running and restarted at least `restarts` times. */
  running<P extends RunningPod>(name: string, restarts?: number, ms?: number): Promise<P>;
  /** Waits until the node reports Ready (the kubelet's first status). */
  nodeReady(): Promise<void>;
  /** Force-deletes the pods (in `namespace`), stops berth-kube, removes what the kubelet left in berthd, stops it. */
  destroy(namespace?: string): Promise<void>;
}

export type PodClusterOptions = Omit<KubeClusterOptions, 'engineSocket'>;

export async function startPodCluster(o: PodClusterOptions): Promise<PodCluster> {
  const env = await startContainerDaemon();
  let kube: KubeCluster;
  try {
    kube = await startKubeCluster({ ...o, engineSocket: env.d.socket });
  } catch (e) {
    await env.d.destroy();
    throw e;
  }
  const c: PodCluster = {
    env,
    kube,
    node: o.nodeName,
    podJson: (name, spec, meta = {}) =>
      JSON.stringify({
        apiVersion: 'v1',
        kind: 'Pod',
        metadata: { name, namespace: 'default', labels: { app: name }, ...meta },
        spec: { nodeName: o.nodeName, terminationGracePeriodSeconds: 2, ...spec },
      }),
    apply: (m) => kube.k(['apply', '-f', '-'], { input: typeof m === 'string' ? m : JSON.stringify(m) }),
    async events<E>(name: string, kind: string | null = 'Pod') {
      const selector = `involvedObject.name=${name}${kind ? `,involvedObject.kind=${kind}` : ''}`;
      return (await kube.json<{ items: E[] }>(['get', 'events', '--field-selector', selector])).items;
    },
    running: <P extends RunningPod>(name: string, restarts = 0, ms?: number) =>
      until(
        `${name} running`,
        async () => {
          const p = await kube.json<P>(['get', 'pod', name]);
          return p.status.phase === 'Running' &&
            p.status.containerStatuses?.every((s) => s.state.running && s.restartCount >= restarts)
            ? p
            : undefined;
        },
        ms,
      ),
    async nodeReady() {
      await until('node Ready', async () => {
        const n = await kube.json<{ status: { conditions?: Array<{ type: string; status: string }> } }>([
          'get',
          'node',
          o.nodeName,
        ]);
        return n.status.conditions?.some((x) => x.type === 'Ready' && x.status === 'True');
      });
    },
    async destroy(namespace = 'default') {
      await kube.kubectl(['-n', namespace, 'delete', 'pods', '--all', '--grace-period=0', '--force']);
      await kube.destroy();
      const d = c.env.d;
      const ids = (await d.docker(['ps', '-aq', '--filter', 'label=io.kubernetes.pod.uid'])).stdout
        .split('\n')
        .filter(Boolean);
      if (ids.length) await d.docker(['rm', '-f', ...ids]);
      await d.request('DELETE', `/networks/${o.podNetwork}`);
      await d.destroy();
    },
  };
  return c;
}

/** A busybox container running `script` (the image every test daemon has pulled). */
export const busybox = (name: string, script: string) => ({
  name,
  image: 'busybox',
  imagePullPolicy: 'IfNotPresent',
  command: ['sh', '-c', script],
});

/** Why a suite driving kubectl at real pods cannot run here (berthd needs root; kubectl 1.32), else undefined. */
export const podSuiteSkip = (): string | undefined =>
  requirement(IS_ROOT, 'running pods needs root (berthd)') ??
  requirement(haveKubectl(), `${KUBECTL} is not installed`);

/**
 * The cluster of one describe() that drives kubectl at pods: started in its before() with the node Ready; in its
 * after(), `kubectl delete <cleanup>` (what the suite made, not waited for), then everything torn down. `c` and
 * `kube` stand for the cluster once before() has run (they forward to it), so tests use them as they would a
 * variable the before() assigned.
 */
export function podClusterSuite(o: PodClusterOptions & { cleanup: string[] }): {
  c: PodCluster;
  kube: KubeCluster;
} {
  let cluster: PodCluster | undefined;
  const { cleanup, ...opts } = o;
  before(async () => {
    cluster = await startPodCluster(opts);
    await cluster.nodeReady();
  });
  after(async () => {
    await cluster?.kube.kubectl(['delete', ...cleanup]);
    await cluster?.destroy();
  });
  const forward = <T extends object>(of: () => T): T =>
    new Proxy({} as T, {
      get(_, key) {
        if (!cluster) throw new Error('the pod cluster is not started yet (use it inside a test)');
        const target = of();
        const v: unknown = Reflect.get(target, key);
        return typeof v === 'function' ? (v as (...a: unknown[]) => unknown).bind(target) : v;
      },
    });
  return { c: forward(() => cluster!), kube: forward(() => cluster!.kube) };
}
