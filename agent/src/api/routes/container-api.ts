/** Registers every container-related route module, each with the domain's port it needs. */
import type { ContainerDomain } from '../../containers/index.js';
import type { Router } from '../router.js';
import { registerContainerRoutes } from './containers.js';
import { registerContainerFileRoutes } from './containers-files.js';
import { registerContainerIoRoutes } from './containers-io.js';
import { registerContainerStatsRoutes } from './containers-stats.js';
import { registerExecRoutes } from './exec.js';

export function registerContainerApi(r: Router, c: ContainerDomain): void {
  registerContainerRoutes(r, c);
  registerContainerIoRoutes(r, c.io);
  registerContainerStatsRoutes(r, c.io);
  registerContainerFileRoutes(r, c.files);
  registerExecRoutes(r, c.execs);
}
