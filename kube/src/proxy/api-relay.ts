/**
 * The `kubernetes` Service's endpoint: a TCP relay on the pod network's gateway to the API server on the host's
 * 127.0.0.1. It stays in user space because pods' packets would need DNAT to a loopback address from the
 * bridge, and it carries only API calls (LoadBalancer and node ports are DNATed in the kernel, rules.ts).
 */
import net from 'node:net';
import type { Logger } from '../log.js';

export class ApiRelay {
  private server?: net.Server;
  private readonly sockets = new Set<net.Socket>();

  constructor(private readonly log: Logger) {}

  /** Listens on host:port, relaying each connection to 127.0.0.1:apiPort. */
  listen(host: string, port: number, apiPort: number): Promise<void> {
    // Half-open both ways: a client that shuts down its side after the request still gets the whole answer.
    const server = net.createServer({ allowHalfOpen: true }, (client) => {
      const upstream = net.connect({ host: '127.0.0.1', port: apiPort, allowHalfOpen: true });
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
    this.server = server;
    return new Promise((resolve) => {
      server.once('error', (e) => {
        this.log.warn('API relay not listening', { port, error: e.message });
        resolve();
      });
      server.listen({ host, port }, () => resolve());
    });
  }

  close(): void {
    this.server?.close();
    for (const s of this.sockets) s.destroy();
  }
}
