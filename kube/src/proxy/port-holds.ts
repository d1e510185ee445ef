/**
 * The sockets berth-kube holds on the host address for LoadBalancer ports and node ports. They carry no
 * traffic: the proxy's table DNATs those ports in the kernel (rules.ts), and only for the ports held here. Holding
 * one keeps other programs off it, as a published port's socket does in berthd, and one already taken by
 * another listener is not held, so its Service reports it (no ingress) instead of the DNAT shadowing that
 * listener. A taken port is tried again at the next reconcile (the next Service or endpoint change).
 */
import dgram from 'node:dgram';
import net from 'node:net';
import type { Logger } from '../log.js';

export interface WantedHostPort {
  /** namespace/name */
  service: string;
  port: number;
  protocol: 'tcp' | 'udp';
}

interface Hold {
  service: string;
  socket?: net.Server | dgram.Socket;
  error?: string;
}

const keyOf = (p: { protocol: string; port: number }) => `${p.protocol}/${p.port}`;

export class PortHolds {
  private readonly holds = new Map<string, Hold>();

  constructor(
    private readonly address: string,
    private readonly log: Logger,
  ) {}

  /** Holds exactly `wanted` (a port asked for by two Services goes to the first). */
  async reconcile(wanted: WantedHostPort[]): Promise<void> {
    const next = new Map<string, WantedHostPort>();
    for (const w of wanted) if (!next.has(keyOf(w))) next.set(keyOf(w), w);
    for (const [k, h] of this.holds) {
      // Kept (or, when taken, retried below and warned about once).
      if (next.get(k)?.service === h.service) continue;
      closeSocket(h.socket);
      this.holds.delete(k);
    }
    for (const [k, w] of next) {
      const h = this.holds.get(k) ?? { service: w.service };
      if (h.socket) continue;
      this.holds.set(k, h);
      try {
        h.socket = w.protocol === 'udp' ? await this.bindUdp(w.port) : await this.bindTcp(w.port);
        delete h.error;
      } catch (e) {
        const error =
          (e as NodeJS.ErrnoException).code === 'EADDRINUSE'
            ? `port ${w.port} is already in use`
            : (e as Error).message;
        if (error !== h.error)
          this.log.warn('service port not opened on the host', { service: w.service, port: w.port, error });
        h.error = error;
      }
    }
  }

  /** `tcp/8080` → the Service holding it, for the ports actually held. */
  held(): Map<string, string> {
    const out = new Map<string, string>();
    for (const [k, h] of this.holds) if (h.socket) out.set(k, h.service);
    return out;
  }

  close(): void {
    for (const h of this.holds.values()) closeSocket(h.socket);
    this.holds.clear();
  }

  private bindTcp(port: number): Promise<net.Server> {
    // A connection reaches this socket only when the DNAT did not apply (between the hold and its rule landing):
    // it is reset, and the client's retry finds the rule.
    const server = net.createServer((sock) => sock.resetAndDestroy());
    return new Promise((resolve, reject) => {
      server.once('error', reject);
      server.listen({ host: this.address, port, exclusive: true }, () => {
        server.off('error', reject);
        server.on('error', (e) => this.log.warn('held service port', { port, error: e.message }));
        resolve(server);
      });
    });
  }

  private bindUdp(port: number): Promise<dgram.Socket> {
    const sock = dgram.createSocket({ type: 'udp4', reuseAddr: false });
    // Datagrams are DNATed before they reach it; any that are not (no rule yet) are dropped, as UDP may.
    sock.on('message', () => undefined);
    return new Promise((resolve, reject) => {
      sock.once('error', reject);
      sock.bind({ address: this.address, port, exclusive: true }, () => {
        sock.off('error', reject);
        sock.on('error', (e) => this.log.warn('held service port', { port, error: e.message }));
        resolve(sock);
      });
    });
  }
}

function closeSocket(s: net.Server | dgram.Socket | undefined): void {
  if (s instanceof net.Server) s.close();
  else s?.close();
}
