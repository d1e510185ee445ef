/**
 * Where a DaemonSet's pods go (pkg/controller/daemon/util and NodeShouldRunDaemonPod): every node whose labels
 * and affinity the template accepts and whose NoSchedule/NoExecute taints it tolerates, with the tolerations every
 * daemon pod gets, pinned to its node by a `metadata.name` node affinity the scheduler honours.
 */
import { nodeMatchesPod, tolerated, type Taint } from '../../scheduler/filters.js';
import type { Node, Pod, PodTemplateSpec } from '../framework/types.js';

type Toleration = NonNullable<NonNullable<Pod['spec']>['tolerations']>[number];

/** AddOrUpdateDaemonPodTolerations: daemons survive the node conditions other pods are evicted for. */
export function daemonTolerations(template: PodTemplateSpec | undefined): Toleration[] {
  const t: Toleration[] = [
    { key: 'node.kubernetes.io/not-ready', operator: 'Exists', effect: 'NoExecute' },
    { key: 'node.kubernetes.io/unreachable', operator: 'Exists', effect: 'NoExecute' },
    { key: 'node.kubernetes.io/disk-pressure', operator: 'Exists', effect: 'NoSchedule' },
    { key: 'node.kubernetes.io/memory-pressure', operator: 'Exists', effect: 'NoSchedule' },
    { key: 'node.kubernetes.io/pid-pressure', operator: 'Exists', effect: 'NoSchedule' },
    { key: 'node.kubernetes.io/unschedulable', operator: 'Exists', effect: 'NoSchedule' },
  ];
  if (template?.spec?.hostNetwork)
    t.push({ key: 'node.kubernetes.io/network-unavailable', operator: 'Exists', effect: 'NoSchedule' });
  const have = [...(template?.spec?.tolerations ?? [])];
  for (const d of t)
    if (!have.some((h) => h.key === d.key && h.effect === d.effect && (h.operator ?? 'Equal') === d.operator))
      have.push(d);
  return have;
}

/** ReplaceDaemonSetPodNodeNameNodeAffinity: the pod's required node terms become "this node". */
export function pinToNode(pod: Pod, nodeName: string): void {
  const spec = (pod.spec ??= { containers: [] });
  const term = { matchFields: [{ key: 'metadata.name', operator: 'In', values: [nodeName] }] };
  const affinity = (spec.affinity ??= {});
  const na = (affinity.nodeAffinity ??= {});
  na.requiredDuringSchedulingIgnoredDuringExecution = { nodeSelectorTerms: [term] };
}

/** The node a daemon pod is for: its nodeName, else the node its affinity pins it to. */
export function targetNode(pod: Pod): string | undefined {
  if (pod.spec?.nodeName) return pod.spec.nodeName;
  const terms =
    pod.spec?.affinity?.nodeAffinity?.requiredDuringSchedulingIgnoredDuringExecution?.nodeSelectorTerms ?? [];
  for (const t of terms)
    for (const f of t.matchFields ?? [])
      if (f.key === 'metadata.name' && f.operator === 'In' && f.values?.length === 1) return f.values[0];
  return undefined;
}

/** [shouldRun, shouldContinueRunning] for a daemon of `template` on `node`. */
export function shouldRunOn(template: PodTemplateSpec | undefined, node: Node): [boolean, boolean] {
  const spec = template?.spec;
  if (spec?.nodeName && spec.nodeName !== node.metadata?.name) return [false, false];
  const pod: Pod = {
    metadata: {},
    spec: { ...(spec ?? { containers: [] }), tolerations: daemonTolerations(template) },
  };
  if (!nodeMatchesPod(pod, node)) return [false, false];
  const taints = (node.spec?.taints ?? []) as Taint[];
  const untolerated = taints.filter(
    (t) => (t.effect === 'NoSchedule' || t.effect === 'NoExecute') && !tolerated(pod.spec?.tolerations, t),
  );
  if (!untolerated.length) return [true, true];
  return [false, !untolerated.some((t) => t.effect === 'NoExecute')];
}
