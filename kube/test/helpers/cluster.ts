/**
 * An in-process API server with the controller manager (and, when asked, the scheduler) running over it, one
 * Node, and a stand-in kubelet for controller tests: it writes the status a real kubelet would write for pods
 * bound to the node (Running and Ready; Succeeded or Failed when the pod's `test.berth.dev/exit` annotation says
 * so; not Ready under `test.berth.dev/ready: "false"`) and finishes graceful deletions. End-to-end tests with
 * real containers use the real kubelet instead.
 */
import { ControllerManager } from '../../src/controllers/manager.js';
import { Scheduler } from '../../src/scheduler/index.js';
import type { Pod } from '../../src/controllers/framework/types.js';
import { createLogger } from '../../src/log.js';
import type { KubeObject } from '../../src/registry/types.js';
import type { WatchSession } from '../../src/registry/generic/context.js';
import { isKubeError } from '../../src/errors.js';
import { SERVER_CONTROLLERS, startTestServer, type TestServer } from './apiserver.js';

export const NODE = 'berth-test';

export interface TestCluster {
  s: TestServer;
  cm: ControllerManager;
  scheduler?: Scheduler;
  kubelet: FakeKubelet;
  /** Waits until controllers and the fake kubelet are quiet. */
  settle(): Promise<void>;
  /** Stops the controllers and the scheduler, runs `meanwhile`, then starts new ones (a control-plane restart). */
  restart(meanwhile?: () => Promise<void>): Promise<void>;
  stop(): Promise<void>;
}

export function nodeObject(name = NODE, extra: Partial<KubeObject> = {}): KubeObject {
  return {
    apiVersion: 'v1',
    kind: 'Node',
    metadata: { name, labels: { 'kubernetes.io/hostname': name, 'kubernetes.io/os': 'linux' } },
    spec: {},
    status: {
      capacity: { cpu: '4', memory: '8Gi', pods: '110', 'ephemeral-storage': '100Gi' },
      allocatable: { cpu: '4', memory: '8Gi', pods: '110', 'ephemeral-storage': '100Gi' },
      conditions: [
        {
          type: 'Ready',
          status: 'True',
          reason: 'KubeletReady',
          message: 'kubelet is posting ready status',
          lastHeartbeatTime: new Date().toISOString().replace(/\.\d+Z$/, 'Z'),
          lastTransitionTime: new Date().toISOString().replace(/\.\d+Z$/, 'Z'),
        },
      ],
      addresses: [{ type: 'InternalIP', address: '127.0.0.1' }],
    },
    ...extra,
  };
}

const rfc = () => new Date().toISOString().replace(/\.\d+Z$/, 'Z');

export class FakeKubelet {
  private session?: WatchSession;
  private pending = 0;
  private ip = 1;
  /** Set false to leave pods as they are (a node that stopped reporting). */
  enabled = true;

  constructor(
    private readonly s: TestServer,
    private readonly node = NODE,
  ) {}

  async start(): Promise<void> {
    this.session = await this.s.client
      .resource<Pod>('v1', 'pods')
      .watch({ fieldSelector: `spec.nodeName=${this.node}` }, (e) => {
        if (e.type !== 'ADDED' && e.type !== 'MODIFIED') return;
        this.pending++;
        void this.handle(e.object)
          .catch(() => undefined)
          .finally(() => this.pending--);
      });
  }

  stop(): void {
    this.session?.stop();
  }

  async idle(): Promise<void> {
    while (this.pending) await new Promise((r) => setTimeout(r, 5));
  }

  private async handle(p: Pod): Promise<void> {
    if (!this.enabled) return;
    const pods = this.s.client.resource<Pod>('v1', 'pods');
    const ns = p.metadata?.namespace ?? '';
    const name = p.metadata?.name ?? '';
    if (p.metadata?.deletionTimestamp) {
      await pods.delete(name, {
        namespace: ns,
        gracePeriodSeconds: 0,
        preconditions: { uid: p.metadata.uid! },
      });
      return;
    }
    const phase = p.status?.phase;
    if (phase === 'Succeeded' || phase === 'Failed') return;
    const exit = p.metadata?.annotations?.['test.berth.dev/exit'];
    const ready = exit === undefined && p.metadata?.annotations?.['test.berth.dev/ready'] !== 'false';
    const want = exit === undefined ? 'Running' : exit === '0' ? 'Succeeded' : 'Failed';
    if (
      phase === want &&
      (p.status?.conditions ?? []).some((c) => c.type === 'Ready' && (c.status === 'True') === ready)
    )
      return;
    const now = rfc();
    const cond = (type: string, status: boolean, reason?: string) => ({
      type,
      status: status ? 'True' : 'False',
      lastProbeTime: null,
      lastTransitionTime: now,
      ...(reason ? { reason } : {}),
    });
    const containers = (p.spec?.containers ?? []).map((c) => ({
      name: c.name,
      image: c.image,
      imageID: '',
      ready,
      restartCount: 0,
      started: want === 'Running',
      state:
        want === 'Running'
          ? { running: { startedAt: now } }
          : {
              terminated: {
                exitCode: Number(exit),
                reason: exit === '0' ? 'Completed' : 'Error',
                startedAt: now,
                finishedAt: now,
              },
            },
    }));
    const ip = p.status?.podIP ?? `10.216.0.${(this.ip++ % 250) + 2}`;
    const status = {
      ...p.status,
      phase: want,
      hostIP: '127.0.0.1',
      podIP: ip,
      podIPs: [{ ip }],
      startTime: p.status?.startTime ?? now,
      conditions: [
        cond('PodReadyToStartContainers', want === 'Running'),
        cond('Initialized', true),
        cond('Ready', ready, ready ? undefined : want === 'Running' ? 'ContainersNotReady' : 'PodCompleted'),
        cond(
          'ContainersReady',
          ready,
          ready ? undefined : want === 'Running' ? 'ContainersNotReady' : 'PodCompleted',
        ),
        ...(p.status?.conditions ?? []).filter((c) => c.type === 'PodScheduled'),
      ],
      containerStatuses: containers,
    };
    try {
      await pods.updateStatus({ ...p, status } as Pod);
    } catch (e) {
      if (!isKubeError(e, 'Conflict') && !isKubeError(e, 'NotFound')) throw e;
    }
  }
}

/** Binds every unbound pod to the node (for tests that run controllers without the scheduler). */
export async function bindAll(s: TestServer, node = NODE): Promise<WatchSession> {
  return s.client.resource<Pod>('v1', 'pods').watch({ fieldSelector: 'spec.nodeName=' }, (e) => {
    if (e.type !== 'ADDED') return;
    const m = e.object.metadata ?? {};
    void s.client.bindPod(m.namespace ?? '', m.name ?? '', node).catch(() => undefined);
  });
}

export async function startTestCluster(
  o: { resyncMs?: number; scheduler?: boolean; now?: () => number; hpaSyncMs?: number } = {},
): Promise<TestCluster> {
  const s = await startTestServer();
  await s.client.resource('v1', 'nodes').create(nodeObject());
  const loops = async () => {
    const cm = new ControllerManager({
      client: s.client.as({
        user: { name: 'system:kube-controller-manager', groups: ['system:masters', 'system:authenticated'] },
        fieldManager: 'kube-controller-manager',
      }),
      log: createLogger().child({ component: 'controller-manager' }),
      resyncMs: o.resyncMs ?? 60_000,
      ...(o.now ? { now: o.now } : {}),
      ...(o.hpaSyncMs ? { hpaSyncMs: o.hpaSyncMs } : {}),
      // The test server runs those already.
      controllers: ['*', ...SERVER_CONTROLLERS.map((n) => `-${n}`)],
    });
    await cm.start();
    let scheduler: Scheduler | undefined;
    if (o.scheduler !== false) {
      scheduler = new Scheduler({
        client: s.client.as({
          user: { name: 'system:kube-scheduler', groups: ['system:masters'] },
          fieldManager: 'default-scheduler',
        }),
        informers: cm.informers,
        log: createLogger().child({ component: 'scheduler' }),
        backoffMs: 50,
      });
      await scheduler.start();
    }
    return { cm, scheduler };
  };
  const first = await loops();
  const binder = o.scheduler === false ? await bindAll(s) : undefined;
  const kubelet = new FakeKubelet(s);
  await kubelet.start();
  const cluster: TestCluster = {
    s,
    cm: first.cm,
    ...(first.scheduler ? { scheduler: first.scheduler } : {}),
    kubelet,
    settle: async () => {
      for (let i = 0; i < 3; i++) {
        await new Promise((r) => setTimeout(r, 20));
        await cluster.scheduler?.idle();
        await cluster.cm.idle();
        await kubelet.idle();
      }
    },
    restart: async (meanwhile) => {
      await cluster.scheduler?.stop();
      cluster.cm.stop();
      await meanwhile?.();
      const next = await loops();
      cluster.cm = next.cm;
      if (next.scheduler) cluster.scheduler = next.scheduler;
    },
    stop: async () => {
      binder?.stop();
      kubelet.stop();
      await cluster.scheduler?.stop();
      cluster.cm.stop();
      await s.stop();
    },
  };
  return cluster;
}

export { until } from './apiserver.js';
