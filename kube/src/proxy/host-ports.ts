/**
 * Services on the host's 127.0.0.1: a listener per LoadBalancer port (the service port) and per node port, TCP
 * or UDP, relaying to the service's cluster IP (which the proxy's output hook DNATs), so `curl localhost:8080` and
 * `curl localhost:30080` work as on Docker Desktop without route_localnet. UDP keeps one upstream socket per
 * client address and port (so answers find their way back), closed after a minute without traffic, as conntrack
 * forgets an idle UDP flow. Reconciled to a desired set; a port something else holds is reported, not retried in
 * a loop.
 */
import dgram from 'node:dgram';
import net from 'node:net';
import type { Logger } from '../log.js';

export interface HostPort {
  /** What owns it, for logs and status: namespace/name. */
  service: string;
  hostPort: number;
  targetIP: string;
  targetPort: number;
  /** Default tcp. */
  protocol?: 'tcp' | 'udp';
}

interface Listener {
  want: HostPort;
  server?: net.Server | dgram.Socket;
  error?: string;
}

const UDP_IDLE_MS = 60_000;
const protocolOf = (p: HostPort) => p.protocol ?? 'tcp';
const keyOf = (p: HostPort) => `${protocolOf(p)}/${p.hostPort}`;

export class HostPorts {
  private readonly listeners = new Map<string, Listener>();
  private readonly sockets = new Set<net.Socket | dgram.Socket>();

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
      this.closeListener(l);
      this.listeners.delete(k);
    }
    for (const [k, w] of next) {
      if (this.listeners.has(k)) continue;
      const l: Listener = { want: w };
      this.listeners.set(k, l);
      try {
        l.server = protocolOf(w) === 'udp' ? await this.listenUdp(w) : await this.listen(w);
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
  serving(hostPort: number, protocol: 'tcp' | 'udp' = 'tcp'): boolean {
    return !!this.listeners.get(`${protocol}/${hostPort}`)?.server;
  }

  async close(): Promise<void> {
    for (const l of this.listeners.values()) this.closeListener(l);
    for (const s of this.sockets) if (s instanceof net.Socket) s.destroy();
    this.listeners.clear();
  }

  private closeListener(l: Listener): void {
    const s = l.server;
    if (s instanceof net.Server) s.close();
    else if (s) s.emit('berth-close');
  }

  private listenUdp(w: HostPort): Promise<dgram.Socket> {
    const server = dgram.createSocket('udp4');
    // Datagrams that arrive before the upstream socket is connected wait in `queue`.
    const flows = new Map<string, { up: dgram.Socket; idle: NodeJS.Timeout; queue?: Buffer[] }>();
    const end = (key: string) => {
      const f = flows.get(key);
      if (!f) return;
      flows.delete(key);
      clearTimeout(f.idle);
      this.sockets.delete(f.up);
      f.up.close();
    };
    server.on('message', (msg, from) => {
      const key = `${from.address}:${from.port}`;
      let f = flows.get(key);
      if (!f) {
        const up = dgram.createSocket('udp4');
        up.on('message', (answer) => {
          server.send(answer, from.port, from.address);
          const g = flows.get(key);
          g?.idle.refresh();
        });
        up.on('error', () => end(key));
        const flow: { up: dgram.Socket; idle: NodeJS.Timeout; queue?: Buffer[] } = {
          up,
          idle: setTimeout(() => end(key), UDP_IDLE_MS),
          queue: [],
        };
        up.connect(w.targetPort, w.targetIP, () => {
          for (const m of flow.queue ?? []) up.send(m);
          delete flow.queue;
        });
        f = flow;
        flows.set(key, f);
        this.sockets.add(up);
      }
      f.idle.refresh();
      if (f.queue) f.queue.push(msg);
      else f.up.send(msg);
    });
    server.once('berth-close', () => {
      for (const k of [...flows.keys()]) end(k);
      server.close();
    });
    return new Promise((resolve, reject) => {
      server.once('error', reject);
      server.bind({ address: this.host, port: w.hostPort, exclusive: true }, () => {
        server.off('error', reject);
        server.on('error', (e) => this.log.warn('udp service port', { port: w.hostPort, error: e.message }));
        resolve(server);
      });
    });
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
