/**
 * Docker Engine API v1.44 payloads for containers and volumes, as the dashboard reads them. The
 * "containers" work adds the canonical types to common/src/api (containers.ts, volumes.ts); when they
 * land, these re-export them instead. Field names follow the spec exactly.
 */
export interface Port {
  IP?: string;
  PrivatePort: number;
  PublicPort?: number;
  Type: 'tcp' | 'udp' | 'sctp';
}

export interface MountPoint {
  Type: 'bind' | 'volume' | 'tmpfs' | 'npipe' | 'cluster';
  Name?: string;
  Source: string;
  Destination: string;
  Driver?: string;
  Mode: string;
  RW: boolean;
  Propagation: string;
}

export interface ContainerSummary {
  Id: string;
  Names: string[];
  Image: string;
  ImageID: string;
  Command: string;
  Created: number;
  Ports: Port[];
  SizeRw?: number;
  SizeRootFs?: number;
  Labels: Record<string, string>;
  State: string;
  Status: string;
  HostConfig: { NetworkMode: string };
  NetworkSettings: { Networks: Record<string, { IPAddress?: string; NetworkID?: string }> };
  Mounts: MountPoint[];
}

export interface ContainerState {
  Status: 'created' | 'running' | 'paused' | 'restarting' | 'removing' | 'exited' | 'dead';
  Running: boolean;
  Paused: boolean;
  Restarting: boolean;
  OOMKilled: boolean;
  Dead: boolean;
  Pid: number;
  ExitCode: number;
  Error: string;
  StartedAt: string;
  FinishedAt: string;
}

export interface ContainerInspect {
  Id: string;
  Created: string;
  Path: string;
  Args: string[];
  State: ContainerState;
  Image: string;
  Name: string;
  RestartCount: number;
  Config: { Image: string; Cmd?: string[] | null; Entrypoint?: string[] | null; Env?: string[] | null; Tty?: boolean; Labels?: Record<string, string> | null; WorkingDir?: string; User?: string };
  HostConfig: Record<string, unknown>;
  Mounts: MountPoint[];
  NetworkSettings: Record<string, unknown>;
}

/** One sample of GET /containers/{id}/stats. */
export interface ContainerStats {
  read: string;
  cpu_stats: { cpu_usage: { total_usage: number }; system_cpu_usage?: number; online_cpus?: number };
  precpu_stats: { cpu_usage: { total_usage: number }; system_cpu_usage?: number; online_cpus?: number };
  memory_stats: { usage?: number; limit?: number; stats?: Record<string, number> };
  networks?: Record<string, { rx_bytes: number; tx_bytes: number }>;
  blkio_stats?: { io_service_bytes_recursive?: { op: string; value: number }[] | null };
  pids_stats?: { current?: number };
}

/** Body of POST /containers/create (the parts the run dialog sets). */
export interface ContainerCreateRequest {
  Image: string;
  Cmd?: string[];
  Env?: string[];
  Tty?: boolean;
  OpenStdin?: boolean;
  Labels?: Record<string, string>;
  ExposedPorts?: Record<string, object>;
  HostConfig?: {
    PortBindings?: Record<string, { HostIp?: string; HostPort?: string }[]>;
    Binds?: string[];
    AutoRemove?: boolean;
    RestartPolicy?: { Name: string; MaximumRetryCount?: number };
  };
}

export interface ContainerCreateResponse {
  Id: string;
  Warnings: string[];
}

export interface Volume {
  Name: string;
  Driver: string;
  Mountpoint: string;
  CreatedAt?: string;
  Status?: Record<string, unknown>;
  Labels: Record<string, string> | null;
  Scope: 'local' | 'global';
  Options: Record<string, string> | null;
  UsageData?: { Size: number; RefCount: number } | null;
}

export interface VolumeListResponse {
  Volumes: Volume[] | null;
  Warnings: string[] | null;
}

export interface VolumePruneResponse {
  VolumesDeleted: string[] | null;
  SpaceReclaimed: number;
}

export interface ContainerPruneResponse {
  ContainersDeleted: string[] | null;
  SpaceReclaimed: number;
}

/** X-Docker-Container-Path-Stat (base64 JSON) on archive HEAD/GET. */
export interface PathStat {
  name: string;
  size: number;
  mode: number;
  mtime: string;
  linkTarget: string;
}
