/**
 * The engine's domains, composed, and their API routes: images, volumes, networks, containers, build. daemon.ts
 * loads this module only once its sockets listen, so Node compiles it (and the builtins it pulls in: child
 * processes, zlib, dgram...) while /_ping already answers; under TCG that is most of berthd's start.
 */
import path from 'node:path';
import type { Router } from './api/router.js';
import { registerNetworkRoutes } from './api/routes/networks.js';
import { registerSystemRoutes } from './api/routes/system.js';
import { registerVolumeRoutes } from './api/routes/volumes.js';
import { VolumeStore } from './volumes/store.js';
import { registerImageRoutes } from './api/routes/images.js';
import { imageSystemProvider } from './images/views.js';
import { registerImageRegistryRoutes } from './api/routes/images-registry.js';
import { registerImageArchiveRoutes } from './api/routes/images-archive.js';
import { registerBuildRoutes } from './api/routes/build.js';
import { buildImagesFrom } from './image-builder/image-adapter.js';
import { BuildService } from './image-builder/service.js';
import { buildContainersFrom } from './image-builder/container-adapter.js';
import { ImageService } from './images/index.js';
import { registerContainerApi } from './api/routes/container-api.js';
import { imagePort } from './containers/image-adapter.js';
import type { ContainerDomain } from './containers/index.js';
import { startContainerDomain } from './containers/wire.js';
import type { Engine } from './engine.js';
import { createNetworking, type Networking } from './network/index.js';

export interface EngineServices {
  images: ImageService;
  containers: ContainerDomain;
  networking: Networking;
}

/** Loads and reconciles every domain, then registers its routes on `router`. On failure, undoes what it set up. */
export async function startServices(engine: Engine, router: Router): Promise<EngineServices> {
  const { config, log } = engine;
  const images = new ImageService(engine);
  await images.init();
  const volumes = new VolumeStore(
    path.join(config.dataRoot, 'volumes'),
    engine.events,
    log.child({ component: 'volumes' }),
  );
  await volumes.load();
  registerImageArchiveRoutes(router, images);
  registerImageRoutes(router, images);
  registerImageRegistryRoutes(router, images);
  const networking = await createNetworking({
    dataRoot: config.dataRoot,
    log,
    events: engine.events,
    ...(config.bip ? { bip: config.bip } : {}),
    ...(config.defaultAddressPools ? { defaultAddressPools: config.defaultAddressPools } : {}),
    ...(config.dns?.length ? { dns: config.dns } : {}),
    ...(config.mtu ? { mtu: config.mtu } : {}),
  });
  try {
    registerNetworkRoutes(router, networking);
    registerVolumeRoutes(router, volumes);
    // Reconciles with the runtime and the network domain: re-adopts live containers, applies restart policies.
    const containers = await startContainerDomain(engine, { images: imagePort(images), volumes, networking });
    images.setUsage((id) => containers.containers.imageUsers(id));
    registerContainerApi(router, containers);
    registerSystemRoutes(router, engine, [imageSystemProvider(images), containers.systemProvider]);
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
