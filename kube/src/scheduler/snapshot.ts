/**
 * The cluster as one scheduling cycle sees it: each node with the pods bound to it (and those the scheduler has
 * bound but the watch has not shown yet: "assumed"), what they request and the host ports they hold. Finished
 * pods hold nothing; terminating ones still do until they are gone.
 */
import type { Namespace, Node, Pod } from '../controllers/framework/types.js';
import { add, podRequests, type Resources } from './resources.js';

export interface HostPort {
  ip: string;
  protocol: string;
  port: number;
}

export interface NodeInfo {
  node: Node;
  name: string;
  pods: Pod[];
  requested: Resources;
  ports: HostPort[];
}

export interface Snapshot {
  nodes: NodeInfo[];
  /** Every pod bound to some node (pod affinity looks across the topology domain). */
  boundPods: Pod[];
  namespaceLabels(name: string): Record<string, string> | undefined;
}

export function hostPorts(pod: Pod): HostPort[] {
  const out: HostPort[] = [];
  for (const c of [...(pod.spec?.initContainers ?? []), ...(pod.spec?.containers ?? [])])
    for (const p of c.ports ?? [])
      if (p.hostPort && p.hostPort > 0)
        out.push({ ip: p.hostIP || '0.0.0.0', protocol: p.protocol || 'TCP', port: p.hostPort });
  return out;
}

const holds = (p: Pod) => p.status?.phase !== 'Succeeded' && p.status?.phase !== 'Failed';

export function nodeInfo(node: Node, pods: Pod[]): NodeInfo {
  const ni: NodeInfo = { node, name: node.metadata?.name ?? '', pods: [], requested: new Map(), ports: [] };
  for (const p of pods) addPod(ni, p);
  return ni;
}

export function addPod(ni: NodeInfo, p: Pod): void {
  if (!holds(p)) return;
  ni.pods.push(p);
  ni.requested = add(ni.requested, podRequests(p));
  ni.ports.push(...hostPorts(p));
}

/** A copy without `victims` (preemption's what-if). */
export function without(ni: NodeInfo, victims: Set<string>): NodeInfo {
  return nodeInfo(
    ni.node,
    ni.pods.filter((p) => !victims.has(p.metadata?.uid ?? '')),
  );
}

export function buildSnapshot(nodes: Node[], pods: Pod[], namespaces: Namespace[]): Snapshot {
  const byNode = new Map<string, Pod[]>();
  const bound: Pod[] = [];
  for (const p of pods) {
    const n = p.spec?.nodeName;
    if (!n || !holds(p)) continue;
    bound.push(p);
    let l = byNode.get(n);
    if (!l) byNode.set(n, (l = []));
    l.push(p);
  }
  const nsLabels = new Map(namespaces.map((n) => [n.metadata?.name ?? '', n.metadata?.labels ?? {}]));
  return {
    nodes: nodes.map((n) => nodeInfo(n, byNode.get(n.metadata?.name ?? '') ?? [])),
    boundPods: bound,
    namespaceLabels: (name) => nsLabels.get(name),
  };
}
