/**
 * Ownership of dependents, as pkg/controller's ControllerRefManager: an owner claims the objects its selector
 * matches (adopting orphans with a controller ownerReference, releasing those it owns that no longer match) and
 * leaves alone what another controller owns. Adoption re-reads the owner first (canAdopt), so a deleted or
 * replaced owner never adopts. Patches carry the object's uid, so they apply only to the object that was seen.
 */
import { isKubeError } from '../../errors.js';
import type { ResourceClient } from '../../client/index.js';
import { matchesLabels, type LabelSelector } from '../../selectors/labels.js';
import type { KubeObject } from '../../registry/types.js';
import { keyOf, type Informer } from './informer.js';
import { controllerOf, controllerRef, type OwnerLike } from './pods.js';
import type { OwnerRef } from './types.js';

type Owned = KubeObject & { metadata?: { ownerReferences?: OwnerRef[] } };

export interface ClaimOptions<T extends Owned> {
  owner: OwnerLike & { metadata?: { uid?: string; deletionTimestamp?: string } };
  selector: LabelSelector;
  /** The dependents' client, for the adopt and release patches. */
  rc: ResourceClient<T>;
  /** Re-reads the owner: adopting stops when it is gone, replaced or being deleted. */
  canAdopt: () => Promise<boolean>;
  /** Objects that must not be adopted even when they match (e.g. finished pods). */
  adoptable?: (obj: T) => boolean;
}

export async function claim<T extends Owned>(objects: T[], o: ClaimOptions<T>): Promise<T[]> {
  const uid = o.owner.metadata?.uid;
  const out: T[] = [];
  let adoptChecked: boolean | undefined;
  for (const obj of objects) {
    const ref = controllerOf(obj);
    const matches = matchesLabels(o.selector, obj.metadata?.labels);
    if (ref) {
      if (ref.uid !== uid) continue;
      if (matches) {
        out.push(obj);
        continue;
      }
      // Ours but no longer selected: let go (unless one of us is going anyway).
      if (obj.metadata?.deletionTimestamp || o.owner.metadata?.deletionTimestamp) continue;
      await patchOwners(o.rc, obj, [{ $patch: 'delete', uid }]);
      continue;
    }
    if (!matches || obj.metadata?.deletionTimestamp || o.owner.metadata?.deletionTimestamp) continue;
    if (o.adoptable && !o.adoptable(obj)) continue;
    adoptChecked ??= await o.canAdopt();
    if (!adoptChecked) continue;
    const adopted = await patchOwners(o.rc, obj, [controllerRef(o.owner)]);
    if (adopted) out.push(adopted);
  }
  return out;
}

/** A strategic merge patch of ownerReferences; undefined when the object is gone or is another by now. */
async function patchOwners<T extends Owned>(
  rc: ResourceClient<T>,
  obj: T,
  refs: Array<Record<string, unknown>>,
): Promise<T | undefined> {
  const m = obj.metadata ?? {};
  try {
    return await rc.patch(
      m.name ?? '',
      'strategic',
      { metadata: { ownerReferences: refs, uid: m.uid } },
      m.namespace ? { namespace: m.namespace } : {},
    );
  } catch (e) {
    if (isKubeError(e, 'NotFound') || isKubeError(e, 'Conflict') || isKubeError(e, 'Invalid'))
      return undefined;
    throw e;
  }
}

/** canAdopt for an owner read through `rc`: it still exists with the same uid and is not being deleted. */
export function ownerStillThere(
  rc: ResourceClient<KubeObject>,
  owner: OwnerLike & { metadata?: { namespace?: string } },
): () => Promise<boolean> {
  return async () => {
    try {
      const fresh = await rc.get(owner.metadata?.name ?? '', { namespace: owner.metadata?.namespace ?? '' });
      return fresh.metadata?.uid === owner.metadata?.uid && !fresh.metadata?.deletionTimestamp;
    } catch (e) {
      if (isKubeError(e, 'NotFound')) return false;
      throw e;
    }
  };
}

/** The key of the `kind` owner that controls `obj`, when the informer still holds that very owner (same uid). */
export function controllingOwnerKey<T extends KubeObject>(
  obj: Owned,
  kind: string,
  owners: Informer<T>,
): string | undefined {
  const ref = controllerOf(obj);
  if (ref?.kind !== kind) return undefined;
  const o = owners.getIn(obj.metadata?.namespace, ref.name);
  return o?.metadata?.uid === ref.uid ? keyOf(o) : undefined;
}

/** Keys of the owners in `obj`'s namespace whose selector matches it (they may adopt it). */
export function matchingOwnerKeys<T extends KubeObject>(
  obj: Owned,
  owners: Informer<T>,
  selectorOf: (owner: T) => LabelSelector,
): string[] {
  return owners
    .list(obj.metadata?.namespace ?? '')
    .filter((o) => matchesLabels(selectorOf(o), obj.metadata?.labels))
    .map(keyOf);
}
