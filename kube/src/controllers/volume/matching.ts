/**
 * Which PersistentVolume a claim may bind to, as pkg/controller/volume/persistentvolume's findBestMatchForClaim and
 * component-helpers' FindMatchingVolume: a volume pre-bound to the claim wins; otherwise the smallest Available
 * volume of the claim's class, large enough, with the claim's access modes and volume mode, its labels matching the
 * claim's selector and (with a node) its node affinity the node's. Delayed binding (WaitForFirstConsumer) without a
 * node binds only pre-bound volumes.
 */
import { parseQuantity } from '@berth/common/quantity';
import { termMatches } from '../../scheduler/filters.js';
import { fromStructured, matchesLabels, type StructuredSelector } from '../../selectors/labels.js';
import type { KubeObject } from '../../registry/types.js';
import type { Node, PersistentVolume, PersistentVolumeClaim } from '../framework/types.js';

export const BETA_CLASS = 'volume.beta.kubernetes.io/storage-class';

/** GetPersistentVolume(Claim)Class: the beta annotation wins over spec.storageClassName. */
export function classOf(o: PersistentVolume | PersistentVolumeClaim): string {
  return o.metadata?.annotations?.[BETA_CLASS] ?? o.spec?.storageClassName ?? '';
}

export function bytes(q: string | undefined): number {
  if (!q) return 0;
  try {
    return parseQuantity(q);
  } catch {
    return 0;
  }
}

/** IsVolumeBoundToClaim: claimRef names the claim (and its uid, when the ref has one). */
export function volumeBoundToClaim(pv: PersistentVolume, claim: KubeObject): boolean {
  const ref = pv.spec?.claimRef;
  if (!ref) return false;
  if (ref.name !== claim.metadata?.name || ref.namespace !== claim.metadata?.namespace) return false;
  return !ref.uid || ref.uid === claim.metadata?.uid;
}

export function accessModesFit(claim: PersistentVolumeClaim, pv: PersistentVolume): boolean {
  const have = pv.spec?.accessModes ?? [];
  return (claim.spec?.accessModes ?? []).every((m) => have.includes(m));
}

export function nodeAffinityFits(pv: PersistentVolume, node: Node): boolean {
  const terms = pv.spec?.nodeAffinity?.required?.nodeSelectorTerms;
  return !terms || terms.some((t) => termMatches(node, t));
}

/** Why a pre-bound volume cannot take the claim (checkVolumeSatisfyClaim), or undefined when it can. */
export function mismatch(claim: PersistentVolumeClaim, pv: PersistentVolume): string | undefined {
  if (bytes(pv.spec?.capacity?.storage) < bytes(claim.spec?.resources?.requests?.storage))
    return 'requested PV is too small';
  if (classOf(pv) !== classOf(claim)) return 'storageClassName does not match';
  if ((pv.spec?.volumeMode ?? 'Filesystem') !== (claim.spec?.volumeMode ?? 'Filesystem'))
    return 'incompatible volumeMode';
  if (!accessModesFit(claim, pv)) return 'incompatible accessMode';
  return undefined;
}

export function findBestMatch(
  claim: PersistentVolumeClaim,
  volumes: PersistentVolume[],
  o: { delayBinding: boolean; node?: Node },
): PersistentVolume | undefined {
  const want = bytes(claim.spec?.resources?.requests?.storage);
  const selector = claim.spec?.selector
    ? fromStructured(claim.spec.selector as StructuredSelector)
    : undefined;
  const cls = classOf(claim);
  const mode = claim.spec?.volumeMode ?? 'Filesystem';
  let best: PersistentVolume | undefined;
  for (const pv of volumes) {
    if (pv.spec?.claimRef && !volumeBoundToClaim(pv, claim)) continue;
    const size = bytes(pv.spec?.capacity?.storage);
    if (size < want) continue;
    if ((pv.spec?.volumeMode ?? 'Filesystem') !== mode) continue;
    if (pv.metadata?.deletionTimestamp) continue;
    if (!accessModesFit(claim, pv)) continue;
    const affinityOk = !o.node || nodeAffinityFits(pv, o.node);
    if (volumeBoundToClaim(pv, claim)) return affinityOk ? pv : undefined;
    if (!o.node && o.delayBinding) continue;
    if (pv.status?.phase !== 'Available') continue;
    if (selector && !matchesLabels(selector, pv.metadata?.labels)) continue;
    if (classOf(pv) !== cls) continue;
    if (!affinityOk) continue;
    if (!best || bytes(best.spec?.capacity?.storage) > size) best = pv;
  }
  return best;
}
