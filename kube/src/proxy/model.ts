/**
 * What the proxy forwards: Services and their EndpointSlices, turned into one entry per service port with its
 * ready endpoints (the port each endpoint listens on comes from its slice: named target ports are resolved per
 * pod by the EndpointSlice controller). Headless and ExternalName Services get no rules.
 */
import type { KubeObject } from '../registry/types.js';
import type { HealthCheck } from './health-checks.js';
import type { ProxyEndpoint, ProxyServicePort } from './rules.js';

interface SvcSpec {
  type?: string;
  clusterIP?: string;
  clusterIPs?: string[];
  sessionAffinity?: string;
  sessionAffinityConfig?: { clientIP?: { timeoutSeconds?: number } };
  internalTrafficPolicy?: string;
  externalTrafficPolicy?: string;
  healthCheckNodePort?: number;
  ports?: Array<{ name?: string; protocol?: string; port?: number; nodePort?: number }>;
}
interface SliceShape {
  metadata?: { namespace?: string; name?: string; labels?: Record<string, string> };
  addressType?: string;
  endpoints?: Array<{
    addresses?: string[];
    conditions?: { ready?: boolean; serving?: boolean; terminating?: boolean };
    nodeName?: string;
  }>;
  ports?: Array<{ name?: string; protocol?: string; port?: number }>;
}

/** kube-proxy's default ClientIP affinity (3 hours). */
const DEFAULT_AFFINITY_SECONDS = 10800;
const key = (ns: string, name: string) => `${ns}/${name}`;

export class ProxyModel {
  /** This node's name: an endpoint is local (for the traffic policies' Local) when its slice says this node. */
  constructor(private readonly nodeName?: string) {}
  private services = new Map<string, KubeObject>();
  private slices = new Map<string, SliceShape>();

  setService(o: KubeObject): void {
    this.services.set(key(o.metadata?.namespace ?? '', o.metadata?.name ?? ''), o);
  }
  deleteService(o: KubeObject): void {
    this.services.delete(key(o.metadata?.namespace ?? '', o.metadata?.name ?? ''));
  }
  setEndpointSlice(o: KubeObject): void {
    this.slices.set(key(o.metadata?.namespace ?? '', o.metadata?.name ?? ''), o);
  }
  deleteEndpointSlice(o: KubeObject): void {
    this.slices.delete(key(o.metadata?.namespace ?? '', o.metadata?.name ?? ''));
  }
  clear(kind: 'services' | 'endpointslices'): void {
    (kind === 'services' ? this.services : this.slices).clear();
  }

  /** The health checks to serve: each Local LoadBalancer's port and its ready endpoints on this node. */
  healthChecks(): HealthCheck[] {
    const out: HealthCheck[] = [];
    for (const svc of this.services.values()) {
      const spec = (svc.spec ?? {}) as SvcSpec;
      if (spec.type !== 'LoadBalancer' || spec.externalTrafficPolicy !== 'Local' || !spec.healthCheckNodePort)
        continue;
      const namespace = svc.metadata?.namespace ?? '';
      const name = svc.metadata?.name ?? '';
      const ips = new Set<string>();
      for (const sl of this.slices.values()) {
        if (
          sl.metadata?.namespace !== namespace ||
          sl.metadata?.labels?.['kubernetes.io/service-name'] !== name
        )
          continue;
        for (const e of sl.endpoints ?? [])
          if (e.conditions?.ready !== false && (!this.nodeName || e.nodeName === this.nodeName))
            for (const ip of e.addresses ?? []) ips.add(ip);
      }
      out.push({ namespace, name, port: spec.healthCheckNodePort, localEndpoints: ips.size });
    }
    return out;
  }

  servicePorts(): ProxyServicePort[] {
    const bySvc = new Map<string, SliceShape[]>();
    for (const s of this.slices.values()) {
      const svc = s.metadata?.labels?.['kubernetes.io/service-name'];
      if (!svc || (s.addressType && s.addressType !== 'IPv4')) continue;
      const k = key(s.metadata?.namespace ?? '', svc);
      bySvc.set(k, [...(bySvc.get(k) ?? []), s]);
    }
    const out: ProxyServicePort[] = [];
    const sorted = [...this.services.entries()].sort(([a], [b]) => a.localeCompare(b));
    for (const [k, svc] of sorted) {
      const spec = (svc.spec ?? {}) as SvcSpec;
      const clusterIP = spec.clusterIPs?.[0] ?? spec.clusterIP;
      if (spec.type === 'ExternalName' || !clusterIP || clusterIP === 'None') continue;
      const ingress = (
        (svc.status as { loadBalancer?: { ingress?: Array<{ ip?: string }> } } | undefined)?.loadBalancer
          ?.ingress ?? []
      )
        .map((i) => i.ip)
        .filter((ip): ip is string => !!ip && !ip.startsWith('127.'));
      const affinity =
        spec.sessionAffinity === 'ClientIP'
          ? (spec.sessionAffinityConfig?.clientIP?.timeoutSeconds ?? DEFAULT_AFFINITY_SECONDS)
          : 0;
      for (const p of spec.ports ?? []) {
        const protocol = (p.protocol ?? 'TCP').toLowerCase();
        const endpoints: ProxyEndpoint[] = [];
        const seen = new Set<string>();
        for (const sl of bySvc.get(k) ?? []) {
          const sp = (sl.ports ?? []).find(
            (x) => (x.name ?? '') === (p.name ?? '') && (x.protocol ?? 'TCP').toLowerCase() === protocol,
          );
          if (!sp?.port) continue;
          for (const e of sl.endpoints ?? []) {
            // Only ready endpoints take new connections (kube-proxy falls back to serving-terminating ones
            // only when none is ready).
            if (e.conditions?.ready === false) continue;
            for (const ip of e.addresses ?? []) {
              const id = `${ip}:${sp.port}`;
              // Without a node name to compare, every endpoint is this one node's.
              const local = !this.nodeName || e.nodeName === this.nodeName;
              if (!seen.has(id) && seen.add(id)) endpoints.push({ ip, port: sp.port, local });
            }
          }
        }
        endpoints.sort((a, b) => `${a.ip}:${a.port}`.localeCompare(`${b.ip}:${b.port}`));
        out.push({
          namespace: svc.metadata?.namespace ?? '',
          name: svc.metadata?.name ?? '',
          portName: p.name ?? '',
          protocol,
          clusterIP,
          port: p.port ?? 0,
          ...(p.nodePort && (spec.type === 'NodePort' || spec.type === 'LoadBalancer')
            ? { nodePort: p.nodePort }
            : {}),
          ...(spec.type === 'LoadBalancer' ? { loadBalancer: true } : {}),
          externalIPs: ingress,
          affinitySeconds: affinity,
          internalLocal: spec.internalTrafficPolicy === 'Local',
          externalLocal:
            spec.externalTrafficPolicy === 'Local' &&
            (spec.type === 'NodePort' || spec.type === 'LoadBalancer'),
          endpoints,
        });
      }
    }
    return out;
  }
}
