/**
 * The cluster side of the policy plugin: the stored policies and bindings (read once, then again only after a
 * watch saw one change, as the webhook source does), namespaces and parameter objects.
 */
import { parseApiVersion } from '../../registry/catalog.js';
import type { Registry } from '../../registry/generic/registry.js';
import type { WatchHub } from '../../registry/generic/watch-hub.js';
import type { KubeObject } from '../../registry/types.js';
import type { Store } from '../../store/types.js';

const API = 'admissionregistration.k8s.io/v1';
const PLURALS = ['validatingadmissionpolicies', 'validatingadmissionpolicybindings'] as const;
type Plural = (typeof PLURALS)[number];

/** What the plugin reads. */
export interface PolicyEnv {
  policies(): Promise<KubeObject[]>;
  bindings(): Promise<KubeObject[]>;
  namespace(name: string): Promise<KubeObject | undefined>;
  /** Objects of the paramKind (apiVersion, kind) in a namespace ('' for all or cluster-scoped). */
  params(apiVersion: string, kind: string, namespace: string): Promise<KubeObject[]>;
}

export class PolicySource implements PolicyEnv {
  private readonly cache = new Map<Plural, Promise<KubeObject[]>>();
  private readonly stops: Array<() => void> = [];
  private stopped = false;

  constructor(
    private readonly registry: Registry,
    private readonly hub: WatchHub,
    private readonly store: Store,
  ) {}

  async start(): Promise<void> {
    for (const p of PLURALS) await this.follow(p);
  }

  private async follow(plural: Plural): Promise<void> {
    const rev = await this.store.revision();
    const h = await this.hub.subscribe(`/registry/${plural}/`, rev, {
      onEvent: () => this.cache.delete(plural),
      onError: () => {
        this.cache.delete(plural);
        h.stop();
        if (this.stopped) return;
        setTimeout(() => void this.follow(plural).catch(() => undefined), 200).unref();
      },
    });
    this.cache.delete(plural);
    this.stops.push(() => h.stop());
  }

  stop(): void {
    this.stopped = true;
    for (const s of this.stops) s();
  }

  private read(plural: Plural): Promise<KubeObject[]> {
    let p = this.cache.get(plural);
    if (!p) {
      p = this.registry.list(API, plural);
      p.catch(() => this.cache.delete(plural));
      this.cache.set(plural, p);
    }
    return p;
  }

  policies(): Promise<KubeObject[]> {
    return this.read('validatingadmissionpolicies');
  }

  bindings(): Promise<KubeObject[]> {
    return this.read('validatingadmissionpolicybindings');
  }

  namespace(name: string): Promise<KubeObject | undefined> {
    return this.registry.namespace(name);
  }

  async params(apiVersion: string, kind: string, namespace: string): Promise<KubeObject[]> {
    const { group, version } = parseApiVersion(apiVersion);
    const t = this.registry.deps.catalog.kind({ group, version, kind });
    if (!t) return [];
    return this.registry.list(apiVersion, t.plural, t.namespaced && namespace ? namespace : undefined);
  }
}
