/**
 * The cluster's names, as Kubernetes' DNS specification (and CoreDNS's kubernetes plugin) defines them:
 * `<svc>.<ns>.svc.<zone>` (A to the cluster IP; headless to the ready endpoints; ExternalName as CNAME),
 * `_<port>._<proto>.<svc>.<ns>.svc.<zone>` SRV for named ports, `<host>.<svc>.<ns>.svc.<zone>` for a headless
 * service's endpoints, `<a-b-c-d>.<ns>.pod.<zone>` for pods (verified: a pod with that IP in that namespace),
 * and PTR for service and endpoint addresses. Everything else is not ours and goes upstream.
 */
import type { KubeObject } from '../registry/types.js';
import { RCODE, TYPE, type Answer, type ResourceRecord } from './wire.js';

export const DNS_TTL = 5;

interface ServicePort {
  name: string;
  protocol: string;
  port: number;
}
interface ServiceEntry {
  name: string;
  namespace: string;
  type: string;
  clusterIPs: string[];
  externalName?: string;
  ports: ServicePort[];
}
interface EndpointEntry {
  address: string;
  hostname?: string;
}
interface SliceEntry {
  service: string;
  endpoints: EndpointEntry[];
  ports: ServicePort[];
}

const key = (ns: string, name: string) => `${ns}/${name}`;
const isHeadless = (s: ServiceEntry) => s.clusterIPs.length === 0 || s.clusterIPs[0] === 'None';
const dashed = (ip: string) => (ip.includes(':') ? ip.replace(/:/g, '-') : ip.replace(/\./g, '-'));

/** The state DNS answers from, kept current by the watches in source.ts (or set directly in tests). */
export class ClusterNames {
  private services = new Map<string, ServiceEntry>();
  /** EndpointSlices by namespace/slice name; grouped per service when asked. */
  private slices = new Map<string, SliceEntry & { namespace: string }>();
  /** Pod IPs per namespace, counted (two pods may briefly share an address during a restart). */
  private podIPs = new Map<string, Map<string, number>>();
  private podsByKey = new Map<string, string[]>();

  constructor(readonly zone = 'cluster.local') {}

  setService(o: KubeObject): void {
    const spec = (o.spec ?? {}) as {
      type?: string;
      clusterIPs?: string[];
      clusterIP?: string;
      externalName?: string;
      ports?: Array<{ name?: string; protocol?: string; port?: number }>;
    };
    const ns = o.metadata?.namespace ?? 'default';
    const name = o.metadata?.name ?? '';
    this.services.set(key(ns, name), {
      name,
      namespace: ns,
      type: spec.type ?? 'ClusterIP',
      clusterIPs: spec.clusterIPs ?? (spec.clusterIP ? [spec.clusterIP] : []),
      ...(spec.externalName ? { externalName: spec.externalName.replace(/\.$/, '') } : {}),
      ports: (spec.ports ?? []).map((p) => ({
        name: p.name ?? '',
        protocol: (p.protocol ?? 'TCP').toLowerCase(),
        port: p.port ?? 0,
      })),
    });
  }

  deleteService(o: KubeObject): void {
    this.services.delete(key(o.metadata?.namespace ?? 'default', o.metadata?.name ?? ''));
  }

  setEndpointSlice(o: KubeObject): void {
    const ns = o.metadata?.namespace ?? 'default';
    const service = o.metadata?.labels?.['kubernetes.io/service-name'];
    if (!service) return this.deleteEndpointSlice(o);
    const eps = (o.endpoints ?? []) as Array<{
      addresses?: string[];
      hostname?: string;
      conditions?: { ready?: boolean };
    }>;
    const ports = (o.ports ?? []) as Array<{ name?: string; protocol?: string; port?: number }>;
    this.slices.set(key(ns, o.metadata?.name ?? ''), {
      namespace: ns,
      service,
      // A nil ready condition means ready (EndpointConditions' contract); the controller already marks the
      // not-ready endpoints of a publishNotReadyAddresses Service ready.
      endpoints: eps
        .filter((e) => e.conditions?.ready !== false)
        .flatMap((e) =>
          (e.addresses ?? []).map((address) => ({
            address,
            ...(e.hostname ? { hostname: e.hostname } : {}),
          })),
        ),
      ports: ports.map((p) => ({
        name: p.name ?? '',
        protocol: (p.protocol ?? 'TCP').toLowerCase(),
        port: p.port ?? 0,
      })),
    });
  }

  deleteEndpointSlice(o: KubeObject): void {
    this.slices.delete(key(o.metadata?.namespace ?? 'default', o.metadata?.name ?? ''));
  }

  setPod(o: KubeObject): void {
    this.deletePod(o);
    const ns = o.metadata?.namespace ?? 'default';
    const status = (o.status ?? {}) as { podIPs?: Array<{ ip: string }>; podIP?: string };
    const ips = status.podIPs?.map((p) => p.ip) ?? (status.podIP ? [status.podIP] : []);
    if (!ips.length) return;
    this.podsByKey.set(key(ns, o.metadata?.name ?? ''), ips);
    const m = this.podIPs.get(ns) ?? new Map<string, number>();
    for (const ip of ips) m.set(ip, (m.get(ip) ?? 0) + 1);
    this.podIPs.set(ns, m);
  }

  deletePod(o: KubeObject): void {
    const ns = o.metadata?.namespace ?? 'default';
    const k = key(ns, o.metadata?.name ?? '');
    const m = this.podIPs.get(ns);
    for (const ip of this.podsByKey.get(k) ?? []) {
      const n = (m?.get(ip) ?? 1) - 1;
      if (n > 0) m?.set(ip, n);
      else m?.delete(ip);
    }
    this.podsByKey.delete(k);
  }

  /** Forgets everything (a relist replaces the state). */
  clear(kind: 'services' | 'endpointslices' | 'pods'): void {
    if (kind === 'services') this.services.clear();
    if (kind === 'endpointslices') this.slices.clear();
    if (kind === 'pods') {
      this.podIPs.clear();
      this.podsByKey.clear();
    }
  }

  private endpointsOf(s: ServiceEntry): { endpoints: EndpointEntry[]; ports: ServicePort[] } {
    const endpoints: EndpointEntry[] = [];
    const seen = new Set<string>();
    let ports: ServicePort[] = [];
    for (const sl of this.slices.values()) {
      if (sl.namespace !== s.namespace || sl.service !== s.name) continue;
      if (!ports.length) ports = sl.ports;
      for (const e of sl.endpoints) if (!seen.has(e.address) && seen.add(e.address)) endpoints.push(e);
    }
    return { endpoints, ports };
  }

  private soa(): ResourceRecord {
    return {
      name: this.zone,
      ttl: DNS_TTL,
      type: 6,
      mname: `ns.dns.${this.zone}`,
      rname: `hostmaster.${this.zone}`,
      serial: Math.floor(Date.now() / 1000),
      refresh: 7200,
      retry: 1800,
      expire: 86400,
      minimum: DNS_TTL,
    };
  }

  /** Whether `name` falls in a zone this server answers for (else it is forwarded). */
  owns(name: string): boolean {
    const n = name.toLowerCase().replace(/\.$/, '');
    return n === this.zone || n.endsWith(`.${this.zone}`) || this.reverseAddress(n) !== undefined;
  }

  /** Answers `name`/`type` from the cluster's state; undefined when the name is not in our zones. */
  resolve(name: string, type: number): Answer | undefined {
    const n = name.toLowerCase().replace(/\.$/, '');
    const reverse = this.reverseAddress(n);
    if (reverse !== undefined) return this.resolvePtr(n, reverse, type);
    if (n !== this.zone && !n.endsWith(`.${this.zone}`)) return undefined;
    const nxdomain = (): Answer => ({
      rcode: RCODE.NXDOMAIN,
      answers: [],
      authority: [this.soa()],
      aa: true,
    });
    const nodata = (): Answer => ({ rcode: RCODE.NOERROR, answers: [], authority: [this.soa()], aa: true });
    const ok = (answers: ResourceRecord[], additional: ResourceRecord[] = []): Answer =>
      answers.length ? { rcode: RCODE.NOERROR, answers, additional, aa: true } : nodata();
    const labels = n === this.zone ? [] : n.slice(0, -this.zone.length - 1).split('.');
    if (labels.length === 0) return type === TYPE.SOA ? ok([this.soa()]) : nodata();
    const kind = labels[labels.length - 1];
    const rest = labels.slice(0, -1);
    if (kind === 'svc') return this.resolveService(n, rest, type, { ok, nodata, nxdomain });
    if (kind === 'pod') {
      if (rest.length === 0) return nodata();
      const ns = rest[rest.length - 1];
      if (rest.length === 1) return this.podIPs.has(ns) ? nodata() : nxdomain();
      if (rest.length !== 2) return nxdomain();
      const ip = rest[0].includes('-') && !rest[0].includes(':') ? rest[0].replace(/-/g, '.') : '';
      if (!this.podIPs.get(ns)?.has(ip)) return nxdomain();
      return type === TYPE.A || type === TYPE.ANY
        ? ok([{ name: n, ttl: DNS_TTL, type: 1, address: ip }])
        : nodata();
    }
    return nxdomain();
  }

  private resolveService(
    n: string,
    labels: string[],
    type: number,
    r: {
      ok: (a: ResourceRecord[], add?: ResourceRecord[]) => Answer;
      nodata: () => Answer;
      nxdomain: () => Answer;
    },
  ): Answer {
    if (labels.length === 0) return r.nodata();
    const ns = labels[labels.length - 1];
    if (labels.length === 1) {
      for (const s of this.services.values()) if (s.namespace === ns) return r.nodata();
      return r.nxdomain();
    }
    const svc = this.services.get(key(ns, labels[labels.length - 2]));
    if (!svc) return r.nxdomain();
    const svcName = `${svc.name}.${svc.namespace}.svc.${this.zone}`;
    if (svc.type === 'ExternalName') {
      if (labels.length !== 2 || !svc.externalName) return r.nxdomain();
      return r.ok([{ name: n, ttl: DNS_TTL, type: 5, target: svc.externalName }]);
    }
    const headless = isHeadless(svc);
    const { endpoints, ports: epPorts } = headless ? this.endpointsOf(svc) : { endpoints: [], ports: [] };
    const endpointName = (e: EndpointEntry) => `${e.hostname ?? dashed(e.address)}.${svcName}`;
    const addressRecords = (name: string, addrs: string[], want: number): ResourceRecord[] =>
      addrs
        .filter((a) => (a.includes(':') ? want === TYPE.AAAA : want === TYPE.A) || want === TYPE.ANY)
        .map((a) =>
          a.includes(':')
            ? { name, ttl: DNS_TTL, type: 28, address: a }
            : { name, ttl: DNS_TTL, type: 1, address: a },
        );
    const srvFor = (ports: ServicePort[]): { answers: ResourceRecord[]; additional: ResourceRecord[] } => {
      const answers: ResourceRecord[] = [];
      const additional: ResourceRecord[] = [];
      const targets = headless
        ? endpoints.map((e) => ({ target: endpointName(e), addrs: [e.address] }))
        : [{ target: svcName, addrs: svc.clusterIPs }];
      const weight = Math.floor(100 / Math.max(1, targets.length));
      for (const p of ports)
        for (const t of targets) {
          answers.push({
            name: n,
            ttl: DNS_TTL,
            type: 33,
            priority: 0,
            weight,
            port: p.port,
            target: t.target,
          });
          additional.push(...addressRecords(t.target, t.addrs, TYPE.ANY));
        }
      return { answers, additional };
    };
    // Headless services take their ports from the endpoints (the target ports pods listen on).
    const ports = headless && epPorts.length ? epPorts : svc.ports;
    if (labels.length === 2) {
      if (type === TYPE.SRV) {
        const s = srvFor(ports.filter((p) => p.name));
        return r.ok(s.answers, s.additional);
      }
      const addrs = headless ? endpoints.map((e) => e.address) : svc.clusterIPs;
      return r.ok(addressRecords(n, addrs, type));
    }
    if (labels.length === 3) {
      if (!headless) return r.nxdomain();
      const host = labels[0];
      const e = endpoints.filter((x) => (x.hostname ?? dashed(x.address)) === host);
      if (!e.length) return r.nxdomain();
      return r.ok(
        addressRecords(
          n,
          e.map((x) => x.address),
          type,
        ),
      );
    }
    if (labels.length === 4 && labels[0].startsWith('_') && labels[1].startsWith('_')) {
      const portName = labels[0].slice(1);
      const proto = labels[1].slice(1);
      const match = ports.filter((p) => p.name === portName && p.protocol === proto);
      if (!match.length) return r.nxdomain();
      if (type !== TYPE.SRV && type !== TYPE.ANY) return r.nodata();
      const s = srvFor(match);
      return r.ok(s.answers, s.additional);
    }
    return r.nxdomain();
  }

  /** `d.c.b.a.in-addr.arpa` → `a.b.c.d` when that address is a service's or an endpoint's. */
  private reverseAddress(n: string): string | undefined {
    const m = /^(\d+)\.(\d+)\.(\d+)\.(\d+)\.in-addr\.arpa$/.exec(n);
    if (!m) return undefined;
    const ip = [m[4], m[3], m[2], m[1]].join('.');
    return this.ptrTargets(ip).length ? ip : undefined;
  }

  private ptrTargets(ip: string): string[] {
    const out: string[] = [];
    for (const s of this.services.values()) {
      if (s.clusterIPs.includes(ip)) out.push(`${s.name}.${s.namespace}.svc.${this.zone}`);
      else if (isHeadless(s) && s.type !== 'ExternalName')
        for (const e of this.endpointsOf(s).endpoints)
          if (e.address === ip)
            out.push(`${e.hostname ?? dashed(ip)}.${s.name}.${s.namespace}.svc.${this.zone}`);
    }
    return out;
  }

  private resolvePtr(n: string, ip: string, type: number): Answer {
    if (type !== TYPE.PTR && type !== TYPE.ANY) return { rcode: RCODE.NOERROR, answers: [], aa: true };
    const answers: ResourceRecord[] = this.ptrTargets(ip).map((target) => ({
      name: n,
      ttl: DNS_TTL,
      type: 12,
      target,
    }));
    return { rcode: RCODE.NOERROR, answers, aa: true };
  }
}
