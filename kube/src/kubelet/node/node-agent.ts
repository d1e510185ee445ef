/**
 * The kubelet's node side: registers the Node (or reconciles its labels on a restart), then every
 * nodeStatusUpdateFrequency (10 s) computes its status and posts it when something changed or when
 * nodeStatusReportFrequency (5 min) has passed, as the kubelet with node leases does; renews the node's Lease in
 * kube-node-lease every 10 s (leaseDurationSeconds 40); records the node events (Starting, NodeHasSufficientMemory,
 * NodeReady/NodeNotReady...) on transitions. Whether the runtime is up comes from the kubelet (its engine watch
 * and this loop's own probe of berthd).
 */
import { isKubeError } from '../../errors.js';
import type { Client } from '../../client/index.js';
import type { Logger } from '../../log.js';
import type { KubeObject } from '../../registry/types.js';
import type { ImageSummary } from '@berth/common/api/images';
import { typedApi } from '../api.js';
import type { EngineClient } from '../engine/client.js';
import { rfc3339, type EventRecorder } from '../events.js';
import { hostFacts, memoryAvailable, pidsAvailable, type HostFacts } from './host.js';
import {
  nodeImages,
  nodeLabels,
  nodeStatus,
  statusChanged,
  type Node,
  type NodeHealth,
  type NodeStatus,
} from './node-status.js';

export interface NodeAgentOptions {
  client: Client;
  engine: EngineClient;
  nodeName: string;
  nodeIP: string;
  rootDir: string;
  podCIDR?: string;
  recorder: EventRecorder;
  log: Logger;
  /** Probe of the runtime, run with each status computation: resolves with berthd's version or throws. */
  probeRuntime(): Promise<string>;
  statusEveryMs?: number;
  reportEveryMs?: number;
  leaseEveryMs?: number;
}

const LEASE_NS = 'kube-node-lease';
const LEASE_SECONDS = 40;

const EVENT_REASONS: Record<string, [string, string]> = {
  MemoryPressure: ['NodeHasInsufficientMemory', 'NodeHasSufficientMemory'],
  DiskPressure: ['NodeHasDiskPressure', 'NodeHasNoDiskPressure'],
  PIDPressure: ['NodeHasInsufficientPID', 'NodeHasSufficientPID'],
  Ready: ['NodeReady', 'NodeNotReady'],
};

/** metav1.MicroTime as the API prints it. */
const microTime = (d: Date): string => d.toISOString().replace(/\.(\d{3})Z$/, '.$1000Z');

export class NodeAgent {
  private node?: Node;
  private facts?: HostFacts;
  private runtimeVersion = '';
  private runtimeError?: string = 'not yet probed';
  private lastReport = 0;
  private timers: NodeJS.Timeout[] = [];
  private updating?: Promise<void>;
  private again = false;
  private lease?: KubeObject;
  private stopped = false;

  constructor(private readonly o: NodeAgentOptions) {}

  get uid(): string {
    return this.node?.metadata?.uid ?? '';
  }

  get allocatable(): Record<string, string> | undefined {
    return this.node?.status?.allocatable;
  }

  get labels(): Record<string, string> | undefined {
    return this.node?.metadata?.labels;
  }

  get ready(): boolean {
    return this.runtimeError === undefined;
  }

  async start(): Promise<void> {
    await this.probe();
    await this.register();
    this.o.recorder.node('Normal', 'Starting', 'Starting kubelet.');
    this.o.recorder.node('Normal', 'NodeAllocatableEnforced', 'Updated Node Allocatable limit across pods');
    await this.update(true);
    await this.renewLease().catch((err: unknown) =>
      this.o.log.warn('node lease not renewed', { error: (err as Error).message }),
    );
    const every = (ms: number, fn: () => Promise<void>) => {
      const t = setInterval(() => void fn().catch(() => undefined), ms);
      t.unref();
      this.timers.push(t);
    };
    every(this.o.statusEveryMs ?? 10_000, () => this.update(false));
    every(this.o.leaseEveryMs ?? 10_000, () =>
      this.renewLease().catch((err: unknown) => {
        this.o.log.warn('node lease not renewed', { error: (err as Error).message });
      }),
    );
  }

  stop(): void {
    this.stopped = true;
    for (const t of this.timers) clearInterval(t);
  }

  /** The kubelet's view of the runtime changed: report at once. */
  setRuntime(up: boolean, detail: string, version?: string): void {
    const err = up ? undefined : detail;
    if (version) this.runtimeVersion = `docker://${version}`;
    if (err === this.runtimeError) return;
    this.runtimeError = err;
    void this.update(false).catch(() => undefined);
  }

  private async probe(): Promise<void> {
    try {
      const v = await this.o.probeRuntime();
      this.runtimeVersion = `docker://${v}`;
      this.runtimeError = undefined;
    } catch (err) {
      this.runtimeError = (err as Error).message;
    }
  }

  private async register(): Promise<void> {
    const nodes = typedApi<Node>(this.o.client, 'v1', 'nodes');
    this.facts = await hostFacts(this.o.rootDir, await this.engineInfo());
    const labels = nodeLabels(this.o.nodeName, this.facts);
    try {
      const existing = await nodes.get(this.o.nodeName);
      const missing = Object.entries(labels).filter(([k, v]) => existing.metadata?.labels?.[k] !== v);
      this.node = missing.length
        ? await nodes.patch(this.o.nodeName, 'merge', { metadata: { labels: Object.fromEntries(missing) } })
        : existing;
      return;
    } catch (err) {
      if (!isKubeError(err, 'NotFound')) throw err;
    }
    const cidr = this.o.podCIDR;
    this.node = await nodes.create({
      apiVersion: 'v1',
      kind: 'Node',
      metadata: {
        name: this.o.nodeName,
        labels,
        annotations: { 'volumes.kubernetes.io/controller-managed-attach-detach': 'true' },
      },
      spec: cidr ? { podCIDR: cidr, podCIDRs: [cidr] } : {},
    });
    this.o.log.info('node registered', { node: this.o.nodeName });
  }

  private async engineInfo(): Promise<{ NCPU: number; MemTotal: number } | undefined> {
    if (this.runtimeError !== undefined) return undefined;
    return this.o.engine.info().catch(() => undefined);
  }

  private async health(): Promise<NodeHealth> {
    const f = this.facts!;
    const pids = await pidsAvailable();
    return {
      ...(this.runtimeError !== undefined ? { runtimeError: this.runtimeError } : {}),
      memoryPressure: (await memoryAvailable()) < 100 * 1024 * 1024,
      diskPressure: f.storageBytes > 0 && f.storageFreeBytes < f.storageBytes * 0.1,
      pidPressure: pids.max - pids.used < pids.max * 0.05,
    };
  }

  /** One status computation, posted when it changed (or `force`, or the report period passed). */
  update(force: boolean): Promise<void> {
    if (this.updating) {
      this.again = true;
      return this.updating;
    }
    this.updating = this.doUpdate(force).finally(() => {
      this.updating = undefined;
      if (this.again && !this.stopped) {
        this.again = false;
        void this.update(false).catch(() => undefined);
      }
    });
    return this.updating;
  }

  private async doUpdate(force: boolean): Promise<void> {
    if (this.stopped) return;
    const wasDown = this.runtimeError !== undefined;
    await this.probe();
    this.facts = await hostFacts(this.o.rootDir, await this.engineInfo());
    if (!this.node) await this.register();
    const images =
      this.runtimeError === undefined
        ? nodeImages(await this.o.engine.http.json<ImageSummary[]>('GET', '/images/json').catch(() => []))
        : (this.node!.status?.images ?? []).map((i) => ({
            names: i.names ?? [],
            sizeBytes: i.sizeBytes ?? 0,
          }));
    const old = this.node!.status;
    const next = nodeStatus({
      name: this.o.nodeName,
      nodeIP: this.o.nodeIP,
      facts: this.facts,
      health: await this.health(),
      runtimeVersion: this.runtimeVersion || old?.nodeInfo?.containerRuntimeVersion || '',
      images,
      ...(old ? { old } : {}),
      now: rfc3339(new Date()),
    });
    if (!wasDown && this.runtimeError !== undefined)
      this.o.log.warn('berthd is unreachable; the node is NotReady until it answers', {
        error: this.runtimeError,
      });
    const due = Date.now() - this.lastReport >= (this.o.reportEveryMs ?? 300_000);
    if (!force && !due && !statusChanged(old, next)) return;
    const nodes = typedApi<Node>(this.o.client, 'v1', 'nodes');
    this.node = await nodes.patch(this.o.nodeName, 'merge', { status: next }, { subresource: 'status' });
    this.lastReport = Date.now();
    this.transitions(old, next);
  }

  private transitions(old: NodeStatus | undefined, next: NodeStatus): void {
    for (const c of next.conditions ?? []) {
      const prev = old?.conditions?.find((x) => x.type === c.type);
      if (prev && prev.status === c.status) continue;
      const names = EVENT_REASONS[c.type];
      if (!names) continue;
      const reason = names[c.status === 'True' ? 0 : 1];
      this.o.recorder.node('Normal', reason, `Node ${this.o.nodeName} status is now: ${reason}`);
    }
  }

  private async renewLease(): Promise<void> {
    if (this.stopped || !this.node) return;
    const leases = this.o.client.resource('coordination.k8s.io/v1', 'leases');
    const renewTime = microTime(new Date());
    if (this.lease) {
      try {
        this.lease = await leases.update(
          { ...this.lease, spec: { ...(this.lease.spec as object), renewTime } },
          { namespace: LEASE_NS },
        );
        return;
      } catch (err) {
        if (!isKubeError(err, 'Conflict') && !isKubeError(err, 'NotFound')) throw err;
        this.lease = undefined;
      }
    }
    try {
      const cur = await leases.get(this.o.nodeName, { namespace: LEASE_NS });
      this.lease = await leases.update(
        {
          ...cur,
          spec: {
            ...(cur.spec as object),
            holderIdentity: this.o.nodeName,
            leaseDurationSeconds: LEASE_SECONDS,
            renewTime,
          },
        },
        { namespace: LEASE_NS },
      );
    } catch (err) {
      if (!isKubeError(err, 'NotFound')) throw err;
      this.lease = await leases.create(
        {
          apiVersion: 'coordination.k8s.io/v1',
          kind: 'Lease',
          metadata: {
            name: this.o.nodeName,
            namespace: LEASE_NS,
            ownerReferences: [{ apiVersion: 'v1', kind: 'Node', name: this.o.nodeName, uid: this.uid }],
          },
          spec: { holderIdentity: this.o.nodeName, leaseDurationSeconds: LEASE_SECONDS, renewTime },
        },
        { namespace: LEASE_NS },
      );
    }
  }
}
