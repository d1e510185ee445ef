/**
 * The kubelet, assembled: its own identity (`system:node:<node>`, group `system:nodes`), the Node and its Lease, the
 * pod informer (pods bound to this node) and watch caches of ConfigMaps, Secrets and Services, a pod worker per
 * pod, the probe workers, the engine watch, and the pods/log and metrics.k8s.io endpoints. Pods run as berthd
 * containers through the EngineRuntime. At each (re)connection to berthd the kubelet adopts the pods it finds by
 * uid, removes those the API server no longer has, and resyncs everything; stopping it (or `kill -9`) leaves pods
 * running for the next start to adopt.
 *
 * Seam for the stream protocols (exec, attach, port-forward): `kubelet.runtime` (PodRuntime) and `kubelet.pod()`.
 */
import { promises as fsp } from 'node:fs';
import path from 'node:path';
import type { RunningApiServer } from '../apiserver/index.js';
import type { Client, ClientIdentity } from '../client/index.js';
import type { Logger } from '../log.js';
import { EngineClient } from './engine/client.js';
import { describeError, EngineWatch } from './engine-watch.js';
import { EventRecorder } from './events.js';
import { Informer } from './informer.js';
import { logsConnector } from './logs-connector.js';
import {
  listPodMetrics,
  metricsKey,
  metricsTypes,
  nodeMetricsConnector,
  podMetricsConnector,
  type MetricsDeps,
} from './metrics-api.js';
import type { LabelSelector } from '../selectors/labels.js';
import { defaultNodeIP } from './node/host.js';
import { NodeAgent } from './node/node-agent.js';
import { allocatableOf, InputsResolver } from './pod-inputs.js';
import { PodWorkers } from './pod-workers.js';
import { ProbeManager } from './prober.js';
import { EngineRuntime } from './runtime.js';
import { DEFAULT_POD_NETWORK, type PodNetworkConfig } from './sandbox.js';
import type { Service } from './service-env.js';
import { TokenManager } from './token.js';
import type { ConfigMap, Pod, Secret } from './types.js';

export interface KubeletOptions {
  api: RunningApiServer;
  /** unix:///path/to/berthd.sock */
  engine: string;
  nodeName: string;
  /** The node's InternalIP (default: the address of the default route's interface). */
  nodeIP?: string;
  /** The kubelet's directory (pod volumes, etc-hosts, termination logs). */
  rootDir: string;
  clusterDns?: string[];
  clusterDomain?: string;
  podNetwork?: PodNetworkConfig;
  log: Logger;
  /** CrashLoopBackOff / image pull back-off (default 10 s doubling to 5 min). */
  backoff?: { initialMs: number; maxMs: number };
  /**
   * Full sync of every pod at least this often (default 5 min). Changes are seen sooner: berthd's events at once,
   * and a relist of every pod container (one engine call) every relistMs (default 10 s), as the kubelet's PLEG.
   */
  resyncMs?: number;
  relistMs?: number;
  statusEveryMs?: number;
  leaseEveryMs?: number;
}

export const DEFAULT_CLUSTER_DNS = '10.43.0.10';

export function nodeIdentity(nodeName: string): ClientIdentity {
  return {
    user: { name: `system:node:${nodeName}`, groups: ['system:nodes', 'system:authenticated'] },
    fieldManager: 'kubelet',
  };
}

export class Kubelet {
  readonly runtime: EngineRuntime;
  readonly client: Client;
  readonly recorder: EventRecorder;
  readonly workers: PodWorkers;
  readonly node: NodeAgent;
  private readonly pods: Informer<Pod>;
  private readonly informers: Informer<ConfigMap | Secret | Service>[] = [];
  private readonly prober: ProbeManager;
  private readonly watch: EngineWatch;
  private engineUp = false;
  private relistTimer?: NodeJS.Timeout;
  /** The last relist's view (undefined before the first: nothing to compare with). */
  private lastStates?: Map<string, string>;
  private reconciling?: Promise<void>;
  private readonly log: Logger;
  private metrics?: MetricsDeps;

  constructor(
    private readonly o: KubeletOptions,
    readonly nodeName: string,
    nodeIP: string,
  ) {
    this.log = o.log;
    this.client = o.api.client(nodeIdentity(nodeName));
    this.recorder = new EventRecorder(this.client, nodeName, o.log.child({ component: 'events' }));
    const engine = new EngineClient(o.engine);
    const network = o.podNetwork ?? DEFAULT_POD_NETWORK;
    this.runtime = new EngineRuntime({
      engine,
      root: o.rootDir,
      nodeName,
      hostIP: nodeIP,
      network,
      record: (pod, e) => this.recorder.pod(pod, e),
      ...(o.backoff ? { backoff: o.backoff } : {}),
    });
    this.node = new NodeAgent({
      client: this.client,
      engine,
      nodeName,
      nodeIP,
      rootDir: o.rootDir,
      podCIDR: network.subnet,
      recorder: this.recorder,
      log: o.log.child({ component: 'node' }),
      probeRuntime: async () => {
        try {
          return (await engine.http.json<{ Version: string }>('GET', '/version')).Version;
        } catch (err) {
          throw new Error(`berthd at ${o.engine} does not answer: ${describeError(err)}`);
        }
      },
      ...(o.statusEveryMs ? { statusEveryMs: o.statusEveryMs } : {}),
      ...(o.leaseEveryMs ? { leaseEveryMs: o.leaseEveryMs } : {}),
    });
    const cache = <T extends ConfigMap | Secret | Service>(
      plural: string,
      kind?: 'configMaps' | 'secrets',
    ) => {
      const kick = (obj: T) => {
        if (!kind) return;
        const m = obj.metadata ?? {};
        for (const uid of this.workers.referencing(kind, m.namespace ?? 'default', m.name ?? ''))
          this.workers.kick(uid);
      };
      const inf = new Informer<T>(
        this.client.resource('v1', plural),
        {},
        { add: kick, update: kick, delete: kick },
        o.log.child({ component: `${plural}-cache` }),
      );
      this.informers.push(inf);
      return inf;
    };
    const configMaps = cache<ConfigMap>('configmaps', 'configMaps');
    const secrets = cache<Secret>('secrets', 'secrets');
    const services = cache<Service>('services');
    const tokens = new TokenManager((ns, sa, req) => o.api.tokens.request(ns, sa, req));
    const resolver = new InputsResolver({
      client: this.client,
      configMaps,
      secrets,
      services,
      tokens,
      nodeName,
      clusterDns: {
        servers: o.clusterDns ?? [DEFAULT_CLUSTER_DNS],
        domain: o.clusterDomain ?? 'cluster.local',
      },
      allocatable: () => allocatableOf(this.node.allocatable),
    });
    this.prober = new ProbeManager(
      this.runtime,
      {
        changed: (uid) => this.workers.kick(uid),
        failed: (pod, c, kind) => void this.probeFailed(pod, c.name, kind),
        unhealthy: (pod, c, message) =>
          this.recorder.pod(pod, {
            type: 'Warning',
            reason: 'Unhealthy',
            message,
            fieldPath: fieldPathOf(pod, c.name),
          }),
      },
      o.log.child({ component: 'prober' }),
    );
    this.workers = new PodWorkers({
      runtime: this.runtime,
      client: this.client,
      resolver,
      prober: this.prober,
      recorder: this.recorder,
      log: o.log.child({ component: 'pod-workers' }),
      engineUp: () => this.engineUp,
      resyncMs: o.resyncMs ?? 300_000,
      onRemoved: (uid) => tokens.forget(uid),
    });
    this.pods = new Informer<Pod>(
      this.client.resource('v1', 'pods'),
      { fieldSelector: `spec.nodeName=${nodeName}` },
      {
        add: (p) => this.workers.update(p),
        update: (p) => this.workers.update(p),
        delete: (p) => this.workers.remove(p),
      },
      o.log.child({ component: 'pod-informer' }),
    );
    this.watch = new EngineWatch(
      engine,
      o.engine,
      {
        up: (version) => {
          this.engineUp = true;
          this.node.setRuntime(true, '', version);
          void this.reconcile();
        },
        down: (reason) => {
          this.engineUp = false;
          this.node.setRuntime(false, reason);
        },
        container: (uid) => this.workers.kick(uid, 20),
      },
      o.log.child({ component: 'engine-watch' }),
    );
  }

  /** The pod object the kubelet knows, by namespace and name (the stream handlers' lookup). */
  /** PodMetrics of the running pods `sel` matches in `namespace` (the autoscaler's metrics.k8s.io, in-process). */
  podMetrics(namespace: string, sel: LabelSelector): ReturnType<typeof listPodMetrics> {
    return this.metrics ? listPodMetrics(this.metrics, namespace, sel) : Promise.resolve([]);
  }

  pod(namespace: string, name: string): Pod | undefined {
    return this.pods.list().find((p) => p.metadata?.namespace === namespace && p.metadata?.name === name);
  }

  async start(): Promise<void> {
    await this.node.start();
    for (const i of this.informers) await i.start();
    await this.pods.start();
    const api = this.o.api;
    for (const t of metricsTypes()) api.catalog.add(t);
    const metrics = (this.metrics = {
      runtime: this.runtime,
      pods: () => this.pods.list(),
      node: () => {
        const cpu = Number(this.node.allocatable?.cpu ?? 0);
        return { name: this.nodeName, cpus: cpu || 1, labels: this.node.labels };
      },
    });
    api.connectors.set('pods/log', logsConnector(this.runtime, this.nodeName));
    api.connectors.set(metricsKey('pods'), podMetricsConnector(metrics));
    api.connectors.set(metricsKey('nodes'), nodeMetricsConnector(metrics));
    this.watch.start();
    this.relistTimer = setInterval(() => void this.relist(), this.o.relistMs ?? 10_000);
    this.relistTimer.unref();
    this.log.info('kubelet started', {
      node: this.nodeName,
      engine: this.o.engine,
      pods: this.pods.list().length,
    });
  }

  /** The PLEG's relist: one list of every pod container; pods whose containers changed are synced. */
  private async relist(): Promise<void> {
    if (!this.engineUp) return;
    let states: Map<string, string>;
    try {
      states = await this.runtime.podStates();
    } catch {
      return; // the engine watch reports berthd down
    }
    const last = this.lastStates;
    this.lastStates = states;
    if (!last) return;
    for (const uid of new Set([...states.keys(), ...last.keys()]))
      if (states.get(uid) !== last.get(uid)) this.workers.kick(uid);
  }

  /** On each connection to berthd: adopt what runs, remove orphans, resync every pod. */
  private reconcile(): Promise<void> {
    this.reconciling ??= (async () => {
      try {
        const keep = new Set([...this.pods.list().map((p) => p.metadata!.uid!), ...this.workers.uids()]);
        const running = await this.runtime.listPods();
        const adopted = running.filter((p) => keep.has(p.uid));
        const removed = await this.runtime.removeOrphans(keep);
        await this.runtime.prepare();
        if (adopted.length || removed.length)
          this.log.info('pods found in berthd', {
            adopted: adopted.map((p) => `${p.namespace}/${p.name}`),
            removedOrphans: removed.length,
          });
      } catch (err) {
        this.log.warn('reconciling with berthd failed; pods resync anyway', {
          error: (err as Error).message,
        });
      } finally {
        this.reconciling = undefined;
      }
      this.workers.kickAll();
    })();
    return this.reconciling;
  }

  private async probeFailed(pod: Pod, name: string, kind: 'liveness' | 'startup'): Promise<void> {
    const c = [...(pod.spec?.initContainers ?? []), ...(pod.spec?.containers ?? [])].find(
      (x) => x.name === name,
    );
    const probe = kind === 'liveness' ? c?.livenessProbe : c?.startupProbe;
    const restart = (pod.spec?.restartPolicy ?? 'Always') !== 'Never';
    const message = `Container ${name} failed ${kind} probe${restart ? ', will be restarted' : ''}`;
    const grace =
      probe?.terminationGracePeriodSeconds ?? pod.spec?.terminationGracePeriodSeconds ?? undefined;
    try {
      await this.runtime.killContainer(pod, name, grace ?? undefined, message);
    } catch (err) {
      this.log.warn('killing a container that failed its probe failed', {
        pod: pod.metadata?.name,
        error: (err as Error).message,
      });
    }
    this.workers.kick(pod.metadata!.uid!);
  }

  async stop(): Promise<void> {
    clearInterval(this.relistTimer);
    this.watch.stop();
    this.node.stop();
    this.pods.stop();
    for (const i of this.informers) i.stop();
    this.prober.stop();
    this.workers.stop();
    const api = this.o.api;
    api.connectors.delete('pods/log');
    api.connectors.delete(metricsKey('pods'));
    api.connectors.delete(metricsKey('nodes'));
    for (const t of metricsTypes()) api.catalog.remove(t.group, t.version, t.plural);
    await Promise.race([this.recorder.flush(), new Promise((r) => setTimeout(r, 2000))]);
  }
}

function fieldPathOf(pod: Pod, name: string): string {
  return (pod.spec?.initContainers ?? []).some((c) => c.name === name)
    ? `spec.initContainers{${name}}`
    : `spec.containers{${name}}`;
}

export async function startKubelet(o: KubeletOptions): Promise<Kubelet> {
  await fsp.mkdir(o.rootDir, { recursive: true, mode: 0o750 });
  const nodeIP = o.nodeIP ?? (await defaultNodeIP());
  const k = new Kubelet({ ...o, rootDir: path.resolve(o.rootDir) }, o.nodeName, nodeIP);
  await k.start();
  return k;
}
