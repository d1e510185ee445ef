/**
 * kube-aggregator's crdRegistrationController and autoregister for custom resources: one `<version>.<group>`
 * APIService per group-version that only CRDs serve (Local, groupPriorityMinimum 1000, versionPriority 100,
 * labelled `kube-aggregator.kubernetes.io/automanaged: "true"`), made when a CRD version starts being served and
 * removed when none serves it any more. Follows the catalog; one sync at a time, again if something changed
 * meanwhile.
 */
import { isKubeError } from '../errors.js';
import type { Logger } from '../log.js';
import type { ResourceCatalog } from '../registry/catalog.js';
import type { RequestContext } from '../registry/generic/context.js';
import type { Registry } from '../registry/generic/registry.js';
import type { RequestUser } from '../registry/types.js';
import { isCustomResource } from '../schema/crd/resource.js';

const API = 'apiregistration.k8s.io/v1';
export const AUTOMANAGED = 'kube-aggregator.kubernetes.io/automanaged';

const SYSTEM: RequestUser = { name: 'system:apiserver', groups: ['system:masters'] };

/** The APIService's Available condition for a group-version served in this process. */
export function localAvailable(now = new Date()): Record<string, unknown> {
  return {
    conditions: [
      {
        type: 'Available',
        status: 'True',
        lastTransitionTime: now.toISOString().replace(/\.\d+Z$/, 'Z'),
        reason: 'Local',
        message: 'Local APIServices are always available',
      },
    ],
  };
}

/** The group-versions only custom resources serve. */
function customGroupVersions(catalog: ResourceCatalog): Map<string, { group: string; version: string }> {
  const out = new Map<string, { group: string; version: string }>();
  for (const g of catalog.groups())
    for (const version of g.versions) {
      const types = catalog.versionTypes(g.name, version);
      if (types.length && types.every(isCustomResource))
        out.set(`${version}.${g.name}`, { group: g.name, version });
    }
  return out;
}

export class CrdApiServices {
  private running?: Promise<void>;
  private again = false;
  private unsubscribe?: () => void;

  constructor(
    private readonly registry: Registry,
    private readonly log: Logger,
  ) {}

  async start(): Promise<void> {
    this.unsubscribe = this.registry.deps.catalog.onChange(() => void this.sync());
    await this.sync();
  }

  stop(): void {
    this.unsubscribe?.();
  }

  /** Brings the APIServices in line with the catalog; resolves when no sync is pending. */
  sync(): Promise<void> {
    if (this.running) {
      this.again = true;
      return this.running;
    }
    this.running = (async () => {
      do {
        this.again = false;
        try {
          await this.syncOnce();
        } catch (e) {
          this.log.warn('APIService sync failed', { error: (e as Error).message });
        }
      } while (this.again);
      this.running = undefined;
    })();
    return this.running;
  }

  private async syncOnce(): Promise<void> {
    const store = this.registry.resource(API, 'apiservices');
    if (!store) return;
    const ctx: RequestContext = { user: SYSTEM, fieldManager: 'kube-apiserver' };
    const want = customGroupVersions(this.registry.deps.catalog);
    const have = (await store.list(undefined)).items;
    for (const s of have) {
      const name = s.metadata?.name ?? '';
      if (s.metadata?.labels?.[AUTOMANAGED] === 'true' && !want.has(name)) {
        try {
          await store.delete(ctx, undefined, name);
        } catch (e) {
          if (!isKubeError(e, 'NotFound')) throw e;
        }
      }
    }
    const names = new Set(have.map((s) => s.metadata?.name));
    for (const [name, gv] of want) {
      if (names.has(name)) continue;
      try {
        await store.create(ctx, undefined, {
          apiVersion: API,
          kind: 'APIService',
          metadata: { name, labels: { [AUTOMANAGED]: 'true' } },
          spec: { group: gv.group, version: gv.version, groupPriorityMinimum: 1000, versionPriority: 100 },
        });
      } catch (e) {
        if (!isKubeError(e, 'AlreadyExists')) throw e;
      }
      await store.guaranteedUpdate(ctx, undefined, name, (cur) => ({ ...cur!, status: localAvailable() }), {
        subresource: 'status',
      });
    }
  }
}
