/** The containers domain as the API routes see it (composed in containers/index.ts). */
import type { ContainerInspect, ContainerSummary } from '@berth/common';
import type { Runtime } from '../runtime/types.js';
import type { ExecStore } from './exec.js';
import type { ImagePort } from './image-port.js';
import type { ContainerRecord } from './record.js';
import type { RootfsViews } from './rootfs-view.js';
import type { Containers } from './service.js';
import type { ContainerStore } from './store.js';

export interface ContainerApi {
  containers: Containers;
  store: ContainerStore;
  images: ImagePort;
  runtime: Runtime;
  execs: ExecStore;
  /** The container's filesystem for cp/export (running: /proc/<pid>/root; stopped: a temporary overlay). */
  views: RootfsViews;
  inspect(ref: string, size: boolean): Promise<ContainerInspect>;
  sizes(rec: ContainerRecord): Promise<{ rw: number; rootfs: number }>;
  summary(rec: ContainerRecord, sizes?: { rw: number; rootfs: number }): ContainerSummary;
}
