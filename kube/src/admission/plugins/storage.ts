/**
 * Two storage admission plugins of kube-apiserver:
 * - DefaultStorageClass (plugin/pkg/admission/storage/storageclass/setdefault): a new claim that names no class
 *   (no storageClassName and no beta annotation; `""` means "no class" and is kept) gets the default class, the
 *   newest one when several are marked default.
 * - StorageObjectInUseProtection (.../storageobjectinuseprotection): new claims get the
 *   `kubernetes.io/pvc-protection` finalizer and new volumes `kubernetes.io/pv-protection`, which the protection
 *   controllers remove once nothing uses them.
 * - PersistentVolumeClaimResize (.../persistentvolume/resize): a claim may grow only once bound, and only when its
 *   class sets allowVolumeExpansion.
 */
import { forbidden } from '../../errors.js';
import { parseQuantity } from '@berth/common/quantity';
import type { KubeObject } from '../../registry/types.js';
import type { AdmissionAttributes, MutatingPlugin, ValidatingPlugin } from '../types.js';

export const DEFAULT_CLASS_ANNOTATION = 'storageclass.kubernetes.io/is-default-class';
const BETA_DEFAULT_CLASS_ANNOTATION = 'storageclass.beta.kubernetes.io/is-default-class';
const BETA_CLASS_ANNOTATION = 'volume.beta.kubernetes.io/storage-class';
export const PVC_PROTECTION = 'kubernetes.io/pvc-protection';
export const PV_PROTECTION = 'kubernetes.io/pv-protection';

export function isDefaultClass(sc: KubeObject): boolean {
  const ann = sc.metadata?.annotations ?? {};
  return ann[DEFAULT_CLASS_ANNOTATION] === 'true' || ann[BETA_DEFAULT_CLASS_ANNOTATION] === 'true';
}

/** GetDefaultClass: the newest default class (then by name), or none. */
export function defaultClass(classes: KubeObject[]): KubeObject | undefined {
  const defaults = classes.filter(isDefaultClass);
  defaults.sort((a, b) => {
    const ta = a.metadata?.creationTimestamp ?? '';
    const tb = b.metadata?.creationTimestamp ?? '';
    if (ta !== tb) return ta > tb ? -1 : 1;
    return (a.metadata?.name ?? '') < (b.metadata?.name ?? '') ? -1 : 1;
  });
  return defaults[0];
}

const isCore = (a: AdmissionAttributes, plural: string) =>
  a.resource.group === '' && a.resource.resource === plural && !a.subresource;

export class DefaultStorageClass implements MutatingPlugin {
  readonly name = 'DefaultStorageClass';

  constructor(private readonly classes: () => Promise<KubeObject[]>) {}

  handles(op: string): boolean {
    return op === 'CREATE';
  }

  async admit(a: AdmissionAttributes, obj: KubeObject | undefined): Promise<void> {
    if (!obj || !isCore(a, 'persistentvolumeclaims')) return;
    const spec = (obj.spec ??= {}) as { storageClassName?: string | null };
    if (spec.storageClassName !== undefined && spec.storageClassName !== null) return;
    if (obj.metadata?.annotations?.[BETA_CLASS_ANNOTATION] !== undefined) return;
    const def = defaultClass(await this.classes());
    if (def?.metadata?.name) spec.storageClassName = def.metadata.name;
  }
}

export class StorageObjectInUseProtection implements MutatingPlugin {
  readonly name = 'StorageObjectInUseProtection';

  handles(op: string): boolean {
    return op === 'CREATE';
  }

  admit(a: AdmissionAttributes, obj: KubeObject | undefined): void {
    if (!obj) return;
    const finalizer = isCore(a, 'persistentvolumeclaims')
      ? PVC_PROTECTION
      : isCore(a, 'persistentvolumes')
        ? PV_PROTECTION
        : undefined;
    if (!finalizer) return;
    const meta = (obj.metadata ??= {});
    const list = (meta.finalizers ??= []);
    if (!list.includes(finalizer)) list.push(finalizer);
  }
}

const storageOf = (o: KubeObject | undefined): number => {
  const q = (o?.spec as { resources?: { requests?: { storage?: string } } } | undefined)?.resources?.requests
    ?.storage;
  try {
    return q === undefined ? 0 : parseQuantity(q);
  } catch {
    return 0;
  }
};

export class PersistentVolumeClaimResize implements ValidatingPlugin {
  readonly name = 'PersistentVolumeClaimResize';

  constructor(private readonly classes: () => Promise<KubeObject[]>) {}

  handles(op: string): boolean {
    return op === 'UPDATE';
  }

  async validate(
    a: AdmissionAttributes,
    obj: KubeObject | undefined,
    old: KubeObject | undefined,
  ): Promise<void> {
    if (!obj || !old || !isCore(a, 'persistentvolumeclaims')) return;
    if (storageOf(obj) <= storageOf(old)) return;
    const deny = (why: string) =>
      forbidden(`persistentvolumeclaims "${a.name}" is forbidden: ${why}`, {
        kind: 'persistentvolumeclaims',
        name: a.name,
      });
    if ((old.status as { phase?: string } | undefined)?.phase !== 'Bound')
      throw deny('Only bound persistent volume claims can be expanded');
    const cls = (obj.spec as { storageClassName?: string } | undefined)?.storageClassName;
    const sc = cls ? (await this.classes()).find((c) => c.metadata?.name === cls) : undefined;
    if (sc?.allowVolumeExpansion !== true)
      throw deny(
        'only dynamically provisioned pvc can be resized and the storageclass that provisions the pvc must support resize',
      );
  }
}
