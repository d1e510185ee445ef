/** What berthd persists per container (containers/<id>/config.json): validated config plus state. */
import type { ContainerConfig, Health, HostConfig } from '@berth/common';
import type { StateRecord } from './state.js';

export interface MountRecord {
  type: 'bind' | 'volume' | 'tmpfs';
  /** Volume name (volumes only). */
  name?: string;
  /** Host path: the bind source or the volume's _data; empty for tmpfs. */
  source: string;
  destination: string;
  rw: boolean;
  /** As given by the user (`ro,z`...) for inspect's Mode. */
  mode: string;
  propagation: string;
  /** Created with the container from an image VOLUME or `-v /path`: removed with `docker rm -v`. */
  anonymous?: boolean;
  /** Volume: do not copy image content into an empty volume. */
  noCopy?: boolean;
  tmpfs?: { size?: number; mode?: number; options: string[] };
  /** Bind options such as nosuid/noexec. */
  options?: string[];
}

export interface ContainerRecord {
  id: string;
  /** With the leading slash, as dockerd keeps it. */
  name: string;
  created: string;
  path: string;
  args: string[];
  /** Config after merging the image's config (what inspect shows). */
  config: ContainerConfig;
  hostConfig: HostConfig;
  /** Image id (sha256:...). */
  image: string;
  mounts: MountRecord[];
  state: StateRecord;
  restartCount: number;
  health?: Health;
  /** Set while the first start has not copied image content into fresh named volumes yet. */
  volumesPrimed?: boolean;
}
