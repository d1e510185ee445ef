/**
 * What a Service's endpoints should be, as kube-controller-manager 1.32 computes them from the pods its
 * selector matches: pods with an IP and not terminated, ready unless the pod is not (or is terminating), with
 * `publishNotReadyAddresses` publishing them all as ready; target ports resolved per pod (a named port by the
 * container port of that name and protocol; a pod lacking it is left out of that port's group). Pure: the
 * controllers (endpointslice.ts, endpoints.ts) compare this with what exists and write the difference.
 */
import type { KubeObject } from '../../registry/types.js';

export const SERVICE_NAME_LABEL = 'kubernetes.io/service-name';
export const MANAGED_BY_LABEL = 'endpointslice.kubernetes.io/managed-by';
export const SLICE_CONTROLLER = 'endpointslice-controller.k8s.io';
export const HEADLESS_LABEL = 'service.kubernetes.io/headless';
/** kube-controller-manager's maxEndpointsPerSlice default. */
export const MAX_ENDPOINTS_PER_SLICE = 100;

export interface EndpointPort {
  name: string;
  protocol: string;
  port: number;
  appProtocol?: string;
}

export interface DesiredEndpoint {
  addresses: string[];
  conditions: { ready: boolean; serving: boolean; terminating: boolean };
  hostname?: string;
  nodeName?: string;
  targetRef: { kind: 'Pod'; namespace: string; name: string; uid: string };
}

/** The endpoints sharing one resolved port set (kube's slices and Endpoints subsets are grouped this way). */
export interface PortGroup {
  ports: EndpointPort[];
  endpoints: DesiredEndpoint[];
}

interface ServiceSpec {
  selector?: Record<string, string>;
  clusterIP?: string;
  publishNotReadyAddresses?: boolean;
  ports?: Array<{
    name?: string;
    protocol?: string;
    port?: number;
    targetPort?: number | string;
    appProtocol?: string;
  }>;
}
interface PodShape {
  spec?: {
    hostname?: string;
    subdomain?: string;
    nodeName?: string;
    containers?: Array<{ ports?: Array<{ name?: string; containerPort?: number; protocol?: string }> }>;
  };
  status?: {
    phase?: string;
    podIP?: string;
    podIPs?: Array<{ ip: string }>;
    conditions?: Array<{ type: string; status: string }>;
  };
}

export const specOfService = (s: KubeObject) => (s.spec ?? {}) as ServiceSpec;

export function selectorMatches(
  selector: Record<string, string>,
  labels: Record<string, string> | undefined,
): boolean {
  return Object.entries(selector).every(([k, v]) => labels?.[k] === v);
}

export function isPodReady(pod: KubeObject): boolean {
  return !!(pod as PodShape).status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True');
}

/** The target port of `port` in `pod`, or undefined when a named port is not declared by the pod. */
export function findPort(
  pod: KubeObject,
  port: { targetPort?: number | string; port?: number; protocol?: string },
): number | undefined {
  const target = port.targetPort ?? port.port;
  if (typeof target === 'number') return target;
  if (target === undefined) return undefined;
  if (/^\d+$/.test(target)) return Number(target);
  const protocol = port.protocol ?? 'TCP';
  for (const c of (pod as PodShape).spec?.containers ?? [])
    for (const p of c.ports ?? [])
      if (p.name === target && (p.protocol ?? 'TCP') === protocol) return p.containerPort;
  return undefined;
}

/** endpointutil.ShouldPodBeInEndpoints: an IP, not terminal; terminating pods only when asked for. */
function shouldInclude(pod: KubeObject, includeTerminating: boolean): boolean {
  const st = (pod as PodShape).status;
  if (st?.phase === 'Failed' || st?.phase === 'Succeeded') return false;
  if (!st?.podIP && !st?.podIPs?.length) return false;
  if (pod.metadata?.deletionTimestamp && !includeTerminating) return false;
  return true;
}

/**
 * The port groups of `service` over `pods` (all pods of its namespace; the selector is applied here).
 * `includeTerminating` is true for EndpointSlices (terminating endpoints carry the condition) and false for
 * Endpoints, which drop them. Undefined for a Service without a selector: its endpoints are the user's.
 */
export function desiredEndpoints(
  service: KubeObject,
  pods: KubeObject[],
  includeTerminating: boolean,
): PortGroup[] | undefined {
  const spec = specOfService(service);
  if (!spec.selector) return undefined;
  const selector = spec.selector;
  const svcName = service.metadata?.name ?? '';
  const groups = new Map<string, PortGroup>();
  const sorted = pods
    .filter((p) => selectorMatches(selector, p.metadata?.labels) && shouldInclude(p, includeTerminating))
    .sort((a, b) => (a.metadata?.name ?? '').localeCompare(b.metadata?.name ?? ''));
  for (const pod of sorted) {
    const ps = pod as PodShape;
    const ports: EndpointPort[] = [];
    for (const sp of spec.ports ?? []) {
      const port = findPort(pod, sp);
      if (port === undefined) continue;
      ports.push({
        name: sp.name ?? '',
        protocol: sp.protocol ?? 'TCP',
        port,
        ...(sp.appProtocol ? { appProtocol: sp.appProtocol } : {}),
      });
    }
    const terminating = !!pod.metadata?.deletionTimestamp;
    const ready = isPodReady(pod);
    const ip = ps.status?.podIPs?.[0]?.ip ?? ps.status?.podIP ?? '';
    const endpoint: DesiredEndpoint = {
      addresses: [ip],
      conditions: {
        ready: spec.publishNotReadyAddresses ? true : ready && !terminating,
        serving: spec.publishNotReadyAddresses ? true : ready,
        terminating,
      },
      // A pod's hostname names it inside the headless Service its subdomain names.
      ...(ps.spec?.hostname && ps.spec.subdomain === svcName ? { hostname: ps.spec.hostname } : {}),
      ...(ps.spec?.nodeName ? { nodeName: ps.spec.nodeName } : {}),
      targetRef: {
        kind: 'Pod',
        namespace: pod.metadata?.namespace ?? '',
        name: pod.metadata?.name ?? '',
        uid: pod.metadata?.uid ?? '',
      },
    };
    const key = JSON.stringify(ports);
    const g = groups.get(key) ?? { ports, endpoints: [] };
    g.endpoints.push(endpoint);
    groups.set(key, g);
  }
  return [...groups.values()];
}

/** The labels both controllers put on what they write: the Service's own, and the headless marker. */
export function derivedLabels(service: KubeObject): Record<string, string> {
  const labels: Record<string, string> = { ...(service.metadata?.labels ?? {}) };
  delete labels[SERVICE_NAME_LABEL];
  delete labels[MANAGED_BY_LABEL];
  if (specOfService(service).clusterIP === 'None') labels[HEADLESS_LABEL] = '';
  else delete labels[HEADLESS_LABEL];
  return labels;
}

/** The v1 Endpoints subsets for the groups (Endpoints have no terminating endpoints). */
export function endpointsSubsets(groups: PortGroup[]): KubeObject[] {
  const subsets: KubeObject[] = [];
  for (const g of groups) {
    const addr = (e: DesiredEndpoint) => ({
      ip: e.addresses[0],
      ...(e.hostname ? { hostname: e.hostname } : {}),
      ...(e.nodeName ? { nodeName: e.nodeName } : {}),
      targetRef: e.targetRef,
    });
    const ready = g.endpoints.filter((e) => e.conditions.ready).map(addr);
    const notReady = g.endpoints.filter((e) => !e.conditions.ready).map(addr);
    if (!ready.length && !notReady.length) continue;
    subsets.push({
      ...(ready.length ? { addresses: ready } : {}),
      ...(notReady.length ? { notReadyAddresses: notReady } : {}),
      ...(g.ports.length
        ? { ports: g.ports.map((p) => ({ ...p, ...(p.name ? {} : { name: undefined }) })) }
        : {}),
    });
  }
  return JSON.parse(JSON.stringify(subsets)) as KubeObject[];
}
