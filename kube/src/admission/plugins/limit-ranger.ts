/**
 * LimitRanger (plugin/pkg/admission/limitranger) for pods and `type: Container` limits: on create, containers
 * get the namespace's default limits and requests for resources they leave out (noted in the
 * `kubernetes.io/limit-ranger` annotation); on create and update, requests and limits must lie within min/max and
 * the limit/request ratio, or the pod is forbidden with every violation listed.
 */
import type { KubeObject } from '../../registry/types.js';
import { parseQuantity } from '@berth/common/quantity';
import type { AdmissionAttributes, MutatingPlugin, Operation, ValidatingPlugin } from '../types.js';
import { admissionForbidden } from './namespace-lifecycle.js';

type ResourceList = Record<string, string>;
interface LimitItem {
  type?: string;
  max?: ResourceList;
  min?: ResourceList;
  default?: ResourceList;
  defaultRequest?: ResourceList;
  maxLimitRequestRatio?: ResourceList;
}
interface Container {
  name: string;
  resources?: { limits?: ResourceList; requests?: ResourceList };
}

export type LimitRangeLister = (namespace: string) => Promise<KubeObject[]>;

const isPod = (a: AdmissionAttributes) =>
  a.resource.group === '' && a.resource.resource === 'pods' && !a.subresource;

function containerItems(ranges: KubeObject[]): LimitItem[] {
  return ranges.flatMap((r) =>
    ((r.spec as { limits?: LimitItem[] } | undefined)?.limits ?? []).filter((l) => l.type === 'Container'),
  );
}

function containersOf(pod: KubeObject): Container[] {
  const spec = (pod.spec ?? {}) as { containers?: Container[]; initContainers?: Container[] };
  return [...(spec.initContainers ?? []), ...(spec.containers ?? [])];
}

export class LimitRanger implements MutatingPlugin, ValidatingPlugin {
  readonly name = 'LimitRanger';
  constructor(private readonly list: LimitRangeLister) {}

  handles(op: Operation): boolean {
    return op === 'CREATE' || op === 'UPDATE';
  }

  async admit(a: AdmissionAttributes, obj: KubeObject | undefined): Promise<void> {
    if (!isPod(a) || !obj || a.operation !== 'CREATE') return;
    const items = containerItems(await this.list(a.namespace));
    if (!items.length) return;
    // The LimitRange defaults: a default limit also defaults the request, max defaults the limit.
    const limits: ResourceList = {};
    const requests: ResourceList = {};
    for (const l of items) {
      Object.assign(limits, l.max ?? {}, l.default ?? {});
      Object.assign(requests, l.default ?? l.max ?? {}, l.defaultRequest ?? {});
    }
    const notes: string[] = [];
    for (const c of containersOf(obj)) {
      c.resources ??= {};
      const own = { ...c.resources.limits };
      const setReq: string[] = [];
      const setLim: string[] = [];
      for (const [k, v] of Object.entries(limits))
        if (!(k in (c.resources.limits ?? {}))) {
          (c.resources.limits ??= {})[k] = v;
          setLim.push(k);
        }
      for (const [k, v] of Object.entries(requests))
        if (!(k in (c.resources.requests ?? {}))) {
          // A container's own limit is its request's default (pod defaulting, not LimitRanger's doing).
          (c.resources.requests ??= {})[k] = own[k] ?? v;
          if (own[k] === undefined) setReq.push(k);
        }
      if (setReq.length) notes.push(`${setReq.join(', ')} request for container ${c.name}`);
      if (setLim.length) notes.push(`${setLim.join(', ')} limit for container ${c.name}`);
    }
    if (notes.length) {
      obj.metadata ??= {};
      obj.metadata.annotations = {
        ...obj.metadata.annotations,
        'kubernetes.io/limit-ranger': `LimitRanger plugin set: ${notes.join('; ')}`,
      };
    }
  }

  async validate(a: AdmissionAttributes, obj: KubeObject | undefined): Promise<void> {
    if (!isPod(a) || !obj) return;
    const items = containerItems(await this.list(a.namespace));
    const errs: string[] = [];
    for (const c of containersOf(obj))
      for (const l of items) {
        const req = c.resources?.requests ?? {};
        const lim = c.resources?.limits ?? {};
        for (const [k, min] of Object.entries(l.min ?? {})) {
          // minConstraint/maxConstraint: the first violation of each bound only.
          if (!(k in req)) errs.push(`minimum ${k} usage per Container is ${min}.  No request is specified`);
          else if (parseQuantity(req[k]) < parseQuantity(min))
            errs.push(`minimum ${k} usage per Container is ${min}, but request is ${req[k]}`);
          else if (k in lim && parseQuantity(lim[k]) < parseQuantity(min))
            errs.push(`minimum ${k} usage per Container is ${min}, but limit is ${lim[k]}`);
        }
        for (const [k, max] of Object.entries(l.max ?? {})) {
          if (!(k in lim)) errs.push(`maximum ${k} usage per Container is ${max}.  No limit is specified`);
          else if (parseQuantity(lim[k]) > parseQuantity(max))
            errs.push(`maximum ${k} usage per Container is ${max}, but limit is ${lim[k]}`);
          else if (k in req && parseQuantity(req[k]) > parseQuantity(max))
            errs.push(`maximum ${k} usage per Container is ${max}, but request is ${req[k]}`);
        }
        for (const [k, ratio] of Object.entries(l.maxLimitRequestRatio ?? {})) {
          if (!(k in lim) || !(k in req)) continue;
          const actual = parseQuantity(lim[k]) / parseQuantity(req[k]);
          if (actual > parseQuantity(ratio))
            errs.push(
              `${k} max limit to request ratio per Container is ${ratio}, but provided ratio is ${actual.toFixed(6)}`,
            );
        }
      }
    if (errs.length) throw admissionForbidden(a, errs.length === 1 ? errs[0] : `[${errs.join(', ')}]`);
  }
}
