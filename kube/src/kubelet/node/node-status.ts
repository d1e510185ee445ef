/**
 * The Node object as the kubelet registers and reports it (pkg/kubelet/nodestatus): labels, capacity and allocatable
 * (capacity less the default hard eviction thresholds, memory.available<100Mi and nodefs.available<10%), addresses,
 * nodeInfo, images, and the four conditions with the kubelet's reasons and messages. lastTransitionTime moves only
 * when a condition's status does; lastHeartbeatTime is the time of each report.
 */
import type { V1Node, V1NodeCondition } from '@kubernetes/client-node';
import { canonicalQuantity } from '@berth/common/quantity';
import { KUBE_VERSION } from '../../apiserver/version.js';
import type { Wire } from '../types.js';
import type { HostFacts } from './host.js';

export type Node = Wire<V1Node>;
export type NodeCondition = Wire<V1NodeCondition>;
export type NodeStatus = NonNullable<Node['status']>;

export const MAX_PODS = 110;
const MEMORY_EVICTION_HARD = 100 * 1024 * 1024;
const NODEFS_EVICTION_HARD = 0.1;

/** A byte count as a BinarySI Quantity prints it ("32762552Ki", "1Gi", or plain bytes). */
export function bytesQuantity(n: number): string {
  const b = Math.max(0, Math.floor(n));
  return b % 1024 === 0 && b > 0 ? canonicalQuantity(`${b / 1024}Ki`) : String(b);
}

export function nodeLabels(name: string, facts: HostFacts): Record<string, string> {
  return {
    'beta.kubernetes.io/arch': facts.architecture,
    'beta.kubernetes.io/os': 'linux',
    'kubernetes.io/arch': facts.architecture,
    'kubernetes.io/hostname': name,
    'kubernetes.io/os': 'linux',
    'node-role.kubernetes.io/control-plane': '',
  };
}

export function capacity(facts: HostFacts): Record<string, string> {
  const storageKi = Math.floor(facts.storageBytes / 1024);
  const memKi = Math.floor(facts.memoryBytes / 1024);
  return {
    cpu: String(facts.cpus),
    'ephemeral-storage': `${storageKi}Ki`,
    'hugepages-1Gi': '0',
    'hugepages-2Mi': '0',
    memory: `${memKi}Ki`,
    pods: String(MAX_PODS),
  };
}

export function allocatable(facts: HostFacts): Record<string, string> {
  const storage = Math.floor(facts.storageBytes / 1024) * 1024;
  const mem = Math.floor(facts.memoryBytes / 1024) * 1024;
  return {
    cpu: String(facts.cpus),
    'ephemeral-storage': bytesQuantity(storage - Math.floor(storage * NODEFS_EVICTION_HARD)),
    'hugepages-1Gi': '0',
    'hugepages-2Mi': '0',
    memory: bytesQuantity(mem - MEMORY_EVICTION_HARD),
    pods: String(MAX_PODS),
  };
}

/** What the node's conditions are computed from. */
export interface NodeHealth {
  /** undefined when the runtime answers; else why it does not. */
  runtimeError?: string;
  memoryPressure: boolean;
  diskPressure: boolean;
  pidPressure: boolean;
}

type Cond = Pick<NodeCondition, 'type' | 'status' | 'reason' | 'message'>;

export function desiredConditions(h: NodeHealth): Cond[] {
  const c = (type: string, on: boolean, yes: [string, string], no: [string, string]): Cond => ({
    type,
    status: on ? 'True' : 'False',
    reason: on ? yes[0] : no[0],
    message: on ? yes[1] : no[1],
  });
  return [
    c(
      'MemoryPressure',
      h.memoryPressure,
      ['KubeletHasInsufficientMemory', 'kubelet has insufficient memory available'],
      ['KubeletHasSufficientMemory', 'kubelet has sufficient memory available'],
    ),
    c(
      'DiskPressure',
      h.diskPressure,
      ['KubeletHasDiskPressure', 'kubelet has disk pressure'],
      ['KubeletHasNoDiskPressure', 'kubelet has no disk pressure'],
    ),
    c(
      'PIDPressure',
      h.pidPressure,
      ['KubeletHasInsufficientPID', 'kubelet has insufficient PID available'],
      ['KubeletHasSufficientPID', 'kubelet has sufficient PID available'],
    ),
    h.runtimeError === undefined
      ? { type: 'Ready', status: 'True', reason: 'KubeletReady', message: 'kubelet is posting ready status' }
      : {
          type: 'Ready',
          status: 'False',
          reason: 'KubeletNotReady',
          message: `container runtime is down: ${h.runtimeError}`,
        },
  ];
}

/** Conditions with their times: transitions keep or set lastTransitionTime, every report sets the heartbeat. */
export function withTimes(desired: Cond[], old: NodeCondition[] | undefined, now: string): NodeCondition[] {
  return desired.map((d) => {
    const prev = old?.find((o) => o.type === d.type);
    return {
      ...d,
      lastHeartbeatTime: now,
      lastTransitionTime:
        prev && prev.status === d.status && prev.lastTransitionTime ? prev.lastTransitionTime : now,
    };
  });
}

export interface NodeStatusInput {
  name: string;
  nodeIP: string;
  facts: HostFacts;
  health: NodeHealth;
  runtimeVersion: string;
  images: { names: string[]; sizeBytes: number }[];
  old?: NodeStatus;
  now: string;
}

export function nodeStatus(i: NodeStatusInput): NodeStatus {
  const old = i.old;
  return {
    ...(old ?? {}),
    addresses: [
      { type: 'InternalIP', address: i.nodeIP },
      { type: 'Hostname', address: i.name },
    ],
    allocatable: allocatable(i.facts),
    capacity: capacity(i.facts),
    conditions: withTimes(desiredConditions(i.health), old?.conditions, i.now),
    // No kubelet HTTP server: logs, exec and metrics go through the API server itself.
    daemonEndpoints: { kubeletEndpoint: { Port: 0 } },
    images: i.images,
    nodeInfo: {
      architecture: i.facts.architecture,
      bootID: i.facts.bootID,
      containerRuntimeVersion: i.runtimeVersion,
      kernelVersion: i.facts.kernelVersion,
      kubeProxyVersion: '',
      kubeletVersion: KUBE_VERSION.gitVersion,
      machineID: i.facts.machineID,
      operatingSystem: 'linux',
      osImage: i.facts.osImage,
      systemUUID: i.facts.systemUUID,
    },
    runtimeHandlers: [{ name: '', features: { recursiveReadOnlyMounts: false, userNamespaces: false } }],
  };
}

/** Whether a report would tell the API server something new (heartbeat times aside). */
export function statusChanged(a: NodeStatus | undefined, b: NodeStatus): boolean {
  if (!a) return true;
  const strip = (s: NodeStatus) =>
    JSON.stringify({
      ...s,
      conditions: (s.conditions ?? []).map((c) => ({ ...c, lastHeartbeatTime: undefined })),
    });
  return strip(a) !== strip(b);
}

/** Up to 50 images, largest first, as the kubelet's nodeStatusMaxImages. */
export function nodeImages(
  list: { RepoTags?: string[] | null; RepoDigests?: string[] | null; Size: number }[],
): { names: string[]; sizeBytes: number }[] {
  return list
    .map((i) => ({
      names: [...(i.RepoDigests ?? []), ...(i.RepoTags ?? [])].filter((n) => n && !n.includes('<none>')),
      sizeBytes: i.Size,
    }))
    .filter((i) => i.names.length > 0)
    .sort((a, b) => b.sizeBytes - a.sizeBytes)
    .slice(0, 50);
}
