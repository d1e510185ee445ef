/**
 * The control loops beside the API server: the scheduler and the controller manager, each over its own in-process
 * client identity and one shared set of informers, started once the API server is ready and stopped before it.
 */
import { CONTROLLER_MANAGER, type RunningApiServer } from './apiserver/index.js';
import { ControllerManager } from './controllers/manager.js';
import type { VolumeEngine } from './controllers/volume/local-path.js';
import type { Logger } from './log.js';
import { Scheduler, SCHEDULER_NAME } from './scheduler/index.js';

export const SCHEDULER_IDENTITY = {
  user: { name: 'system:kube-scheduler', groups: ['system:masters', 'system:authenticated'] },
  fieldManager: SCHEDULER_NAME,
};

export interface ControlLoops {
  controllers: ControllerManager;
  scheduler: Scheduler;
  stop(): Promise<void>;
}

export async function startControlLoops(
  api: RunningApiServer,
  log: Logger,
  engine?: VolumeEngine,
): Promise<ControlLoops> {
  const controllers = new ControllerManager({
    client: api.client(CONTROLLER_MANAGER),
    log: log.child({ component: 'controller-manager' }),
    rootCAPem: api.pki.caPem,
    ...(engine ? { engine } : {}),
    quotaStorage: { registry: api.registry, hub: api.hub, store: api.store },
  });
  const scheduler = new Scheduler({
    client: api.client(SCHEDULER_IDENTITY),
    informers: controllers.informers,
    log: log.child({ component: 'scheduler' }),
  });
  await controllers.start();
  await scheduler.start();
  log.info('scheduler and controllers running', { controllers: controllers.controllers.map((c) => c.name) });
  return {
    controllers,
    scheduler,
    stop: async () => {
      await scheduler.stop();
      controllers.stop();
    },
  };
}
