/**
 * The scheduler's filter plugins, in kube-scheduler's default order, each with its reason text and its code
 * (Unschedulable: preemption might help; UnschedulableAndUnresolvable: it cannot): NodeUnschedulable,
 * TaintToleration, NodeAffinity (nodeSelector and required node affinity), NodePorts, NodeResourcesFit and
 * InterPodAffinity. A node fails at its first failing plugin, as in the framework.
 */
import type { Node, Pod } from '../controllers/framework/types.js';
import { fromStructured, matchesLabels, type StructuredSelector } from '../selectors/labels.js';
import { allocatable, isScalarOrStandard, podRequests } from './resources.js';
import { hostPorts, type NodeInfo, type Snapshot } from './snapshot.js';

export type Code = 'Unschedulable' | 'UnschedulableAndUnresolvable';

export interface FilterStatus {
  code: Code;
  reasons: string[];
}

export type Filter = (pod: Pod, ni: NodeInfo, snap: Snapshot) => FilterStatus | undefined;

const fail = (code: Code, ...reasons: string[]): FilterStatus => ({ code, reasons });

export interface Taint {
  key: string;
  value?: string;
  effect: string;
}

export interface Toleration {
  key?: string;
  operator?: string;
  value?: string;
  effect?: string;
  tolerationSeconds?: number;
}

/** v1.Toleration.ToleratesTaint. */
export function tolerates(t: Toleration, taint: Taint): boolean {
  if (t.effect && t.effect !== taint.effect) return false;
  if (t.key && t.key !== taint.key) return false;
  if (t.operator === 'Exists') return true;
  if (!t.key) return false;
  return (t.value ?? '') === (taint.value ?? '');
}

export const tolerated = (tols: Toleration[] | undefined, taint: Taint): boolean =>
  (tols ?? []).some((t) => tolerates(t, taint));

const unschedulable: Filter = (pod, ni) => {
  if (!ni.node.spec?.unschedulable) return undefined;
  const taint = { key: 'node.kubernetes.io/unschedulable', effect: 'NoSchedule' };
  if (tolerated(pod.spec?.tolerations, taint)) return undefined;
  return fail('UnschedulableAndUnresolvable', 'node(s) were unschedulable');
};

const taints: Filter = (pod, ni) => {
  for (const taint of (ni.node.spec?.taints ?? []) as Taint[]) {
    if (taint.effect !== 'NoSchedule' && taint.effect !== 'NoExecute') continue;
    if (tolerated(pod.spec?.tolerations, taint)) continue;
    return fail(
      'UnschedulableAndUnresolvable',
      `node(s) had untolerated taint {${taint.key}: ${taint.value ?? ''}}`,
    );
  }
  return undefined;
};

interface SelectorRequirement {
  key: string;
  operator: string;
  values?: string[];
}

function requirementMatches(r: SelectorRequirement, value: string | undefined): boolean {
  const has = value !== undefined;
  switch (r.operator) {
    case 'In':
      return has && (r.values ?? []).includes(value);
    case 'NotIn':
      return !has || !(r.values ?? []).includes(value);
    case 'Exists':
      return has;
    case 'DoesNotExist':
      return !has;
    case 'Gt':
    case 'Lt': {
      if (!has || !/^-?\d+$/.test(value) || !/^-?\d+$/.test(r.values?.[0] ?? '')) return false;
      const n = Number(value);
      const bound = Number(r.values![0]);
      return r.operator === 'Gt' ? n > bound : n < bound;
    }
    default:
      return false;
  }
}

export interface NodeSelectorTerm {
  matchExpressions?: SelectorRequirement[];
  matchFields?: SelectorRequirement[];
}

/** A term matches when all its requirements do; a term without any matches nothing. */
export function termMatches(node: Node, term: NodeSelectorTerm): boolean {
  const exprs = term.matchExpressions ?? [];
  const fields = term.matchFields ?? [];
  if (!exprs.length && !fields.length) return false;
  const labels = node.metadata?.labels ?? {};
  return (
    exprs.every((r) => requirementMatches(r, Object.hasOwn(labels, r.key) ? labels[r.key] : undefined)) &&
    fields.every((r) => r.key === 'metadata.name' && requirementMatches(r, node.metadata?.name))
  );
}

/** nodeSelector and requiredDuringSchedulingIgnoredDuringExecution (terms ORed). */
export function nodeMatchesPod(pod: Pod, node: Node): boolean {
  const labels = node.metadata?.labels ?? {};
  for (const [k, v] of Object.entries(pod.spec?.nodeSelector ?? {})) if (labels[k] !== v) return false;
  const req = pod.spec?.affinity?.nodeAffinity?.requiredDuringSchedulingIgnoredDuringExecution;
  if (!req) return true;
  return (req.nodeSelectorTerms as NodeSelectorTerm[]).some((t) => termMatches(node, t));
}

const nodeAffinity: Filter = (pod, ni) =>
  nodeMatchesPod(pod, ni.node)
    ? undefined
    : fail('UnschedulableAndUnresolvable', "node(s) didn't match Pod's node affinity/selector");

const ports: Filter = (pod, ni) => {
  const want = hostPorts(pod);
  if (!want.length) return undefined;
  const clash = want.some((w) =>
    ni.ports.some(
      (u) =>
        u.port === w.port &&
        u.protocol === w.protocol &&
        (u.ip === w.ip || u.ip === '0.0.0.0' || w.ip === '0.0.0.0'),
    ),
  );
  return clash
    ? fail('Unschedulable', "node(s) didn't have free ports for the requested pod ports")
    : undefined;
};

const STANDARD = ['cpu', 'memory', 'ephemeral-storage'];

/** NodeResourcesFit: the pod count, then each requested resource against allocatable minus requested. */
export const fit: Filter = (pod, ni) => {
  const alloc = allocatable(ni.node);
  const reasons: string[] = [];
  if (ni.pods.length + 1 > (alloc.get('pods') ?? 0)) reasons.push('Too many pods');
  const req = podRequests(pod);
  const names = [
    ...STANDARD,
    ...[...req.keys()].filter((k) => !STANDARD.includes(k) && isScalarOrStandard(k)).sort(),
  ];
  for (const r of names) {
    const want = req.get(r) ?? 0;
    if (want <= 0) continue;
    if (want > (alloc.get(r) ?? 0) - (ni.requested.get(r) ?? 0)) reasons.push(`Insufficient ${r}`);
  }
  return reasons.length ? fail('Unschedulable', ...reasons) : undefined;
};

interface AffinityTerm {
  labelSelector?: StructuredSelector;
  namespaceSelector?: StructuredSelector;
  namespaces?: string[];
  topologyKey: string;
}

/** Whether `other` is selected by `term` written in a pod of namespace `ownerNs`. */
function termSelects(term: AffinityTerm, ownerNs: string, other: Pod, snap: Snapshot): boolean {
  const ns = other.metadata?.namespace ?? '';
  const byList = term.namespaces?.includes(ns) ?? false;
  let nsOk: boolean;
  if (!term.namespaces?.length && !term.namespaceSelector) nsOk = ns === ownerNs;
  else
    nsOk =
      byList ||
      (term.namespaceSelector !== undefined &&
        matchesLabels(fromStructured(term.namespaceSelector), snap.namespaceLabels(ns)));
  if (!nsOk || !term.labelSelector) return false;
  return matchesLabels(fromStructured(term.labelSelector), other.metadata?.labels);
}

function sameDomain(snap: Snapshot, node: Node, otherNode: string | undefined, key: string): boolean {
  const v = node.metadata?.labels?.[key];
  if (v === undefined || !otherNode) return false;
  const other = snap.nodes.find((n) => n.name === otherNode)?.node;
  return other?.metadata?.labels?.[key] === v;
}

export const interPodAffinity: Filter = (pod, ni, snap) => {
  const ns = pod.metadata?.namespace ?? '';
  const uid = pod.metadata?.uid;
  const others = snap.boundPods.filter((p) => p.metadata?.uid !== uid);
  const affinity = (pod.spec?.affinity?.podAffinity?.requiredDuringSchedulingIgnoredDuringExecution ??
    []) as AffinityTerm[];
  if (affinity.length) {
    const satisfied = affinity.every((t) =>
      others.some(
        (o) => termSelects(t, ns, o, snap) && sameDomain(snap, ni.node, o.spec?.nodeName, t.topologyKey),
      ),
    );
    if (!satisfied) {
      // The first pod of a group that selects itself may go anywhere its terms' topology keys exist.
      const noneAnywhere = affinity.every((t) => !others.some((o) => termSelects(t, ns, o, snap)));
      const selectsItself = affinity.every((t) => termSelects(t, ns, pod, snap));
      const hasKeys = affinity.every((t) => ni.node.metadata?.labels?.[t.topologyKey] !== undefined);
      if (!(noneAnywhere && selectsItself && hasKeys))
        return fail('UnschedulableAndUnresolvable', "node(s) didn't match pod affinity rules");
    }
  }
  const anti = (pod.spec?.affinity?.podAntiAffinity?.requiredDuringSchedulingIgnoredDuringExecution ??
    []) as AffinityTerm[];
  for (const t of anti)
    if (
      others.some(
        (o) => termSelects(t, ns, o, snap) && sameDomain(snap, ni.node, o.spec?.nodeName, t.topologyKey),
      )
    )
      return fail('Unschedulable', "node(s) didn't match pod anti-affinity rules");
  for (const o of others) {
    const terms = (o.spec?.affinity?.podAntiAffinity?.requiredDuringSchedulingIgnoredDuringExecution ??
      []) as AffinityTerm[];
    for (const t of terms)
      if (
        termSelects(t, o.metadata?.namespace ?? '', pod, snap) &&
        sameDomain(snap, ni.node, o.spec?.nodeName, t.topologyKey)
      )
        return fail('Unschedulable', "node(s) didn't satisfy existing pods anti-affinity rules");
  }
  return undefined;
};

/** The filters before volumes, and after. */
export const NODE_FILTERS: Filter[] = [unschedulable, taints, nodeAffinity, ports, fit];
export const POD_FILTERS: Filter[] = [interPodAffinity];

export function runFilters(
  filters: Filter[],
  pod: Pod,
  ni: NodeInfo,
  snap: Snapshot,
): FilterStatus | undefined {
  for (const f of filters) {
    const s = f(pod, ni, snap);
    if (s) return s;
  }
  return undefined;
}
