/**
 * The cluster side of the webhook dispatchers: the stored configurations (read once, then again only after a
 * watch saw one change, as kube-apiserver's informer-backed configuration manager), namespace labels, Service
 * endpoints and the resources' defaults.
 */
import type { Logger } from '../../log.js';
import type { Registry } from '../../registry/generic/registry.js';
import type { WatchHub } from '../../registry/generic/watch-hub.js';
import type { KubeObject } from '../../registry/types.js';
import type { Store } from '../../store/types.js';
import type { WebhookEnv } from './dispatch.js';
import type { ConfiguredWebhook, Webhook } from './match.js';

const API = 'admissionregistration.k8s.io/v1';
const PLURAL = {
  mutating: 'mutatingwebhookconfigurations',
  validating: 'validatingwebhookconfigurations',
} as const;

type Kind = keyof typeof PLURAL;

function configured(items: KubeObject[]): ConfiguredWebhook[] {
  const byName = [...items].sort((a, b) => ((a.metadata?.name ?? '') < (b.metadata?.name ?? '') ? -1 : 1));
  return byName.flatMap((c) =>
    ((c.webhooks as Webhook[] | undefined) ?? []).map((hook, index) => ({
      configuration: c.metadata?.name ?? '',
      index,
      hook,
    })),
  );
}

interface EndpointsLike {
  subsets?: Array<{
    addresses?: Array<{ ip: string }>;
    ports?: Array<{ name?: string; port: number }>;
  }>;
}

interface ServiceLike {
  spec?: {
    clusterIP?: string;
    type?: string;
    externalName?: string;
    ports?: Array<{ name?: string; port: number; targetPort?: number | string }>;
  };
}

export class WebhookSource implements WebhookEnv {
  private readonly cache = new Map<Kind, Promise<ConfiguredWebhook[]>>();
  private readonly stops = new Map<Kind, () => void>();
  private stopped = false;

  constructor(
    private readonly registry: Registry,
    private readonly hub: WatchHub,
    private readonly store: Store,
    readonly log: Logger,
  ) {}

  /** Follows the configurations so the cache is dropped on every change (resubscribing if the hub ends it). */
  async start(): Promise<void> {
    for (const kind of Object.keys(PLURAL) as Kind[]) await this.follow(kind);
  }

  private async follow(kind: Kind): Promise<void> {
    const rev = await this.store.revision();
    const h = await this.hub.subscribe(`/registry/${PLURAL[kind]}/`, rev, {
      onEvent: () => this.cache.delete(kind),
      onError: () => {
        this.cache.delete(kind);
        h.stop();
        if (this.stopped) return;
        setTimeout(() => void this.follow(kind).catch(() => undefined), 200).unref();
      },
    });
    this.cache.delete(kind);
    this.stops.set(kind, () => h.stop());
  }

  stop(): void {
    this.stopped = true;
    for (const s of this.stops.values()) s();
    this.stops.clear();
  }

  webhooks(kind: Kind): Promise<ConfiguredWebhook[]> {
    let p = this.cache.get(kind);
    if (!p) {
      p = this.registry.list(API, PLURAL[kind]).then(configured);
      // A failed read is not cached.
      p.catch(() => this.cache.delete(kind));
      this.cache.set(kind, p);
    }
    return p;
  }

  async namespaceLabels(name: string): Promise<Record<string, string> | undefined> {
    const ns = await this.registry.namespace(name);
    return ns ? (ns.metadata?.labels ?? {}) : undefined;
  }

  /**
   * A ready endpoint of the Service's port (the host reaches pod IPs on the bridge), else its cluster IP. The
   * errors are the resolver's.
   */
  async resolveService(
    namespace: string,
    name: string,
    port: number,
  ): Promise<{ host: string; port: number }> {
    const svc = (await this.get('services', namespace, name)) as ServiceLike | undefined;
    if (!svc) throw new Error(`service "${name}" not found`);
    const spec = svc.spec ?? {};
    if (spec.type === 'ExternalName' && spec.externalName) return { host: spec.externalName, port };
    const sp = (spec.ports ?? []).find((p) => p.port === port);
    if (!sp) throw new Error(`no service port ${port} found for service "${name}"`);
    const eps = (await this.get('endpoints', namespace, name)) as EndpointsLike | undefined;
    for (const subset of eps?.subsets ?? []) {
      const ep = (subset.ports ?? []).find((p) => (p.name ?? '') === (sp.name ?? ''));
      const addr = subset.addresses?.[0];
      if (ep && addr) return { host: addr.ip, port: ep.port };
    }
    if (spec.clusterIP && spec.clusterIP !== 'None') return { host: spec.clusterIP, port };
    throw new Error(`no endpoints available for service "${name}"`);
  }

  private async get(plural: string, namespace: string, name: string): Promise<KubeObject | undefined> {
    try {
      return await this.registry.resource('v1', plural)?.get(namespace, name);
    } catch {
      return undefined;
    }
  }

  defaults(a: Parameters<WebhookEnv['defaults']>[0], obj: KubeObject): void {
    const t = this.registry.deps.catalog.get(a.resource.group, a.resource.version, a.resource.resource);
    if (!a.subresource) t?.strategy.defaults?.(obj);
  }
}
