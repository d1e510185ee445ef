/**
 * The resource-quota controller's status half: after any write (debounced), every ResourceQuota's status gets
 * `hard` (its spec) and `used` (the namespace's current usage), written only when they changed. Admission does
 * not wait for it: it counts from the store itself.
 */
import { formatQuantity, quotaUsage, type Lister } from '../admission/plugins/resource-quota.js';
import type { Logger } from '../log.js';
import type { WatchHub } from '../registry/generic/watch-hub.js';
import type { Registry } from '../registry/generic/registry.js';
import type { Store } from '../store/types.js';
import type { Controller } from './framework/controller.js';

const IDENTITY = {
  user: { name: 'system:kube-controller-manager', groups: ['system:masters', 'system:authenticated'] },
  fieldManager: 'resourcequota-controller',
};

/** The API server's storage the controller reads and follows (admission counts from the same). */
export interface QuotaStorage {
  registry: Registry;
  hub: WatchHub;
  store: Store;
}

export class ResourceQuotaController implements Controller {
  readonly name = 'resourcequota';
  private timer?: NodeJS.Timeout;
  private handle?: { stop(): void };
  private running = Promise.resolve();
  private stopped = false;

  private readonly registry: Registry;
  private readonly hub: WatchHub;
  private readonly store: Store;

  constructor(
    storage: QuotaStorage,
    private readonly log: Logger,
  ) {
    ({ registry: this.registry, hub: this.hub, store: this.store } = storage);
  }

  async start(): Promise<void> {
    const subscribe = async () => {
      this.handle = await this.hub.subscribe('/registry/', await this.store.revision(), {
        onEvent: () => this.schedule(),
        onError: () => {
          if (!this.stopped) setTimeout(() => void subscribe().catch(() => undefined), 500).unref();
        },
      });
    };
    await subscribe();
    this.schedule();
  }

  private schedule(): void {
    if (this.timer || this.stopped) return;
    this.timer = setTimeout(() => {
      this.timer = undefined;
      this.running = this.running
        .then(() => this.sync())
        .catch((e: unknown) => this.log.warn('quota sync failed', { error: (e as Error).message }));
    }, 100);
    this.timer.unref();
  }

  /** Recomputes every quota's status; waits for a sync in flight (tests). */
  async sync(): Promise<void> {
    const quotas = this.registry.resource('v1', 'resourcequotas');
    if (!quotas) return;
    const list: Lister = (v, p, ns) => this.registry.list(v, p, ns);
    for (const q of (await quotas.list(undefined)).items) {
      const ns = q.metadata?.namespace ?? '';
      const hard = (q.spec as { hard?: Record<string, string> } | undefined)?.hard ?? {};
      const raw = await quotaUsage(list, ns, hard);
      const used = Object.fromEntries(Object.keys(hard).map((n) => [n, formatQuantity(n, raw[n] ?? 0)]));
      const status = { hard, used };
      if (JSON.stringify(q.status) === JSON.stringify(status)) continue;
      await quotas
        .guaranteedUpdate(IDENTITY, ns, q.metadata?.name ?? '', (cur) => ({ ...cur!, status }), {
          subresource: 'status',
        })
        .catch((e: unknown) => this.log.debug('quota status write failed', { error: (e as Error).message }));
    }
  }

  /** Resolves once no sync is scheduled or running (tests). */
  async idle(): Promise<void> {
    while (this.timer) await new Promise((r) => setTimeout(r, 20));
    await this.running;
  }

  stop(): void {
    this.stopped = true;
    this.handle?.stop();
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
  }
}
