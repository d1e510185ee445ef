/**
 * PersistentVolumes, PersistentVolumeClaims and StorageClasses: core/v1 and storage/v1 defaults, kube-apiserver's
 * validation (access modes, capacity, one volume source, a claim's spec frozen after creation except its storage
 * request), and the columns of pkg/printers/internalversion.
 */
import { quantityOrNaN } from '@berth/common/quantity';
import type { FieldError } from '../../errors.js';
import { AGE_COLUMN, NAME_COLUMN, age, at, col, str } from '../printing.js';
import { notSupported, same } from '../validation/fields.js';
import type { KubeObject, Strategy, StrategyContext } from '../types.js';

type Obj = Record<string, unknown>;

const ACCESS_MODES = ['ReadOnlyMany', 'ReadWriteMany', 'ReadWriteOnce', 'ReadWriteOncePod'] as const;
const SHORT_MODES: Array<[string, string]> = [
  ['ReadWriteOnce', 'RWO'],
  ['ReadOnlyMany', 'ROX'],
  ['ReadWriteMany', 'RWX'],
  ['ReadWriteOncePod', 'RWOP'],
];
/** PersistentVolumeSource members: exactly one must be set. */
const PV_SOURCES = [
  'gcePersistentDisk',
  'awsElasticBlockStore',
  'hostPath',
  'glusterfs',
  'nfs',
  'rbd',
  'iscsi',
  'cinder',
  'cephfs',
  'fc',
  'flocker',
  'flexVolume',
  'azureFile',
  'vsphereVolume',
  'quobyte',
  'azureDisk',
  'photonPersistentDisk',
  'portworxVolume',
  'scaleIO',
  'local',
  'storageos',
  'csi',
];

/** SetDefaults_PersistentVolumeClaimSpec (also for a StatefulSet's claim templates). */
export function defaultClaimSpec(spec: Obj): void {
  spec.volumeMode ??= 'Filesystem';
}

/** helper.GetAccessModesAsString: RWO,ROX,RWX,RWOP in that order, each once. */
function accessModes(modes: unknown): string {
  const have = new Set((modes as string[] | undefined) ?? []);
  return SHORT_MODES.filter(([m]) => have.has(m))
    .map(([, s]) => s)
    .join(',');
}

/** GetPersistentVolume(Claim)Class: the beta annotation wins over spec.storageClassName. */
function storageClassOf(o: KubeObject): string {
  const ann = o.metadata?.annotations?.['volume.beta.kubernetes.io/storage-class'];
  return ann ?? str(at(o, 'spec.storageClassName'));
}

function accessModeErrors(modes: unknown, field: string, required: string | undefined): FieldError[] {
  const list = (modes as string[] | undefined) ?? [];
  if (!list.length) return [{ type: 'FieldValueRequired', field, ...(required ? { detail: required } : {}) }];
  const errs = list.flatMap((m) => notSupported(field, m, ACCESS_MODES));
  if (list.includes('ReadWriteOncePod') && list.length > 1)
    errs.push({
      type: 'FieldValueForbidden',
      field,
      detail: 'may not use ReadWriteOncePod with other access modes',
    });
  return errs;
}

export const persistentVolumeStrategy: Strategy = {
  defaults(obj) {
    const spec = (obj.spec ??= {}) as Obj;
    spec.persistentVolumeReclaimPolicy ||= 'Retain';
    spec.volumeMode ??= 'Filesystem';
  },
  initialStatus: () => ({ phase: 'Pending' }),
  prepareForCreate(obj, ctx: StrategyContext) {
    obj.status = { phase: 'Pending', lastPhaseTransitionTime: ctx.now.toISOString().replace(/\.\d+Z$/, 'Z') };
  },
  prepareForUpdate(obj, old) {
    obj.status = old.status;
  },
  validate(obj) {
    const spec = (obj.spec ?? {}) as Obj;
    const errs = accessModeErrors(spec.accessModes, 'spec.accessModes', undefined);
    const capacity = spec.capacity as Obj | undefined;
    if (!capacity || !Object.keys(capacity).length)
      errs.push({ type: 'FieldValueRequired', field: 'spec.capacity' });
    else for (const k of Object.keys(capacity)) errs.push(...notSupported('spec.capacity', k, ['storage']));
    errs.push(
      ...notSupported('spec.persistentVolumeReclaimPolicy', spec.persistentVolumeReclaimPolicy, [
        'Delete',
        'Recycle',
        'Retain',
      ]),
    );
    errs.push(...notSupported('spec.volumeMode', spec.volumeMode, ['Block', 'Filesystem']));
    const sources = PV_SOURCES.filter((s) => spec[s] !== undefined && spec[s] !== null);
    if (!sources.length)
      errs.push({ type: 'FieldValueRequired', field: 'spec', detail: 'must specify a volume type' });
    for (const s of sources.slice(1))
      errs.push({
        type: 'FieldValueForbidden',
        field: `spec.${s}`,
        detail: 'may not specify more than 1 volume type',
      });
    if (spec.hostPath !== undefined && !at(spec, 'hostPath.path'))
      errs.push({ type: 'FieldValueRequired', field: 'spec.hostPath.path' });
    if (spec.local !== undefined && !at(spec, 'local.path'))
      errs.push({ type: 'FieldValueRequired', field: 'spec.local.path' });
    return errs;
  },
  validateUpdate(obj, old) {
    const errs: FieldError[] = [];
    const src = (o: KubeObject) => PV_SOURCES.map((s) => at(o, `spec.${s}`));
    if (!same(src(obj), src(old)))
      errs.push({
        type: 'FieldValueForbidden',
        field: 'spec.persistentvolumesource',
        detail: 'spec.persistentvolumesource is immutable after creation',
      });
    if (!same(at(obj, 'spec.volumeMode'), at(old, 'spec.volumeMode')))
      errs.push({
        type: 'FieldValueInvalid',
        field: 'spec.volumeMode',
        badValue: at(obj, 'spec.volumeMode') ?? null,
        detail: 'field is immutable',
      });
    return errs;
  },
  table: {
    columns: [
      NAME_COLUMN,
      col(
        'Capacity',
        'string',
        0,
        "capacity is the description of the persistent volume's resources and capacity.",
      ),
      col('Access Modes', 'string', 0, 'accessModes contains all ways the volume can be mounted.'),
      col(
        'Reclaim Policy',
        'string',
        0,
        'persistentVolumeReclaimPolicy defines what happens to a persistent volume when released from its claim.',
      ),
      col(
        'Status',
        'string',
        0,
        'phase indicates if a volume is available, bound to a claim, or released by a claim.',
      ),
      col(
        'Claim',
        'string',
        0,
        'claimRef is part of a bi-directional binding between PersistentVolume and PersistentVolumeClaim.',
      ),
      col('StorageClass', 'string', 0, 'StorageClass of the pv'),
      col('VolumeAttributesClass', 'string', 0, 'VolumeAttributesClass of the pv'),
      col(
        'Reason',
        'string',
        0,
        'reason is a brief CamelCase string that describes any failure and is meant for machine parsing and tidy display in the CLI.',
      ),
      AGE_COLUMN,
      col(
        'VolumeMode',
        'string',
        1,
        'volumeMode defines if a volume is intended to be used with a formatted filesystem or to remain in raw block state.',
      ),
    ],
    cells(o) {
      const ref = at(o, 'spec.claimRef') as { namespace?: string; name?: string } | undefined;
      const phase = o.metadata?.deletionTimestamp ? 'Terminating' : str(at(o, 'status.phase'));
      return [
        o.metadata?.name,
        str(at(o, 'spec.capacity.storage')) || '0',
        accessModes(at(o, 'spec.accessModes')),
        str(at(o, 'spec.persistentVolumeReclaimPolicy')),
        phase,
        ref ? `${ref.namespace ?? ''}/${ref.name ?? ''}` : '',
        storageClassOf(o),
        at(o, 'spec.volumeAttributesClassName') ?? '<unset>',
        str(at(o, 'status.reason')),
        age(o),
        at(o, 'spec.volumeMode') ?? '<unset>',
      ];
    },
  },
};

/** A storage request as a number of bytes, enough to compare two requests ("1Gi" > "500Mi"). */
function bytesOf(q: unknown): number | undefined {
  const n = quantityOrNaN(q);
  return Number.isNaN(n) ? undefined : n;
}

export const persistentVolumeClaimStrategy: Strategy = {
  defaults(obj) {
    defaultClaimSpec((obj.spec ??= {}) as Obj);
  },
  initialStatus: () => ({ phase: 'Pending' }),
  prepareForCreate(obj) {
    obj.status = { phase: 'Pending' };
  },
  prepareForUpdate(obj, old) {
    obj.status = old.status;
  },
  validate(obj) {
    const spec = (obj.spec ?? {}) as Obj;
    const errs = accessModeErrors(spec.accessModes, 'spec.accessModes', 'at least 1 access mode is required');
    const storage = at(spec, 'resources.requests.storage');
    if (storage === undefined) errs.push({ type: 'FieldValueRequired', field: 'spec.resources[storage]' });
    else if ((bytesOf(storage) ?? 1) <= 0)
      errs.push({
        type: 'FieldValueInvalid',
        field: 'spec.resources[storage]',
        badValue: str(storage),
        detail: 'must be greater than zero',
      });
    errs.push(...notSupported('spec.volumeMode', spec.volumeMode, ['Block', 'Filesystem']));
    return errs;
  },
  validateUpdate(obj, old) {
    const errs: FieldError[] = [];
    const a = structuredClone((obj.spec ?? {}) as Obj);
    const b = structuredClone((old.spec ?? {}) as Obj);
    // volumeName may be set once (binding); a bound claim's storage request may change (expansion).
    if (!b.volumeName) b.volumeName = a.volumeName;
    const bound = at(obj, 'status.phase') === 'Bound';
    if (bound) {
      const ar = ((a.resources ??= {}) as Obj).requests as Obj | undefined;
      if (ar) ar.storage = at(b, 'resources.requests.storage');
    }
    delete a.volumeAttributesClassName;
    delete b.volumeAttributesClassName;
    if (!same(a, b))
      errs.push({
        type: 'FieldValueForbidden',
        field: 'spec',
        detail:
          'spec is immutable after creation except resources.requests and volumeAttributesClassName for bound claims',
      });
    const was = bytesOf(at(old, 'spec.resources.requests.storage'));
    const now = bytesOf(at(obj, 'spec.resources.requests.storage'));
    if (was !== undefined && now !== undefined && now < was)
      errs.push({
        type: 'FieldValueForbidden',
        field: 'spec.resources.requests.storage',
        detail: 'field can not be less than previous value',
      });
    return errs;
  },
  table: {
    columns: [
      NAME_COLUMN,
      col('Status', 'string', 0, 'phase represents the current phase of PersistentVolumeClaim.'),
      col(
        'Volume',
        'string',
        0,
        'volumeName is the binding reference to the PersistentVolume backing this claim.',
      ),
      col('Capacity', 'string', 0, 'capacity represents the actual resources of the underlying volume.'),
      col(
        'Access Modes',
        'string',
        0,
        'accessModes contains the actual access modes the volume backing the PVC has.',
      ),
      col('StorageClass', 'string', 0, 'StorageClass of the pvc'),
      col('VolumeAttributesClass', 'string', 0, 'VolumeAttributesClass of the pvc'),
      AGE_COLUMN,
      col('VolumeMode', 'string', 1, 'volumeMode defines what type of volume is required by the claim.'),
    ],
    cells(o) {
      const phase = o.metadata?.deletionTimestamp ? 'Terminating' : str(at(o, 'status.phase'));
      const volume = str(at(o, 'spec.volumeName'));
      return [
        o.metadata?.name,
        phase,
        volume,
        volume ? str(at(o, 'status.capacity.storage')) || '0' : '',
        volume ? accessModes(at(o, 'status.accessModes')) : '',
        storageClassOf(o),
        at(o, 'spec.volumeAttributesClassName') ?? '<unset>',
        age(o),
        at(o, 'spec.volumeMode') ?? '<unset>',
      ];
    },
  },
};

const DEFAULT_CLASS = 'storageclass.kubernetes.io/is-default-class';
const BETA_DEFAULT_CLASS = 'storageclass.beta.kubernetes.io/is-default-class';

export const storageClassStrategy: Strategy = {
  defaults(obj) {
    obj.reclaimPolicy ??= 'Delete';
    obj.volumeBindingMode ??= 'Immediate';
  },
  validate(obj) {
    const errs: FieldError[] = [];
    if (!obj.provisioner) errs.push({ type: 'FieldValueRequired', field: 'provisioner' });
    errs.push(...notSupported('reclaimPolicy', obj.reclaimPolicy, ['Delete', 'Retain']));
    errs.push(
      ...notSupported('volumeBindingMode', obj.volumeBindingMode, ['Immediate', 'WaitForFirstConsumer']),
    );
    return errs;
  },
  validateUpdate(obj, old) {
    const errs: FieldError[] = [];
    for (const f of ['parameters', 'provisioner', 'reclaimPolicy'])
      if (!same(obj[f], old[f]))
        errs.push({ type: 'FieldValueForbidden', field: f, detail: `updates to ${f} are forbidden.` });
    if (!same(obj.volumeBindingMode, old.volumeBindingMode))
      errs.push({
        type: 'FieldValueInvalid',
        field: 'volumeBindingMode',
        badValue: obj.volumeBindingMode ?? null,
        detail: 'field is immutable',
      });
    return errs;
  },
  table: {
    columns: [
      NAME_COLUMN,
      col('Provisioner', 'string', 0, 'provisioner indicates the type of the provisioner.'),
      col(
        'ReclaimPolicy',
        'string',
        0,
        'reclaimPolicy controls the reclaimPolicy for dynamically provisioned PersistentVolumes of this storage class.',
      ),
      col(
        'VolumeBindingMode',
        'string',
        0,
        'volumeBindingMode indicates how PersistentVolumeClaims should be provisioned and bound.',
      ),
      col(
        'AllowVolumeExpansion',
        'string',
        0,
        'allowVolumeExpansion shows whether the storage class allow volume expand.',
      ),
      AGE_COLUMN,
    ],
    cells(o) {
      const ann = o.metadata?.annotations ?? {};
      const isDefault = ann[DEFAULT_CLASS] === 'true' || ann[BETA_DEFAULT_CLASS] === 'true';
      return [
        `${o.metadata?.name ?? ''}${isDefault ? ' (default)' : ''}`,
        str(o.provisioner),
        o.reclaimPolicy ?? 'Delete',
        o.volumeBindingMode ?? 'Immediate',
        o.allowVolumeExpansion === true,
        age(o),
      ];
    },
  },
};
