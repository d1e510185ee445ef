/** Builds the containers domain for a daemon: runtime, store, network lookup, then recovery. */
import path from 'node:path';
import type { Engine } from '../engine.js';
import type { Networking } from '../network/index.js';
import { createRuntime, runtimeOptionsFor } from '../runtime/index.js';
import type { VolumeStore } from '../volumes/store.js';
import { rewriteEtcFiles } from './etc-files.js';
import type { ImagePort } from './image-port.js';
import { createContainerDomain, type ContainerDomain } from './index.js';
import { isRunning } from './state.js';
import { ContainerStore } from './store.js';

export async function startContainerDomain(
  engine: Engine,
  o: { images: ImagePort; volumes: VolumeStore; networking: Networking },
): Promise<ContainerDomain> {
  const log = engine.log.child({ component: 'containers' });
  const rtOpts = runtimeOptionsFor(engine.config);
  const runtime = await createRuntime(rtOpts, { log: engine.log.child({ component: 'runtime' }) });
  const store = new ContainerStore(path.join(engine.config.dataRoot, 'containers'), log);
  const domain = await createContainerDomain({
    store,
    volumes: o.volumes,
    images: o.images,
    runtime,
    network: o.networking.sandboxes,
    events: engine.events,
    log,
    cgroupParent: rtOpts.cgroupParent,
  });
  o.networking.setContainerLookup({
    find(ref) {
      const r = store.find(ref);
      return r ? { id: r.id, name: r.name.slice(1), running: isRunning(r.state) } : undefined;
    },
    writeEtcFiles: (id, files) => rewriteEtcFiles(store.dir(id), files),
  });
  await domain.recover();
  return domain;
}
