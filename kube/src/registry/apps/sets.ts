/**
 * StatefulSets, DaemonSets, ControllerRevisions and ReplicationControllers: apps/v1 and core/v1 defaults
 * (SetDefaults_StatefulSet, SetDefaults_DaemonSet, SetDefaults_ReplicationController), kube-apiserver's validation
 * messages and update rules, and the columns of pkg/printers/internalversion.
 */
import type { FieldError } from '../../errors.js';
import {
  AGE_COLUMN,
  NAME_COLUMN,
  age,
  at,
  col,
  formatLabels,
  formatSelector,
  num,
  templateContainers,
} from '../printing.js';
import { defaultPodSpec } from '../core/podspec.js';
import { defaultClaimSpec } from '../storage/volumes.js';
import { immutable, nonNegative, notSupported, podTemplateErrors, same } from '../validation/fields.js';
import { replicaCountPrinting, workloadStrategy } from './workloads.js';
import type { KubeObject, Strategy } from '../types.js';

type Obj = Record<string, unknown>;

const CONTAINERS = col('Containers', 'string', 1, 'Names of each container in the template.');
const IMAGES = col('Images', 'string', 1, 'Images referenced by each container in the template.');
const selectorCol = (d: string) => col('Selector', 'string', 1, d);

export const statefulSetStrategy: Strategy = {
  ...workloadStrategy,
  defaults(obj) {
    const spec = (obj.spec ??= {}) as Obj;
    spec.podManagementPolicy ||= 'OrderedReady';
    const us = (spec.updateStrategy ??= {}) as Obj;
    if (!us.type) {
      us.type = 'RollingUpdate';
      us.rollingUpdate ??= {};
    }
    if (us.type === 'RollingUpdate' && us.rollingUpdate) (us.rollingUpdate as Obj).partition ??= 0;
    const retention = (spec.persistentVolumeClaimRetentionPolicy ??= {}) as Obj;
    retention.whenDeleted ||= 'Retain';
    retention.whenScaled ||= 'Retain';
    spec.replicas ??= 1;
    spec.revisionHistoryLimit ??= 10;
    defaultPodSpec(at(spec, 'template.spec') as Obj | undefined);
    // Each claim template is an embedded PersistentVolumeClaim, defaulted as one (SetObjectDefaults_StatefulSet).
    for (const t of (spec.volumeClaimTemplates as Obj[] | undefined) ?? []) {
      t.apiVersion ??= 'v1';
      t.kind ??= 'PersistentVolumeClaim';
      defaultClaimSpec((t.spec ??= {}) as Obj);
      const status = (t.status ??= {}) as Obj;
      status.phase ||= 'Pending';
    }
  },
  validate(obj) {
    const spec = (obj.spec ?? {}) as Obj;
    const errs: FieldError[] = [];
    const pmp = spec.podManagementPolicy;
    if (pmp !== undefined && pmp !== 'OrderedReady' && pmp !== 'Parallel')
      errs.push({
        type: 'FieldValueInvalid',
        field: 'spec.podManagementPolicy',
        badValue: pmp,
        detail: "must be 'OrderedReady' or 'Parallel'",
      });
    const ust = at(spec, 'updateStrategy.type');
    if (ust !== undefined && ust !== 'RollingUpdate' && ust !== 'OnDelete')
      errs.push({
        type: 'FieldValueInvalid',
        field: 'spec.updateStrategy.type',
        badValue: ust,
        detail: "must be 'RollingUpdate' or 'OnDelete'",
      });
    errs.push(
      ...nonNegative(
        'spec.updateStrategy.rollingUpdate.partition',
        at(spec, 'updateStrategy.rollingUpdate.partition'),
      ),
    );
    for (const f of ['whenDeleted', 'whenScaled'])
      errs.push(
        ...notSupported(
          `spec.persistentVolumeClaimRetentionPolicy.${f}`,
          at(spec, `persistentVolumeClaimRetentionPolicy.${f}`),
          ['Retain', 'Delete'],
        ),
      );
    errs.push(...nonNegative('spec.replicas', spec.replicas));
    errs.push(...nonNegative('spec.minReadySeconds', spec.minReadySeconds));
    errs.push(...podTemplateErrors(spec, 'spec', { selectorOf: 'statefulset', restart: ['Always'] }));
    return errs;
  },
  validateUpdate(obj, old) {
    // Only these spec fields may change (ValidateStatefulSetUpdate).
    const mutable = [
      'replicas',
      'template',
      'updateStrategy',
      'minReadySeconds',
      'ordinals',
      'revisionHistoryLimit',
      'persistentVolumeClaimRetentionPolicy',
    ];
    const strip = (o: KubeObject) => {
      const s = { ...((o.spec ?? {}) as Obj) };
      for (const f of mutable) delete s[f];
      // The claim templates' status is defaulted, not user data: compare what users write.
      s.volumeClaimTemplates = ((s.volumeClaimTemplates as Obj[] | undefined) ?? []).map((t) => ({
        ...t,
        status: undefined,
      }));
      return s;
    };
    if (same(strip(obj), strip(old))) return [];
    return [
      {
        type: 'FieldValueForbidden',
        field: 'spec',
        detail:
          "updates to statefulset spec for fields other than 'replicas', 'ordinals', 'template', 'updateStrategy', 'revisionHistoryLimit', 'persistentVolumeClaimRetentionPolicy' and 'minReadySeconds' are forbidden",
      },
    ];
  },
  table: {
    columns: [
      NAME_COLUMN,
      col('Ready', 'string', 0, 'Number of the pod with ready state'),
      AGE_COLUMN,
      CONTAINERS,
      IMAGES,
    ],
    cells(o) {
      const [containers, images] = templateContainers(at(o, 'spec.template'));
      return [
        o.metadata?.name,
        `${num(at(o, 'status.readyReplicas'))}/${num(at(o, 'spec.replicas'))}`,
        age(o),
        containers,
        images,
      ];
    },
  },
};

export const daemonSetStrategy: Strategy = {
  ...workloadStrategy,
  defaults(obj) {
    const spec = (obj.spec ??= {}) as Obj;
    const us = (spec.updateStrategy ??= {}) as Obj;
    us.type ||= 'RollingUpdate';
    if (us.type === 'RollingUpdate') {
      const ru = (us.rollingUpdate ??= {}) as Obj;
      ru.maxUnavailable ??= 1;
      ru.maxSurge ??= 0;
    }
    spec.revisionHistoryLimit ??= 10;
    defaultPodSpec(at(spec, 'template.spec') as Obj | undefined);
  },
  validate(obj) {
    const spec = (obj.spec ?? {}) as Obj;
    const errs: FieldError[] = [];
    errs.push(
      ...podTemplateErrors(spec, 'spec', {
        selectorOf: 'daemonset',
        selectorRequired: false,
        restart: ['Always'],
      }),
    );
    errs.push(...nonNegative('spec.minReadySeconds', spec.minReadySeconds));
    errs.push(...nonNegative('spec.revisionHistoryLimit', spec.revisionHistoryLimit));
    errs.push(
      ...notSupported('spec.updateStrategy.type', at(spec, 'updateStrategy.type'), [
        'OnDelete',
        'RollingUpdate',
      ]),
    );
    return errs;
  },
  validateUpdate: (obj, old) => immutable('spec.selector', obj, old),
  table: {
    columns: [
      NAME_COLUMN,
      col('Desired', 'integer', 0, 'The total number of nodes that should be running the daemon pod.'),
      col(
        'Current',
        'integer',
        0,
        'The number of nodes that are running at least 1 daemon pod and are supposed to run the daemon pod.',
      ),
      col(
        'Ready',
        'integer',
        0,
        'The number of nodes that should be running the daemon pod and have one or more of the daemon pod running and ready.',
      ),
      col('Up-to-date', 'integer', 0, 'The total number of nodes that are running updated daemon pod'),
      col(
        'Available',
        'integer',
        0,
        'The number of nodes that should be running the daemon pod and have one or more of the daemon pod running and available.',
      ),
      col(
        'Node Selector',
        'string',
        0,
        'NodeSelector is a selector which must be true for the pod to fit on a node.',
      ),
      AGE_COLUMN,
      CONTAINERS,
      IMAGES,
      selectorCol('A label query over pods that are managed by the daemon set.'),
    ],
    cells(o) {
      const [containers, images] = templateContainers(at(o, 'spec.template'));
      const st = (f: string) => num(at(o, `status.${f}`));
      return [
        o.metadata?.name,
        st('desiredNumberScheduled'),
        st('currentNumberScheduled'),
        st('numberReady'),
        st('updatedNumberScheduled'),
        st('numberAvailable'),
        formatLabels(at(o, 'spec.template.spec.nodeSelector') as Record<string, string> | undefined),
        age(o),
        containers,
        images,
        formatSelector(at(o, 'spec.selector')),
      ];
    },
  },
};

/** "statefulset.apps/web": formatResourceName of the controller's group-kind, as printControllerRevision. */
function controllerOf(o: KubeObject): string {
  const ref = (o.metadata?.ownerReferences ?? []).find((r) => r.controller === true);
  if (!ref) return '<none>';
  const group = ref.apiVersion.includes('/') ? ref.apiVersion.slice(0, ref.apiVersion.indexOf('/')) : '';
  const gk = group ? `${ref.kind}.${group}` : ref.kind;
  return `${gk.toLowerCase()}/${ref.name}`;
}

export const controllerRevisionStrategy: Strategy = {
  validate(obj) {
    const errs = nonNegative('revision', obj.revision);
    if (obj.data === undefined || obj.data === null)
      errs.push({ type: 'FieldValueRequired', field: 'data', detail: 'data is mandatory' });
    return errs;
  },
  validateUpdate: (obj, old) => immutable('data', obj, old),
  table: {
    columns: [
      NAME_COLUMN,
      col('Controller', 'string', 0, 'Controller of the object'),
      col('Revision', 'string', 0, 'Revision indicates the revision of the state represented by Data.'),
      AGE_COLUMN,
    ],
    cells: (o) => [o.metadata?.name, controllerOf(o), num(o.revision), age(o)],
  },
};

export const replicationControllerStrategy: Strategy = {
  ...workloadStrategy,
  defaults(obj) {
    const spec = (obj.spec ??= {}) as Obj;
    const labels = at(spec, 'template.metadata.labels') as Record<string, string> | undefined;
    if (labels) {
      if (!Object.keys((spec.selector as Obj | undefined) ?? {}).length) spec.selector = { ...labels };
      const meta = (obj.metadata ??= {});
      if (!Object.keys(meta.labels ?? {}).length) meta.labels = { ...labels };
    }
    spec.replicas ??= 1;
    defaultPodSpec(at(spec, 'template.spec') as Obj | undefined);
  },
  validate(obj) {
    const spec = (obj.spec ?? {}) as Obj;
    const errs: FieldError[] = [];
    const selector = (spec.selector as Record<string, string> | undefined) ?? {};
    if (!Object.keys(selector).length) errs.push({ type: 'FieldValueRequired', field: 'spec.selector' });
    errs.push(...nonNegative('spec.replicas', spec.replicas));
    errs.push(...nonNegative('spec.minReadySeconds', spec.minReadySeconds));
    if (!spec.template) errs.push({ type: 'FieldValueRequired', field: 'spec.template' });
    else {
      const labels = (at(spec, 'template.metadata.labels') as Record<string, string> | undefined) ?? {};
      if (Object.keys(selector).length && !Object.entries(selector).every(([k, v]) => labels[k] === v))
        errs.push({
          type: 'FieldValueInvalid',
          field: 'spec.template.metadata.labels',
          badValue: labels,
          detail: '`selector` does not match template `labels`',
        });
      errs.push(...podTemplateErrors(spec, 'spec', { restart: ['Always'] }));
    }
    return errs;
  },
  ...replicaCountPrinting(
    'replicas',
    'replication controller',
    [
      CONTAINERS,
      IMAGES,
      selectorCol('Selector is a label query over pods that should match the Replicas count.'),
    ],
    (o) => formatLabels(at(o, 'spec.selector') as Record<string, string> | undefined),
  ),
};
