/**
 * kube-proxy's service health checks: for each LoadBalancer with externalTrafficPolicy Local, an HTTP server on
 * its healthCheckNodePort (on the host address, where node ports answer) saying 200 while this node has a ready
 * endpoint of the Service and 503 while it has none, with kube-proxy's JSON body, so a load balancer in front
 * sends traffic only to nodes that can take it. Reconciled to a desired set; a port that cannot be bound is
 * logged and tried again on the next change.
 */
import http from 'node:http';
import type { Logger } from '../log.js';

export interface HealthCheck {
  namespace: string;
  name: string;
  port: number;
  localEndpoints: number;
}

export class HealthChecks {
  private readonly servers = new Map<number, { server: http.Server; check: HealthCheck }>();

  constructor(
    private readonly address: string,
    private readonly log: Logger,
  ) {}

  async reconcile(wanted: HealthCheck[]): Promise<void> {
    const want = new Map(wanted.map((c) => [c.port, c]));
    for (const [port, s] of this.servers)
      if (!want.has(port)) {
        this.servers.delete(port);
        s.server.close();
      }
    for (const c of wanted) {
      const cur = this.servers.get(c.port);
      if (cur) {
        cur.check = c;
        continue;
      }
      const entry = { server: http.createServer(), check: c };
      entry.server.on('request', (_req: http.IncomingMessage, res: http.ServerResponse) => {
        const { namespace, name, localEndpoints } = entry.check;
        res.writeHead(localEndpoints > 0 ? 200 : 503, {
          'Content-Type': 'application/json',
          'X-Content-Type-Options': 'nosniff',
          'X-Load-Balancing-Endpoint-Weight': String(localEndpoints),
        });
        res.end(JSON.stringify({ service: { namespace, name }, localEndpoints, serviceProxyHealthy: true }));
      });
      this.servers.set(c.port, entry);
      await new Promise<void>((resolve) => {
        entry.server.once('error', (e: Error) => {
          this.log.warn('health check port not served', { port: c.port, error: e.message });
          this.servers.delete(c.port);
          resolve();
        });
        entry.server.listen(c.port, this.address, () => resolve());
      });
    }
  }

  async close(): Promise<void> {
    const all = [...this.servers.values()];
    this.servers.clear();
    await Promise.all(all.map((s) => new Promise<void>((resolve) => s.server.close(() => resolve()))));
  }
}
