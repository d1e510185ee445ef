/**
 * autoscaling/v1 HorizontalPodAutoscalers are the v2 objects seen through v1 (pkg/apis/autoscaling/v1's
 * conversion): targetCPUUtilizationPercentage is the CPU Utilization metric, currentCPUUtilizationPercentage its
 * current value; what v1 cannot say (other metrics, behavior, conditions) travels in kube's
 * `autoscaling.alpha.kubernetes.io/*` annotations, so a v1 read-modify-write keeps it.
 */
import type { KubeObject } from '../types.js';

type Obj = Record<string, unknown>;
interface Metric {
  type?: string;
  resource?: { name?: string; target?: { type?: string; averageUtilization?: number }; current?: Obj };
}

const METRICS = 'autoscaling.alpha.kubernetes.io/metrics';
const CURRENT_METRICS = 'autoscaling.alpha.kubernetes.io/current-metrics';
const CONDITIONS = 'autoscaling.alpha.kubernetes.io/conditions';
const BEHAVIOR = 'autoscaling.alpha.kubernetes.io/behavior';

const isCpuUtilization = (m: Metric) =>
  m.type === 'Resource' && m.resource?.name === 'cpu' && m.resource.target?.type === 'Utilization';

function takeJson(annotations: Record<string, string>, key: string): unknown {
  const v = annotations[key];
  delete annotations[key];
  if (v === undefined) return undefined;
  try {
    return JSON.parse(v) as unknown;
  } catch {
    return undefined;
  }
}

/** v1 → v2 (storage). */
export function hpaV1ToV2(obj: KubeObject): KubeObject {
  const o = structuredClone(obj) as KubeObject & { spec?: Obj; status?: Obj };
  const annotations = { ...(o.metadata?.annotations ?? {}) };
  const spec = { ...(o.spec ?? {}) };
  const metrics = ((takeJson(annotations, METRICS) as Metric[] | undefined) ?? []).filter(
    (m) => !isCpuUtilization(m),
  );
  const cpu = spec.targetCPUUtilizationPercentage;
  delete spec.targetCPUUtilizationPercentage;
  if (typeof cpu === 'number')
    metrics.unshift({
      type: 'Resource',
      resource: { name: 'cpu', target: { type: 'Utilization', averageUtilization: cpu } },
    });
  if (metrics.length) spec.metrics = metrics;
  const behavior = takeJson(annotations, BEHAVIOR);
  if (behavior) spec.behavior = behavior;
  const status = o.status ? { ...o.status } : undefined;
  const conditions = takeJson(annotations, CONDITIONS);
  const current = (takeJson(annotations, CURRENT_METRICS) as Metric[] | undefined) ?? [];
  if (status) {
    const cur = status.currentCPUUtilizationPercentage;
    delete status.currentCPUUtilizationPercentage;
    const others = current.filter((m) => !(m.type === 'Resource' && m.resource?.name === 'cpu'));
    if (typeof cur === 'number')
      others.unshift({ type: 'Resource', resource: { name: 'cpu', current: { averageUtilization: cur } } });
    if (others.length) status.currentMetrics = others;
    if (conditions) status.conditions = conditions;
  }
  return {
    ...o,
    apiVersion: 'autoscaling/v2',
    metadata: { ...o.metadata, annotations },
    spec,
    ...(status ? { status } : {}),
  };
}

/** v2 (storage) → v1. */
export function hpaV2ToV1(obj: KubeObject): KubeObject {
  const o = structuredClone(obj) as KubeObject & { spec?: Obj; status?: Obj };
  const annotations: Record<string, string> = { ...(o.metadata?.annotations ?? {}) };
  const spec = { ...(o.spec ?? {}) };
  const metrics = (spec.metrics as Metric[] | undefined) ?? [];
  delete spec.metrics;
  const cpu = metrics.find(isCpuUtilization);
  if (cpu) spec.targetCPUUtilizationPercentage = cpu.resource?.target?.averageUtilization;
  const others = metrics.filter((m) => m !== cpu);
  if (others.length) annotations[METRICS] = JSON.stringify(others);
  if (spec.behavior) annotations[BEHAVIOR] = JSON.stringify(spec.behavior);
  delete spec.behavior;
  const status = o.status ? { ...o.status } : undefined;
  if (status) {
    const current = (status.currentMetrics as Metric[] | undefined) ?? [];
    delete status.currentMetrics;
    const c = current.find((m) => m.type === 'Resource' && m.resource?.name === 'cpu');
    const util = c?.resource?.current?.averageUtilization;
    if (typeof util === 'number') status.currentCPUUtilizationPercentage = util;
    const rest = current.filter((m) => m !== c);
    if (rest.length) annotations[CURRENT_METRICS] = JSON.stringify(rest);
    if (status.conditions) annotations[CONDITIONS] = JSON.stringify(status.conditions);
    delete status.conditions;
  }
  return {
    ...o,
    apiVersion: 'autoscaling/v1',
    metadata: { ...o.metadata, ...(Object.keys(annotations).length ? { annotations } : {}) },
    spec,
    ...(status ? { status } : {}),
  };
}
