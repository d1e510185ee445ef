/**
 * What controllers ask of pods (pkg/api/v1/pod and pkg/controller's helpers): active, ready, available after
 * minReadySeconds, the deletion ranking ReplicaSets use when they scale down, and a pod made from a template
 * (controller.GetPodFromTemplate).
 */
import type { Condition, OwnerRef, Pod, PodTemplateSpec } from './types.js';

export const isTerminal = (p: Pod): boolean =>
  p.status?.phase === 'Succeeded' || p.status?.phase === 'Failed';

/** Counted toward replicas: not finished and not being deleted. */
export const isActive = (p: Pod): boolean => !isTerminal(p) && !p.metadata?.deletionTimestamp;

export function podCondition(p: Pod, type: string): Condition | undefined {
  return (p.status?.conditions as Condition[] | undefined)?.find((c) => c.type === type);
}

export const isReady = (p: Pod): boolean => podCondition(p, 'Ready')?.status === 'True';

/** Ready for at least minReadySeconds (podutil.IsPodAvailable). */
export function isAvailable(p: Pod, minReadySeconds: number, now = Date.now()): boolean {
  const c = podCondition(p, 'Ready');
  if (c?.status !== 'True') return false;
  if (!minReadySeconds) return true;
  const t = c.lastTransitionTime ? Date.parse(c.lastTransitionTime) : 0;
  return t > 0 && t + minReadySeconds * 1000 <= now;
}

/** Milliseconds until a ready pod becomes available, or undefined when it is not ready or already is. */
export function untilAvailable(p: Pod, minReadySeconds: number, now = Date.now()): number | undefined {
  const c = podCondition(p, 'Ready');
  if (c?.status !== 'True' || !minReadySeconds || !c.lastTransitionTime) return undefined;
  const left = Date.parse(c.lastTransitionTime) + minReadySeconds * 1000 - now;
  return left > 0 ? left : undefined;
}

const restarts = (p: Pod): number =>
  Math.max(0, ...(p.status?.containerStatuses ?? []).map((c) => c.restartCount ?? 0));

const phaseRank: Record<string, number> = { Pending: 0, Unknown: 1, Running: 2 };

/**
 * Sorts pods so the ones to delete first come first (controller.ActivePods ordering): unscheduled before
 * scheduled, pending before unknown before running, not ready before ready, ready more recently before longer,
 * more restarts before fewer, newer before older.
 */
export function deletionOrder(a: Pod, b: Pod): number {
  const assigned = (p: Pod) => (p.spec?.nodeName ? 1 : 0);
  if (assigned(a) !== assigned(b)) return assigned(a) - assigned(b);
  const pa = phaseRank[a.status?.phase ?? 'Pending'] ?? 0;
  const pb = phaseRank[b.status?.phase ?? 'Pending'] ?? 0;
  if (pa !== pb) return pa - pb;
  if (isReady(a) !== isReady(b)) return isReady(a) ? 1 : -1;
  if (isReady(a) && isReady(b)) {
    const ta = Date.parse(podCondition(a, 'Ready')?.lastTransitionTime ?? '') || 0;
    const tb = Date.parse(podCondition(b, 'Ready')?.lastTransitionTime ?? '') || 0;
    if (ta !== tb) return tb - ta;
  }
  if (restarts(a) !== restarts(b)) return restarts(b) - restarts(a);
  const ca = Date.parse(a.metadata?.creationTimestamp ?? '') || 0;
  const cb = Date.parse(b.metadata?.creationTimestamp ?? '') || 0;
  if (ca !== cb) return cb - ca;
  return (b.metadata?.name ?? '').localeCompare(a.metadata?.name ?? '');
}

export interface OwnerLike {
  apiVersion?: string;
  kind?: string;
  metadata?: { name?: string; uid?: string };
}

/** The controller ownerReference to `owner` (blockOwnerDeletion set, as every built-in controller sets it). */
export function controllerRef(owner: OwnerLike): OwnerRef {
  return {
    apiVersion: owner.apiVersion ?? '',
    kind: owner.kind ?? '',
    name: owner.metadata?.name ?? '',
    uid: owner.metadata?.uid ?? '',
    controller: true,
    blockOwnerDeletion: true,
  };
}

export function controllerOf(obj: { metadata?: { ownerReferences?: OwnerRef[] } }): OwnerRef | undefined {
  return obj.metadata?.ownerReferences?.find((r) => r.controller);
}

/**
 * A pod from a template: its labels, annotations and finalizers, generateName `<prefix>-` (or an exact name),
 * the controller reference, and the template's spec.
 */
export function podFromTemplate(
  template: PodTemplateSpec | undefined,
  namespace: string,
  owner: OwnerLike,
  name: { generateName?: string; name?: string },
): Pod {
  const t = structuredClone(template ?? {});
  const meta = t.metadata ?? {};
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: {
      ...(name.name ? { name: name.name } : { generateName: name.generateName }),
      namespace,
      ...(meta.labels ? { labels: meta.labels } : {}),
      ...(meta.annotations ? { annotations: meta.annotations } : {}),
      ...(meta.finalizers ? { finalizers: meta.finalizers } : {}),
      ownerReferences: [controllerRef(owner)],
    },
    spec: t.spec,
  };
}

/** generateName for a controller's pods (the API server cuts it to leave room for the random suffix). */
export const podPrefix = (controllerName: string): string => `${controllerName}-`;
