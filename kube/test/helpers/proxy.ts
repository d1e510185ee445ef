/**
 * What the service-proxy suites share (proxy, proxy-traffic-policy, proxy-host-ports): the root nftables needs,
 * HTTP endpoints on 127.0.0.x that answer with their own address (all of 127/8 is local, so no pod is needed), a
 * plain GET through whatever the rules do, and a ClusterIP Service of the suite's namespace.
 */
import http from 'node:http';
import type { KubeObject } from '../../src/registry/types.js';

/** undefined when this can run (root); the reason to skip, or under CI an error. */
export function nftSkipReason(): string | undefined {
  if (process.getuid?.() === 0) return undefined;
  if (process.env.CI === 'true') throw new Error('required under CI: root (nftables)');
  return 'needs root for nftables';
}

/** One HTTP server per address on `port`, each answering with its address; close them with closeAll. */
export async function addressServers(ips: string[], port: number): Promise<http.Server[]> {
  const servers: http.Server[] = [];
  for (const ip of ips) {
    const s = http.createServer((_req, res) => res.end(ip));
    await new Promise<void>((resolve, reject) => {
      s.once('error', reject);
      s.listen(port, ip, () => resolve());
    });
    servers.push(s);
  }
  return servers;
}

/** The body of a GET on host:port, without keep-alive; rejects with 'timeout' when nothing answers in time. */
export function getBody(host: string, port: number, timeout = 3000): Promise<string> {
  return new Promise((resolve, reject) => {
    const req = http.get({ host, port, path: '/', agent: false, timeout }, (res) => {
      let body = '';
      res.on('data', (d: Buffer) => (body += d.toString()));
      res.on('end', () => resolve(body));
    });
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.on('error', reject);
  });
}

/** A ClusterIP Service of `namespace` on port 80 (named http), `extra` merged into its spec. */
export const clusterIPService =
  (namespace: string) =>
  (name: string, ip: string, extra: Record<string, unknown> = {}): KubeObject => ({
    metadata: { namespace, name },
    spec: {
      type: 'ClusterIP',
      clusterIP: ip,
      clusterIPs: [ip],
      ports: [{ name: 'http', protocol: 'TCP', port: 80 }],
      ...extra,
    },
  });
