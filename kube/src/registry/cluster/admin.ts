/**
 * The cluster's administrative kinds: ServiceAccounts, ResourceQuotas, PodTemplates, RBAC bindings,
 * PodDisruptionBudgets, HorizontalPodAutoscalers (autoscaling/v1 and v2), PriorityClasses, Leases, admission
 * configurations, CSI and attachment kinds and APIServices. Mostly kube-apiserver's columns
 * (pkg/printers/internalversion, kube-aggregator's for APIServices), with the defaults and update rules users meet.
 */
import { policyErrors } from '../../admission/policy/spec.js';
import type { FieldError } from '../../errors.js';
import {
  AGE_COLUMN,
  NAME_COLUMN,
  age,
  at,
  col,
  formatLabels,
  num,
  str,
  templateContainers,
} from '../printing.js';
import { immutable, notSupported, same } from '../validation/fields.js';
import { pathSegmentName } from '../validation/names.js';
import type { KubeObject, Strategy, TableColumn } from '../types.js';

type Obj = Record<string, unknown>;

/** rest.NewDefaultTableConvertor: NAME and CREATED AT (an RFC 3339 date), for kinds kube-apiserver has no printer for. */
export const CREATED_AT_COLUMN: TableColumn = {
  name: 'Created At',
  type: 'date',
  description:
    'CreationTimestamp is a timestamp representing the server time when this object was created. It is not guaranteed to be set in happens-before order across separate operations. Clients may not set this value. It is represented in RFC3339 form and is in UTC.\n\nPopulated by the system. Read-only. Null for lists. More info: https://git.k8s.io/community/contributors/devel/sig-architecture/api-conventions.md#metadata',
  priority: 0,
};
export const defaultTable: NonNullable<Strategy['table']> = {
  columns: [NAME_COLUMN, CREATED_AT_COLUMN],
  cells: (o) => [o.metadata?.name ?? '', o.metadata?.creationTimestamp ?? null],
};

/** A table of NAME, the given columns, AGE. */
export function simple(
  columns: TableColumn[],
  cells: (o: KubeObject) => unknown[],
): NonNullable<Strategy['table']> {
  return {
    columns: [NAME_COLUMN, ...columns, AGE_COLUMN],
    cells: (o) => [o.metadata?.name, ...cells(o), age(o)],
  };
}

const statusFromOld: Pick<Strategy, 'prepareForCreate' | 'prepareForUpdate'> = {
  prepareForCreate(obj) {
    obj.status = {};
  },
  prepareForUpdate(obj, old) {
    obj.status = old.status;
  },
};

export const serviceAccountStrategy: Strategy = {
  table: simple(
    [
      col(
        'Secrets',
        'string',
        0,
        'Secrets is a list of the secrets in the same namespace that pods running using this ServiceAccount are allowed to use.',
      ),
    ],
    (o) => [((o.secrets as unknown[] | undefined) ?? []).length],
  ),
};

/** printResourceQuota: "resource: used/hard" per resource, sorted; limits.* in the LIMIT column. */
function quotaCells(o: KubeObject): [string, string] {
  const hard = (at(o, 'status.hard') as Record<string, string> | undefined) ?? {};
  const used = (at(o, 'status.used') as Record<string, string> | undefined) ?? {};
  const req: string[] = [];
  const lim: string[] = [];
  for (const r of Object.keys(hard).sort()) {
    const text = `${r}: ${used[r] ?? '0'}/${hard[r]}`;
    (r.split('.').length > 1 && r.split('.')[0] === 'limits' ? lim : req).push(text);
  }
  return [req.join(', '), lim.join(', ')];
}

export const resourceQuotaStrategy: Strategy = {
  ...statusFromOld,
  table: simple(
    [
      col(
        'Request',
        'string',
        0,
        'Request represents a minimum amount of cpu/memory that a container may consume.',
      ),
      col(
        'Limit',
        'string',
        0,
        'Limits control the maximum amount of cpu/memory that a container may use independent of contention on the node.',
      ),
    ],
    quotaCells,
  ),
};

export const limitRangeStrategy: Strategy = { table: defaultTable };

export const podTemplateStrategy: Strategy = {
  table: {
    columns: [
      NAME_COLUMN,
      col('Containers', 'string', 0, 'Names of each container in the template.'),
      col('Images', 'string', 0, 'Images referenced by each container in the template.'),
      col('Pod Labels', 'string', 0, 'The labels for the pod template.'),
    ],
    cells(o) {
      const [containers, images] = templateContainers(o.template);
      return [
        o.metadata?.name,
        containers,
        images,
        formatLabels(at(o, 'template.metadata.labels') as Record<string, string> | undefined),
      ];
    },
  },
};

interface Subject {
  kind?: string;
  name?: string;
  namespace?: string;
}

/** rbac.SubjectsStrings: users, groups and "namespace:name" service accounts. */
function subjects(o: KubeObject): [string, string, string] {
  const list = (o.subjects as Subject[] | undefined) ?? [];
  const of = (kind: string) => list.filter((s) => s.kind === kind);
  return [
    of('User')
      .map((s) => s.name ?? '')
      .join(', '),
    of('Group')
      .map((s) => s.name ?? '')
      .join(', '),
    of('ServiceAccount')
      .map((s) => `${s.namespace ?? ''}:${s.name ?? ''}`)
      .join(', '),
  ];
}

function bindingStrategy(what: string): Strategy {
  return {
    nameValidator: pathSegmentName,
    validateUpdate(obj, old) {
      if (same(obj.roleRef, old.roleRef)) return [];
      return [
        {
          type: 'FieldValueInvalid',
          field: 'roleRef',
          badValue: obj.roleRef ?? null,
          detail: 'cannot change roleRef',
        },
      ];
    },
    table: {
      columns: [
        NAME_COLUMN,
        col(
          'Role',
          'string',
          0,
          'RoleRef can reference a Role in the current namespace or a ClusterRole in the global namespace.',
        ),
        AGE_COLUMN,
        col('Users', 'string', 1, `Users in the ${what}`),
        col('Groups', 'string', 1, `Groups in the ${what}`),
        col('ServiceAccounts', 'string', 1, `ServiceAccounts in the ${what}`),
      ],
      cells(o) {
        const ref = (o.roleRef as { kind?: string; name?: string } | undefined) ?? {};
        return [o.metadata?.name, `${ref.kind ?? ''}/${ref.name ?? ''}`, age(o), ...subjects(o)];
      },
    },
  };
}

export const roleBindingStrategy = bindingStrategy('roleBinding');
export const clusterRoleBindingStrategy = bindingStrategy('clusterRoleBinding');
export const roleStrategy: Strategy = { nameValidator: pathSegmentName, table: defaultTable };

const intOrString = (v: unknown): string => (v === undefined || v === null ? 'N/A' : str(v));

export const podDisruptionBudgetStrategy: Strategy = {
  generation: 'spec',
  ...statusFromOld,
  validate(obj) {
    const errs: FieldError[] = [];
    if (at(obj, 'spec.minAvailable') !== undefined && at(obj, 'spec.maxUnavailable') !== undefined)
      errs.push({
        type: 'FieldValueInvalid',
        field: 'spec',
        badValue: obj.spec,
        detail: 'minAvailable and maxUnavailable cannot be both set',
      });
    errs.push(
      ...notSupported('spec.unhealthyPodEvictionPolicy', at(obj, 'spec.unhealthyPodEvictionPolicy'), [
        'AlwaysAllow',
        'IfHealthyBudget',
      ]),
    );
    return errs;
  },
  table: simple(
    [
      col('Min Available', 'string', 0, 'The minimum number of pods that must be available.'),
      col('Max Unavailable', 'string', 0, 'The maximum number of pods that may be unavailable.'),
      col(
        'Allowed Disruptions',
        'integer',
        0,
        'Calculated number of pods that may be disrupted at this time.',
      ),
    ],
    (o) => [
      intOrString(at(o, 'spec.minAvailable')),
      intOrString(at(o, 'spec.maxUnavailable')),
      num(at(o, 'status.disruptionsAllowed')),
    ],
  ),
};

interface MetricTarget {
  averageUtilization?: number;
  averageValue?: string;
  value?: string;
}

/** formatHPAMetrics for autoscaling/v2 (and v1's CPU target, which is a v2 Resource metric). */
function hpaTargets(o: KubeObject): string {
  const v1 = at(o, 'spec.targetCPUUtilizationPercentage');
  if (o.apiVersion === 'autoscaling/v1' || typeof v1 === 'number') {
    if (typeof v1 !== 'number') return '<none>';
    const cur = at(o, 'status.currentCPUUtilizationPercentage');
    return `cpu: ${typeof cur === 'number' ? `${cur}%` : '<unknown>'}/${v1}%`;
  }
  const specs = (at(o, 'spec.metrics') as Obj[] | undefined) ?? [];
  const statuses = (at(o, 'status.currentMetrics') as Obj[] | undefined) ?? [];
  if (!specs.length) return '<none>';
  const list = specs.map((m, i) => {
    const st = statuses[i];
    const key = {
      External: 'external',
      Pods: 'pods',
      Object: 'object',
      Resource: 'resource',
      ContainerResource: 'containerResource',
    }[str(m.type)];
    if (!key) return '<unknown type>';
    const src = (m[key] ?? {}) as Obj;
    const target = (src.target ?? {}) as MetricTarget;
    const current = (st?.[key] as { current?: MetricTarget } | undefined)?.current;
    if (key === 'resource' || key === 'containerResource') {
      const name = str(src.name);
      if (target.averageValue !== undefined)
        return `${name}: ${current?.averageValue ?? '<unknown>'}/${target.averageValue}`;
      const cur = current?.averageUtilization !== undefined ? `${current.averageUtilization}%` : '<unknown>';
      const t = target.averageUtilization !== undefined ? `${target.averageUtilization}%` : '<auto>';
      return `${name}: ${cur}/${t}`;
    }
    if (key === 'pods') return `${current?.averageValue ?? '<unknown>'}/${target.averageValue ?? ''}`;
    if (target.averageValue !== undefined)
      return `${current?.averageValue ?? '<unknown>'}/${target.averageValue} (avg)`;
    return `${current?.value ?? '<unknown>'}/${target.value ?? ''}`;
  });
  return list.length > 2 ? `${list.slice(0, 2).join(', ')} + ${list.length - 2} more...` : list.join(', ');
}

export const horizontalPodAutoscalerStrategy: Strategy = {
  generation: 'spec',
  ...statusFromOld,
  defaults(obj) {
    const spec = (obj.spec ??= {}) as Obj;
    spec.minReplicas ??= 1;
    // autoscaling/v2 SetDefaults_HorizontalPodAutoscaler: a CPU target of 80% when no metric is given.
    if (obj.apiVersion === 'autoscaling/v2' && !((spec.metrics as unknown[] | undefined) ?? []).length)
      spec.metrics = [
        {
          type: 'Resource',
          resource: { name: 'cpu', target: { type: 'Utilization', averageUtilization: 80 } },
        },
      ];
  },
  validate(obj) {
    const errs: FieldError[] = [];
    const min = at(obj, 'spec.minReplicas');
    const max = at(obj, 'spec.maxReplicas');
    if (typeof min === 'number' && min < 1)
      errs.push({
        type: 'FieldValueInvalid',
        field: 'spec.minReplicas',
        badValue: min,
        detail: 'must be greater than or equal to 1',
      });
    if (typeof max !== 'number' || max < 1)
      errs.push({
        type: 'FieldValueInvalid',
        field: 'spec.maxReplicas',
        badValue: max ?? 0,
        detail: 'must be greater than 0',
      });
    else if (typeof min === 'number' && max < min)
      errs.push({
        type: 'FieldValueInvalid',
        field: 'spec.maxReplicas',
        badValue: max,
        detail: 'must be greater than or equal to `minReplicas`',
      });
    if (!at(obj, 'spec.scaleTargetRef.kind'))
      errs.push({ type: 'FieldValueRequired', field: 'spec.scaleTargetRef.kind' });
    if (!at(obj, 'spec.scaleTargetRef.name'))
      errs.push({ type: 'FieldValueRequired', field: 'spec.scaleTargetRef.name' });
    return errs;
  },
  table: simple(
    [
      col('Reference', 'string', 0, 'scaleTargetRef points to the target resource to scale.'),
      col(
        'Targets',
        'string',
        0,
        'metrics contains the specifications for which to use to calculate the desired replica count.',
      ),
      col(
        'MinPods',
        'string',
        0,
        'minReplicas is the lower limit for the number of replicas to which the autoscaler can scale down.',
      ),
      col(
        'MaxPods',
        'string',
        0,
        'maxReplicas is the upper limit for the number of replicas to which the autoscaler can scale up.',
      ),
      col(
        'Replicas',
        'string',
        0,
        'currentReplicas is current number of replicas of pods managed by this autoscaler.',
      ),
    ],
    (o) => {
      const min = at(o, 'spec.minReplicas');
      return [
        `${str(at(o, 'spec.scaleTargetRef.kind'))}/${str(at(o, 'spec.scaleTargetRef.name'))}`,
        hpaTargets(o),
        typeof min === 'number' ? String(min) : '<unset>',
        num(at(o, 'spec.maxReplicas')),
        num(at(o, 'status.currentReplicas')),
      ];
    },
  ),
};

export const priorityClassStrategy: Strategy = {
  defaults(obj) {
    obj.preemptionPolicy ??= 'PreemptLowerPriority';
  },
  validate(obj) {
    const errs: FieldError[] = [];
    if (typeof obj.value !== 'number') errs.push({ type: 'FieldValueRequired', field: 'value' });
    errs.push(...notSupported('preemptionPolicy', obj.preemptionPolicy, ['Never', 'PreemptLowerPriority']));
    return errs;
  },
  validateUpdate(obj, old) {
    const errs: FieldError[] = [];
    // ValidatePriorityClassUpdate: value and preemptionPolicy are fixed once created.
    if (obj.value !== old.value)
      errs.push({ type: 'FieldValueForbidden', field: 'value', detail: 'may not be changed in an update.' });
    errs.push(...immutable('preemptionPolicy', obj, old));
    return errs;
  },
  table: {
    columns: [
      NAME_COLUMN,
      col('Value', 'integer', 0, 'value represents the integer value of this priority class.'),
      col(
        'Global-Default',
        'boolean',
        0,
        'globalDefault specifies whether this PriorityClass should be considered as the default priority for pods that do not have any priority class.',
      ),
      AGE_COLUMN,
      col(
        'PreemptionPolicy',
        'string',
        0,
        'preemptionPolicy is the Policy for preempting pods with lower priority.',
      ),
    ],
    cells: (o) => [o.metadata?.name, num(o.value), o.globalDefault === true, age(o), str(o.preemptionPolicy)],
  },
};

export const leaseStrategy: Strategy = {
  allowCreateOnUpdate: false,
  table: simple(
    [col('Holder', 'string', 0, 'holderIdentity contains the identity of the holder of a current lease.')],
    (o) => [str(at(o, 'spec.holderIdentity'))],
  ),
};

export const validatingAdmissionPolicyStrategy: Strategy = {
  generation: 'spec',
  validate: policyErrors,
  table: simple(
    [
      col(
        'Validations',
        'integer',
        0,
        'Validations indicates the number of validation rules defined in this configuration',
      ),
      col(
        'ParamKind',
        'string',
        0,
        'ParamKind specifies the kind of resources used to parameterize this policy',
      ),
    ],
    (o) => {
      const pk = at(o, 'spec.paramKind') as { apiVersion?: string; kind?: string } | undefined;
      return [
        ((at(o, 'spec.validations') as unknown[] | undefined) ?? []).length,
        pk ? `${pk.apiVersion ?? ''}/${pk.kind ?? ''}` : '<unset>',
      ];
    },
  ),
};

export const validatingAdmissionPolicyBindingStrategy: Strategy = {
  generation: 'spec',
  table: simple(
    [
      col(
        'PolicyName',
        'string',
        0,
        'PolicyName indicates the policy definition which the policy binding binded to',
      ),
      col('ParamRef', 'string', 0, 'ParamRef indicates the param resource which sets the configration param'),
    ],
    (o) => {
      const pr = at(o, 'spec.paramRef') as
        { name?: string; namespace?: string; selector?: unknown } | undefined;
      let param = '<unset>';
      if (pr?.name) param = pr.namespace ? `${pr.namespace}/${pr.name}` : `*/${pr.name}`;
      else if (pr?.selector)
        param = formatLabels((pr.selector as { matchLabels?: Record<string, string> }).matchLabels);
      return [str(at(o, 'spec.policyName')), param];
    },
  ),
};

/** kube-aggregator's printer: the hosting Service (or Local) and the Available condition. */
export const apiServiceStrategy: Strategy = {
  nameValidator: pathSegmentName,
  table: simple(
    [
      col('Service', 'string', 0, 'The reference to the service that hosts this API endpoint.'),
      col('Available', 'string', 0, 'Whether this service is available.'),
    ],
    (o) => {
      const svc = at(o, 'spec.service') as { namespace?: string; name?: string } | undefined;
      const cond = (
        (at(o, 'status.conditions') as
          Array<{ type?: string; status?: string; reason?: string }> | undefined) ?? []
      ).find((c) => c.type === 'Available');
      let available = 'Unknown';
      if (cond)
        available =
          cond.status === 'True' || !cond.reason ? str(cond.status) : `${str(cond.status)} (${cond.reason})`;
      return [svc ? `${svc.namespace ?? ''}/${svc.name ?? ''}` : 'Local', available];
    },
  ),
};
