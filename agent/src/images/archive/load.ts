/**
 * `docker load`: stage the archive, validate every image in it, unpack the layers we do not hold yet, and
 * only then record images and tags. A failure before that point removes the layers and blobs this load
 * created, so a bad archive leaves nothing behind (a crash leaves unreferenced layers that startup GC removes).
 */
import { randomBytes } from 'node:crypto';
import fs, { promises as fsp } from 'node:fs';
import path from 'node:path';
import type { Readable } from 'node:stream';
import { LayerError } from '../../storage/extract.js';
import { chainIds, type LayerMeta } from '../../storage/layers.js';
import { TarFormatError } from '../../storage/tar-parse.js';
import { unpackLayer } from '../../storage/unpack.js';
import { shortId, Throttle } from '../progress.js';
import { familiarString, formatReference } from '../reference.js';
import type { ImageService } from '../service.js';
import { loadCandidates, type LayerSource } from './sources.js';
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

interface Created {
  chains: string[];
  blobs: string[];
  /** Staged files already renamed into the blob store → where they are now. */
  moved: Map<string, string>;
}

/**
 * Unpacks one layer from its staged file. The staged file is byte for byte the layer blob (plain tar as
 * docker save writes it, or the compressed OCI blob), so it is renamed into the blob store, not copied and
 * not recompressed: load costs one write of the archive plus the extraction.
 */
async function importLayer(svc: ImageService, l: LayerSource, chainId: string, parent: string | undefined, created: Created, progress: LoadProgress): Promise<void> {
  if (svc.layers.has(chainId)) return;
  // The same blob may back two chains (a layer repeated at another depth): after the first rename it lives in the store.
  const src = created.moved.get(l.file) ?? l.file;
  const tmp = await svc.layers.createTemp(chainId);
  const total = (await fsp.stat(src)).size;
  const short = shortId(l.diffId);
  const throttle = new Throttle();
  try {
    const res = await unpackLayer(fs.createReadStream(src, { highWaterMark: 1 << 20 }), {
      dir: tmp.diffDir,
      diffId: l.diffId,
      ...(l.digest !== undefined ? { digest: l.digest } : {}),
      ...(l.size !== undefined ? { size: l.size } : {}),
      onProgress: (n) => {
        if (progress.layer && throttle.ready(n === total)) progress.layer(short, n, total);
      },
    });
    if (!svc.blobs.has(res.blob.digest)) {
      await fsp.chmod(src, 0o644);
      try {
        await svc.blobs.commit(src, res.blob.digest);
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'EXDEV') throw err;
        const t = svc.blobs.tempPath();
        await fsp.copyFile(src, t);
        await svc.blobs.commit(t, res.blob.digest);
      }
      created.moved.set(l.file, svc.blobs.path(res.blob.digest));
      created.blobs.push(res.blob.digest);
    }
    const meta: LayerMeta = { chainId, diffId: res.diffId, size: res.size, blob: res.blob, created: new Date().toISOString() };
    if (parent) meta.parent = parent;
    const committed = await svc.layers.commit(tmp, meta);
    if (committed === meta) created.chains.push(chainId);
  } catch (err) {
    await svc.layers.discard(tmp);
    if (err instanceof LayerError || err instanceof TarFormatError) throw new ArchiveError(`invalid archive: layer ${l.diffId}: ${err.message}`);
    throw err;
  }
}

/** Removes what a failed load created, unless something else came to reference it meanwhile. */
async function rollback(svc: ImageService, created: Created): Promise<void> {
  const usedChains = new Set(svc.store.all().flatMap((i) => i.chainIds));
  const usedBlobs = new Set<string>();
  for (const l of svc.layers.all()) if (l.blob && (usedChains.has(l.chainId) || !created.chains.includes(l.chainId))) usedBlobs.add(l.blob.digest);
  for (const c of created.chains) if (!usedChains.has(c)) await svc.layers.remove(c);
  for (const b of created.blobs) if (!usedBlobs.has(b)) await svc.blobs.remove(b);
}

/** Loads every image in the archive; returns their IDs. Throws ArchiveError (400) for a bad archive. */
export async function loadImages(svc: ImageService, src: Readable, progress: LoadProgress): Promise<string[]> {
  const root = stagingRoot(svc.engine.config.dataRoot);
  await fsp.mkdir(root, { recursive: true, mode: 0o700 });
  const dir = path.join(root, `load-${randomBytes(6).toString('hex')}`);
  await fsp.mkdir(dir, { mode: 0o700 });
  const created: Created = { chains: [], blobs: [], moved: new Map() };
  const unpins: Array<() => void> = [];
  try {
    const t0 = Date.now();
    const staged = await StagedArchive.fromStream(src, dir);
    const candidates = await loadCandidates(staged);
    svc.log.debug('load: archive staged', { ms: Date.now() - t0, images: candidates.length });
    for (const c of candidates) {
      const chains = chainIds(c.config.rootfs.diff_ids);
      for (const [i, l] of c.layers.entries()) {
        await importLayer(svc, l, chains[i]!, chains[i - 1], created, progress);
        const blob = svc.layers.get(chains[i]!)?.blob?.digest;
        unpins.push(svc.pin([chains[i]!, ...(blob ? [blob] : [])]));
      }
    }
    svc.log.debug('load: layers in place', { ms: Date.now() - t0, layers: created.chains.length });
    // Every layer is in place: now the images and their tags.
    const ids: string[] = [];
    for (const c of candidates) {
      const id = await svc.blobs.put(c.configRaw);
      const { image } = await svc.store.add(id, { repoDigests: [], manifests: [] });
      svc.engine.events.publish('image', 'load', id, {});
      for (const tag of c.tags) {
        const before = svc.store.refTarget(formatReference(tag));
        if (before && before !== id) progress.line(`The image ${familiarString(tag)} already exists, renaming the old one with ID ${before} to empty string`);
        await svc.tag(image, tag);
        progress.line(`Loaded image: ${familiarString(tag)}`);
      }
      if (c.tags.length === 0) progress.line(`Loaded image ID: ${id}`);
      ids.push(id);
    }
    return ids;
  } catch (err) {
    for (const u of unpins.splice(0)) u();
    await rollback(svc, created);
    throw err;
  } finally {
    for (const u of unpins) u();
    await fsp.rm(dir, { recursive: true, force: true });
  }
}
