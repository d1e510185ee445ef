/** Docker Engine API v1.44 payloads: POST /build (classic builder) and POST /build/prune. */

/** The query of POST /build, parsed (names as the Engine API). */
export interface BuildOptions {
  /** path of the Dockerfile inside the context (the CLI puts an outside -f file in the tar under a random name) */
  dockerfile: string;
  tags: string[];
  /** --build-arg; a null value means "take it from the client's environment" and was resolved by the CLI */
  buildArgs: Record<string, string | null>;
  target: string;
  labels: Record<string, string>;
  noCache: boolean;
  pull: boolean;
  /** remove intermediate containers after a successful build (default true) */
  rm: boolean;
  /** always remove intermediate containers, even after a failure */
  forceRm: boolean;
  networkMode: string;
  platform: string;
  /** -q: print only the image id */
  quiet: boolean;
  cacheFrom: string[];
  /** resources and hosts for RUN containers (--add-host, --shm-size, --memory, --cpu-*) */
  runHostConfig: BuildRunHostConfig;
}

export interface BuildRunHostConfig {
  ExtraHosts?: string[];
  ShmSize?: number;
  Memory?: number;
  MemorySwap?: number;
  CpuShares?: number;
  CpusetCpus?: string;
  CpuPeriod?: number;
  CpuQuota?: number;
}

/** The aux message of a successful build (`docker build --iidfile`). */
export interface BuildResult {
  ID: string;
}

export interface BuildCachePruneResponse {
  CachesDeleted: string[] | null;
  SpaceReclaimed: number;
}
