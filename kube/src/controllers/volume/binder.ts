/**
 * The persistentvolume controller (pkg/controller/volume/persistentvolume) in small: binds claims to volumes
 * (pre-bound either way, or the best match), marks phases (claims Pending/Bound/Lost, volumes
 * Available/Bound/Released/Failed), writes the `pv.kubernetes.io/bind-completed` and `bound-by-controller`
 * annotations, asks a provisioner for a volume when nothing matches (the `volume.kubernetes.io/storage-provisioner`
 * annotation; WaitForFirstConsumer claims only once the scheduler has set `volume.kubernetes.io/selected-node`)
 * and reclaims released volumes: Retain keeps them, Delete leaves a provisioned volume to its provisioner and fails
 * any other. Keys are `claim:<ns>/<name>` and `volume:<name>`.
 */
import { isKubeError } from '../../errors.js';
import type { ResourceClient } from '../../client/index.js';
import { SELECTED_NODE } from '../../scheduler/volumes.js';
import { QueueController, type ControllerContext } from '../framework/controller.js';
import { nowRfc3339 } from '../framework/conditions.js';
import { keyOf, splitKey, type Informer } from '../framework/informer.js';
import type { Node, PersistentVolume, PersistentVolumeClaim, StorageClass } from '../framework/types.js';
import { classOf, findBestMatch, mismatch, volumeBoundToClaim } from './matching.js';

export const BIND_COMPLETED = 'pv.kubernetes.io/bind-completed';
export const BOUND_BY_CONTROLLER = 'pv.kubernetes.io/bound-by-controller';
export const PROVISIONED_BY = 'pv.kubernetes.io/provisioned-by';
export const STORAGE_PROVISIONER = 'volume.kubernetes.io/storage-provisioner';
const BETA_STORAGE_PROVISIONER = 'volume.beta.kubernetes.io/storage-provisioner';

const asClaim = (c: PersistentVolumeClaim) => ({ ...c, apiVersion: 'v1', kind: 'PersistentVolumeClaim' });
const asVolume = (v: PersistentVolume) => ({ ...v, apiVersion: 'v1', kind: 'PersistentVolume' });

export class PersistentVolumeBinder extends QueueController {
  private readonly claims: Informer<PersistentVolumeClaim>;
  private readonly volumes: Informer<PersistentVolume>;
  private readonly classes: Informer<StorageClass>;
  private readonly nodes: Informer<Node>;
  private readonly pvcs: ResourceClient<PersistentVolumeClaim>;
  private readonly pvs: ResourceClient<PersistentVolume>;

  constructor(ctx: ControllerContext) {
    super('persistentvolume-binder', ctx, 'persistentvolume-controller', 1);
    this.claims = ctx.informers.for<PersistentVolumeClaim>('v1', 'persistentvolumeclaims');
    this.volumes = ctx.informers.for<PersistentVolume>('v1', 'persistentvolumes');
    this.classes = ctx.informers.for<StorageClass>('storage.k8s.io/v1', 'storageclasses');
    this.nodes = ctx.informers.for<Node>('v1', 'nodes');
    this.pvcs = ctx.client.resource<PersistentVolumeClaim>('v1', 'persistentvolumeclaims');
    this.pvs = ctx.client.resource<PersistentVolume>('v1', 'persistentvolumes');
    const claim = (c: PersistentVolumeClaim) => this.enqueue(`claim:${keyOf(c)}`);
    const volume = (v: PersistentVolume) => {
      this.enqueue(`volume:${v.metadata?.name ?? ''}`);
      const ref = v.spec?.claimRef;
      if (ref?.name) this.enqueue(`claim:${ref.namespace}/${ref.name}`);
    };
    this.claims.on({
      add: claim,
      update: (_o, c) => claim(c),
      delete: (c) => {
        // The volume it was bound to is released now.
        if (c.spec?.volumeName) this.enqueue(`volume:${c.spec.volumeName}`);
        for (const v of this.volumes.list()) if (volumeBoundToClaim(v, c)) volume(v);
      },
    });
    this.volumes.on({ add: volume, update: (_o, v) => volume(v), delete: volume });
    // A new class or node can unblock claims waiting for one.
    const all = () => {
      for (const c of this.claims.list()) if (c.status?.phase === 'Pending') claim(c);
    };
    this.classes.on({ add: all });
    this.nodes.on({ add: all });
  }

  protected initialKeys(): string[] {
    return [
      ...this.volumes.list().map((v) => `volume:${v.metadata?.name ?? ''}`),
      ...this.claims.list().map((c) => `claim:${keyOf(c)}`),
    ];
  }

  protected async sync(key: string): Promise<void> {
    try {
      if (key.startsWith('claim:')) {
        const { namespace, name } = splitKey(key.slice(6));
        const c = this.claims.getIn(namespace, name);
        if (c && !c.metadata?.deletionTimestamp) await this.syncClaim(c);
      } else {
        const v = this.volumes.getIn(undefined, key.slice(7));
        if (v) await this.syncVolume(v);
      }
    } catch (e) {
      // A Conflict or NotFound means the cache is behind; its events bring the key back.
      if (!isKubeError(e, 'Conflict') && !isKubeError(e, 'NotFound')) throw e;
    }
  }

  // ---- claims

  private async syncClaim(c: PersistentVolumeClaim): Promise<void> {
    if (c.metadata?.annotations?.[BIND_COMPLETED]) return this.syncBoundClaim(c);
    const volumeName = c.spec?.volumeName;
    if (!volumeName) return this.syncUnboundClaim(c);
    // Pre-bound by the user to a volume.
    const pv = this.volumes.getIn(undefined, volumeName);
    if (!pv) {
      await this.claimPhase(c, 'Pending');
      this.recorder.event(asClaim(c), 'Warning', 'FailedBinding', `volume "${volumeName}" not found`);
      return;
    }
    if (!pv.spec?.claimRef || volumeBoundToClaim(pv, c)) {
      const why = pv.spec?.claimRef ? undefined : mismatch(c, pv);
      if (why) {
        await this.claimPhase(c, 'Pending');
        this.recorder.event(
          asClaim(c),
          'Warning',
          'VolumeMismatch',
          `Cannot bind to requested volume "${volumeName}": ${why}`,
        );
        return;
      }
      return this.bind(pv, c);
    }
    await this.claimPhase(c, 'Pending');
    this.recorder.event(
      asClaim(c),
      'Warning',
      'FailedBinding',
      `volume "${volumeName}" already bound to a different claim.`,
    );
  }

  private async syncUnboundClaim(c: PersistentVolumeClaim): Promise<void> {
    const cls = classOf(c);
    const sc = cls ? this.classes.getIn(undefined, cls) : undefined;
    const delayBinding = sc?.volumeBindingMode === 'WaitForFirstConsumer';
    const selected = c.metadata?.annotations?.[SELECTED_NODE];
    const node = selected ? this.nodes.getIn(undefined, selected) : undefined;
    const pv = findBestMatch(c, this.volumes.list(), { delayBinding, ...(node ? { node } : {}) });
    if (pv) return this.bind(pv, c);
    await this.claimPhase(c, 'Pending');
    if (delayBinding && !selected) {
      this.recorder.event(
        asClaim(c),
        'Normal',
        'WaitForFirstConsumer',
        'waiting for first consumer to be created before binding',
      );
      return;
    }
    if (!cls) {
      this.recorder.event(
        asClaim(c),
        'Normal',
        'FailedBinding',
        'no persistent volumes available for this claim and no storage class is set',
      );
      return;
    }
    if (!sc) {
      this.recorder.event(
        asClaim(c),
        'Warning',
        'ProvisioningFailed',
        `storageclass.storage.k8s.io "${cls}" not found`,
      );
      return;
    }
    if (sc.provisioner === 'kubernetes.io/no-provisioner') {
      this.recorder.event(
        asClaim(c),
        'Normal',
        'FailedBinding',
        'no persistent volumes available for this claim and no storage class is set',
      );
      return;
    }
    // Hand the claim to its (external) provisioner, which makes a volume pre-bound to it.
    const ann = c.metadata?.annotations ?? {};
    if (ann[STORAGE_PROVISIONER] !== sc.provisioner) {
      await this.pvcs.patch(
        c.metadata?.name ?? '',
        'merge',
        {
          metadata: {
            annotations: {
              [STORAGE_PROVISIONER]: sc.provisioner,
              [BETA_STORAGE_PROVISIONER]: sc.provisioner,
            },
          },
        },
        { namespace: c.metadata?.namespace ?? '' },
      );
      this.recorder.event(
        asClaim(c),
        'Normal',
        'ExternalProvisioning',
        `Waiting for a volume to be created either by the external provisioner '${sc.provisioner}' or manually by the system administrator. If volume creation is delayed, please verify that the provisioner is running and correctly registered.`,
      );
    }
  }

  private async syncBoundClaim(c: PersistentVolumeClaim): Promise<void> {
    const volumeName = c.spec?.volumeName;
    if (!volumeName) {
      if (await this.claimPhase(c, 'Lost'))
        this.recorder.event(
          asClaim(c),
          'Warning',
          'ClaimLost',
          'Bound claim has lost reference to PersistentVolume. Data on the volume is lost!',
        );
      return;
    }
    const pv = this.volumes.getIn(undefined, volumeName);
    if (!pv) {
      if (await this.claimPhase(c, 'Lost'))
        this.recorder.event(
          asClaim(c),
          'Warning',
          'ClaimLost',
          'Bound claim has lost its PersistentVolume. Data on the volume is lost!',
        );
      return;
    }
    if (!pv.spec?.claimRef || volumeBoundToClaim(pv, c)) return this.bind(pv, c);
    if (await this.claimPhase(c, 'Lost'))
      this.recorder.event(
        asClaim(c),
        'Warning',
        'ClaimMisbound',
        'Two claims are bound to the same volume, this one is bound incorrectly',
      );
  }

  /** bind: the volume's claimRef, its phase, the claim's volumeName and annotations, the claim's status. */
  private async bind(pv: PersistentVolume, c: PersistentVolumeClaim): Promise<void> {
    const m = c.metadata ?? {};
    let vol = pv;
    if (!pv.spec?.claimRef?.uid) {
      const next = structuredClone(pv);
      const preBound = !!pv.spec?.claimRef;
      next.spec = {
        ...next.spec,
        claimRef: {
          kind: 'PersistentVolumeClaim',
          namespace: m.namespace ?? '',
          name: m.name ?? '',
          uid: m.uid ?? '',
          apiVersion: 'v1',
          resourceVersion: m.resourceVersion ?? '',
        },
      };
      if (!preBound)
        next.metadata = {
          ...next.metadata,
          annotations: { ...next.metadata?.annotations, [BOUND_BY_CONTROLLER]: 'yes' },
        };
      vol = await this.pvs.update(next);
    }
    vol = await this.volumePhase(vol, 'Bound');
    let claim = c;
    if (c.spec?.volumeName !== vol.metadata?.name || !c.metadata?.annotations?.[BIND_COMPLETED]) {
      const next = structuredClone(c);
      const byController = !c.spec?.volumeName;
      next.spec = { ...next.spec, volumeName: vol.metadata?.name ?? '' };
      next.metadata = {
        ...next.metadata,
        annotations: {
          ...next.metadata?.annotations,
          [BIND_COMPLETED]: 'yes',
          ...(byController ? { [BOUND_BY_CONTROLLER]: 'yes' } : {}),
        },
      };
      claim = await this.pvcs.update(next, { namespace: m.namespace ?? '' });
    }
    const status = {
      phase: 'Bound',
      accessModes: vol.spec?.accessModes ?? [],
      capacity: vol.spec?.capacity ?? {},
    };
    const cur = claim.status ?? {};
    if (
      cur.phase !== 'Bound' ||
      JSON.stringify(cur.accessModes ?? []) !== JSON.stringify(status.accessModes) ||
      JSON.stringify(cur.capacity ?? {}) !== JSON.stringify(status.capacity)
    )
      await this.pvcs.updateStatus(
        { ...structuredClone(claim), status: { ...structuredClone(cur), ...status } },
        { namespace: m.namespace ?? '' },
      );
  }

  /** Sets the claim's phase; true when it changed. */
  private async claimPhase(c: PersistentVolumeClaim, phase: string): Promise<boolean> {
    if (c.status?.phase === phase) return false;
    await this.pvcs.updateStatus(
      { ...structuredClone(c), status: { ...structuredClone(c.status ?? {}), phase } },
      { namespace: c.metadata?.namespace ?? '' },
    );
    return true;
  }

  // ---- volumes

  private async syncVolume(pv: PersistentVolume): Promise<void> {
    const ref = pv.spec?.claimRef;
    if (!ref) {
      await this.volumePhase(pv, 'Available');
      return;
    }
    // Pre-bound by name only: the claim's sync binds it.
    if (!ref.uid) {
      await this.volumePhase(pv, 'Available');
      return;
    }
    let claim = this.claims.getIn(ref.namespace, ref.name ?? '');
    if (claim && claim.metadata?.uid !== ref.uid) claim = undefined;
    if (!claim) {
      if (pv.status?.phase === 'Failed') return;
      const released = await this.volumePhase(pv, 'Released');
      await this.reclaim(released);
      return;
    }
    if (!claim.spec?.volumeName) {
      this.enqueue(`claim:${keyOf(claim)}`);
      return;
    }
    if (claim.spec.volumeName === pv.metadata?.name) {
      await this.volumePhase(pv, 'Bound');
      return;
    }
    // The claim went to another volume: undo our binding, or forget the uid of the user's pre-binding.
    const next = structuredClone(pv);
    if (pv.metadata?.annotations?.[BOUND_BY_CONTROLLER]) {
      delete next.spec!.claimRef;
      delete next.metadata!.annotations![BOUND_BY_CONTROLLER];
    } else next.spec!.claimRef = { ...next.spec!.claimRef, uid: '' };
    const updated = await this.pvs.update(next);
    await this.volumePhase(updated, 'Available');
  }

  private async reclaim(pv: PersistentVolume): Promise<void> {
    const policy = pv.spec?.persistentVolumeReclaimPolicy ?? 'Retain';
    if (policy === 'Retain') return;
    // A provisioned volume is its provisioner's to delete (as external-provisioner does).
    if (pv.metadata?.annotations?.[PROVISIONED_BY]) return;
    const why =
      policy === 'Delete'
        ? `error getting deleter volume plugin for volume "${pv.metadata?.name}": no deletable volume plugin matched`
        : 'No recycler plugin found for the volume!';
    const failed = await this.volumePhase(pv, 'Failed', why);
    this.recorder.event(
      asVolume(failed),
      'Warning',
      policy === 'Delete' ? 'VolumeFailedDelete' : 'VolumeFailedRecycle',
      why,
    );
  }

  /** Sets the volume's phase (and lastPhaseTransitionTime when it changes); the volume as stored. */
  private async volumePhase(
    pv: PersistentVolume,
    phase: string,
    message?: string,
  ): Promise<PersistentVolume> {
    if (pv.status?.phase === phase && (message === undefined || pv.status.message === message)) return pv;
    const status: Record<string, unknown> = { ...structuredClone(pv.status ?? {}), phase };
    if (pv.status?.phase !== phase) status.lastPhaseTransitionTime = nowRfc3339(this.now());
    if (message !== undefined) status.message = message;
    else delete status.message;
    return this.pvs.updateStatus({ ...structuredClone(pv), status });
  }
}
