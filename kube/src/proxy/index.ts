/**
 * berth-kube's service network, started beside the kubelet: the nftables proxy and the cluster DNS, both fed by
 * watches of Services, EndpointSlices (and pods, for DNS pod records); the `kube-dns` Service at the cluster DNS
 * address with its endpoint at the DNS listener on the pod network's gateway; LoadBalancer and node ports on the
 * host's 127.0.0.1, DNATed in the kernel for the ports berth-kube holds there (port-holds.ts), with
 * `status.loadBalancer.ingress` set as Docker Desktop does (localhost) once the rules are in; the `kubernetes`
 * Service to the API server through a relay on the gateway (api-relay.ts).
 */
import { isKubeError } from '../errors.js';
import type { Client } from '../client/index.js';
import { ClusterNames } from '../dns/records.js';
import { DnsServer } from '../dns/server.js';
import { Informer } from '../kubelet/informer.js';
import type { Logger } from '../log.js';
import type { KubeObject } from '../registry/types.js';
import { HealthChecks } from './health-checks.js';
import { ApiRelay } from './api-relay.js';
import { enableRouteLocalnet } from './localnet.js';
import { PortHolds, type WantedHostPort } from './port-holds.js';
import { Proxier } from './proxier.js';

export interface ServiceNetworkOptions {
  client: Client;
  podCIDR: string;
  /** This node's name, for the Services' Local traffic policies. */
  nodeName?: string;
  /** The pod network's gateway: the cluster DNS listens there, so pods reach it through the kube-dns Service. */
  gateway: string;
  dnsPort?: number;
  /** The kube-dns Service's cluster IP (the kubelet's --cluster-dns). */
  clusterDNS: string;
  clusterDomain?: string;
  table?: string;
  /** Where LoadBalancer and node ports answer on the host (default 127.0.0.1). */
  hostAddress?: string;
  /** The API server's port on 127.0.0.1: the `kubernetes` Service reaches it through a relay on the gateway. */
  apiPort?: number;
  log: Logger;
}

const DNS_MANAGER = 'berth-kube';
type Svc = KubeObject & {
  spec?: {
    type?: string;
    clusterIP?: string;
    ports?: Array<{ port?: number; nodePort?: number; protocol?: string }>;
  };
};

export class ServiceNetwork {
  readonly proxier: Proxier;
  readonly names: ClusterNames;
  readonly dns: DnsServer;
  private readonly holds: PortHolds;
  private readonly hostAddress: string;
  private readonly apiRelay: ApiRelay;
  private readonly healthChecks: HealthChecks;
  private readonly informers: Array<Informer<KubeObject>> = [];
  private scheduled = false;
  /** The sync in flight, and whether a change arrived meanwhile (it runs again once). */
  private syncing?: Promise<void>;
  private resync = false;
  /** The pod bridge once route_localnet is on there. */
  private localnet?: string;
  private dnsRetry?: NodeJS.Timeout;
  private stopped = false;

  constructor(private readonly o: ServiceNetworkOptions) {
    this.proxier = new Proxier({
      ...(o.table ? { table: o.table } : {}),
      ...(o.nodeName ? { nodeName: o.nodeName } : {}),
      podCIDR: o.podCIDR,
      log: o.log,
    });
    this.names = new ClusterNames(o.clusterDomain ?? 'cluster.local');
    this.dns = new DnsServer({ names: this.names, listen: `${o.gateway}:${o.dnsPort ?? 10053}`, log: o.log });
    this.hostAddress = o.hostAddress ?? '127.0.0.1';
    this.holds = new PortHolds(this.hostAddress, o.log);
    this.apiRelay = new ApiRelay(o.log);
    this.healthChecks = new HealthChecks(this.hostAddress, o.log);
    const feed = (set: (x: KubeObject) => void, del: (x: KubeObject) => void) => ({
      add: (x: KubeObject) => {
        set(x);
        this.changed();
      },
      update: (x: KubeObject) => {
        set(x);
        this.changed();
      },
      delete: (x: KubeObject) => {
        del(x);
        this.changed();
      },
    });
    const m = this.proxier.model;
    this.informers.push(
      new Informer(
        o.client.resource('v1', 'services'),
        {},
        feed(
          (x) => (m.setService(x), this.names.setService(x)),
          (x) => (m.deleteService(x), this.names.deleteService(x)),
        ),
        o.log,
      ),
      new Informer(
        o.client.resource('discovery.k8s.io/v1', 'endpointslices'),
        {},
        feed(
          (x) => (m.setEndpointSlice(x), this.names.setEndpointSlice(x)),
          (x) => (m.deleteEndpointSlice(x), this.names.deleteEndpointSlice(x)),
        ),
        o.log,
      ),
      new Informer(
        o.client.resource('v1', 'pods'),
        {},
        {
          add: (x) => this.names.setPod(x),
          update: (x) => this.names.setPod(x),
          delete: (x) => this.names.deletePod(x),
        },
        o.log,
      ),
    );
  }

  async start(): Promise<void> {
    for (const i of this.informers) await i.start();
    // Not fatal: pods still run without cluster DNS, and the next start tries again.
    await this.ensureKubeDns().catch((e: Error) =>
      this.o.log.error('kube-dns Service not made', { error: e.message }),
    );
    // The first sync replaces whatever table a previous berth-kube left (a crash keeps it): held ports first,
    // so the host ports' rules stay in that first table.
    await this.syncAll();
    this.startDns();
  }

  /** The gateway address appears once the pod network exists: keep trying until it does. */
  private startDns(): void {
    this.dns.start().then(
      () => {
        this.o.log.info('cluster DNS listening', {
          address: `${this.dns.address.host}:${this.dns.address.port}`,
        });
        void this.startApiRelay();
      },
      (e: Error) => {
        if (this.stopped) return;
        this.o.log.debug('cluster DNS not listening yet', { error: e.message });
        this.dnsRetry = setTimeout(() => this.startDns(), 1000);
      },
    );
  }

  /**
   * Pods reach the API server (listening on 127.0.0.1) through the `kubernetes` Service: its EndpointSlice
   * names a relay on the gateway, one port above the DNS port.
   */
  private async startApiRelay(): Promise<void> {
    if (!this.o.apiPort) return;
    const port = (this.o.dnsPort ?? 10053) + 1;
    await this.apiRelay.listen(this.o.gateway, port, this.o.apiPort);
    const slice = {
      apiVersion: 'discovery.k8s.io/v1',
      kind: 'EndpointSlice',
      metadata: {
        name: 'kubernetes',
        namespace: 'default',
        labels: {
          'kubernetes.io/service-name': 'kubernetes',
          'endpointslice.kubernetes.io/managed-by': DNS_MANAGER,
        },
      },
      addressType: 'IPv4',
      endpoints: [{ addresses: [this.o.gateway], conditions: { ready: true } }],
      ports: [{ name: 'https', port, protocol: 'TCP' }],
    };
    await this.createOrReplace('discovery.k8s.io/v1', 'endpointslices', slice, 'default').catch((e: Error) =>
      this.o.log.error('kubernetes EndpointSlice not written', { error: e.message }),
    );
  }

  private changed(): void {
    if (this.scheduled || this.stopped) return;
    this.scheduled = true;
    setImmediate(() => {
      this.scheduled = false;
      void this.syncAll();
      void this.healthChecks.reconcile(this.proxier.model.healthChecks());
    });
  }

  /** Holds, then rules, then LoadBalancer status: one at a time, changes meanwhile folded into one more run. */
  private syncAll(): Promise<void> {
    if (this.syncing) {
      this.resync = true;
      return this.syncing;
    }
    this.syncing = (async () => {
      do {
        this.resync = false;
        await this.syncOnce().catch((e: Error) => this.o.log.warn('service sync', { error: e.message }));
      } while (this.resync && !this.stopped);
    })().finally(() => {
      this.syncing = undefined;
    });
    return this.syncing;
  }

  private async syncOnce(): Promise<void> {
    const services = (this.informers[0].list() as Svc[]).filter(
      (s) => s.spec?.clusterIP && s.spec.clusterIP !== 'None',
    );
    const wanted: WantedHostPort[] = [];
    for (const s of services) {
      const service = `${s.metadata?.namespace}/${s.metadata?.name}`;
      for (const p of s.spec?.ports ?? []) {
        const protocol: 'tcp' | 'udp' = p.protocol === 'UDP' ? 'udp' : 'tcp';
        if ((p.protocol ?? 'TCP') !== 'TCP' && p.protocol !== 'UDP') continue;
        if (!p.port) continue;
        if (s.spec?.type === 'LoadBalancer') wanted.push({ service, protocol, port: p.port });
        if (p.nodePort && (s.spec?.type === 'NodePort' || s.spec?.type === 'LoadBalancer'))
          wanted.push({ service, protocol, port: p.nodePort });
      }
    }
    await this.holds.reconcile(wanted);
    if (this.stopped) return;
    const held = this.holds.held();
    this.proxier.setHostPorts({ address: this.hostAddress, held });
    await this.proxier.sync();
    // Best effort until the pod network exists (the kubelet makes it).
    if (!this.localnet) {
      this.localnet = await enableRouteLocalnet(this.o.gateway).catch((e: Error) => {
        this.o.log.debug('route_localnet not set yet', { error: e.message });
        return undefined;
      });
      if (this.localnet) this.o.log.info('route_localnet on the pod bridge', { interface: this.localnet });
    }
    for (const s of services.filter((x) => x.spec?.type === 'LoadBalancer')) {
      const name = `${s.metadata?.namespace}/${s.metadata?.name}`;
      const open = (s.spec?.ports ?? []).some(
        (p) => p.port && held.get(`${p.protocol === 'UDP' ? 'udp' : 'tcp'}/${p.port}`) === name,
      );
      const ingress = open ? [{ hostname: 'localhost', ipMode: 'VIP' }] : [];
      const current =
        (s.status as { loadBalancer?: { ingress?: unknown[] } } | undefined)?.loadBalancer?.ingress ?? [];
      if (JSON.stringify(current) === JSON.stringify(ingress)) continue;
      try {
        await this.o.client.resource('v1', 'services').updateStatus(
          { ...s, status: { loadBalancer: ingress.length ? { ingress } : {} } },
          {
            namespace: s.metadata?.namespace ?? '',
          },
        );
      } catch (e) {
        if (!isKubeError(e, 'Conflict') && !isKubeError(e, 'NotFound')) throw e;
      }
    }
  }

  /** The kube-dns Service (no selector) and its one endpoint: berth-kube's DNS listener. */
  private async ensureKubeDns(): Promise<void> {
    const ns = 'kube-system';
    const port = this.o.dnsPort ?? 10053;
    const svc = {
      apiVersion: 'v1',
      kind: 'Service',
      metadata: {
        name: 'kube-dns',
        namespace: ns,
        labels: { 'k8s-app': 'kube-dns', 'kubernetes.io/name': 'CoreDNS' },
      },
      spec: {
        clusterIP: this.o.clusterDNS,
        ports: [
          { name: 'dns', port: 53, protocol: 'UDP', targetPort: port },
          { name: 'dns-tcp', port: 53, protocol: 'TCP', targetPort: port },
        ],
      },
    };
    const slice = {
      apiVersion: 'discovery.k8s.io/v1',
      kind: 'EndpointSlice',
      metadata: {
        name: 'kube-dns-berth',
        namespace: ns,
        labels: {
          'kubernetes.io/service-name': 'kube-dns',
          'endpointslice.kubernetes.io/managed-by': DNS_MANAGER,
        },
      },
      addressType: 'IPv4',
      endpoints: [{ addresses: [this.o.gateway], conditions: { ready: true } }],
      ports: [
        { name: 'dns', port, protocol: 'UDP' },
        { name: 'dns-tcp', port, protocol: 'TCP' },
      ],
    };
    await this.createOrReplace('v1', 'services', svc, ns);
    await this.createOrReplace('discovery.k8s.io/v1', 'endpointslices', slice, ns);
  }

  private async createOrReplace(
    apiVersion: string,
    plural: string,
    obj: KubeObject,
    ns: string,
  ): Promise<void> {
    const rc = this.o.client.resource(apiVersion, plural);
    try {
      const cur = await rc.get(obj.metadata!.name!, { namespace: ns });
      if (plural === 'services') return;
      await rc.update(
        { ...obj, metadata: { ...obj.metadata, resourceVersion: cur.metadata?.resourceVersion } },
        { namespace: ns },
      );
    } catch (e) {
      if (!isKubeError(e, 'NotFound')) throw e;
      await rc.create(obj, { namespace: ns });
    }
  }

  /**
   * Stops watching and serving. A graceful stop (the cluster disabled, or a restart that brings the rules back
   * at once) removes the rules; a crash leaves them, so Services keep answering until berth-kube is back.
   */
  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.dnsRetry);
    for (const i of this.informers) i.stop();
    await this.syncing;
    this.holds.close();
    this.apiRelay.close();
    await this.healthChecks.close();
    await this.dns.close().catch(() => undefined);
    await this.proxier
      .deleteRules()
      .catch((e: Error) => this.o.log.warn('service rules not removed', { error: e.message }));
  }
}
