/**
 * The VolumeBinding plugin in small: a pod's claims must exist; a bound claim's PersistentVolume must be
 * reachable from the node (its node affinity); an unbound claim of an Immediate class waits for the PV controller
 * ("pod has unbound immediate PersistentVolumeClaims"); an unbound claim of a WaitForFirstConsumer class (as
 * `local-path`) is provisioned for the chosen node: before binding the pod, the scheduler marks the claim with
 * `volume.kubernetes.io/selected-node` and waits for the PV controller to bind it.
 */
import type {
  PersistentVolume,
  PersistentVolumeClaim,
  Pod,
  StorageClass,
} from '../controllers/framework/types.js';
import type { Informer } from '../controllers/framework/informer.js';
import { findBestMatch, nodeAffinityFits } from '../controllers/volume/matching.js';
import type { FilterStatus } from './filters.js';
import type { NodeInfo } from './snapshot.js';

export const SELECTED_NODE = 'volume.kubernetes.io/selected-node';
const NO_PROVISIONER = 'kubernetes.io/no-provisioner';

export interface VolumeState {
  /** Claims already bound: their PVs. */
  bound: PersistentVolume[];
  /** Claims waiting for a consumer: provisioned (or matched) once the node is chosen. */
  delayed: Array<{ claim: PersistentVolumeClaim; storageClass?: StorageClass }>;
}

export interface VolumeInformers {
  pvcs: Informer<PersistentVolumeClaim>;
  pvs: Informer<PersistentVolume>;
  classes: Informer<StorageClass>;
}

function claimNames(pod: Pod): Array<{ name: string; ephemeral: boolean }> {
  const out: Array<{ name: string; ephemeral: boolean }> = [];
  for (const v of pod.spec?.volumes ?? []) {
    if (v.persistentVolumeClaim?.claimName)
      out.push({ name: v.persistentVolumeClaim.claimName, ephemeral: false });
    else if (v.ephemeral) out.push({ name: `${pod.metadata?.name}-${v.name}`, ephemeral: true });
  }
  return out;
}

/** PreFilter: the claims, or why the pod cannot be placed anywhere. */
export function volumePreFilter(pod: Pod, inf: VolumeInformers): VolumeState | FilterStatus {
  const ns = pod.metadata?.namespace ?? '';
  const state: VolumeState = { bound: [], delayed: [] };
  let immediateUnbound = false;
  for (const { name, ephemeral } of claimNames(pod)) {
    const claim = inf.pvcs.getIn(ns, name);
    if (!claim)
      return {
        code: 'UnschedulableAndUnresolvable',
        reasons: [
          ephemeral
            ? `waiting for ephemeral volume controller to create the persistentvolumeclaim "${name}"`
            : `persistentvolumeclaim "${name}" not found`,
        ],
      };
    if (claim.metadata?.deletionTimestamp)
      return {
        code: 'UnschedulableAndUnresolvable',
        reasons: [`persistentvolumeclaim "${name}" is being deleted`],
      };
    const volumeName = claim.spec?.volumeName;
    if (volumeName && claim.status?.phase === 'Bound') {
      const pv = inf.pvs.getIn(undefined, volumeName);
      if (pv) state.bound.push(pv);
      else immediateUnbound = true;
      continue;
    }
    const className = claim.spec?.storageClassName;
    const sc = className ? inf.classes.getIn(undefined, className) : undefined;
    if (sc?.volumeBindingMode === 'WaitForFirstConsumer') state.delayed.push({ claim, storageClass: sc });
    else immediateUnbound = true;
  }
  if (immediateUnbound)
    return {
      code: 'UnschedulableAndUnresolvable',
      reasons: ['pod has unbound immediate PersistentVolumeClaims'],
    };
  return state;
}

/** Filter: bound volumes reachable from the node; delayed claims provisionable or matched there. */
export function volumeFilter(
  state: VolumeState,
  ni: NodeInfo,
  inf: VolumeInformers,
): FilterStatus | undefined {
  for (const pv of state.bound)
    if (!nodeAffinityFits(pv, ni.node))
      return { code: 'UnschedulableAndUnresolvable', reasons: ['node(s) had volume node affinity conflict'] };
  for (const { claim, storageClass } of state.delayed) {
    if (!storageClass)
      return {
        code: 'UnschedulableAndUnresolvable',
        reasons: [`storageclass.storage.k8s.io "${claim.spec?.storageClassName}" not found`],
      };
    // A static volume the PV controller will bind once the claim names this node (pre-bound ones first).
    if (findBestMatch(claim, inf.pvs.list(), { delayBinding: true, node: ni.node })) continue;
    if (storageClass.provisioner === NO_PROVISIONER)
      return {
        code: 'UnschedulableAndUnresolvable',
        reasons: ["node(s) didn't find available persistent volumes to bind"],
      };
  }
  return undefined;
}
