/**
 * DefaultPreemption's decision (the PostFilter): on nodes that failed only for reasons preemption can fix
 * (Unschedulable, not UnschedulableAndUnresolvable), remove every pod of lower priority, check that the pod then
 * fits, and give back as many of them as still leaves room, highest priority first. The remaining ones are the
 * victims. The texts are kube-scheduler's: "No preemption victims found for incoming pod", "Preemption is not
 * helpful for scheduling", "not eligible due to preemptionPolicy=Never.".
 */
import type { Pod } from '../controllers/framework/types.js';
import type { FilterStatus } from './filters.js';
import { nodeInfo, without, type NodeInfo, type Snapshot } from './snapshot.js';

export const priorityOf = (p: Pod): number => p.spec?.priority ?? 0;

export type PreemptionResult = { node: NodeInfo; victims: Pod[] } | { message: string };

/** FitError's text: "0/N nodes are available: <histogram>." */
export function fitMessage(total: number, statuses: Map<string, FilterStatus>, preFilter?: string): string {
  let msg = `0/${total} nodes are available:`;
  if (preFilter) return `${msg} ${preFilter}.`;
  const hist = new Map<string, number>();
  for (const s of statuses.values()) for (const r of s.reasons) hist.set(r, (hist.get(r) ?? 0) + 1);
  const parts = [...hist].map(([r, n]) => `${n} ${r}`).sort();
  if (parts.length) msg += ` ${parts.join(', ')}.`;
  return msg;
}

export function preempt(
  pod: Pod,
  snap: Snapshot,
  statuses: Map<string, FilterStatus>,
  /** The filters: undefined when the pod fits the node. */
  check: (pod: Pod, ni: NodeInfo) => FilterStatus | undefined,
): PreemptionResult {
  if (pod.spec?.preemptionPolicy === 'Never')
    return { message: 'not eligible due to preemptionPolicy=Never.' };
  const nominated = pod.status?.nominatedNodeName;
  if (nominated) {
    const ni = snap.nodes.find((n) => n.name === nominated);
    if (ni?.pods.some((p) => p.metadata?.deletionTimestamp && priorityOf(p) < priorityOf(pod)))
      return { message: 'not eligible due to a terminating pod on the nominated node.' };
  }
  const total = snap.nodes.length;
  const outcome = new Map<string, FilterStatus>();
  const candidates: Array<{ node: NodeInfo; victims: Pod[] }> = [];
  for (const ni of snap.nodes) {
    const s = statuses.get(ni.name);
    if (!s || s.code !== 'Unschedulable') continue;
    const lower = ni.pods.filter((p) => priorityOf(p) < priorityOf(pod));
    if (!lower.length) {
      outcome.set(ni.name, {
        code: 'UnschedulableAndUnresolvable',
        reasons: ['No preemption victims found for incoming pod'],
      });
      continue;
    }
    const stripped = without(ni, new Set(lower.map((p) => p.metadata?.uid ?? '')));
    const still = check(pod, stripped);
    if (still) {
      outcome.set(ni.name, still);
      continue;
    }
    // Reprieve: higher-priority (then older) victims first.
    const order = [...lower].sort(
      (a, b) =>
        priorityOf(b) - priorityOf(a) ||
        Date.parse(a.status?.startTime ?? a.metadata?.creationTimestamp ?? '') -
          Date.parse(b.status?.startTime ?? b.metadata?.creationTimestamp ?? ''),
    );
    const victims: Pod[] = [];
    let kept = stripped;
    for (const p of order) {
      const trial = nodeInfo(ni.node, [...kept.pods, p]);
      if (check(pod, trial)) victims.push(p);
      else kept = trial;
    }
    if (victims.length) candidates.push({ node: ni, victims });
    else
      outcome.set(ni.name, {
        code: 'UnschedulableAndUnresolvable',
        reasons: ['No preemption victims found for incoming pod'],
      });
  }
  if (candidates.length) {
    // Fewest victims, then the lowest highest-priority victim.
    candidates.sort(
      (a, b) =>
        Math.max(...a.victims.map(priorityOf)) - Math.max(...b.victims.map(priorityOf)) ||
        a.victims.length - b.victims.length,
    );
    return candidates[0];
  }
  for (const ni of snap.nodes)
    if (!outcome.has(ni.name))
      outcome.set(ni.name, {
        code: 'UnschedulableAndUnresolvable',
        reasons: ['Preemption is not helpful for scheduling'],
      });
  return { message: fitMessage(total, outcome) };
}
