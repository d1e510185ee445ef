/**
 * berth-kube's controller manager: every control loop of kube-controller-manager that a one-node cluster needs,
 * built from one in-process client and one set of shared informers, started together once the informers hold
 * their first lists (a single process: no leader election), stopped together. Each controller logs as
 * `{component: "controller-manager", controller: <name>}`. `controllers` picks which run, by
 * kube-controller-manager's names (its --controllers flag), for tests that need only some.
 */
import type { Client } from '../client/index.js';
import type { Logger } from '../log.js';
import type { Controller, ControllerContext } from './framework/controller.js';
import { InformerFactory } from './framework/informer.js';
import { CronJobController } from './cronjob/controller.js';
import { DeploymentController } from './deployment/controller.js';
import { HorizontalPodAutoscalerController, type PodMetricsSource } from './hpa/controller.js';
import { JobController } from './job/controller.js';
import { TTLAfterFinishedController } from './job/ttl.js';
import { EndpointsController } from './endpoints/controller.js';
import { GarbageCollector } from './garbage-collector.js';
import { NamespaceController } from './namespace.js';
import { ResourceQuotaController, type QuotaStorage } from './resource-quota.js';
import { StatefulSetController } from './statefulset/controller.js';
import { DaemonSetController } from './daemonset/controller.js';
import { NodeLifecycleController } from './nodelifecycle/controller.js';
import { REPLICATION_CONTROLLER, ReplicaSetController } from './replicaset/replicaset.js';
import { RootCAPublisher, ServiceAccountsController } from './serviceaccounts.js';
import { PersistentVolumeBinder } from './volume/binder.js';
import { EphemeralVolumeController } from './volume/ephemeral.js';
import { LocalPathProvisioner, type VolumeEngine } from './volume/local-path.js';
import { PvcProtectionController, PvProtectionController } from './volume/protection.js';

export interface ControllerManagerOptions {
  client: Client;
  log: Logger;
  /** Informer resync period (default 5 minutes, tests shorten it). */
  resyncMs?: number;
  now?: () => number;
  /** The cluster CA (PEM) the root CA publisher puts in every namespace; without it that controller does not run. */
  rootCAPem?: string;
  podMetrics?: PodMetricsSource;
  /** The autoscaler's period (default 15 s, tests shorten it). */
  hpaSyncMs?: number;
  /** berthd's volumes: with it the `local-path` provisioner runs. */
  engine?: VolumeEngine;
  /** What the resource-quota controller counts from (the API server's own storage, as admission does). */
  quotaStorage?: QuotaStorage;
  /** Which controllers run, as kube-controller-manager's --controllers: `name`, `-name`, `*` (the default). */
  controllers?: readonly string[];
}

export class ControllerManager {
  readonly informers: InformerFactory;
  readonly controllers: Controller[];
  private readonly byName = new Map<string, Controller>();
  /** metrics.k8s.io for the autoscaler (set once the kubelet runs). */
  podMetrics?: PodMetricsSource;

  constructor(o: ControllerManagerOptions) {
    const log = o.log;
    this.podMetrics = o.podMetrics;
    this.informers = new InformerFactory(
      o.client,
      log.child({ component: 'informers' }),
      o.resyncMs ?? 300_000,
    );
    const ctx: ControllerContext = {
      client: o.client,
      informers: this.informers,
      log,
      now: o.now ?? Date.now,
    };
    const own = (name: string) => log.child({ controller: name });
    const all: Array<[string, () => Controller]> = [
      ['deployment', () => new DeploymentController(ctx)],
      ['replicaset', () => new ReplicaSetController(ctx)],
      ['replicationcontroller', () => new ReplicaSetController(ctx, REPLICATION_CONTROLLER)],
      ['job', () => new JobController(ctx)],
      ['ttl-after-finished', () => new TTLAfterFinishedController(ctx)],
      ['cronjob', () => new CronJobController(ctx)],
      [
        'horizontalpodautoscaling',
        () => new HorizontalPodAutoscalerController(ctx, () => this.podMetrics, o.hpaSyncMs),
      ],
      ['serviceaccount', () => new ServiceAccountsController(ctx)],
      ['garbagecollector', () => new GarbageCollector(o.client, own('garbagecollector'))],
      ['namespace', () => new NamespaceController(o.client, own('namespace'))],
      ['endpointslice', () => new EndpointsController(o.client, own('endpointslice'))],
      ['persistentvolume-binder', () => new PersistentVolumeBinder(ctx)],
      ['pvc-protection', () => new PvcProtectionController(ctx)],
      ['pv-protection', () => new PvProtectionController(ctx)],
      ['statefulset', () => new StatefulSetController(ctx)],
      ['daemonset', () => new DaemonSetController(ctx)],
      ['nodelifecycle', () => new NodeLifecycleController(ctx)],
      ['ephemeral-volume', () => new EphemeralVolumeController(ctx)],
    ];
    if (o.rootCAPem) {
      const pem = o.rootCAPem;
      all.push(['root-ca-cert-publisher', () => new RootCAPublisher(ctx, pem)]);
    }
    if (o.engine) {
      const engine = o.engine;
      all.push(['local-path-provisioner', () => new LocalPathProvisioner(ctx, engine)]);
    }
    if (o.quotaStorage) {
      const storage = o.quotaStorage;
      all.push(['resourcequota', () => new ResourceQuotaController(storage, own('resourcequota'))]);
    }
    const wanted = new Set(o.controllers ?? ['*']);
    const runs = (name: string) => !wanted.has(`-${name}`) && (wanted.has(name) || wanted.has('*'));
    this.controllers = all.filter(([name]) => runs(name)).map(([, make]) => make());
    for (const c of this.controllers) this.byName.set(c.name, c);
  }

  get(name: string): Controller | undefined {
    return this.byName.get(name);
  }

  async start(): Promise<void> {
    await this.informers.start();
    for (const c of this.controllers) await c.start();
  }

  stop(): void {
    for (const c of this.controllers) c.stop();
    this.informers.stop();
  }

  /** Resolves when every controller's queue is empty (tests). */
  async idle(): Promise<void> {
    await Promise.all(this.controllers.map((c) => c.idle()));
  }
}

export async function startControllerManager(o: ControllerManagerOptions): Promise<ControllerManager> {
  const m = new ControllerManager({ ...o, log: o.log.child({ component: 'controller-manager' }) });
  await m.start();
  return m;
}
