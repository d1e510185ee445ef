/** Registers every container-related route module (lifecycle, io, stats, files, exec). */
import type { ContainerApi } from '../../containers/api-port.js';
import type { Router } from '../router.js';
import { registerContainerRoutes } from './containers.js';
import { registerContainerFileRoutes } from './containers-files.js';
import { registerContainerIoRoutes } from './containers-io.js';
import { registerContainerStatsRoutes } from './containers-stats.js';
import { registerExecRoutes } from './exec.js';

export function registerContainerApi(r: Router, c: ContainerApi): void {
  registerContainerRoutes(r, c);
  registerContainerIoRoutes(r, c);
  registerContainerStatsRoutes(r, c);
  registerContainerFileRoutes(r, c);
  registerExecRoutes(r, c);
}
