/**
 * What other domains read of the containers' records, given to them at construction (services.ts): the
 * store is loaded before any domain is built, so nobody needs a setter that wires the containers in later.
 */
import type { ContainerLookup } from '../network/types.js';
import { isRunning } from './state.js';
import type { ContainerStore } from './store.js';

/** Ids of containers created from `imageId` (images/ refuses to delete an image in use). */
export const imageUsers =
  (store: ContainerStore) =>
  (imageId: string): string[] =>
    store
      .all()
      .filter((r) => r.image === imageId)
      .map((r) => r.id);

/** Ids of containers that mount a named volume, running or not (volumes/ refuses rm, prune skips it). */
export const volumeUsers =
  (store: ContainerStore) =>
  (name: string): string[] =>
    store
      .all()
      .filter((r) => r.mounts.some((m) => m.type === 'volume' && m.name === name))
      .map((r) => r.id);

/** The network domain's view: names for links and `container:` modes, /etc rewrites after connect. */
export function networkLookup(store: ContainerStore): ContainerLookup {
  return {
    find(ref) {
      const r = store.find(ref);
      return r ? { id: r.id, name: r.name.slice(1), running: isRunning(r.state) } : undefined;
    },
    writeEtcFiles: (id, files) => store.files(id).rewriteEtc(files),
  };
}
