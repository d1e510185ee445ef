/** The services the containers domain is built on, injected by daemon.ts. */
import type { EventBus } from '../events/bus.js';
import type { Logger } from '../log.js';
import type { ContainerNetworking } from '../network/types.js';
import type { Runtime } from '../runtime/types.js';
import type { VolumeStore } from '../volumes/store.js';
import type { ImagePort } from './image-port.js';
import type { ContainerStore } from './store.js';

export interface ContainerDeps {
  store: ContainerStore;
  volumes: VolumeStore;
  images: ImagePort;
  runtime: Runtime;
  /** Net namespace, endpoints, ports and /etc/hosts + resolv.conf contents (network/). */
  network: ContainerNetworking;
  events: EventBus;
  log: Logger;
  /** Per-daemon cgroup parent (tests run several daemons side by side). */
  cgroupParent: string;
}
