/**
 * Name resolution for the embedded DNS: which container asks (by source address), which user networks it is
 * on, and which endpoints on those networks carry the name (container name, aliases, short id, hostname,
 * each also as <name>.<network>). Unknown names go upstream unless all the asker's networks are internal.
 */
import { TYPE_PTR } from './dns/wire.js';
import type { DnsResolver, Resolution } from './dns/server.js';
import { parseIp } from './ipv4.js';
import { parseIp6 } from './ipv6.js';
import type { NetworkManager } from './manager.js';
import type { ContainerRecord, EndpointState } from './state.js';

export function dnsNames(containerId: string, rec: ContainerRecord, networkId: string): string[] {
  const att = rec.attachments.find((a) => a.networkId === networkId);
  const names = [rec.req.name, ...(att?.aliases ?? []), containerId.slice(0, 12)];
  if (rec.req.hostname && !names.includes(rec.req.hostname)) names.push(rec.req.hostname);
  return names;
}

export class NetworkResolver implements DnsResolver {
  /** Set once the manager exists (they reference each other). */
  manager: NetworkManager | undefined;

  resolve(askerIp: string, name: string, type: number): Resolution {
    const m = this.manager;
    if (!m) return { kind: 'refuse' };
    const asker = this.findAsker(askerIp);
    if (!asker) return { kind: 'refuse' };
    const nets = asker.rec
      .sandbox!.endpoints.map((e) => m.store.networks.get(e.networkId))
      .filter((n) => n !== undefined && m.isUserNetwork(n));

    if (type === TYPE_PTR && name.endsWith('.in-addr.arpa')) {
      const ip = name.slice(0, -'.in-addr.arpa'.length).split('.').reverse().join('.');
      for (const n of nets) {
        const hit = m.store.endpointsOn(n!.id).find((e) => e.ep.ip === ip);
        if (hit) return { kind: 'ptr', name: `${hit.record.req.name}.${n!.name}` };
      }
    } else {
      const ips: number[] = [];
      const ips6: bigint[] = [];
      for (const n of nets) {
        const suffix = `.${n!.name.toLowerCase()}`;
        const short = name.endsWith(suffix) ? name.slice(0, -suffix.length) : name;
        for (const { containerId, record, ep } of m.store.endpointsOn(n!.id)) {
          if (
            dnsNames(containerId, record, n!.id).some(
              (x) => x.toLowerCase() === short || x.toLowerCase() === name,
            )
          ) {
            const ip = parseIp(ep.ip);
            if (ip !== undefined && !ips.includes(ip)) ips.push(ip);
            const ip6 = ep.ipv6 ? parseIp6(ep.ipv6) : undefined;
            if (ip6 !== undefined && !ips6.includes(ip6)) ips6.push(ip6);
          }
        }
        if (ips.length) break; // the first network that knows the name answers, as dockerd
      }
      if (ips.length) return { kind: 'addresses', ips, ips6 };
    }
    if (nets.every((n) => n!.internal)) return { kind: 'forward', upstreams: [] };
    return { kind: 'forward', upstreams: m.upstreams(asker.rec.req.dns) };
  }

  private findAsker(ip: string): { id: string; rec: ContainerRecord; ep: EndpointState } | undefined {
    for (const [id, rec] of this.manager!.store.containers) {
      const ep = rec.sandbox?.endpoints.find((e) => e.ip === ip);
      if (ep) return { id, rec, ep };
    }
    return undefined;
  }
}
