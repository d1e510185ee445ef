/**
 * The pvc-protection and pv-protection controllers: a claim being deleted keeps its `kubernetes.io/pvc-protection`
 * finalizer while a scheduled, unfinished pod uses it (so `kubectl delete pvc` waits, Terminating, for the pod to
 * go); a volume being deleted keeps `kubernetes.io/pv-protection` while it is Bound.
 */
import { isKubeError } from '../../errors.js';
import { PV_PROTECTION, PVC_PROTECTION } from '../../admission/plugins/storage.js';
import { QueueController, type ControllerContext } from '../framework/controller.js';
import { keyOf, splitKey, type Informer } from '../framework/informer.js';
import { isTerminal } from '../framework/pods.js';
import type { KubeObject } from '../../registry/types.js';
import type { PersistentVolume, PersistentVolumeClaim, Pod } from '../framework/types.js';

const claimsOf = (p: Pod): string[] =>
  (p.spec?.volumes ?? [])
    .map(
      (v) =>
        v.persistentVolumeClaim?.claimName ?? (v.ephemeral ? `${p.metadata?.name}-${v.name}` : undefined),
    )
    .filter((n): n is string => !!n);

async function dropFinalizer(
  ctx: ControllerContext,
  plural: string,
  obj: KubeObject,
  finalizer: string,
): Promise<void> {
  const next = structuredClone(obj);
  next.metadata = {
    ...next.metadata,
    finalizers: (obj.metadata?.finalizers ?? []).filter((f) => f !== finalizer),
  };
  try {
    await ctx.client
      .resource('v1', plural)
      .update(next, obj.metadata?.namespace ? { namespace: obj.metadata.namespace } : {});
  } catch (e) {
    if (!isKubeError(e, 'Conflict') && !isKubeError(e, 'NotFound')) throw e;
  }
}

export class PvcProtectionController extends QueueController {
  private readonly claims: Informer<PersistentVolumeClaim>;
  private readonly pods: Informer<Pod>;

  constructor(ctx: ControllerContext) {
    super('pvc-protection', ctx, 'pvc-protection-controller');
    this.claims = ctx.informers.for<PersistentVolumeClaim>('v1', 'persistentvolumeclaims');
    this.pods = ctx.informers.for<Pod>('v1', 'pods');
    const claim = (c: PersistentVolumeClaim) => {
      if (c.metadata?.deletionTimestamp) this.enqueue(keyOf(c));
    };
    this.claims.on({ add: claim, update: (_o, c) => claim(c) });
    // A pod that finishes or goes away may free the claims it used.
    const pod = (p: Pod) => {
      for (const n of claimsOf(p)) this.enqueue(`${p.metadata?.namespace}/${n}`);
    };
    this.pods.on({ update: (_o, p) => pod(p), delete: pod });
  }

  protected initialKeys(): string[] {
    return this.claims
      .list()
      .filter((c) => c.metadata?.deletionTimestamp)
      .map(keyOf);
  }

  protected async sync(key: string): Promise<void> {
    const { namespace, name } = splitKey(key);
    const c = this.claims.getIn(namespace, name);
    if (!c?.metadata?.deletionTimestamp || !c.metadata.finalizers?.includes(PVC_PROTECTION)) return;
    const inUse = this.pods
      .list(namespace)
      .some((p) => !!p.spec?.nodeName && !isTerminal(p) && claimsOf(p).includes(name));
    if (inUse) return;
    await dropFinalizer(this.ctx, 'persistentvolumeclaims', c, PVC_PROTECTION);
  }
}

export class PvProtectionController extends QueueController {
  private readonly volumes: Informer<PersistentVolume>;

  constructor(ctx: ControllerContext) {
    super('pv-protection', ctx, 'pv-protection-controller');
    this.volumes = ctx.informers.for<PersistentVolume>('v1', 'persistentvolumes');
    const volume = (v: PersistentVolume) => {
      if (v.metadata?.deletionTimestamp) this.enqueue(keyOf(v));
    };
    this.volumes.on({ add: volume, update: (_o, v) => volume(v) });
  }

  protected initialKeys(): string[] {
    return this.volumes
      .list()
      .filter((v) => v.metadata?.deletionTimestamp)
      .map(keyOf);
  }

  protected async sync(key: string): Promise<void> {
    const v = this.volumes.getIn(undefined, key);
    if (!v?.metadata?.deletionTimestamp || !v.metadata.finalizers?.includes(PV_PROTECTION)) return;
    if (v.status?.phase === 'Bound') return;
    await dropFinalizer(this.ctx, 'persistentvolumes', v, PV_PROTECTION);
  }
}
