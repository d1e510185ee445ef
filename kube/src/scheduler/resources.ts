/**
 * Resource arithmetic as the scheduler does it (k8s.io/component-helpers resource.PodRequests): a pod requests the
 * larger of its containers' sum (plus restartable init containers, the sidecars, which keep running) and the
 * largest init container (with the sidecars started before it), plus the RuntimeClass overhead. CPU is counted
 * in millicores, everything else in its base unit, each rounded up as resource.Quantity.Value/MilliValue round.
 */
import { parseQuantity } from '@berth/common/quantity';
import type { Node, Pod } from '../controllers/framework/types.js';

/** Resource name → amount (cpu in millicores). */
export type Resources = Map<string, number>;

type QuantityMap = Record<string, string | number> | undefined;

export function toResources(q: QuantityMap): Resources {
  const r: Resources = new Map();
  for (const [name, v] of Object.entries(q ?? {})) {
    let n: number;
    try {
      n = parseQuantity(v);
    } catch {
      continue;
    }
    r.set(name, name === 'cpu' ? Math.ceil(n * 1000 - 1e-9) : Math.ceil(n - 1e-9));
  }
  return r;
}

export function add(a: Resources, b: Resources): Resources {
  const r = new Map(a);
  for (const [k, v] of b) r.set(k, (r.get(k) ?? 0) + v);
  return r;
}

function max(a: Resources, b: Resources): Resources {
  const r = new Map(a);
  for (const [k, v] of b) r.set(k, Math.max(r.get(k) ?? 0, v));
  return r;
}

/** What the scheduler reserves for the pod on a node. */
export function podRequests(pod: Pod): Resources {
  let reqs: Resources = new Map();
  for (const c of pod.spec?.containers ?? []) reqs = add(reqs, toResources(c.resources?.requests));
  let sidecars: Resources = new Map();
  let initMax: Resources = new Map();
  for (const c of pod.spec?.initContainers ?? []) {
    const r = toResources(c.resources?.requests);
    if (c.restartPolicy === 'Always') {
      reqs = add(reqs, r);
      sidecars = add(sidecars, r);
      initMax = max(initMax, sidecars);
    } else initMax = max(initMax, add(r, sidecars));
  }
  reqs = max(reqs, initMax);
  return add(reqs, toResources(pod.spec?.overhead));
}

export function allocatable(node: Node): Resources {
  return toResources(node.status?.allocatable ?? node.status?.capacity);
}

/** Resources the filter checks: the standard ones and extended resources (names with a domain). */
export function isScalarOrStandard(name: string): boolean {
  return (
    name === 'cpu' ||
    name === 'memory' ||
    name === 'ephemeral-storage' ||
    name.includes('/') ||
    name.startsWith('hugepages-')
  );
}
