/**
 * ResourceQuota (plugin/pkg/admission/resourcequota and pkg/quota/v1/evaluator/core): creating an object counts
 * against every quota of its namespace that tracks it (object counts, `count/<resource>.<group>`, pod compute
 * requests and limits, claim storage); going over a quota's hard limit is a 403 worded as kube-apiserver's
 * ("exceeded quota: <name>, requested: ..., used: ..., limited: ..."), and a pod that leaves out a tracked compute
 * resource is refused too. Usage is computed from the store at admission (no lag behind a controller);
 * quotaUsage also feeds the status the resource-quota controller writes.
 */
import { parseQuantity } from '@berth/common/quantity';
import type { KubeObject } from '../../registry/types.js';
import type { AdmissionAttributes, Operation, ValidatingPlugin } from '../types.js';
import { admissionForbidden } from './namespace-lifecycle.js';

export type Lister = (apiVersion: string, plural: string, namespace: string) => Promise<KubeObject[]>;

/** Plain names kube-apiserver counts, by resource: `pods`, `services`... */
const COUNTED: Record<string, string> = {
  pods: 'v1',
  services: 'v1',
  configmaps: 'v1',
  secrets: 'v1',
  persistentvolumeclaims: 'v1',
  replicationcontrollers: 'v1',
  resourcequotas: 'v1',
};
const COMPUTE: Record<string, ['requests' | 'limits', 'cpu' | 'memory']> = {
  cpu: ['requests', 'cpu'],
  memory: ['requests', 'memory'],
  'requests.cpu': ['requests', 'cpu'],
  'requests.memory': ['requests', 'memory'],
  'limits.cpu': ['limits', 'cpu'],
  'limits.memory': ['limits', 'memory'],
};

interface Container {
  name: string;
  resources?: { requests?: Record<string, string>; limits?: Record<string, string> };
}

const terminal = (p: KubeObject) => {
  const phase = (p.status as { phase?: string } | undefined)?.phase;
  return phase === 'Succeeded' || phase === 'Failed';
};
const containers = (p: KubeObject) => (p.spec as { containers?: Container[] } | undefined)?.containers ?? [];

/** What one object uses of a quota resource name (0 when that name does not track it). */
function usageOf(name: string, plural: string, group: string, o: KubeObject): number {
  if (plural === 'pods' && terminal(o)) return 0;
  if (name === plural && COUNTED[plural] && group === '') return 1;
  if (name === `count/${plural}${group ? `.${group}` : ''}`) return 1;
  const compute = COMPUTE[name];
  if (compute && plural === 'pods' && group === '')
    return containers(o).reduce(
      (n, c) => n + parseQuantity(c.resources?.[compute[0]]?.[compute[1]] ?? '0'),
      0,
    );
  if (plural === 'services' && group === '') {
    const spec = (o.spec ?? {}) as { type?: string; ports?: unknown[] };
    if (name === 'services.loadbalancers') return spec.type === 'LoadBalancer' ? 1 : 0;
    if (name === 'services.nodeports')
      return spec.type === 'NodePort' || spec.type === 'LoadBalancer' ? (spec.ports ?? []).length : 0;
  }
  if (name === 'requests.storage' && plural === 'persistentvolumeclaims' && group === '')
    return parseQuantity(
      (o.spec as { resources?: { requests?: { storage?: string } } } | undefined)?.resources?.requests
        ?.storage ?? '0',
    );
  return 0;
}

/** The resources a quota name counts: [apiVersion, plural, group]. */
function sourceOf(name: string): [string, string, string] | undefined {
  if (COUNTED[name]) return ['v1', name, ''];
  if (COMPUTE[name]) return ['v1', 'pods', ''];
  if (name === 'services.loadbalancers' || name === 'services.nodeports') return ['v1', 'services', ''];
  if (name === 'requests.storage') return ['v1', 'persistentvolumeclaims', ''];
  const m = /^count\/([a-z0-9-]+)(?:\.(.+))?$/.exec(name);
  if (!m) return undefined;
  const group = m[2] ?? '';
  const version = { apps: 'v1', batch: 'v1' }[group] ?? 'v1';
  return [group ? `${group}/${version}` : 'v1', m[1], group];
}

/** Quantity.String() as a sum of like quantities prints: cores or millicores, bytes in binary units when exact. */
export function formatQuantity(name: string, v: number): string {
  if (name.endsWith('cpu')) {
    const milli = Math.round(v * 1000);
    return milli % 1000 === 0 ? String(milli / 1000) : `${milli}m`;
  }
  if (name.endsWith('memory') || name.endsWith('storage')) {
    for (const [suffix, p] of [
      ['Ti', 40],
      ['Gi', 30],
      ['Mi', 20],
      ['Ki', 10],
    ] as const)
      if (v !== 0 && v % 2 ** p === 0) return `${v / 2 ** p}${suffix}`;
  }
  return String(v);
}

/** A namespace's usage of each hard resource of a quota. */
export async function quotaUsage(list: Lister, namespace: string, hard: Record<string, string>) {
  const used: Record<string, number> = {};
  const cache = new Map<string, KubeObject[]>();
  for (const name of Object.keys(hard)) {
    const src = sourceOf(name);
    if (!src) continue;
    const key = `${src[0]}/${src[1]}`;
    let items = cache.get(key);
    if (!items) cache.set(key, (items = await list(src[0], src[1], namespace).catch(() => [])));
    used[name] = items.reduce((n, o) => n + usageOf(name, src[1], src[2], o), 0);
  }
  return used;
}

const pretty = (m: Record<string, string>) =>
  Object.keys(m)
    .sort()
    .map((k) => `${k}=${m[k]}`)
    .join(',');

export class ResourceQuotaAdmission implements ValidatingPlugin {
  readonly name = 'ResourceQuota';
  constructor(private readonly list: Lister) {}

  handles(op: Operation): boolean {
    return op === 'CREATE';
  }

  async validate(a: AdmissionAttributes, obj: KubeObject | undefined): Promise<void> {
    if (!obj || !a.namespace || a.subresource) return;
    const quotas = await this.list('v1', 'resourcequotas', a.namespace);
    for (const q of quotas) {
      const hard = (q.spec as { hard?: Record<string, string> } | undefined)?.hard ?? {};
      const group = a.resource.group;
      const plural = a.resource.resource;
      const requested: Record<string, number> = {};
      for (const name of Object.keys(hard)) {
        const n = usageOf(name, plural, group, obj);
        if (n > 0) requested[name] = n;
      }
      if (plural === 'pods' && group === '') {
        const missing = Object.keys(hard)
          .filter((n) => COMPUTE[n])
          .filter((n) => containers(obj).some((c) => !c.resources?.[COMPUTE[n][0]]?.[COMPUTE[n][1]]))
          .sort();
        if (missing.length)
          throw admissionForbidden(
            a,
            `failed quota: ${q.metadata?.name ?? ''}: must specify ${missing.join(',')}`,
          );
      }
      if (!Object.keys(requested).length) continue;
      const used = await quotaUsage(this.list, a.namespace, hard);
      const exceeded = Object.keys(requested).filter(
        (n) => (used[n] ?? 0) + requested[n] > parseQuantity(hard[n]) + 1e-9,
      );
      if (!exceeded.length) continue;
      const pick = (f: (n: string) => string) => Object.fromEntries(exceeded.map((n) => [n, f(n)]));
      throw admissionForbidden(
        a,
        `exceeded quota: ${q.metadata?.name ?? ''}, requested: ${pretty(pick((n) => formatQuantity(n, requested[n])))}, used: ${pretty(pick((n) => formatQuantity(n, used[n] ?? 0)))}, limited: ${pretty(pick((n) => hard[n]))}`,
      );
    }
  }
}
