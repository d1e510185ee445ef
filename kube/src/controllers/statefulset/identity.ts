/**
 * A StatefulSet pod's identity and storage (pkg/controller/statefulset/stateful_set_utils.go): the name
 * `<set>-<ordinal>`, the `statefulset.kubernetes.io/pod-name` and `apps.kubernetes.io/pod-index` labels, hostname
 * and subdomain from serviceName, the revision label, and one claim `<template>-<set>-<ordinal>` per
 * volumeClaimTemplate mounted in place of any volume of the same name.
 */
import { REVISION_HASH_LABEL } from '../history/revisions.js';
import { isReady, isAvailable, podFromTemplate } from '../framework/pods.js';
import type {
  ControllerRevision,
  PersistentVolumeClaim,
  Pod,
  PodTemplateSpec,
  StatefulSet,
} from '../framework/types.js';

export const POD_NAME_LABEL = 'statefulset.kubernetes.io/pod-name';
export const POD_INDEX_LABEL = 'apps.kubernetes.io/pod-index';

export const startOrdinal = (set: StatefulSet): number => set.spec?.ordinals?.start ?? 0;

/** The ordinal in a pod's name, or -1 when the name is not `<set>-<n>`. */
export function ordinalOf(set: StatefulSet, pod: Pod): number {
  const name = pod.metadata?.name ?? '';
  const prefix = `${set.metadata?.name}-`;
  if (!name.startsWith(prefix)) return -1;
  const rest = name.slice(prefix.length);
  return /^(0|[1-9]\d*)$/.test(rest) ? Number(rest) : -1;
}

export const podName = (set: StatefulSet, ordinal: number): string => `${set.metadata?.name}-${ordinal}`;

export const claimName = (tmpl: string, set: StatefulSet, ordinal: number): string =>
  `${tmpl}-${podName(set, ordinal)}`;

/** The template a revision holds (its data is `{"spec":{"template":{...,"$patch":"replace"}}}`). */
export function revisionTemplate(rev: ControllerRevision): PodTemplateSpec {
  const t = {
    ...((rev.data as { spec?: { template?: object } } | undefined)?.spec?.template ?? {}),
  };
  delete (t as Record<string, unknown>).$patch;
  return t;
}

export function newPod(set: StatefulSet, ordinal: number, template: PodTemplateSpec, revision: string): Pod {
  const name = podName(set, ordinal);
  const pod = podFromTemplate(template, set.metadata?.namespace ?? '', set, { name });
  const meta = pod.metadata!;
  meta.labels = {
    ...(meta.labels ?? {}),
    [POD_NAME_LABEL]: name,
    [POD_INDEX_LABEL]: String(ordinal),
    [REVISION_HASH_LABEL]: revision,
  };
  const spec = (pod.spec ??= { containers: [] });
  spec.hostname = name;
  if (set.spec?.serviceName) spec.subdomain = set.spec.serviceName;
  const claims = set.spec?.volumeClaimTemplates ?? [];
  if (claims.length) {
    const names = new Set(claims.map((c) => c.metadata?.name));
    spec.volumes = [
      ...claims.map((c) => ({
        name: c.metadata?.name ?? '',
        persistentVolumeClaim: { claimName: claimName(c.metadata?.name ?? '', set, ordinal) },
      })),
      ...(spec.volumes ?? []).filter((v) => !names.has(v.name)),
    ];
  }
  return pod;
}

/** The claims a pod of `ordinal` needs: the template's, named for the pod, labelled with the set's selector. */
export function claimsFor(set: StatefulSet, ordinal: number): PersistentVolumeClaim[] {
  const match = set.spec?.selector?.matchLabels ?? {};
  return (set.spec?.volumeClaimTemplates ?? []).map((t) => {
    const meta = t.metadata ?? {};
    return {
      apiVersion: 'v1',
      kind: 'PersistentVolumeClaim',
      metadata: {
        name: claimName(meta.name ?? '', set, ordinal),
        namespace: set.metadata?.namespace ?? '',
        labels: { ...(meta.labels ?? {}), ...match },
        ...(meta.annotations ? { annotations: meta.annotations } : {}),
      },
      spec: structuredClone(t.spec ?? {}),
    };
  });
}

export const podRevision = (p: Pod): string => p.metadata?.labels?.[REVISION_HASH_LABEL] ?? '';

/** Created: the API server gave it a phase. */
export const isCreated = (p: Pod): boolean => !!p.status?.phase;
export const isTerminating = (p: Pod): boolean => !!p.metadata?.deletionTimestamp;
export const isFinished = (p: Pod): boolean =>
  p.status?.phase === 'Failed' || p.status?.phase === 'Succeeded';
export const isRunningAndReady = (p: Pod): boolean => p.status?.phase === 'Running' && isReady(p);
export const isRunningAndAvailable = (p: Pod, minReadySeconds: number, now: number): boolean =>
  p.status?.phase === 'Running' && isAvailable(p, minReadySeconds, now);
/** Healthy for the ordered steps: running, ready and not on its way out. */
export const isHealthy = (p: Pod | undefined): boolean => !!p && isRunningAndReady(p) && !isTerminating(p);
