/**
 * The ephemeral volume controller (pkg/controller/volume/ephemeral): for each generic ephemeral volume of a pod,
 * a claim `<pod>-<volume>` made from its volumeClaimTemplate and owned by the pod (controller, blockOwnerDeletion),
 * so it is provisioned like any claim and the garbage collector deletes it with the pod. A claim of that name the
 * pod does not own is left alone, with an event; the kubelet then refuses to use it.
 */
import { isKubeError } from '../../errors.js';
import type { ResourceClient } from '../../client/index.js';
import { QueueController, type ControllerContext } from '../framework/controller.js';
import { keyOf, splitKey, type Informer } from '../framework/informer.js';
import type { PersistentVolumeClaim, Pod } from '../framework/types.js';

export const ephemeralClaimName = (pod: Pod, volume: string): string => `${pod.metadata?.name}-${volume}`;

const hasEphemeral = (p: Pod) => (p.spec?.volumes ?? []).some((v) => v.ephemeral);

export class EphemeralVolumeController extends QueueController {
  private readonly pods: Informer<Pod>;
  private readonly claims: Informer<PersistentVolumeClaim>;
  private readonly pvcs: ResourceClient<PersistentVolumeClaim>;

  constructor(ctx: ControllerContext) {
    super('ephemeral-volume', ctx, 'ephemeral_volume');
    this.pods = ctx.informers.for<Pod>('v1', 'pods');
    this.claims = ctx.informers.for<PersistentVolumeClaim>('v1', 'persistentvolumeclaims');
    this.pvcs = ctx.client.resource<PersistentVolumeClaim>('v1', 'persistentvolumeclaims');
    const pod = (p: Pod) => {
      if (hasEphemeral(p)) this.enqueue(keyOf(p));
    };
    this.pods.on({ add: pod, update: (_o, p) => pod(p) });
    // A claim deleted under a pod that still needs it is made again.
    this.claims.on({
      delete: (c) => {
        for (const r of c.metadata?.ownerReferences ?? [])
          if (r.kind === 'Pod' && r.controller) this.enqueue(`${c.metadata?.namespace}/${r.name}`);
      },
    });
  }

  protected initialKeys(): string[] {
    return this.pods.list().filter(hasEphemeral).map(keyOf);
  }

  protected async sync(key: string): Promise<void> {
    const { namespace, name } = splitKey(key);
    const p = this.pods.getIn(namespace, name);
    if (!p || p.metadata?.deletionTimestamp) return;
    for (const v of p.spec?.volumes ?? []) {
      const tpl = v.ephemeral?.volumeClaimTemplate;
      if (!tpl) continue;
      const claimName = ephemeralClaimName(p, v.name);
      const existing = this.claims.getIn(namespace, claimName);
      if (existing) {
        const owned = (existing.metadata?.ownerReferences ?? []).some(
          (r) => r.controller && r.uid === p.metadata?.uid,
        );
        if (!owned)
          this.recorder.event(
            { ...p, apiVersion: 'v1', kind: 'Pod' },
            'Warning',
            'FailedBinding',
            `PVC ${namespace}/${claimName} was not created for pod ${namespace}/${name} (pod is not owner)`,
          );
        continue;
      }
      try {
        await this.pvcs.create(
          {
            apiVersion: 'v1',
            kind: 'PersistentVolumeClaim',
            metadata: {
              name: claimName,
              namespace,
              ...(tpl.metadata?.labels ? { labels: tpl.metadata.labels } : {}),
              ...(tpl.metadata?.annotations ? { annotations: tpl.metadata.annotations } : {}),
              ownerReferences: [
                {
                  apiVersion: 'v1',
                  kind: 'Pod',
                  name,
                  uid: p.metadata?.uid ?? '',
                  controller: true,
                  blockOwnerDeletion: true,
                },
              ],
            },
            spec: structuredClone(tpl.spec),
          },
          { namespace },
        );
      } catch (e) {
        if (isKubeError(e, 'AlreadyExists')) continue;
        this.recorder.event(
          { ...p, apiVersion: 'v1', kind: 'Pod' },
          'Warning',
          'FailedBinding',
          `create failed: ${(e as Error).message}`,
        );
        throw e;
      }
    }
  }
}
