/**
 * Usage from metrics.k8s.io/v1beta1 (metrics-server's API; berth-kube's kubelet serves it): Kubernetes quantities
 * summed per node or pod (common/quantity parses them and prints them as `kubectl top` does), and a poller
 * (metrics are not watchable: kubectl top asks each time; metrics-server refreshes every 15 s). A cluster without
 * the API answers 404: "not available".
 */
import { onBeforeUnmount, ref, shallowRef, watch, type Ref } from 'vue';
import { quantityOrNaN } from '@berth/common';
import { clusterClient } from '../api/index.js';
import { KubeError, type ClusterClient } from '../api/cluster-client.js';

/** kubectl top node's CPU% and MEMORY%: usage over allocatable, whole percents. */
export function percentOf(used: number, of: number): number | undefined {
  if (!Number.isFinite(used) || !Number.isFinite(of) || of <= 0) return undefined;
  return Math.round((used / of) * 100);
}

export interface Usage {
  cpu: number;
  memory: number;
}

interface MetricsItem {
  metadata: { name: string; namespace?: string };
  usage?: { cpu?: string; memory?: string };
  containers?: { name: string; usage?: { cpu?: string; memory?: string } }[];
}

/** NodeMetrics' usage, or PodMetrics' containers summed; keyed `name` (nodes) or `namespace/name` (pods). */
export function usageByName(items: MetricsItem[]): Map<string, Usage> {
  const out = new Map<string, Usage>();
  for (const it of items) {
    const key = it.metadata.namespace ? `${it.metadata.namespace}/${it.metadata.name}` : it.metadata.name;
    const parts = it.containers ? it.containers.map((c) => c.usage ?? {}) : [it.usage ?? {}];
    out.set(key, {
      cpu: parts.reduce((s, u) => s + (quantityOrNaN(u.cpu) || 0), 0),
      memory: parts.reduce((s, u) => s + (quantityOrNaN(u.memory) || 0), 0),
    });
  }
  return out;
}

export type MetricsState = 'loading' | 'ok' | 'unavailable' | 'error';

export const METRICS_UNAVAILABLE =
  'metrics not available: this cluster serves no metrics.k8s.io API (metrics-server is not installed)';

export interface MetricsRead {
  state: Exclude<MetricsState, 'loading'>;
  usage: Map<string, Usage>;
  message: string;
}

/** One read of node or pod metrics (`namespace` '' or absent: every namespace). */
export async function readMetrics(
  client: ClusterClient,
  context: string,
  kind: 'nodes' | 'pods',
  namespace = '',
): Promise<MetricsRead> {
  const path =
    kind === 'nodes' || !namespace
      ? `/apis/metrics.k8s.io/v1beta1/${kind}`
      : `/apis/metrics.k8s.io/v1beta1/namespaces/${encodeURIComponent(namespace)}/pods`;
  try {
    const l = await client.json<{ items?: MetricsItem[] }>(context, 'GET', path);
    return { state: 'ok', usage: usageByName(l.items ?? []), message: '' };
  } catch (e) {
    const code = e instanceof KubeError ? e.code : 0;
    // 404: no such API group; 503: an APIService registered whose backend is down.
    if (code === 404 || code === 503)
      return { state: 'unavailable', usage: new Map(), message: METRICS_UNAVAILABLE };
    return { state: 'error', usage: new Map(), message: `metrics: ${(e as Error).message}` };
  }
}

export interface MetricsPoll {
  state: Ref<MetricsState>;
  usage: Ref<Map<string, Usage>>;
  message: Ref<string>;
}

/**
 * Polls node or pod metrics of `context` (and `namespace` for pods, '' for all) while the component lives; a 404
 * (or the aggregated API's 503) stops asking until the context changes.
 */
export function pollMetrics(
  kind: 'nodes' | 'pods',
  context: Ref<string>,
  namespace: Ref<string> = ref(''),
  everyMs = 15_000,
): MetricsPoll {
  const state = ref<MetricsState>('loading');
  const usage = shallowRef(new Map<string, Usage>());
  const message = ref('');
  let timer: ReturnType<typeof setTimeout> | undefined;
  let gen = 0;
  async function once(g: number): Promise<void> {
    const r = await readMetrics(clusterClient(), context.value, kind, namespace.value);
    if (g !== gen) return;
    state.value = r.state;
    usage.value = r.usage;
    message.value = r.message;
    // Unavailable: not asked again until the context changes.
    if (r.state !== 'unavailable') timer = setTimeout(() => void once(g), everyMs);
  }
  function restart(): void {
    clearTimeout(timer);
    gen++;
    state.value = 'loading';
    usage.value = new Map();
    if (context.value) void once(gen);
  }
  watch([context, namespace], restart, { immediate: true });
  onBeforeUnmount(() => {
    gen++;
    clearTimeout(timer);
  });
  return { state, usage, message };
}
