/** Engine API payloads the kubelet reads that common/src/api does not carry (yet): stats, logs options. */

/** One sample of GET /containers/{id}/stats?stream=false (cgroup v1 and v2 fields as dockerd names them). */
export interface ContainerStats {
  read: string;
  preread?: string;
  cpu_stats: CpuStats;
  precpu_stats: CpuStats;
  memory_stats: { usage?: number; limit?: number; max_usage?: number; stats?: Record<string, number> };
  pids_stats?: { current?: number; limit?: number };
  networks?: Record<string, { rx_bytes: number; tx_bytes: number; rx_errors?: number; tx_errors?: number }>;
}

export interface CpuStats {
  cpu_usage: { total_usage: number; usage_in_kernelmode?: number; usage_in_usermode?: number };
  system_cpu_usage?: number;
  online_cpus?: number;
}

/** Query of GET /containers/{id}/logs. */
export interface LogsQuery {
  follow?: boolean;
  stdout?: boolean;
  stderr?: boolean;
  /** Unix seconds (fractions allowed). */
  since?: number;
  until?: number;
  timestamps?: boolean;
  /** A count or "all". */
  tail?: string;
}

export interface AttachQuery {
  stream?: boolean;
  stdin?: boolean;
  stdout?: boolean;
  stderr?: boolean;
  logs?: boolean;
  detachKeys?: string;
}

/** The registry credentials berthd reads from X-Registry-Auth (base64url JSON). */
export interface RegistryAuth {
  username?: string;
  password?: string;
  auth?: string;
  serveraddress?: string;
  identitytoken?: string;
  registrytoken?: string;
}
