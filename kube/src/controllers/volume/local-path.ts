/**
 * The `local-path` provisioner: berth-kube's answer to k3s's local-path-provisioner, under the same provisioner
 * name (`rancher.io/local-path`, so StorageClasses written for k3s work unchanged), but every volume is a **berthd
 * named volume** (`docker volume ls` shows `pvc-<claim uid>`, labelled with the claim's namespace, name and uid).
 * For a claim handed to it by the binder (the `volume.kubernetes.io/storage-provisioner` annotation; for
 * WaitForFirstConsumer once the scheduler chose a node) it creates the volume through the Engine API and a
 * PersistentVolume pre-bound to the claim (`hostPath` at the volume's mountpoint, node affinity to the node, the
 * class's reclaim policy, `pv.kubernetes.io/provisioned-by`, and `berth.dev/engine-volume` so the kubelet mounts
 * the named volume itself). A Released volume with reclaim policy Delete is removed from berthd, then its PV
 * deleted, as external-provisioner's deleter does.
 */
import { isKubeError } from '../../errors.js';
import type { ResourceClient } from '../../client/index.js';
import { SELECTED_NODE } from '../../scheduler/volumes.js';
import { QueueController, type ControllerContext } from '../framework/controller.js';
import { keyOf, splitKey, type Informer } from '../framework/informer.js';
import type { Node, PersistentVolume, PersistentVolumeClaim, StorageClass } from '../framework/types.js';
import { PROVISIONED_BY, STORAGE_PROVISIONER } from './binder.js';
import { classOf } from './matching.js';

export const LOCAL_PATH_PROVISIONER = 'rancher.io/local-path';
export const LOCAL_PATH_CLASS = 'local-path';
export const ENGINE_VOLUME = 'berth.dev/engine-volume';
export const CLAIM_LABELS = {
  namespace: 'io.berth.kube.claim-namespace',
  name: 'io.berth.kube.claim-name',
  uid: 'io.berth.kube.claim-uid',
} as const;

/** What the provisioner needs of the Engine API (the kubelet's EngineClient fits). */
export interface VolumeEngine {
  volumeCreate(o: {
    Name: string;
    Labels?: Record<string, string>;
  }): Promise<{ Name: string; Mountpoint: string }>;
  volumeRemove(name: string, force?: boolean): Promise<void>;
}

/** An engine error with its HTTP status (404: the volume is already gone). */
const engineStatus = (e: unknown): number | undefined =>
  typeof (e as { status?: unknown }).status === 'number' ? (e as { status: number }).status : undefined;

const asClaim = (c: PersistentVolumeClaim) => ({ ...c, apiVersion: 'v1', kind: 'PersistentVolumeClaim' });
const asVolume = (v: PersistentVolume) => ({ ...v, apiVersion: 'v1', kind: 'PersistentVolume' });

export class LocalPathProvisioner extends QueueController {
  private readonly claims: Informer<PersistentVolumeClaim>;
  private readonly volumes: Informer<PersistentVolume>;
  private readonly classes: Informer<StorageClass>;
  private readonly nodes: Informer<Node>;
  private readonly pvs: ResourceClient<PersistentVolume>;

  constructor(
    ctx: ControllerContext,
    private readonly engine: VolumeEngine,
  ) {
    super('local-path-provisioner', ctx, LOCAL_PATH_PROVISIONER);
    this.claims = ctx.informers.for<PersistentVolumeClaim>('v1', 'persistentvolumeclaims');
    this.volumes = ctx.informers.for<PersistentVolume>('v1', 'persistentvolumes');
    this.classes = ctx.informers.for<StorageClass>('storage.k8s.io/v1', 'storageclasses');
    this.nodes = ctx.informers.for<Node>('v1', 'nodes');
    this.pvs = ctx.client.resource<PersistentVolume>('v1', 'persistentvolumes');
    const claim = (c: PersistentVolumeClaim) => {
      if (c.metadata?.annotations?.[STORAGE_PROVISIONER] === LOCAL_PATH_PROVISIONER && !c.spec?.volumeName)
        this.enqueue(`claim:${keyOf(c)}`);
    };
    this.claims.on({ add: claim, update: (_o, c) => claim(c) });
    const volume = (v: PersistentVolume) => {
      if (v.metadata?.annotations?.[PROVISIONED_BY] === LOCAL_PATH_PROVISIONER)
        this.enqueue(`volume:${v.metadata.name}`);
    };
    this.volumes.on({ add: volume, update: (_o, v) => volume(v) });
  }

  protected initialKeys(): string[] {
    return [
      ...this.claims.list().map((c) => `claim:${keyOf(c)}`),
      ...this.volumes.list().map((v) => `volume:${v.metadata?.name ?? ''}`),
    ];
  }

  protected async sync(key: string): Promise<void> {
    if (key.startsWith('claim:')) {
      const { namespace, name } = splitKey(key.slice(6));
      const c = this.claims.getIn(namespace, name);
      if (c) await this.provision(c);
    } else {
      const v = this.volumes.getIn(undefined, key.slice(7));
      if (v) await this.reclaim(v);
    }
  }

  private async provision(c: PersistentVolumeClaim): Promise<void> {
    const m = c.metadata ?? {};
    if (m.deletionTimestamp || c.spec?.volumeName) return;
    if (m.annotations?.[STORAGE_PROVISIONER] !== LOCAL_PATH_PROVISIONER) return;
    const cls = classOf(c);
    const sc = this.classes.getIn(undefined, cls);
    if (sc?.provisioner !== LOCAL_PATH_PROVISIONER) return;
    const selected = m.annotations?.[SELECTED_NODE];
    if (sc.volumeBindingMode === 'WaitForFirstConsumer' && !selected) return;
    const name = `pvc-${m.uid}`;
    if (this.volumes.getIn(undefined, name)) return;
    // One node: the scheduler's choice, else the node there is.
    const node = selected ?? this.nodes.list()[0]?.metadata?.name;
    if (!node) return;
    this.recorder.event(
      asClaim(c),
      'Normal',
      'Provisioning',
      `External provisioner is provisioning volume for claim "${m.namespace}/${m.name}"`,
    );
    try {
      if (c.spec?.volumeMode === 'Block') throw new Error('Only support volumeMode Filesystem');
      if (c.spec?.selector) throw new Error('claim.Spec.Selector is not supported');
      const vol = await this.engine.volumeCreate({
        Name: name,
        Labels: {
          [CLAIM_LABELS.namespace]: m.namespace ?? '',
          [CLAIM_LABELS.name]: m.name ?? '',
          [CLAIM_LABELS.uid]: m.uid ?? '',
        },
      });
      await this.pvs.create({
        apiVersion: 'v1',
        kind: 'PersistentVolume',
        metadata: {
          name,
          annotations: { [PROVISIONED_BY]: LOCAL_PATH_PROVISIONER, [ENGINE_VOLUME]: vol.Name },
        },
        spec: {
          capacity: { storage: c.spec?.resources?.requests?.storage ?? '0' },
          accessModes: c.spec?.accessModes ?? ['ReadWriteOnce'],
          persistentVolumeReclaimPolicy: sc.reclaimPolicy ?? 'Delete',
          storageClassName: cls,
          volumeMode: 'Filesystem',
          ...(sc.mountOptions ? { mountOptions: sc.mountOptions } : {}),
          hostPath: { path: vol.Mountpoint, type: 'DirectoryOrCreate' },
          claimRef: {
            kind: 'PersistentVolumeClaim',
            apiVersion: 'v1',
            namespace: m.namespace ?? '',
            name: m.name ?? '',
            uid: m.uid ?? '',
            resourceVersion: m.resourceVersion ?? '',
          },
          nodeAffinity: {
            required: {
              nodeSelectorTerms: [
                { matchExpressions: [{ key: 'kubernetes.io/hostname', operator: 'In', values: [node] }] },
              ],
            },
          },
        },
      });
    } catch (e) {
      if (isKubeError(e, 'AlreadyExists')) return;
      this.recorder.event(
        asClaim(c),
        'Warning',
        'ProvisioningFailed',
        `failed to provision volume with StorageClass "${cls}": ${(e as Error).message}`,
      );
      throw e;
    }
    this.recorder.event(
      asClaim(c),
      'Normal',
      'ProvisioningSucceeded',
      `Successfully provisioned volume ${name}`,
    );
  }

  private async reclaim(pv: PersistentVolume): Promise<void> {
    const m = pv.metadata ?? {};
    if (m.annotations?.[PROVISIONED_BY] !== LOCAL_PATH_PROVISIONER) return;
    if (pv.status?.phase !== 'Released' || pv.spec?.persistentVolumeReclaimPolicy !== 'Delete') return;
    if (m.deletionTimestamp) return;
    const engineVolume = m.annotations?.[ENGINE_VOLUME] ?? m.name ?? '';
    try {
      await this.engine.volumeRemove(engineVolume);
    } catch (e) {
      if (engineStatus(e) !== 404) {
        // Still mounted by a container that is going away: the queue tries again.
        this.recorder.event(asVolume(pv), 'Warning', 'VolumeFailedDelete', (e as Error).message);
        throw e;
      }
    }
    try {
      await this.pvs.delete(m.name ?? '');
    } catch (e) {
      if (!isKubeError(e, 'NotFound')) throw e;
    }
    this.log.info('deleted a released volume', { volume: m.name });
  }
}

/** The default StorageClass made at bootstrap (when the cluster has none), as k3s ships it. */
export function localPathStorageClass(): Record<string, unknown> {
  return {
    apiVersion: 'storage.k8s.io/v1',
    kind: 'StorageClass',
    metadata: {
      name: LOCAL_PATH_CLASS,
      annotations: { 'storageclass.kubernetes.io/is-default-class': 'true' },
    },
    provisioner: LOCAL_PATH_PROVISIONER,
    reclaimPolicy: 'Delete',
    volumeBindingMode: 'WaitForFirstConsumer',
  };
}
