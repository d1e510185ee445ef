/**
 * The CSI kinds and VolumeAttachments of storage.k8s.io/v1: CSIDriver defaults and the columns of
 * pkg/printers/internalversion.
 */
import { NAME_COLUMN, at, col, str } from '../printing.js';
import { immutable } from '../validation/fields.js';
import { simple } from '../cluster/admin.js';
import type { Strategy } from '../types.js';

type Obj = Record<string, unknown>;

export const csiDriverStrategy: Strategy = {
  defaults(obj) {
    const spec = (obj.spec ??= {}) as Obj;
    spec.attachRequired ??= true;
    spec.podInfoOnMount ??= false;
    spec.storageCapacity ??= false;
    spec.fsGroupPolicy ??= 'ReadWriteOnceWithFSType';
    spec.requiresRepublish ??= false;
    spec.seLinuxMount ??= false;
    spec.volumeLifecycleModes ??= ['Persistent'];
  },
  table: simple(
    [
      col(
        'AttachRequired',
        'boolean',
        0,
        'attachRequired indicates this CSI volume driver requires an attach operation.',
      ),
      col(
        'PodInfoOnMount',
        'boolean',
        0,
        'podInfoOnMount indicates this CSI volume driver requires additional pod information during mount operations.',
      ),
      col(
        'StorageCapacity',
        'boolean',
        0,
        'storageCapacity indicates that the CSI volume driver wants pod scheduling to consider the storage capacity.',
      ),
      col(
        'TokenRequests',
        'string',
        0,
        "tokenRequests indicates the CSI driver needs pods' service account tokens it is mounting volume for.",
      ),
      col(
        'RequiresRepublish',
        'boolean',
        0,
        'requiresRepublish indicates the CSI driver wants NodePublishVolume being periodically called.',
      ),
      col(
        'Modes',
        'string',
        0,
        'volumeLifecycleModes defines what kind of volumes this CSI volume driver supports.',
      ),
    ],
    (o) => {
      const s = (o.spec ?? {}) as Obj;
      const tr = s.tokenRequests as Array<{ audience?: string }> | undefined;
      return [
        s.attachRequired !== false,
        s.podInfoOnMount === true,
        s.storageCapacity === true,
        tr ? tr.map((t) => t.audience ?? '').join(',') : '<unset>',
        s.requiresRepublish === true,
        ((s.volumeLifecycleModes as string[] | undefined) ?? []).join(',') || '<none>',
      ];
    },
  ),
};

export const csiNodeStrategy: Strategy = {
  table: simple(
    [col('Drivers', 'integer', 0, 'Drivers indicates the number of CSI drivers registered on the node')],
    (o) => [((at(o, 'spec.drivers') as unknown[] | undefined) ?? []).length],
  ),
};

export const csiStorageCapacityStrategy: Strategy = {
  table: {
    columns: [
      NAME_COLUMN,
      col(
        'StorageClassName',
        'string',
        0,
        'storageClassName represents the name of the StorageClass that the reported capacity applies to.',
      ),
      col(
        'Capacity',
        'string',
        0,
        'capacity is the value reported by the CSI driver in its GetCapacityResponse for a GetCapacityRequest with topology and parameters that match the previous fields.',
      ),
    ],
    cells: (o) => [
      o.metadata?.name,
      str(o.storageClassName),
      o.capacity === undefined ? '<unset>' : str(o.capacity),
    ],
  },
};

export const volumeAttachmentStrategy: Strategy = {
  validateUpdate: (obj, old) => immutable('spec', obj, old),
  table: simple(
    [
      {
        ...col(
          'Attacher',
          'string',
          0,
          'attacher indicates the name of the volume driver that MUST handle this request.',
        ),
        format: 'name',
      },
      col('PV', 'string', 0, 'persistentVolumeName represents the name of the persistent volume to attach.'),
      col('Node', 'string', 0, 'nodeName represents the node that the volume should be attached to.'),
      col('Attached', 'boolean', 0, 'attached indicates the volume is successfully attached.'),
    ],
    (o) => [
      str(at(o, 'spec.attacher')),
      str(at(o, 'spec.source.persistentVolumeName')),
      str(at(o, 'spec.nodeName')),
      at(o, 'status.attached') === true,
    ],
  ),
};
