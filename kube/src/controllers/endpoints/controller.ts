/**
 * The EndpointSlice and Endpoints controllers (kube-controller-manager's `endpointslice` and `endpoint`), one
 * work queue keyed by Service: a change to a Service, to a pod its selector matches (before or after the change),
 * or to a slice it manages re-computes the Service's endpoints (compute.ts) and writes only the difference.
 * Slices carry `kubernetes.io/service-name`, `endpointslice.kubernetes.io/managed-by` and the Service as
 * controller owner (the garbage collector removes them with it); the Endpoints object is named as the Service.
 * A Service with a selector and no pods gets one empty slice, as kube-controller-manager's placeholder.
 */
import { isKubeError } from '../../errors.js';
import type { Client } from '../../client/index.js';
import { Informer } from '../../kubelet/informer.js';
import type { Logger } from '../../log.js';
import type { KubeObject } from '../../registry/types.js';
import type { Controller } from '../framework/controller.js';
import { WorkQueue } from '../workqueue.js';
import {
  MANAGED_BY_LABEL,
  MAX_ENDPOINTS_PER_SLICE,
  SERVICE_NAME_LABEL,
  SLICE_CONTROLLER,
  derivedLabels,
  desiredEndpoints,
  endpointsSubsets,
  selectorMatches,
  specOfService,
  type PortGroup,
} from './compute.js';

const TRIGGER_ANNOTATION = 'endpoints.kubernetes.io/last-change-trigger-time';
const same = (a: unknown, b: unknown) => JSON.stringify(a) === JSON.stringify(b);
const keyOf = (o: KubeObject) => `${o.metadata?.namespace ?? ''}/${o.metadata?.name ?? ''}`;

export class EndpointsController implements Controller {
  readonly name = 'endpointslice';
  private readonly queue: WorkQueue;
  private readonly services: Informer<KubeObject>;
  private readonly pods: Informer<KubeObject>;
  private readonly slices: Informer<KubeObject>;

  constructor(
    private readonly client: Client,
    private readonly log: Logger,
  ) {
    this.queue = new WorkQueue((k) => this.sync(k), log, 2);
    const enqueue = (o: KubeObject) => this.queue.add(keyOf(o));
    this.services = new Informer(
      client.resource('v1', 'services'),
      {},
      { add: enqueue, update: enqueue, delete: enqueue },
      log,
    );
    const podChanged = (o: KubeObject, old?: KubeObject) => {
      for (const svc of this.services.list()) {
        const sel = specOfService(svc).selector;
        if (svc.metadata?.namespace !== o.metadata?.namespace || !sel) continue;
        if (selectorMatches(sel, o.metadata?.labels) || (old && selectorMatches(sel, old.metadata?.labels)))
          enqueue(svc);
      }
    };
    this.pods = new Informer(
      client.resource('v1', 'pods'),
      {},
      { add: (o) => podChanged(o), update: (o, old) => podChanged(o, old), delete: (o) => podChanged(o) },
      log,
    );
    const sliceChanged = (o: KubeObject) => {
      const svc = o.metadata?.labels?.[SERVICE_NAME_LABEL];
      if (svc) this.queue.add(`${o.metadata?.namespace ?? ''}/${svc}`);
    };
    this.slices = new Informer(
      client.resource('discovery.k8s.io/v1', 'endpointslices'),
      { labelSelector: `${MANAGED_BY_LABEL}=${SLICE_CONTROLLER}` },
      { add: sliceChanged, update: sliceChanged, delete: sliceChanged },
      log,
    );
  }

  async start(): Promise<void> {
    // Pods and slices first, so the Services' first syncs see them.
    await this.pods.start();
    await this.slices.start();
    await this.services.start();
  }

  stop(): void {
    this.services.stop();
    this.pods.stop();
    this.slices.stop();
    this.queue.stop();
  }

  idle(): Promise<void> {
    return this.queue.idle();
  }

  private async sync(key: string): Promise<void> {
    const [namespace, name] = key.split('/');
    const svc = this.services.byName(namespace, name);
    const owned = this.slices
      .list()
      .filter(
        (s) => s.metadata?.namespace === namespace && s.metadata?.labels?.[SERVICE_NAME_LABEL] === name,
      );
    if (!svc || svc.metadata?.deletionTimestamp) {
      await this.deleteSlices(owned);
      if (!svc) await this.ignoreMissing(this.client.resource('v1', 'endpoints').delete(name, { namespace }));
      return;
    }
    const pods = this.pods.list().filter((p) => p.metadata?.namespace === namespace);
    const groups = desiredEndpoints(svc, pods, true);
    // Without a selector the endpoints are the user's to write.
    if (!groups) return;
    await this.syncSlices(svc, groups, owned);
    await this.syncEndpoints(svc, endpointsSubsets(desiredEndpoints(svc, pods, false) ?? []));
  }

  private async syncSlices(svc: KubeObject, groups: PortGroup[], owned: KubeObject[]): Promise<void> {
    const ns = svc.metadata?.namespace ?? '';
    const name = svc.metadata?.name ?? '';
    const labels = {
      ...derivedLabels(svc),
      [SERVICE_NAME_LABEL]: name,
      [MANAGED_BY_LABEL]: SLICE_CONTROLLER,
    };
    const wanted: Array<{ ports: PortGroup['ports'] | null; endpoints: PortGroup['endpoints'] | null }> = [];
    for (const g of groups)
      for (let i = 0; i < g.endpoints.length; i += MAX_ENDPOINTS_PER_SLICE)
        wanted.push({ ports: g.ports, endpoints: g.endpoints.slice(i, i + MAX_ENDPOINTS_PER_SLICE) });
    if (!wanted.length) wanted.push({ ports: null, endpoints: null });
    const rc = this.client.resource('discovery.k8s.io/v1', 'endpointslices');
    const free = [...owned];
    for (const w of wanted) {
      const body = { endpoints: w.endpoints, ports: w.ports };
      // Reuse the slice that already has this port set (or any left over), so names stay stable.
      let i = free.findIndex((s) => same(s.ports ?? null, w.ports));
      if (i < 0) i = free.length ? 0 : -1;
      const existing = i >= 0 ? free.splice(i, 1)[0] : undefined;
      if (existing) {
        if (
          same(existing.endpoints ?? null, body.endpoints) &&
          same(existing.ports ?? null, body.ports) &&
          same(existing.metadata?.labels ?? {}, labels)
        )
          continue;
        await this.ignoreMissing(
          rc.update({ ...existing, metadata: { ...existing.metadata, labels }, ...body }, { namespace: ns }),
        );
        continue;
      }
      await rc.create(
        {
          apiVersion: 'discovery.k8s.io/v1',
          kind: 'EndpointSlice',
          metadata: {
            generateName: `${name}-`,
            namespace: ns,
            labels,
            ownerReferences: [
              {
                apiVersion: 'v1',
                kind: 'Service',
                name,
                uid: svc.metadata?.uid ?? '',
                controller: true,
                blockOwnerDeletion: true,
              },
            ],
          },
          addressType: 'IPv4',
          ...body,
        },
        { namespace: ns },
      );
    }
    await this.deleteSlices(free);
  }

  private async syncEndpoints(svc: KubeObject, subsets: KubeObject[]): Promise<void> {
    const ns = svc.metadata?.namespace ?? '';
    const name = svc.metadata?.name ?? '';
    const rc = this.client.resource('v1', 'endpoints');
    const labels = derivedLabels(svc);
    let current: KubeObject | undefined;
    try {
      current = await rc.get(name, { namespace: ns });
    } catch (e) {
      if (!isKubeError(e, 'NotFound')) throw e;
    }
    if (current && same(current.subsets ?? [], subsets) && same(current.metadata?.labels ?? {}, labels))
      return;
    const metadata = {
      ...(current?.metadata ?? { name, namespace: ns }),
      labels,
      annotations: {
        ...(current?.metadata?.annotations ?? {}),
        [TRIGGER_ANNOTATION]: new Date().toISOString(),
      },
    };
    // An Endpoints object without addresses has no subsets at all, as kube-controller-manager writes it.
    const obj: KubeObject = {
      apiVersion: 'v1',
      kind: 'Endpoints',
      metadata,
      ...(subsets.length ? { subsets } : {}),
    };
    if (current) await rc.update(obj, { namespace: ns });
    else await rc.create(obj, { namespace: ns });
  }

  private async deleteSlices(slices: KubeObject[]): Promise<void> {
    const rc = this.client.resource('discovery.k8s.io/v1', 'endpointslices');
    for (const s of slices)
      await this.ignoreMissing(rc.delete(s.metadata?.name ?? '', { namespace: s.metadata?.namespace ?? '' }));
  }

  private async ignoreMissing(p: Promise<unknown>): Promise<void> {
    try {
      await p;
    } catch (e) {
      if (!isKubeError(e, 'NotFound')) throw e;
      this.log.debug('already gone', { error: (e as Error).message });
    }
  }
}
