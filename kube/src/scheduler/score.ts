/**
 * Scoring among the nodes that fit, with kube-scheduler's default plugins and weights: TaintToleration (3, fewer
 * untolerated PreferNoSchedule taints), NodeAffinity (2, preferred terms' weights), InterPodAffinity (2,
 * preferred pod affinity minus anti-affinity), NodeResourcesFit LeastAllocated (1) and BalancedAllocation (1).
 * Each plugin's scores are normalized to 0..100 across the nodes before weighting, as the framework does.
 */
import type { Pod } from '../controllers/framework/types.js';
import { fromStructured, matchesLabels, type StructuredSelector } from '../selectors/labels.js';
import { termMatches, tolerated, type Taint, type Toleration } from './filters.js';
import { add, allocatable, podRequests } from './resources.js';
import type { NodeInfo, Snapshot } from './snapshot.js';

type Plugin = { weight: number; reverse?: boolean; score(pod: Pod, ni: NodeInfo, snap: Snapshot): number };

const taintToleration: Plugin = {
  weight: 3,
  reverse: true,
  score: (pod, ni) =>
    ((ni.node.spec?.taints ?? []) as Taint[]).filter(
      (t) => t.effect === 'PreferNoSchedule' && !tolerated(pod.spec?.tolerations as Toleration[], t),
    ).length,
};

const nodeAffinity: Plugin = {
  weight: 2,
  score: (pod, ni) =>
    (pod.spec?.affinity?.nodeAffinity?.preferredDuringSchedulingIgnoredDuringExecution ?? [])
      .filter((p) => termMatches(ni.node, p.preference))
      .reduce((s, p) => s + p.weight, 0),
};

interface WeightedTerm {
  weight: number;
  podAffinityTerm: { labelSelector?: StructuredSelector; topologyKey: string; namespaces?: string[] };
}

const interPodAffinity: Plugin = {
  weight: 2,
  score: (pod, ni, snap) => {
    const ns = pod.metadata?.namespace ?? '';
    const score = (terms: WeightedTerm[] | undefined, sign: number) =>
      (terms ?? []).reduce((s, t) => {
        const v = ni.node.metadata?.labels?.[t.podAffinityTerm.topologyKey];
        if (v === undefined || !t.podAffinityTerm.labelSelector) return s;
        const sel = fromStructured(t.podAffinityTerm.labelSelector);
        const namespaces = t.podAffinityTerm.namespaces?.length ? t.podAffinityTerm.namespaces : [ns];
        const n = snap.boundPods.filter((o) => {
          const on = snap.nodes.find((x) => x.name === o.spec?.nodeName);
          return (
            on?.node.metadata?.labels?.[t.podAffinityTerm.topologyKey] === v &&
            namespaces.includes(o.metadata?.namespace ?? '') &&
            matchesLabels(sel, o.metadata?.labels)
          );
        }).length;
        return s + sign * t.weight * n;
      }, 0);
    const a = pod.spec?.affinity;
    return (
      score(a?.podAffinity?.preferredDuringSchedulingIgnoredDuringExecution as WeightedTerm[], 1) +
      score(a?.podAntiAffinity?.preferredDuringSchedulingIgnoredDuringExecution as WeightedTerm[], -1)
    );
  },
};

function fractions(pod: Pod, ni: NodeInfo): number[] {
  const alloc = allocatable(ni.node);
  const used = add(ni.requested, podRequests(pod));
  return ['cpu', 'memory'].map((r) => {
    const a = alloc.get(r) ?? 0;
    return a > 0 ? Math.min(1, (used.get(r) ?? 0) / a) : 1;
  });
}

const leastAllocated: Plugin = {
  weight: 1,
  score: (pod, ni) => {
    const f = fractions(pod, ni);
    return (f.reduce((s, x) => s + (1 - x) * 100, 0) / f.length) | 0;
  },
};

const balanced: Plugin = {
  weight: 1,
  score: (pod, ni) => {
    const [c, m] = fractions(pod, ni);
    return ((1 - Math.abs(c - m) / 2) * 100) | 0;
  },
};

const PLUGINS = [taintToleration, nodeAffinity, interPodAffinity, leastAllocated, balanced];

/** The best node (ties go to the first, which keeps placements stable). */
export function pickNode(pod: Pod, feasible: NodeInfo[], snap: Snapshot): NodeInfo {
  if (feasible.length === 1) return feasible[0];
  const totals = feasible.map(() => 0);
  for (const p of PLUGINS) {
    const raw = feasible.map((ni) => p.score(pod, ni, snap));
    const lo = Math.min(...raw);
    const hi = Math.max(...raw);
    raw.forEach((r, i) => {
      let n = hi === lo ? (p.reverse ? 100 : hi > 0 ? 100 : 0) : ((r - lo) / (hi - lo)) * 100;
      if (p.reverse && hi !== lo) n = 100 - n;
      totals[i] += n * p.weight;
    });
  }
  let best = 0;
  totals.forEach((t, i) => {
    if (t > totals[best]) best = i;
  });
  return feasible[best];
}
