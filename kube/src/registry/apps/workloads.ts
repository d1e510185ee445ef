/**
 * Workloads (Deployments, ReplicaSets, and the template-carrying kinds whose full strategies come later): the
 * generation bumped on spec change, pod-template defaults, selector checks, and kube-apiserver's columns for
 * Deployments and ReplicaSets.
 */
import type { FieldError } from '../../errors.js';
import {
  AGE_COLUMN,
  NAME_COLUMN,
  age,
  at,
  col,
  formatSelector,
  num,
  templateContainers,
} from '../printing.js';
import { defaultPodSpec } from '../core/podspec.js';
import { immutable, nonNegative, podTemplateErrors } from '../validation/fields.js';
import type { KubeObject, Strategy, TableColumn } from '../types.js';

type Obj = Record<string, unknown>;

function templateOf(o: KubeObject): Obj | undefined {
  const spec = o.spec as Obj | undefined;
  const t = (spec?.template ?? (at(spec, 'jobTemplate.spec.template') as Obj | undefined)) as Obj | undefined;
  return t;
}

/** Every kind with a pod template: generation on spec change, template PodSpec defaults. */
export const workloadStrategy: Strategy = {
  generation: 'spec',
  defaults(obj) {
    defaultPodSpec(templateOf(obj)?.spec as Obj | undefined);
  },
  prepareForCreate(obj) {
    obj.status = {};
  },
  prepareForUpdate(obj, old) {
    obj.status = old.status;
  },
};

/** spec.selector required, non-empty and matching the template's labels (apps/v1 ValidateDeployment/ReplicaSet). */
function validateSelector(obj: KubeObject): FieldError[] {
  // A missing selector is all that is reported (the template is not checked against nothing).
  if (!at(obj, 'spec.selector')) return [{ type: 'FieldValueRequired', field: 'spec.selector' }];
  return [
    ...podTemplateErrors(obj.spec, 'spec', { selectorOf: 'deployment' }),
    ...nonNegative('spec.replicas', at(obj, 'spec.replicas')),
  ];
}

const selectorImmutable = (obj: KubeObject, old: KubeObject) => immutable('spec.selector', obj, old);

const wideColumns = [
  col('Containers', 'string', 1, 'Names of each container in the template.'),
  col('Images', 'string', 1, 'Images referenced by each container in the template.'),
  col(
    'Selector',
    'string',
    1,
    'Label selector for pods. Existing ReplicaSets whose pods are selected by this will be the ones affected by this deployment.',
  ),
];

/** labels.Selector.String(): "" for an empty selector, unlike the "<none>" of other columns. */
const selectorCell = (o: KubeObject) => {
  const s = formatSelector(at(o, 'spec.selector'));
  return s === '<none>' ? '' : s;
};

export const deploymentStrategy: Strategy = {
  ...workloadStrategy,
  defaults(obj) {
    const spec = (obj.spec ??= {}) as Obj;
    spec.replicas ??= 1;
    spec.strategy ??= { type: 'RollingUpdate' };
    const strategy = spec.strategy as Obj;
    if (strategy.type === 'RollingUpdate')
      strategy.rollingUpdate ??= { maxUnavailable: '25%', maxSurge: '25%' };
    spec.revisionHistoryLimit ??= 10;
    spec.progressDeadlineSeconds ??= 600;
    defaultPodSpec(at(spec, 'template.spec') as Obj | undefined);
  },
  validate: validateSelector,
  validateUpdate: selectorImmutable,
  table: {
    columns: [
      NAME_COLUMN,
      col('Ready', 'string', 0, 'Number of the pod with ready state'),
      col(
        'Up-to-date',
        'integer',
        0,
        'Total number of non-terminated pods targeted by this deployment that have the desired template spec.',
      ),
      col(
        'Available',
        'integer',
        0,
        'Total number of available pods (ready for at least minReadySeconds) targeted by this deployment.',
      ),
      AGE_COLUMN,
      ...wideColumns,
    ],
    cells(o) {
      const [containers, images] = templateContainers(at(o, 'spec.template'));
      return [
        o.metadata?.name,
        `${num(at(o, 'status.readyReplicas'))}/${num(at(o, 'spec.replicas'))}`,
        num(at(o, 'status.updatedReplicas')),
        num(at(o, 'status.availableReplicas')),
        age(o),
        containers,
        images,
        selectorCell(o),
      ];
    },
  },
};

/**
 * ReplicaSets' and ReplicationControllers' printing: Desired from spec, Current and Ready from status, the
 * template's containers and images, the selector; and their `status.replicas` field selector.
 */
export function replicaCountPrinting(
  desired: string,
  owner: string,
  wide: TableColumn[],
  selector: (o: KubeObject) => unknown,
): Pick<Strategy, 'table' | 'fieldSelectors'> {
  return {
    fieldSelectors: { 'status.replicas': (o) => String(num(at(o, 'status.replicas'))) },
    table: {
      columns: [
        NAME_COLUMN,
        col('Desired', 'integer', 0, `Replicas is the number of desired ${desired}.`),
        col('Current', 'integer', 0, 'Replicas is the most recently observed number of replicas.'),
        col('Ready', 'integer', 0, `The number of ready replicas for this ${owner}.`),
        AGE_COLUMN,
        ...wide,
      ],
      cells(o) {
        const [containers, images] = templateContainers(at(o, 'spec.template'));
        return [
          o.metadata?.name,
          num(at(o, 'spec.replicas')),
          num(at(o, 'status.replicas')),
          num(at(o, 'status.readyReplicas')),
          age(o),
          containers,
          images,
          selector(o),
        ];
      },
    },
  };
}

export const replicaSetStrategy: Strategy = {
  ...workloadStrategy,
  defaults(obj) {
    const spec = (obj.spec ??= {}) as Obj;
    spec.replicas ??= 1;
    defaultPodSpec(at(spec, 'template.spec') as Obj | undefined);
  },
  validate: validateSelector,
  validateUpdate: selectorImmutable,
  ...replicaCountPrinting('pods', 'replica set', wideColumns, selectorCell),
};
