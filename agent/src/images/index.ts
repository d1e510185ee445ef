/**
 * The images domain, as other domains use it (containers, build, save/load). `daemon.ts` creates one
 * ImageService per engine (`RunningDaemon.images`) and hands it to whoever needs it.
 *
 * Contract:
 * - `resolve(refOrIdOrShortId)` → ImageRecord | undefined (`mustResolve` throws Docker's 404). A record has
 *   `id` (sha256 of the config), `config` (the OCI image config; `config.config` is Docker's container
 *   config), `diffIds` and `chainIds` (bottom layer first).
 * - `layerDirs(image)` → absolute, unpacked layer directories, TOP-MOST FIRST: pass them as overlayfs
 *   `lowerdir=` in that order. They are shared and read-only: never write into them. Whiteouts are already in
 *   overlay form (0/0 char devices, `trusted.overlay.opaque=y`).
 * - `createImage({ parent, layerTar, config, history, tags })` → ImageRecord: docker commit/build/load.
 *   `layerTar` is a Docker layer tar (plain/gzip/zstd, `.wh.` whiteouts); it is unpacked once and kept
 *   gzipped as a blob so the image can be pushed.
 * - `new ImageService(engine, (imageId) => containerIds[])`: which containers use an image, from the containers
 *   domain's records; `docker rmi` answers 409 for those and prune skips them.
 * - `importImage({ config, layers, tags })`: docker load; keeps the config bytes, hence the image ID.
 * - For save/load: `layerBlobs(image)` (compressed blob path, digest, media type, diff id per layer, bottom
 *   first), `configBlob(image)`, `buildManifest(image)`, `blobs` (content store), `tag(image, ref)`.
 * - Events published on engine.events: image pull, push, tag, untag, delete, create.
 */
export { ImageService, type CreateImageOptions, type UsageProvider } from './service.js';
export type { ImageRecord, ImageMeta } from './store.js';
export type { OciImageConfig, HistoryEntry, ImageManifest, Descriptor } from './oci.js';
export {
  parseReference,
  formatReference,
  familiarString,
  familiarName,
  type Reference,
} from './reference.js';
export { removeImage, pruneImages } from './remove.js';
