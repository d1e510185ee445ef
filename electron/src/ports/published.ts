/** Which host ports a container publishes, read from the Engine API's inspect and list payloads. */

export interface PortBinding {
  HostIp?: string;
  HostPort?: string;
}

/** `NetworkSettings.Ports` of GET /containers/{id}/json: {"80/tcp": [{HostIp, HostPort}], "53/udp": null}. */
export type InspectPorts = Record<string, PortBinding[] | null | undefined>;

/** TCP host ports published on all interfaces or loopback (those the host's 127.0.0.1 should show). */
export function publishedTcpPorts(ports: InspectPorts | null | undefined): number[] {
  const out = new Set<number>();
  for (const [key, bindings] of Object.entries(ports ?? {})) {
    if (!key.endsWith('/tcp') || !bindings) continue;
    for (const b of bindings) {
      const ip = b.HostIp ?? '';
      if (ip && ip !== '0.0.0.0' && ip !== '::' && ip !== '127.0.0.1' && ip !== '::1') continue;
      const port = Number(b.HostPort);
      if (Number.isInteger(port) && port > 0 && port < 65536) out.add(port);
    }
  }
  return [...out].sort((a, b) => a - b);
}

/** The `Ports` array of GET /containers/json entries. */
export interface ListPort {
  IP?: string;
  PrivatePort: number;
  PublicPort?: number;
  Type: string;
}

export function listedTcpPorts(ports: ListPort[] | undefined): number[] {
  const asInspect: InspectPorts = {};
  for (const p of ports ?? []) {
    if (p.PublicPort === undefined) continue;
    (asInspect[`${p.PrivatePort}/${p.Type}`] ??= []).push({ HostIp: p.IP ?? '', HostPort: String(p.PublicPort) });
  }
  return publishedTcpPorts(asInspect);
}
