/**
 * What the builder needs from the rest of berthd, and nothing more: images (resolve, pull, create, tag) and
 * containers (one container per RUN step). daemon.ts adapts the images and containers domains to these.
 */
import type { Readable } from 'node:stream';
import type { BuildRunHostConfig, HealthConfig, ImageContainerConfig, ProgressMessage } from '@berth/common';

export type { HealthConfig, ImageContainerConfig };

export interface BuildImage {
  /** sha256:<hex> */
  id: string;
  config: ImageContainerConfig;
  /** Unpacked layer dirs, top-most first (overlay lowerdir order); empty for an image without layers. */
  layerDirs: string[];
  architecture: string;
  os: string;
  variant?: string;
  author?: string;
  /** The config's history and rootfs.diff_ids: what --cache-from matches steps against. */
  history: HistoryItemInput[];
  diffIds: string[];
}

export interface HistoryItemInput {
  created?: string;
  created_by?: string;
  empty_layer?: boolean;
  author?: string;
  comment?: string;
}

export interface CreateImageRequest {
  /** undefined: an image with no parent (FROM scratch) */
  parent: string | undefined;
  /** An uncompressed layer tar (with .wh. whiteouts) to add on top of the parent (a file or a stream), or
   *  none (config-only step). */
  layerTar: string | Readable | undefined;
  /** Without a tar: the diff id of a layer already stored on top of the parent (a --cache-from step). */
  existingLayer?: string;
  config: ImageContainerConfig;
  history: HistoryItemInput;
  author?: string;
  /** The step's container (RUN) for dockerd's `container` field. */
  container?: string;
  /** config of the step's container (dockerd's `container_config`), kept for `docker history` and inspect */
  containerConfig?: ImageContainerConfig;
}

export interface BuildImages {
  resolve(ref: string): Promise<BuildImage | undefined>;
  /** Pulls `ref` (the daemon's platform), writing progress lines as dockerd does. `registryConfig` is the
   *  client's X-Registry-Config header (credentials per registry), if any. */
  pull(
    ref: string,
    out: (m: ProgressMessage) => void,
    signal: AbortSignal,
    registryConfig?: string,
  ): Promise<BuildImage>;
  create(req: CreateImageRequest): Promise<string>;
  /** Points a reference at an image (`docker tag`); throws a 400-style error for an invalid name. */
  tag(id: string, ref: string): Promise<void>;
  /** Validates a reference without tagging (so a bad -t fails before the build runs). */
  checkTag(ref: string): void;
}

export interface StepContainerRequest {
  Image: string;
  Cmd: string[];
  Entrypoint: string[];
  Env: string[];
  User: string;
  WorkingDir: string;
  Labels: Record<string, string>;
  NetworkMode: string;
  Shell?: string[];
  /** --add-host, --shm-size, --memory, --cpu-* of the build */
  HostConfig: BuildRunHostConfig;
}

export interface BuildContainers {
  /** Creates the step's container; returns its id. */
  create(req: StepContainerRequest): Promise<string>;
  /** Starts it, relays its output, waits for it; returns the exit code. */
  run(
    id: string,
    onOutput: (stream: 'stdout' | 'stderr', chunk: Buffer) => void,
    signal: AbortSignal,
  ): Promise<number>;
  /** The container's changes as an uncompressed layer tar stream. */
  exportChanges(id: string): Promise<Readable>;
  remove(id: string): Promise<void>;
}

export interface BuildPorts {
  images: BuildImages;
  containers: BuildContainers | undefined;
}
