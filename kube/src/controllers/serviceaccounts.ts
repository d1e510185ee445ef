/**
 * Two per-namespace controllers of kube-controller-manager: the ServiceAccounts controller (a `default`
 * ServiceAccount in every active namespace, re-created when deleted) and the root CA publisher (the
 * `kube-root-ca.crt` ConfigMap with the cluster CA under `ca.crt`, re-created when deleted, put back when edited).
 * Both leave terminating namespaces alone, as theirs do, so a namespace deletion is not undone.
 */
import { isKubeError } from '../errors.js';
import type { ResourceClient } from '../client/index.js';
import { QueueController, type ControllerContext } from './framework/controller.js';
import type { Informer } from './framework/informer.js';
import type { ConfigMap, Namespace, ServiceAccount } from './framework/types.js';

export const ROOT_CA_CONFIGMAP = 'kube-root-ca.crt';
const DESCRIPTION =
  'Contains a CA bundle that can be used to verify the kube-apiserver when using internal endpoints such as the ' +
  'internal service IP or kubernetes.default.svc. No other usage is guaranteed across distributions of ' +
  'Kubernetes clusters.';

/** Tolerates the races of a per-namespace create: already there, or the namespace going away meanwhile. */
function benign(e: unknown): boolean {
  return isKubeError(e, 'AlreadyExists') || isKubeError(e, 'NotFound') || isKubeError(e, 'Forbidden');
}

abstract class PerNamespace extends QueueController {
  protected readonly namespaces: Informer<Namespace>;

  constructor(name: string, ctx: ControllerContext, component: string) {
    super(name, ctx, component);
    this.namespaces = ctx.informers.for<Namespace>('v1', 'namespaces');
    this.namespaces.on({
      add: (n) => this.enqueue(n.metadata?.name ?? ''),
      update: (_o, n) => this.enqueue(n.metadata?.name ?? ''),
    });
  }

  protected initialKeys(): string[] {
    return this.namespaces.list().map((n) => n.metadata?.name ?? '');
  }

  /** The namespace when it is active (exists and is not being deleted). */
  protected active(ns: string): Namespace | undefined {
    const n = this.namespaces.getIn(undefined, ns);
    if (!n || n.metadata?.deletionTimestamp || n.status?.phase === 'Terminating') return undefined;
    return n;
  }
}

export class ServiceAccountsController extends PerNamespace {
  private readonly accounts: Informer<ServiceAccount>;
  private readonly sac: ResourceClient<ServiceAccount>;

  constructor(ctx: ControllerContext) {
    super('serviceaccount', ctx, 'serviceaccount-controller');
    this.sac = ctx.client.resource<ServiceAccount>('v1', 'serviceaccounts');
    this.accounts = ctx.informers.for<ServiceAccount>('v1', 'serviceaccounts');
    this.accounts.on({
      delete: (sa) => {
        if (sa.metadata?.name === 'default') this.enqueue(sa.metadata.namespace ?? '');
      },
    });
  }

  protected async sync(ns: string): Promise<void> {
    if (!this.active(ns) || this.accounts.getIn(ns, 'default')) return;
    try {
      await this.sac.create(
        { apiVersion: 'v1', kind: 'ServiceAccount', metadata: { name: 'default', namespace: ns } },
        { namespace: ns },
      );
      this.log.debug('created the default service account', { namespace: ns });
    } catch (e) {
      if (!benign(e)) throw e;
    }
  }
}

export class RootCAPublisher extends PerNamespace {
  private readonly configMaps: Informer<ConfigMap>;
  private readonly cmc: ResourceClient<ConfigMap>;

  constructor(
    ctx: ControllerContext,
    private readonly caPem: string,
  ) {
    super('root-ca-cert-publisher', ctx, 'root-ca-cert-publisher');
    this.cmc = ctx.client.resource<ConfigMap>('v1', 'configmaps');
    this.configMaps = ctx.informers.for<ConfigMap>('v1', 'configmaps');
    const mine = (cm: ConfigMap) => {
      if (cm.metadata?.name === ROOT_CA_CONFIGMAP) this.enqueue(cm.metadata.namespace ?? '');
    };
    this.configMaps.on({ update: (_o, cm) => mine(cm), delete: mine });
  }

  protected async sync(ns: string): Promise<void> {
    if (!this.active(ns)) return;
    const cm = this.configMaps.getIn(ns, ROOT_CA_CONFIGMAP);
    const data = { 'ca.crt': this.caPem };
    try {
      if (!cm) {
        await this.cmc.create(
          {
            apiVersion: 'v1',
            kind: 'ConfigMap',
            metadata: {
              name: ROOT_CA_CONFIGMAP,
              namespace: ns,
              annotations: { 'kubernetes.io/description': DESCRIPTION },
            },
            data,
          },
          { namespace: ns },
        );
        return;
      }
      const desc = cm.metadata?.annotations?.['kubernetes.io/description'];
      const same =
        cm.data?.['ca.crt'] === this.caPem && Object.keys(cm.data ?? {}).length === 1 && desc === DESCRIPTION;
      if (same) return;
      // Only the data and the description are ours; other annotations and labels stay.
      await this.cmc.update(
        {
          ...structuredClone(cm),
          metadata: {
            ...structuredClone(cm.metadata),
            annotations: { ...cm.metadata?.annotations, 'kubernetes.io/description': DESCRIPTION },
          },
          data,
        },
        { namespace: ns },
      );
    } catch (e) {
      // A Conflict means the cache is behind: the informer's update event brings the key back.
      if (!benign(e) && !isKubeError(e, 'Conflict')) throw e;
    }
  }
}
