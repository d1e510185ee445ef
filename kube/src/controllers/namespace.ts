/**
 * The namespace controller: a namespace marked for deletion (phase Terminating) is emptied, every namespaced
 * resource deleted through the client; once nothing is left, the `kubernetes` finalizer is removed through
 * namespaces/finalize and the namespace deleted for good. Objects that linger (pods in their grace period,
 * finalizers) make it look again shortly after.
 */
import { isKubeError } from '../errors.js';
import type { Client } from '../client/index.js';
import type { Logger } from '../log.js';
import { apiVersionOf } from '../registry/catalog.js';
import { NAMESPACE_FINALIZER } from '../registry/core/namespaces.js';
import type { WatchSession } from '../registry/generic/context.js';
import type { KubeObject } from '../registry/types.js';
import type { Controller } from './framework/controller.js';
import { WorkQueue } from './workqueue.js';

const RECHECK_MS = 1000;

export class NamespaceController implements Controller {
  readonly name = 'namespace';
  private readonly queue: WorkQueue;
  private session?: WatchSession;

  constructor(
    private readonly client: Client,
    private readonly log: Logger,
  ) {
    this.queue = new WorkQueue((name) => this.sync(name), log, 2);
  }

  async start(): Promise<void> {
    const start = async (): Promise<void> => {
      this.session = await this.client.resource('v1', 'namespaces').watch({}, (e) => {
        if (e.type === 'ERROR') {
          setTimeout(() => void start(), 100);
          return;
        }
        if (e.type === 'BOOKMARK' || e.type === 'DELETED') return;
        if (e.object.metadata?.deletionTimestamp) this.queue.add(e.object.metadata.name!);
      });
    };
    await start();
  }

  stop(): void {
    this.session?.stop();
    this.queue.stop();
  }

  idle(): Promise<void> {
    return this.queue.idle();
  }

  private async sync(name: string): Promise<void> {
    const nsClient = this.client.resource('v1', 'namespaces');
    let ns: KubeObject;
    try {
      ns = await nsClient.get(name);
    } catch (e) {
      if (isKubeError(e, 'NotFound')) return;
      throw e;
    }
    if (!ns.metadata?.deletionTimestamp) return;
    const finalizers = ((ns.spec as { finalizers?: string[] } | undefined)?.finalizers ?? []).slice();
    if (finalizers.includes(NAMESPACE_FINALIZER)) {
      const remaining = await this.empty(name);
      if (remaining > 0) {
        this.log.debug('namespace not empty yet', { namespace: name, remaining });
        this.queue.addAfter(name, RECHECK_MS);
        return;
      }
      await this.client.finalizeNamespace(
        name,
        finalizers.filter((f) => f !== NAMESPACE_FINALIZER),
      );
    }
    try {
      await nsClient.delete(name);
    } catch (e) {
      if (!isKubeError(e, 'NotFound') && !isKubeError(e, 'Conflict')) throw e;
    }
  }

  /** Deletes what the namespace holds; resolves to how many objects are still there. */
  private async empty(namespace: string): Promise<number> {
    let remaining = 0;
    for (const t of this.client.catalog.all()) {
      if (!t.namespaced || t.virtual || t.storedAs || !t.verbs.includes('list')) continue;
      const rc = this.client.resource(apiVersionOf(t), t.plural);
      if (t.verbs.includes('deletecollection')) {
        try {
          await rc.deleteCollection({ namespace, delete: { propagationPolicy: 'Background' } });
        } catch (e) {
          if (!isKubeError(e, 'NotFound')) throw e;
        }
      }
      remaining += (await rc.list({ namespace, limit: 1 })).items.length;
    }
    return remaining;
  }
}
