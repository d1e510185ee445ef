/**
 * Published ports: PortBindings (+ -P) expanded into concrete host ports, and the host sockets that hold them.
 * Forwarding itself is kernel DNAT (nft-rules.ts); holding a socket on each published host port keeps other
 * programs (and other daemons) off it, reports conflicts as dockerd does, picks random ports for -P, and
 * doubles as a userland proxy for the rare TCP connection the DNAT rules do not see. IPv6 host addresses
 * (`-p [::1]:8080:80`, and "::" beside 0.0.0.0 for a binding without an address, as dockerd reports both) are
 * not NATed (the table is IPv4): their sockets proxy TCP and relay UDP to the container, as docker-proxy does.
 */
import dgram from 'node:dgram';
import net from 'node:net';
import type { PortMap } from '@berth/common';
import { badParameter, internal } from '../errors.js';
import type { Logger } from '../log.js';
import { parseIp } from './ipv4.js';
import { formatIp6, parseIp6 } from './ipv6.js';
import type { PublishedPort } from './state.js';

export interface PortRequest {
  proto: 'tcp' | 'udp';
  containerPort: number;
  hostIp: string;
  /** Inclusive range; [0, 0] = any free port. */
  hostPortRange: [number, number];
  /** The IPv6 twin of the request before it ("::" for a binding without an address): same port, skipped
   *  when the host has no IPv6. */
  twinOfPrevious?: boolean;
}

const isV6 = (ip: string): boolean => ip.includes(':');

export function parsePortKey(key: string): { port: number; proto: 'tcp' | 'udp' | 'sctp' } {
  const m = /^(\d{1,5})(?:\/(tcp|udp|sctp))?$/.exec(key.trim());
  const port = m ? Number(m[1]) : NaN;
  if (!m || port < 1 || port > 65535) throw badParameter(`invalid port specification: "${key}"`);
  return { port, proto: (m[2] as 'tcp' | 'udp' | 'sctp' | undefined) ?? 'tcp' };
}

/** "" and "0" ask for an ephemeral port, as dockerd (testcontainers publishes with HostPort "0"). */
function parseHostPort(s: string | undefined): [number, number] {
  if (s === undefined || s === '' || s === '0') return [0, 0];
  const m = /^(\d{1,5})(?:-(\d{1,5}))?$/.exec(s);
  const a = m ? Number(m[1]) : NaN;
  const b = m?.[2] !== undefined ? Number(m[2]) : a;
  if (!m || a < 1 || b > 65535 || b < a) throw badParameter(`invalid hostPort: ${s}`);
  return [a, b];
}

/** Validates and expands PortBindings and -P into requests. */
export function portRequests(bindings: PortMap, publishAll: boolean, exposed: string[]): PortRequest[] {
  const out: PortRequest[] = [];
  const seen = new Set<string>();
  for (const [key, list] of Object.entries(bindings ?? {})) {
    const { port, proto } = parsePortKey(key);
    if (proto === 'sctp') throw badParameter(`sctp port publishing is not supported by berth: ${key}`);
    seen.add(`${port}/${proto}`);
    for (const b of list ?? []) {
      const given = b.HostIp ?? '';
      const anyHost = given === '';
      const hostIp = anyHost ? '0.0.0.0' : given.replace(/^\[(.*)\]$/, '$1');
      if (isV6(hostIp) ? parseIp6(hostIp) === undefined : parseIp(hostIp) === undefined)
        throw badParameter(`invalid host IP address in port binding: ${b.HostIp}`);
      const range = parseHostPort(b.HostPort);
      out.push({
        proto,
        containerPort: port,
        hostIp: isV6(hostIp) ? formatIp6(parseIp6(hostIp)!) : hostIp,
        hostPortRange: range,
      });
      if (anyHost)
        out.push({ proto, containerPort: port, hostIp: '::', hostPortRange: range, twinOfPrevious: true });
    }
  }
  if (publishAll) {
    for (const key of exposed) {
      const { port, proto } = parsePortKey(key);
      if (proto === 'sctp' || seen.has(`${port}/${proto}`)) continue;
      out.push({ proto, containerPort: port, hostIp: '0.0.0.0', hostPortRange: [0, 0] });
      out.push({ proto, containerPort: port, hostIp: '::', hostPortRange: [0, 0], twinOfPrevious: true });
    }
  }
  return out;
}

/** The container's PortMap as inspect reports it: exposed ports with null, published ones with bindings. */
export function portMap(exposed: string[], published: PublishedPort[]): PortMap {
  const m: PortMap = {};
  for (const key of exposed) {
    const { port, proto } = parsePortKey(key);
    m[`${port}/${proto}`] = null;
  }
  for (const p of published) {
    const key = `${p.containerPort}/${p.proto}`;
    (m[key] ??= []).push({ HostIp: p.hostIp, HostPort: String(p.hostPort) });
  }
  return m;
}

interface Holder {
  port: PublishedPort;
  close(): void;
}

export class PortReservations {
  /** containerId → held sockets */
  private held = new Map<string, Holder[]>();

  constructor(private readonly log: Logger) {}

  /**
   * Binds every request (first free port of a range, or a kernel-chosen one). All or nothing: a failure
   * releases what this call bound. `target` is where the userland fallback proxies TCP connections.
   */
  async reserve(containerId: string, reqs: PortRequest[], target: string): Promise<PublishedPort[]> {
    const got: Holder[] = [];
    try {
      for (const r of reqs) {
        if (!r.twinOfPrevious) {
          got.push(await this.bindOne(r, target));
          continue;
        }
        const port = got[got.length - 1].port.hostPort;
        try {
          got.push(await this.bindOne({ ...r, hostPortRange: [port, port] }, target));
        } catch (err) {
          if (!noIpv6(err)) throw err;
        }
      }
    } catch (err) {
      for (const h of got) h.close();
      throw err;
    }
    this.held.set(containerId, [...(this.held.get(containerId) ?? []), ...got]);
    return got.map((h) => h.port);
  }

  /** Re-holds exact ports after a daemon restart (best effort: a port taken meanwhile is logged). */
  async restore(containerId: string, ports: PublishedPort[], target: string): Promise<void> {
    for (const p of ports) {
      try {
        const h = await this.bindOne(
          {
            proto: p.proto,
            containerPort: p.containerPort,
            hostIp: p.hostIp,
            hostPortRange: [p.hostPort, p.hostPort],
          },
          target,
        );
        this.held.set(containerId, [...(this.held.get(containerId) ?? []), h]);
      } catch (err) {
        this.log.warn('could not re-reserve published port', {
          containerId,
          port: p.hostPort,
          err: err as Error,
        });
      }
    }
  }

  release(containerId: string): void {
    for (const h of this.held.get(containerId) ?? []) h.close();
    this.held.delete(containerId);
  }

  releaseAll(): void {
    for (const id of [...this.held.keys()]) this.release(id);
  }

  private async bindOne(r: PortRequest, target: string): Promise<Holder> {
    const [lo, hi] = r.hostPortRange;
    let lastErr: unknown;
    for (let p = lo; p <= hi; p++) {
      try {
        return r.proto === 'tcp' ? await this.bindTcp(r, p, target) : await this.bindUdp(r, p, target);
      } catch (err) {
        lastErr = err;
      }
    }
    const shown = lo === hi ? String(lo) : `${lo}-${hi}`;
    const why =
      (lastErr as NodeJS.ErrnoException | undefined)?.code === 'EADDRINUSE'
        ? 'port is already allocated'
        : ((lastErr as Error | undefined)?.message ?? 'failed');
    throw internal(
      `driver failed programming external connectivity on endpoint: Bind for ${r.hostIp}:${shown} failed: ${why}`,
    );
  }

  private bindTcp(r: PortRequest, port: number, target: string): Promise<Holder> {
    return new Promise((resolve, reject) => {
      const server = net.createServer((sock) => {
        // Only reached when DNAT did not apply: forward in userland rather than refuse.
        const up = net.connect(r.containerPort, target);
        sock.pipe(up).pipe(sock);
        const end = () => {
          sock.destroy();
          up.destroy();
        };
        sock.on('error', end);
        up.on('error', end);
      });
      server.once('error', reject);
      // ipv6Only: "::" must not also take the IPv4 port its 0.0.0.0 twin holds.
      server.listen({ port, host: r.hostIp, exclusive: true, ipv6Only: isV6(r.hostIp) }, () => {
        server.off('error', reject);
        server.on('error', (err) => this.log.warn('published port socket error', { err }));
        const actual = (server.address() as net.AddressInfo).port;
        resolve({
          port: { proto: 'tcp', containerPort: r.containerPort, hostIp: r.hostIp, hostPort: actual },
          close: () => server.close(),
        });
      });
    });
  }

  private bindUdp(r: PortRequest, port: number, target: string): Promise<Holder> {
    const v6 = isV6(r.hostIp);
    return new Promise((resolve, reject) => {
      const sock = dgram.createSocket({ type: v6 ? 'udp6' : 'udp4', reuseAddr: false, ipv6Only: v6 });
      sock.once('error', reject);
      sock.bind({ port, address: r.hostIp, exclusive: true }, () => {
        sock.off('error', reject);
        sock.on('error', (err) => this.log.warn('published port socket error', { err }));
        const actual = sock.address().port;
        // IPv4 datagrams are DNATed before they reach this socket; IPv6 ones are relayed here.
        const relay = v6 ? udpRelay(sock, target, r.containerPort) : undefined;
        resolve({
          port: { proto: 'udp', containerPort: r.containerPort, hostIp: r.hostIp, hostPort: actual },
          close: () => {
            relay?.close();
            sock.close();
          },
        });
      });
    });
  }
}

/** The host has no IPv6 (a guest or host booted without it): "::" is skipped, as dockerd skips it. */
function noIpv6(err: unknown): boolean {
  const code = (err as NodeJS.ErrnoException).code;
  return (
    code === 'EAFNOSUPPORT' ||
    code === 'EADDRNOTAVAIL' ||
    /EAFNOSUPPORT|EADDRNOTAVAIL/.test(String((err as Error).message))
  );
}

/** One upstream socket per client address, dropped after a quiet minute (docker-proxy's UDP conntrack). */
const UDP_IDLE_MS = 60_000;

function udpRelay(front: dgram.Socket, target: string, port: number): { close(): void } {
  const flows = new Map<string, { up: dgram.Socket; timer: NodeJS.Timeout }>();
  const drop = (key: string) => {
    const f = flows.get(key);
    if (!f) return;
    clearTimeout(f.timer);
    f.up.close();
    flows.delete(key);
  };
  front.on('message', (msg, from) => {
    const key = `[${from.address}]:${from.port}`;
    let f = flows.get(key);
    if (!f) {
      const up = dgram.createSocket('udp4');
      up.on('message', (reply) => front.send(reply, from.port, from.address));
      up.on('error', () => drop(key));
      f = { up, timer: setTimeout(() => drop(key), UDP_IDLE_MS) };
      flows.set(key, f);
    }
    f.timer.refresh();
    f.up.send(msg, port, target);
  });
  return {
    close() {
      for (const k of [...flows.keys()]) drop(k);
    },
  };
}
