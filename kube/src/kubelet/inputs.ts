/** What the caller resolves for a pod before the runtime sees it: the objects it references and node facts. */
import type { ConfigMap, Secret } from './types.js';

export interface PodInputs {
  /** ConfigMaps and Secrets of the pod's namespace that it references, by name (absent ones are missing). */
  configMaps: Record<string, ConfigMap>;
  secrets: Record<string, Secret>;
  /** The service environment variables (FOO_SERVICE_HOST, ...), enableServiceLinks already applied. */
  serviceEnv?: Record<string, string>;
  /** The engine volume behind each persistentVolumeClaim the pod uses, by claim name. */
  claims?: Record<string, { volume: string; readOnly?: boolean }>;
  /** A token for a projected serviceAccountToken source. */
  serviceAccountToken?: (audience: string | undefined, expirationSeconds: number) => Promise<string> | string;
  /** Cluster DNS for dnsPolicy ClusterFirst (resolv.conf of the sandbox). */
  clusterDns?: { servers: string[]; domain: string };
  /** Node allocatable, the default of resourceFieldRef limits that are not set (cores, bytes). */
  nodeAllocatable?: { cpu: number; memory: number; ephemeralStorage?: number };
}
