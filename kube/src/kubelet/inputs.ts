/** What the caller resolves for a pod before the runtime sees it: the objects it references and node facts. */
import type { ConfigMap, Secret } from './types.js';

/**
 * A claim's storage: a berthd named volume (the local-path provisioner's), a host path (a hostPath or local PV),
 * or why there is none yet (the kubelet's `error processing PVC` reason).
 */
export type ClaimSource =
  | { volume: string; readOnly?: boolean }
  | { path: string; pathType?: string; readOnly?: boolean }
  | { problem: string };

export interface PodInputs {
  /** ConfigMaps and Secrets of the pod's namespace that it references, by name (absent ones are missing). */
  configMaps: Record<string, ConfigMap>;
  secrets: Record<string, Secret>;
  /** The service environment variables (FOO_SERVICE_HOST, ...), enableServiceLinks already applied. */
  serviceEnv?: Record<string, string>;
  /** What is behind each persistentVolumeClaim the pod uses, by claim name. */
  claims?: Record<string, ClaimSource>;
  /** A token for a projected serviceAccountToken source. */
  serviceAccountToken?: (audience: string | undefined, expirationSeconds: number) => Promise<string> | string;
  /** Cluster DNS for dnsPolicy ClusterFirst (resolv.conf of the sandbox). */
  clusterDns?: { servers: string[]; domain: string };
  /** Node allocatable, the default of resourceFieldRef limits that are not set (cores, bytes). */
  nodeAllocatable?: { cpu: number; memory: number; ephemeralStorage?: number };
}
