/**
 * Where an Ingress backend (Service name + port number or name) sends a request: the Service's port, then the
 * ready endpoints of its EndpointSlices on that port (named target ports are already resolved per pod by the
 * EndpointSlice controller), taken in turn (round-robin). An ExternalName Service goes to its external name on the
 * port number. Fed by the controller's informers; no I/O.
 */
import type { ServiceBackend } from './routes.js';

interface ServiceShape {
  metadata?: { namespace?: string; name?: string };
  spec?: {
    type?: string;
    externalName?: string;
    ports?: Array<{ name?: string; port?: number; protocol?: string }>;
  };
}

interface SliceShape {
  metadata?: { namespace?: string; name?: string; labels?: Record<string, string> };
  addressType?: string;
  endpoints?: Array<{ addresses?: string[]; conditions?: { ready?: boolean } }>;
  ports?: Array<{ name?: string; port?: number; protocol?: string }>;
}

export type Target = { host: string; port: number } | { error: string };

const key = (ns: string | undefined, name: string | undefined) => `${ns ?? ''}/${name ?? ''}`;

export class Backends {
  private readonly services = new Map<string, ServiceShape>();
  private readonly slices = new Map<string, SliceShape>();
  private readonly turn = new Map<string, number>();

  setService(s: ServiceShape): void {
    this.services.set(key(s.metadata?.namespace, s.metadata?.name), s);
  }
  deleteService(s: ServiceShape): void {
    this.services.delete(key(s.metadata?.namespace, s.metadata?.name));
  }
  setSlice(s: SliceShape): void {
    this.slices.set(key(s.metadata?.namespace, s.metadata?.name), s);
  }
  deleteSlice(s: SliceShape): void {
    this.slices.delete(key(s.metadata?.namespace, s.metadata?.name));
  }

  /** The ready endpoints behind a backend, or why there are none (the 503's text). */
  endpoints(b: ServiceBackend): Array<{ host: string; port: number }> | { error: string } {
    const name = `${b.namespace}/${b.service}`;
    const svc = this.services.get(name);
    const wanted = b.port.number ?? b.port.name;
    if (!svc) return { error: `service "${name}" not found` };
    const port = (svc.spec?.ports ?? []).find((p) =>
      b.port.number !== undefined ? p.port === b.port.number : p.name === b.port.name,
    );
    if (svc.spec?.type === 'ExternalName') {
      const n = port?.port ?? b.port.number;
      if (!svc.spec.externalName || !n)
        return { error: `service "${name}" has no port ${String(wanted)} for its external name` };
      return [{ host: svc.spec.externalName, port: n }];
    }
    if (!port) return { error: `service "${name}" has no port ${String(wanted)}` };
    const out: Array<{ host: string; port: number }> = [];
    const seen = new Set<string>();
    for (const sl of this.slices.values()) {
      if (sl.metadata?.namespace !== b.namespace) continue;
      if (sl.metadata?.labels?.['kubernetes.io/service-name'] !== b.service) continue;
      if (sl.addressType && sl.addressType !== 'IPv4') continue;
      const sp = (sl.ports ?? []).find(
        (x) => (x.name ?? '') === (port.name ?? '') && (x.protocol ?? 'TCP') === 'TCP',
      );
      if (!sp?.port) continue;
      for (const e of sl.endpoints ?? []) {
        if (e.conditions?.ready === false) continue;
        for (const ip of e.addresses ?? []) {
          const id = `${ip}:${sp.port}`;
          if (!seen.has(id) && seen.add(id)) out.push({ host: ip, port: sp.port });
        }
      }
    }
    if (!out.length) return { error: `no ready endpoints for service "${name}" port ${String(wanted)}` };
    return out.sort((x, y) => `${x.host}:${x.port}`.localeCompare(`${y.host}:${y.port}`));
  }

  /** The next endpoint in turn for this backend. */
  pick(b: ServiceBackend): Target {
    const eps = this.endpoints(b);
    if (!Array.isArray(eps)) return eps;
    const k = `${b.namespace}/${b.service}:${b.port.number ?? b.port.name}`;
    const n = this.turn.get(k) ?? 0;
    this.turn.set(k, (n + 1) % 1_000_000);
    return eps[n % eps.length];
  }
}
