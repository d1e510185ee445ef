/**
 * The engine's domains, composed in one place, and their API routes: images, volumes, networks, containers,
 * build. Each domain gets what it needs at construction: the container records are loaded first, so images,
 * volumes and networks receive their views of them (containers/usage.ts) instead of a setter called later.
 * daemon.ts loads this module only once its sockets listen, so Node compiles it (and the builtins it pulls in:
 * child processes, zlib, dgram...) while /_ping already answers; under TCG that is most of berthd's start.
 */
import path from 'node:path';
import type { Router } from './api/router.js';
import { registerBuildRoutes } from './api/routes/build.js';
import { registerContainerApi } from './api/routes/container-api.js';
import { registerImageArchiveRoutes } from './api/routes/images-archive.js';
import { registerImageRegistryRoutes } from './api/routes/images-registry.js';
import { registerImageRoutes } from './api/routes/images.js';
import { registerNetworkRoutes } from './api/routes/networks.js';
import { registerSwarmRoutes } from './api/routes/swarm.js';
import { registerSystemRoutes } from './api/routes/system.js';
import { registerVolumeRoutes } from './api/routes/volumes.js';
import { imagePort } from './containers/image-adapter.js';
import { createContainerDomain, type ContainerDomain } from './containers/index.js';
import { ContainerStore } from './containers/store.js';
import { imageUsers, networkLookup, volumeUsers } from './containers/usage.js';
import type { Engine } from './engine.js';
import { buildContainersFrom } from './image-builder/container-adapter.js';
import { buildImagesFrom } from './image-builder/image-adapter.js';
import { BuildService } from './image-builder/service.js';
import { ImageService } from './images/index.js';
import { imageSystemProvider } from './images/views.js';
import { createNetworking, type Networking } from './network/index.js';
import { createRuntime, runtimeOptionsFor } from './runtime/index.js';
import { VolumeStore } from './volumes/store.js';

export interface EngineServices {
  images: ImageService;
  containers: ContainerDomain;
  networking: Networking;
}

/** Loads and reconciles every domain, then registers its routes on `router`. On failure, undoes what it set up. */
export async function startServices(engine: Engine, router: Router): Promise<EngineServices> {
  const { config, log } = engine;
  const containerLog = log.child({ component: 'containers' });
  const records = new ContainerStore(path.join(config.dataRoot, 'containers'), containerLog);
  await records.load();
  const images = new ImageService(engine, imageUsers(records));
  await images.init();
  const volumes = new VolumeStore(
    path.join(config.dataRoot, 'volumes'),
    engine.events,
    log.child({ component: 'volumes' }),
    volumeUsers(records),
  );
  await volumes.load();
  registerImageArchiveRoutes(router, images);
  registerImageRoutes(router, images);
  registerImageRegistryRoutes(router, images);
  const networking = await createNetworking({
    dataRoot: config.dataRoot,
    log,
    events: engine.events,
    containers: networkLookup(records),
    ...(config.bip ? { bip: config.bip } : {}),
    ...(config.defaultAddressPools ? { defaultAddressPools: config.defaultAddressPools } : {}),
    ...(config.dns?.length ? { dns: config.dns } : {}),
    ...(config.mtu ? { mtu: config.mtu } : {}),
  });
  try {
    registerNetworkRoutes(router, networking);
    registerVolumeRoutes(router, volumes);
    const rtOpts = runtimeOptionsFor(config);
    const runtime = await createRuntime(rtOpts, { log: log.child({ component: 'runtime' }) });
    // Reconciles with the runtime and the network domain: re-adopts live containers, applies restart policies.
    const containers = await createContainerDomain({
      store: records,
      volumes,
      images: imagePort(images),
      runtime,
      network: networking.sandboxes,
      events: engine.events,
      log: containerLog,
      cgroupParent: rtOpts.cgroupParent,
    });
    registerContainerApi(router, containers);
    registerSystemRoutes(router, engine, [imageSystemProvider(images), containers.systemProvider]);
    registerSwarmRoutes(router);
    const build = new BuildService(
      { images: buildImagesFrom(images), containers: buildContainersFrom(containers) },
      config.dataRoot,
      log.child({ component: 'build' }),
    );
    await build.init();
    registerBuildRoutes(router, build);
    return { images, containers, networking };
  } catch (err) {
    await networking.close().catch(() => undefined);
    throw err;
  }
}
