/**
 * metrics.k8s.io/v1beta1 as metrics-server serves it, so `kubectl top pod|node` works: PodMetrics for the running
 * pods (per-container CPU in nanocores and working-set memory, from berthd's stats) and NodeMetrics for the node
 * (CPU from /proc/stat over a short window, memory in use from /proc/meminfo). Listed in discovery while the
 * kubelet runs; served through the API server's virtual-resource connectors.
 */
import { promises as fsp } from 'node:fs';
import { KubeError } from '../errors.js';
import type { Connector } from '../apiserver/handlers/dispatch.js';
import { writeObject } from '../apiserver/respond.js';
import { define } from '../registry/builtin/define.js';
import type { ResourceType } from '../registry/types.js';
import { matchesLabels, parseLabelSelector, type LabelSelector } from '../selectors/labels.js';
import { cpuTimes } from './node/host.js';
import type { PodRuntime } from './provider.js';
import type { Pod } from './types.js';

export const METRICS_GROUP = 'metrics.k8s.io';
export const METRICS_VERSION = 'v1beta1';
const API_VERSION = `${METRICS_GROUP}/${METRICS_VERSION}`;

export function metricsTypes(): ResourceType[] {
  const d = (x: Parameters<typeof define>[2]) => define(METRICS_GROUP, METRICS_VERSION, x);
  return [
    d({
      kind: 'NodeMetrics',
      plural: 'nodes',
      singular: '',
      namespaced: false,
      verbs: ['get', 'list'],
      virtual: true,
    }),
    d({ kind: 'PodMetrics', plural: 'pods', singular: '', verbs: ['get', 'list'], virtual: true }),
  ];
}

/** Connector keys the API server looks up for virtual resources: `<group>/<version>/<plural>`. */
export const metricsKey = (plural: string): string => `${API_VERSION}/${plural}`;

const nowTime = () => new Date().toISOString().replace(/\.\d{3}Z$/, 'Z');

export function memoryQuantity(bytes: number): string {
  const b = Math.max(0, Math.round(bytes));
  return b % 1024 === 0 ? `${b / 1024}Ki` : String(b);
}

const cpuQuantity = (nanoCores: number): string => `${Math.max(0, Math.round(nanoCores))}n`;

async function mapLimit<T, R>(items: T[], limit: number, fn: (t: T) => Promise<R>): Promise<R[]> {
  const out: R[] = new Array<R>(items.length);
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(limit, items.length) }, async () => {
      while (next < items.length) {
        const i = next++;
        out[i] = await fn(items[i]);
      }
    }),
  );
  return out;
}

export interface MetricsDeps {
  runtime: PodRuntime;
  pods(): Pod[];
  node(): { name: string; labels?: Record<string, string>; cpus: number } | undefined;
}

async function podMetrics(d: MetricsDeps, pod: Pod) {
  const s = await d.runtime.stats(pod).catch(() => undefined);
  if (!s || !s.containers.length) return undefined;
  return {
    kind: 'PodMetrics',
    apiVersion: API_VERSION,
    metadata: {
      name: pod.metadata?.name,
      namespace: pod.metadata?.namespace,
      creationTimestamp: nowTime(),
      ...(pod.metadata?.labels ? { labels: pod.metadata.labels } : {}),
    },
    timestamp: s.timestamp,
    window: s.window,
    containers: s.containers.map((c) => ({
      name: c.name,
      usage: { cpu: cpuQuantity(c.cpuNanoCores), memory: memoryQuantity(c.memoryWorkingSetBytes) },
    })),
  };
}

/** PodMetrics of the running pods in `namespace` (all when empty) that `sel` matches, sorted by namespace/name. */
export async function listPodMetrics(
  d: MetricsDeps,
  namespace: string | undefined,
  sel: LabelSelector,
): Promise<NonNullable<Awaited<ReturnType<typeof podMetrics>>>[]> {
  const pods = d
    .pods()
    .filter((p) => running(p) && (!namespace || p.metadata?.namespace === namespace))
    .filter((p) => matchesLabels(sel, p.metadata?.labels))
    .sort((a, b) =>
      `${a.metadata?.namespace}/${a.metadata?.name}`.localeCompare(
        `${b.metadata?.namespace}/${b.metadata?.name}`,
      ),
    );
  return (await mapLimit(pods, 16, (p) => podMetrics(d, p))).filter((x) => x !== undefined);
}

const running = (p: Pod) => p.status?.phase === 'Running' && !p.metadata?.deletionTimestamp;

export function podMetricsConnector(d: MetricsDeps): Connector {
  return async (r) => {
    if (r.info.verb === 'get') {
      const pod = d
        .pods()
        .find((p) => p.metadata?.name === r.info.name && p.metadata?.namespace === r.namespace && running(p));
      const m = pod ? await podMetrics(d, pod) : undefined;
      if (!m)
        throw new KubeError(
          'NotFound',
          `podmetrics.${METRICS_GROUP} "${r.namespace}/${r.info.name}" not found`,
          {
            kind: 'pods',
            group: METRICS_GROUP,
            name: `${r.namespace}/${r.info.name}`,
          },
        );
      return writeObject(r.res, 200, m);
    }
    if (r.info.verb !== 'list')
      throw new KubeError('MethodNotAllowed', `${r.info.verb} is not supported on resources of kind "pods"`);
    const sel = parseLabelSelector(r.url.searchParams.get('labelSelector') ?? '');
    const items = await listPodMetrics(d, r.namespace, sel);
    return writeObject(r.res, 200, { kind: 'PodMetricsList', apiVersion: API_VERSION, metadata: {}, items });
  };
}

/** Node CPU over a window: the last sample when recent, else two samples a second apart. */
class NodeSampler {
  private last?: { total: number; idle: number; at: number };

  async usage(cpus: number): Promise<{ nanoCores: number; windowMs: number }> {
    let prev = this.last;
    if (!prev || Date.now() - prev.at > 60_000) {
      prev = await cpuTimes();
      await new Promise((r) => setTimeout(r, 1000));
    }
    const cur = await cpuTimes();
    this.last = cur;
    const dt = cur.total - prev.total;
    const busy = dt > 0 ? (dt - (cur.idle - prev.idle)) / dt : 0;
    return { nanoCores: busy * cpus * 1e9, windowMs: cur.at - prev.at };
  }
}

async function memoryInUse(): Promise<number> {
  const text = await fsp.readFile('/proc/meminfo', 'utf8').catch(() => '');
  const kb = (k: string) => Number(new RegExp(`^${k}:\\s+(\\d+) kB$`, 'm').exec(text)?.[1] ?? 0) * 1024;
  return Math.max(0, kb('MemTotal') - kb('MemAvailable'));
}

export function nodeMetricsConnector(d: MetricsDeps): Connector {
  const sampler = new NodeSampler();
  return async (r) => {
    const n = d.node();
    const one = async () => {
      const u = await sampler.usage(n!.cpus);
      return {
        kind: 'NodeMetrics',
        apiVersion: API_VERSION,
        metadata: {
          name: n!.name,
          creationTimestamp: nowTime(),
          ...(n!.labels ? { labels: n!.labels } : {}),
        },
        timestamp: nowTime(),
        window: `${(u.windowMs / 1000).toFixed(3).replace(/\.?0+$/, '')}s`,
        usage: { cpu: cpuQuantity(u.nanoCores), memory: memoryQuantity(await memoryInUse()) },
      };
    };
    if (r.info.verb === 'get') {
      if (!n || r.info.name !== n.name)
        throw new KubeError('NotFound', `nodemetrics.${METRICS_GROUP} "${r.info.name}" not found`, {
          kind: 'nodes',
          group: METRICS_GROUP,
          name: r.info.name,
        });
      return writeObject(r.res, 200, await one());
    }
    if (r.info.verb !== 'list')
      throw new KubeError('MethodNotAllowed', `${r.info.verb} is not supported on resources of kind "nodes"`);
    const sel = parseLabelSelector(r.url.searchParams.get('labelSelector') ?? '');
    const items = n && matchesLabels(sel, n.labels) ? [await one()] : [];
    return writeObject(r.res, 200, { kind: 'NodeMetricsList', apiVersion: API_VERSION, metadata: {}, items });
  };
}
