/**
 * Berth's cluster in the VM: its LoadBalancer ports and node ports on the host's 127.0.0.1, kept in step with
 * its Services as containers' published ports are with /events (watcher.ts), through the same publisher.
 * berth-kube in the guest listens for them on all the guest's addresses (--host-address 0.0.0.0), so the VM's
 * own network forward reaches them. The API server is found through the host's copy of the cluster's admin
 * kubeconfig; while there is none, or it does not answer (the cluster is disabled), the ports are withdrawn
 * and the watcher looks again every few seconds. The Ingress controller's HTTP and HTTPS ports (berth-kube writes
 * where it listens to the ConfigMap kube-system/berth-ingress, once it is up) are forwarded the same way, read at
 * each relist: the watch ends every 30 s (every 3 s until that ConfigMap is there), which relists.
 */
import type { ClientRequest } from 'node:http';
import https from 'node:https';
import { loadKubeconfig, type ResolvedContext } from '../cluster/kubeconfig.js';
import type { PortPublisher } from './publisher.js';
import type { PublishedPort } from './published.js';

interface ServicePort {
  port: number;
  nodePort?: number;
  protocol?: string;
}
interface Service {
  metadata: { name: string; namespace?: string; resourceVersion?: string };
  spec?: { type?: string; ports?: ServicePort[] };
}

const OWNER = 'svc:';
const INGRESS_OWNER = 'ingress:';
const INGRESS_CONFIGMAP = '/api/v1/namespaces/kube-system/configmaps/berth-ingress';
const RETRY_MS = 2000;
/** Seconds between relists: often while the Ingress controller has not said where it listens yet. */
const RELIST_S = 30;
const RELIST_WAITING_S = 3;

/** The host ports a Service wants: its LoadBalancer ports and (NodePort, LoadBalancer) its node ports. */
export function servicePorts(s: Service): PublishedPort[] {
  const type = s.spec?.type;
  const out = new Map<string, PublishedPort>();
  for (const p of s.spec?.ports ?? []) {
    const proto = p.protocol === 'UDP' ? 'udp' : p.protocol === 'SCTP' ? undefined : 'tcp';
    if (!proto) continue;
    const add = (port: number) => out.set(`${port}/${proto}`, { proto, port, loopbackOnly: false });
    if (type === 'LoadBalancer') add(p.port);
    if (p.nodePort && (type === 'NodePort' || type === 'LoadBalancer')) add(p.nodePort);
  }
  return [...out.values()];
}

/** The Ingress listeners' ports from the controller's ConfigMap data (`http`/`https`: "HOST:PORT"). */
export function ingressPorts(data: Record<string, string> | undefined): PublishedPort[] {
  const out: PublishedPort[] = [];
  for (const key of ['http', 'https']) {
    const port = Number(/:(\d+)$/.exec(data?.[key] ?? '')?.[1]);
    if (port > 0 && port < 65536 && !out.some((p) => p.port === port))
      out.push({ proto: 'tcp', port, loopbackOnly: false });
  }
  return out;
}

export class ServicePortWatcher {
  /** owner → the ports it holds, as last published (so an unchanged MODIFIED does nothing). */
  private readonly held = new Map<string, string>();
  private req: ClientRequest | undefined;
  private timer: NodeJS.Timeout | undefined;
  private stopped = false;

  constructor(
    private readonly kubeconfigFile: string,
    private readonly publisher: PortPublisher,
    private readonly log: (msg: string, fields?: Record<string, unknown>) => void = () => {},
  ) {}

  start(): void {
    void this.cycle();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    this.req?.destroy();
    await this.withdrawAll();
  }

  private later(ms = RETRY_MS): void {
    if (this.stopped) return;
    this.timer = setTimeout(() => void this.cycle(), ms);
  }

  private async cycle(): Promise<void> {
    this.timer = undefined;
    if (this.stopped) return;
    let ctx: ResolvedContext;
    try {
      ctx = await (await loadKubeconfig([this.kubeconfigFile])).resolve('berth');
    } catch {
      await this.withdrawAll();
      return this.later();
    }
    let rv: string;
    try {
      const list = JSON.parse(await this.get(ctx, '/api/v1/services')) as {
        metadata: { resourceVersion: string };
        items: Service[];
      };
      rv = list.metadata.resourceVersion;
      const seen = new Set<string>();
      for (const s of list.items) seen.add(await this.apply(s));
      seen.add(await this.applyIngress(ctx));
      for (const owner of [...this.held.keys()]) if (!seen.has(owner)) await this.withdraw(owner);
    } catch {
      await this.withdrawAll();
      return this.later();
    }
    this.watch(ctx, rv);
  }

  private key(s: Service): string {
    return `${OWNER}${s.metadata.namespace ?? 'default'}/${s.metadata.name}`;
  }

  private async applyIngress(ctx: ResolvedContext): Promise<string> {
    let data: Record<string, string> | undefined;
    try {
      data = (JSON.parse(await this.get(ctx, INGRESS_CONFIGMAP)) as { data?: Record<string, string> }).data;
    } catch {
      // No controller (yet): nothing to forward.
    }
    return this.publish(INGRESS_OWNER, ingressPorts(data));
  }

  private apply(s: Service): Promise<string> {
    return this.publish(this.key(s), servicePorts(s));
  }

  private async publish(owner: string, ports: PublishedPort[]): Promise<string> {
    const sig = JSON.stringify(ports);
    if (this.held.get(owner) === sig) return owner;
    await this.publisher.removeOwner(owner);
    if (ports.length) this.held.set(owner, sig);
    else this.held.delete(owner);
    for (const p of ports)
      if (await this.publisher.add(owner, p))
        this.log('forwarding a service port', {
          service: owner.startsWith(OWNER) ? owner.slice(OWNER.length) : owner,
          port: p.port,
          proto: p.proto,
        });
    return owner;
  }

  private async withdraw(owner: string): Promise<void> {
    this.held.delete(owner);
    await this.publisher.removeOwner(owner);
  }

  private async withdrawAll(): Promise<void> {
    for (const owner of [...this.held.keys()]) await this.withdraw(owner);
  }

  private options(ctx: ResolvedContext): https.RequestOptions {
    return {
      ...(ctx.cluster.certificateAuthority ? { ca: ctx.cluster.certificateAuthority } : {}),
      ...(ctx.user.clientCertificate ? { cert: ctx.user.clientCertificate } : {}),
      ...(ctx.user.clientKey ? { key: ctx.user.clientKey } : {}),
      ...(ctx.user.token ? { headers: { Authorization: `Bearer ${ctx.user.token}` } } : {}),
    };
  }

  private get(ctx: ResolvedContext, path: string): Promise<string> {
    return new Promise((resolve, reject) => {
      const req = https.get(
        new URL(path, ctx.context.server),
        { ...this.options(ctx), timeout: 5000 },
        (res) => {
          let body = '';
          res.setEncoding('utf8');
          res.on('data', (c: string) => (body += c));
          res.on('end', () =>
            res.statusCode === 200 ? resolve(body) : reject(new Error(`${path}: ${res.statusCode}`)),
          );
        },
      );
      req.on('timeout', () => req.destroy(new Error('timed out')));
      req.on('error', reject);
    });
  }

  /** Follows the watch; any end (timeout, error, cluster gone) lists again, which reconciles. */
  private watch(ctx: ResolvedContext, rv: string): void {
    const url = new URL(
      `/api/v1/services?watch=1&timeoutSeconds=${this.held.has(INGRESS_OWNER) ? RELIST_S : RELIST_WAITING_S}&resourceVersion=${encodeURIComponent(rv)}`,
      ctx.context.server,
    );
    let chain: Promise<unknown> = Promise.resolve();
    const req = https.get(url, this.options(ctx), (res) => {
      if (res.statusCode !== 200) {
        res.resume();
        return;
      }
      let buf = '';
      res.setEncoding('utf8');
      res.on('data', (d: string) => {
        buf += d;
        let nl;
        while ((nl = buf.indexOf('\n')) >= 0) {
          const line = buf.slice(0, nl).trim();
          buf = buf.slice(nl + 1);
          if (!line) continue;
          let ev: { type?: string; object?: Service };
          try {
            ev = JSON.parse(line) as typeof ev;
          } catch {
            continue;
          }
          const s = ev.object;
          if (!s?.metadata?.name) continue;
          // One event at a time, in order: an add and its delete must not race.
          chain = chain
            .then(async () => {
              if (ev.type === 'DELETED') await this.withdraw(this.key(s));
              else await this.apply(s);
            })
            .catch((err: Error) => this.log('service event handling failed', { err: err.message }));
        }
      });
    });
    const again = () => {
      if (this.req !== req) return;
      this.req = undefined;
      void chain.then(() => this.later(200));
    };
    req.on('close', again);
    req.on('error', again);
    this.req = req;
  }
}
