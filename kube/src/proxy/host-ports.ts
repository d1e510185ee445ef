/**
 * Services on the host's 127.0.0.1: a TCP listener per LoadBalancer port (the service port) and per node port,
 * relaying to the service's cluster IP (which the proxy's output hook DNATs), so `curl localhost:8080` and
 * `curl localhost:30080` work as on Docker Desktop without route_localnet. Reconciled to a desired set; a port
 * something else holds is reported, not retried in a loop.
 */
import net from 'node:net';
import type { Logger } from '../log.js';

export interface HostPort {
  /** What owns it, for logs and status: namespace/name. */
  service: string;
  hostPort: number;
  targetIP: string;
  targetPort: number;
}

interface Listener {
  want: HostPort;
  server?: net.Server;
  error?: string;
}

const keyOf = (p: HostPort) => `${p.hostPort}`;

export class HostPorts {
  private readonly listeners = new Map<string, Listener>();
  private readonly sockets = new Set<net.Socket>();

  constructor(
    private readonly host: string,
    private readonly log: Logger,
  ) {}

  /** Makes the listeners exactly `wanted` (a port asked for twice goes to the first). */
  async reconcile(wanted: HostPort[]): Promise<void> {
    const next = new Map<string, HostPort>();
    for (const w of wanted) if (!next.has(keyOf(w))) next.set(keyOf(w), w);
    for (const [k, l] of this.listeners) {
      const w = next.get(k);
      if (
        w &&
        w.service === l.want.service &&
        w.targetIP === l.want.targetIP &&
        w.targetPort === l.want.targetPort
      )
        continue;
      l.server?.close();
      this.listeners.delete(k);
    }
    for (const [k, w] of next) {
      if (this.listeners.has(k)) continue;
      const l: Listener = { want: w };
      this.listeners.set(k, l);
      try {
        l.server = await this.listen(w);
      } catch (e) {
        l.error =
          (e as NodeJS.ErrnoException).code === 'EADDRINUSE'
            ? `port ${w.hostPort} is already in use`
            : (e as Error).message;
        this.log.warn('service port not opened on the host', {
          service: w.service,
          port: w.hostPort,
          error: l.error,
        });
      }
    }
  }

  /** Whether `hostPort` is being served (for LoadBalancer status). */
  serving(hostPort: number): boolean {
    return !!this.listeners.get(String(hostPort))?.server;
  }

  async close(): Promise<void> {
    for (const l of this.listeners.values()) l.server?.close();
    for (const s of this.sockets) s.destroy();
    this.listeners.clear();
  }

  private listen(w: HostPort): Promise<net.Server> {
    // Half-open both ways: a client that shuts down its side after the request (nc, HTTP/1.0 tools) still
    // gets the whole answer.
    const server = net.createServer({ allowHalfOpen: true }, (client) => {
      const upstream = net.connect({ host: w.targetIP, port: w.targetPort, allowHalfOpen: true });
      for (const s of [client, upstream]) {
        this.sockets.add(s);
        s.on('close', () => this.sockets.delete(s));
        s.on('error', () => {
          client.destroy();
          upstream.destroy();
        });
      }
      client.pipe(upstream);
      upstream.pipe(client);
    });
    return new Promise((resolve, reject) => {
      server.once('error', reject);
      server.listen({ host: this.host, port: w.hostPort }, () => {
        server.off('error', reject);
        resolve(server);
      });
    });
  }
}
