/** Which host ports a container publishes, read from the Engine API's inspect and list payloads. */

export interface PortBinding {
  HostIp?: string;
  HostPort?: string;
}

/** `NetworkSettings.Ports` of GET /containers/{id}/json: {"80/tcp": [{HostIp, HostPort}], "53/udp": null}. */
export type InspectPorts = Record<string, PortBinding[] | null | undefined>;

/** A port published inside the guest that the host's 127.0.0.1 should show too. */
export interface PublishedPort {
  proto: 'tcp' | 'udp';
  port: number;
  /**
   * Bound to the guest's loopback only (`-p 127.0.0.1:P:…`): the guest DNATs it only for traffic addressed
   * to 127.0.0.1, so it cannot arrive through the VM's network card and needs a forward that ends inside.
   */
  loopbackOnly: boolean;
  /** Bound on the guest's IPv6 loopback only (`-p [::1]:P:…`): reached at [::1] inside, shown on the host's ::1. */
  ipv6Loopback?: boolean;
}

/** Ports published on all interfaces or loopback (tcp and udp), one entry per proto/port. */
export function publishedPorts(ports: InspectPorts | null | undefined): PublishedPort[] {
  const out = new Map<string, PublishedPort>();
  for (const [key, bindings] of Object.entries(ports ?? {})) {
    const proto = key.endsWith('/tcp') ? 'tcp' : key.endsWith('/udp') ? 'udp' : undefined;
    if (!proto || !bindings) continue;
    for (const b of bindings) {
      const ip = b.HostIp ?? '';
      const any = !ip || ip === '0.0.0.0' || ip === '::';
      if (!any && ip !== '127.0.0.1' && ip !== '::1') continue;
      const port = Number(b.HostPort);
      if (!Number.isInteger(port) || port < 1 || port > 65535) continue;
      const k = `${proto}/${port}`;
      const prev = out.get(k);
      // Bound on all interfaces by any binding: reachable through the network card.
      const loopbackOnly = (prev?.loopbackOnly ?? true) && !any;
      // Only on ::1 (no 127.0.0.1 binding of the same port): the forward must end at [::1] in the guest.
      const v6 = loopbackOnly && ip === '::1' && (prev === undefined || prev.ipv6Loopback === true);
      out.set(k, { proto, port, loopbackOnly, ...(v6 ? { ipv6Loopback: true } : {}) });
    }
  }
  return [...out.values()].sort((a, b) => a.port - b.port || a.proto.localeCompare(b.proto));
}

/** TCP host ports published on all interfaces or loopback. */
export function publishedTcpPorts(ports: InspectPorts | null | undefined): number[] {
  return publishedPorts(ports)
    .filter((p) => p.proto === 'tcp')
    .map((p) => p.port);
}

/** The `Ports` array of GET /containers/json entries. */
export interface ListPort {
  IP?: string;
  PrivatePort: number;
  PublicPort?: number;
  Type: string;
}

function listedAsInspect(ports: ListPort[] | undefined): InspectPorts {
  const asInspect: InspectPorts = {};
  for (const p of ports ?? []) {
    if (p.PublicPort === undefined) continue;
    (asInspect[`${p.PrivatePort}/${p.Type}`] ??= []).push({
      HostIp: p.IP ?? '',
      HostPort: String(p.PublicPort),
    });
  }
  return asInspect;
}

export function listedPorts(ports: ListPort[] | undefined): PublishedPort[] {
  return publishedPorts(listedAsInspect(ports));
}

export function listedTcpPorts(ports: ListPort[] | undefined): number[] {
  return publishedTcpPorts(listedAsInspect(ports));
}
