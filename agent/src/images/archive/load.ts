/**
 * `docker load`: stage the archive, validate every image in it, then hand each to the images domain
 * (ImageService.importImage: layers unpacked once, image recorded only when all are in place). A failed
 * layer leaves no image; what it had unpacked is collected at once (a crash: by GC at the next start).
 */
import { randomBytes } from 'node:crypto';
import fs, { promises as fsp } from 'node:fs';
import path from 'node:path';
import type { Readable } from 'node:stream';
import { LayerError } from '../../storage/extract.js';
import { TarFormatError } from '../../storage/tar-parse.js';
import { shortId, Throttle } from '../progress.js';
import { familiarString, formatReference } from '../reference.js';
import type { ImageService } from '../service.js';
import { loadCandidates } from './sources.js';
import { ArchiveError, StagedArchive } from './staging.js';

export interface LoadProgress {
  /** Per-layer progress ("Loading layer"); absent in quiet mode. */
  layer?(shortId: string, current: number, total: number): void;
  /** A line for the client ("Loaded image: busybox:latest"). */
  line(text: string): void;
}

/** Staging directories live under <data-root>/tmp so a crash leaves them where startup finds them. */
export function stagingRoot(dataRoot: string): string {
  return path.join(dataRoot, 'tmp');
}

/** Removes staging left by a crash mid-load (called once at daemon start). */
export async function removeStaleStaging(dataRoot: string): Promise<number> {
  const root = stagingRoot(dataRoot);
  let n = 0;
  for (const name of await fsp.readdir(root).catch(() => [] as string[])) {
    if (!name.startsWith('load-')) continue;
    await fsp.rm(path.join(root, name), { recursive: true, force: true });
    n++;
  }
  return n;
}

/** Counts bytes as a staged layer file is read, for the "Loading layer" line. */
function layerReader(file: string, diffId: string, progress: LoadProgress): () => Promise<Readable> {
  return async () => {
    const total = (await fsp.stat(file)).size;
    const src = fs.createReadStream(file, { highWaterMark: 1 << 20 });
    if (progress.layer) {
      const id = shortId(diffId);
      const throttle = new Throttle();
      let n = 0;
      src.on('data', (c) => {
        n += c.length;
        if (throttle.ready(n === total)) progress.layer!(id, n, total);
      });
    }
    return src;
  };
}

/**
 * Loads every image in the archive; returns their IDs. Throws ArchiveError (400) for a bad archive: all
 * images are validated before the first layer is unpacked, and a layer that fails leaves no image.
 */
export async function loadImages(
  svc: ImageService,
  src: Readable,
  progress: LoadProgress,
): Promise<string[]> {
  const root = stagingRoot(svc.engine.config.dataRoot);
  await fsp.mkdir(root, { recursive: true, mode: 0o700 });
  const dir = path.join(root, `load-${randomBytes(6).toString('hex')}`);
  await fsp.mkdir(dir, { mode: 0o700 });
  try {
    const t0 = Date.now();
    const staged = await StagedArchive.fromStream(src, dir);
    const candidates = await loadCandidates(staged);
    svc.log.debug('load: archive staged', { ms: Date.now() - t0, images: candidates.length });
    const ids: string[] = [];
    for (const c of candidates) {
      const before = c.tags.map((t) => svc.store.refTarget(formatReference(t)));
      let current = 0;
      let image;
      try {
        image = await svc.importImage({
          config: c.configRaw,
          layers: c.layers.map((l) => layerReader(l.file, l.diffId, progress)),
          tags: c.tags.map((t) => formatReference(t)),
          onLayer: (i) => (current = i),
          compress: false,
        });
      } catch (err) {
        // Layers unpacked before the failure belong to no image: collect them now rather than at the next start.
        await svc.gc();
        if (err instanceof LayerError || err instanceof TarFormatError)
          throw new ArchiveError(`invalid archive: layer ${c.layers[current].diffId}: ${err.message}`);
        throw err;
      }
      c.tags.forEach((tag, i) => {
        if (before[i] && before[i] !== image.id)
          progress.line(
            `The image ${familiarString(tag)} already exists, renaming the old one with ID ${before[i]} to empty string`,
          );
        progress.line(`Loaded image: ${familiarString(tag)}`);
      });
      if (c.tags.length === 0) progress.line(`Loaded image ID: ${image.id}`);
      ids.push(image.id);
    }
    svc.log.debug('load: done', { ms: Date.now() - t0, images: ids.length });
    return ids;
  } finally {
    await fsp.rm(dir, { recursive: true, force: true });
  }
}
