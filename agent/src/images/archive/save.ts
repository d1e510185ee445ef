/**
 * `docker save`: images as the tar dockerd 25+ writes — docker-archive (manifest.json, repositories) and an
 * OCI image layout (index.json, oci-layout) over the same blobs/sha256/ files: configs, OCI manifests and
 * uncompressed layer tars named by their diff id. Names are resolved before the first byte is sent, so a
 * bad name is a clean 404; a failure mid-stream aborts the connection rather than ending a valid-looking tar.
 */
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import type { Readable, Writable } from 'node:stream';
import zlib from 'node:zlib';
import { notFound } from '../../errors.js';
import { TarStreamWriter, type TarEntry } from '../../util/tar-writer.js';
import { MT, type Descriptor } from '../oci.js';
import {
  familiarName,
  familiarString,
  formatReference,
  parseReference,
  type Reference,
} from '../reference.js';
import type { ImageService } from '../service.js';
import type { ImageRecord } from '../store.js';

export const OCI_LAYOUT = '{"imageLayoutVersion": "1.0.0"}';
export const OCI_LAYER_TAR = 'application/vnd.oci.image.layer.v1.tar';
export const ANNOTATION_IMAGE_NAME = 'io.containerd.image.name';
export const ANNOTATION_REF_NAME = 'org.opencontainers.image.ref.name';

interface SaveImage {
  image: ImageRecord;
  /** Tagged references to record for it (none when it was named by ID or digest). */
  refs: Reference[];
}

/** dockerd's rules: `repo` saves every tag of repo, `repo:tag` that tag, an ID or digest the image untagged. */
export function resolveSaveNames(svc: ImageService, names: string[]): SaveImage[] {
  const byId = new Map<string, SaveImage>();
  const add = (image: ImageRecord, ref?: Reference): void => {
    let e = byId.get(image.id);
    if (!e) byId.set(image.id, (e = { image, refs: [] }));
    if (ref && !e.refs.some((r) => formatReference(r) === formatReference(ref))) e.refs.push(ref);
  };
  for (const name of names) {
    let ref: Reference | undefined;
    try {
      // `sha256:<id>` would parse as repository "sha256" with a tag.
      ref = name.startsWith('sha256:') ? undefined : parseReference(name, undefined);
    } catch {
      ref = undefined;
    }
    if (ref && ref.tag !== undefined && ref.digest === undefined) {
      const id = svc.store.refTarget(formatReference(ref));
      const img = id ? svc.store.get(id) : undefined;
      if (!img) throw notFound(`No such image: ${name}`);
      add(img, ref);
      continue;
    }
    if (ref && ref.tag === undefined && ref.digest === undefined) {
      const repo = formatReference(ref);
      let found = false;
      for (const [full, id] of svc.store.allRefs()) {
        const r = parseReference(full, undefined);
        const img = svc.store.get(id);
        if (
          img &&
          r.tag !== undefined &&
          r.digest === undefined &&
          formatReference({ domain: r.domain, path: r.path }) === repo
        ) {
          add(img, r);
          found = true;
        }
      }
      if (found) continue;
    }
    // An ID, a short ID or name@digest: the image, untagged.
    add(svc.mustResolve(name));
  }
  return [...byId.values()];
}

/** The uncompressed layer tar from a stored blob (gzip, zstd or plain, told apart by magic bytes). */
export function openDiff(blobPath: string): Readable {
  const head = Buffer.alloc(4);
  const fd = fs.openSync(blobPath, 'r');
  let n: number;
  try {
    n = fs.readSync(fd, head, 0, 4, 0);
  } finally {
    fs.closeSync(fd);
  }
  const src = fs.createReadStream(blobPath, { highWaterMark: 1 << 20 });
  if (n >= 2 && head[0] === 0x1f && head[1] === 0x8b)
    return src.pipe(zlib.createGunzip({ chunkSize: 256 * 1024 }));
  if (n === 4 && head.readUInt32LE(0) === 0xfd2fb528) {
    src.destroy();
    const child = spawn('zstd', ['-d', '-c', '-q', blobPath], { stdio: ['ignore', 'pipe', 'ignore'] });
    return child.stdout;
  }
  return src;
}

/** Size of a layer's tar, checking its sha256 against the diff id on the way (so we never save a rotten layer). */
async function measureDiff(blobPath: string, diffId: string): Promise<number> {
  const h = createHash('sha256');
  let size = 0;
  for await (const c of openDiff(blobPath)) {
    h.update(c as Buffer);
    size += (c as Buffer).length;
  }
  const got = 'sha256:' + h.digest('hex');
  if (got !== diffId)
    throw new Error(`layer ${diffId} is corrupt in the store (its content hashes to ${got})`);
  return size;
}

interface LayerFile {
  diffId: string;
  blobPath: string;
  size: number;
  mtime: number;
}

type Blob = { kind: 'bytes'; data: Buffer; mtime: number } | { kind: 'layer'; layer: LayerFile };

export interface SavePlan {
  blobs: Map<string, Blob>;
  manifestJson: Buffer;
  repositories?: Buffer;
  indexJson: Buffer;
  images: ImageRecord[];
}

function createdSeconds(img: ImageRecord): number {
  const t = img.config.created ? Date.parse(img.config.created) / 1000 : 0;
  return Number.isFinite(t) && t > 0 ? Math.floor(t) : 0;
}

/** Everything except the layer bytes themselves, computed up front (layer sizes need one read of each). */
export async function planSave(svc: ImageService, items: SaveImage[]): Promise<SavePlan> {
  const blobs = new Map<string, Blob>();
  const sizes = new Map<string, number>();
  const manifest: Array<{ Config: string; RepoTags: string[]; Layers: string[]; Parent?: string }> = [];
  const repositories: Record<string, Record<string, string>> = {};
  const index: Descriptor[] = [];
  const saved = new Set(items.map((i) => i.image.id));
  for (const { image, refs } of items) {
    const mtime = createdSeconds(image);
    const config = await svc.configBlob(image);
    blobs.set(image.id, { kind: 'bytes', data: config, mtime });
    const layers: Descriptor[] = [];
    for (const l of svc.layerBlobs(image)) {
      let size = sizes.get(l.diffId);
      if (size === undefined) {
        // A plain-tar blob is its own diff (digest = diff id, verified when stored): no need to read it.
        size = l.digest === l.diffId ? l.size : await measureDiff(l.path, l.diffId);
        sizes.set(l.diffId, size);
        blobs.set(l.diffId, { kind: 'layer', layer: { diffId: l.diffId, blobPath: l.path, size, mtime } });
      }
      layers.push({ mediaType: OCI_LAYER_TAR, digest: l.diffId, size });
    }
    const platform = {
      architecture: image.config.architecture,
      os: image.config.os,
      ...(image.config.variant ? { variant: image.config.variant } : {}),
    };
    const ociManifest = Buffer.from(
      JSON.stringify({
        schemaVersion: 2,
        mediaType: MT.ociManifest,
        config: { mediaType: MT.ociConfig, digest: image.id, size: config.length, platform },
        layers,
      }),
    );
    const mDigest = 'sha256:' + createHash('sha256').update(ociManifest).digest('hex');
    blobs.set(mDigest, { kind: 'bytes', data: ociManifest, mtime: 0 });
    const desc = { mediaType: MT.ociManifest, digest: mDigest, size: ociManifest.length, platform };
    if (refs.length === 0) index.push(desc);
    for (const r of refs) {
      index.push({
        ...desc,
        annotations: { [ANNOTATION_IMAGE_NAME]: formatReference(r), [ANNOTATION_REF_NAME]: r.tag! },
      });
      const top = image.diffIds[image.diffIds.length - 1];
      if (top) (repositories[familiarName(r)] ??= {})[r.tag!] = top.slice(7);
    }
    const entry: (typeof manifest)[number] = {
      Config: `blobs/sha256/${image.id.slice(7)}`,
      RepoTags: refs.map((r) => familiarString(r)),
      Layers: image.diffIds.map((d) => `blobs/sha256/${d.slice(7)}`),
    };
    if (image.meta.parent && saved.has(image.meta.parent)) entry.Parent = image.meta.parent;
    manifest.push(entry);
  }
  return {
    blobs,
    manifestJson: Buffer.from(JSON.stringify(manifest) + '\n'),
    ...(Object.keys(repositories).length
      ? { repositories: Buffer.from(JSON.stringify(repositories) + '\n') }
      : {}),
    indexJson: Buffer.from(JSON.stringify({ schemaVersion: 2, mediaType: MT.ociIndex, manifests: index })),
    images: items.map((i) => i.image),
  };
}

/** Streams the archive in the order dockerd's directory walk produces (blobs first, then the index files). */
export async function writeSaveArchive(plan: SavePlan, out: Writable): Promise<void> {
  const tar = new TarStreamWriter(out);
  const meta = (name: string, type: TarEntry['type'] = 'file', mtime = 0): TarEntry => ({
    name,
    type,
    mode: type === 'dir' ? 0o755 : 0o644,
    mtime,
  });
  await tar.add(meta('blobs', 'dir'));
  await tar.add(meta('blobs/sha256', 'dir'));
  for (const digest of [...plan.blobs.keys()].sort()) {
    const b = plan.blobs.get(digest)!;
    const name = `blobs/sha256/${digest.slice(7)}`;
    if (b.kind === 'bytes') await tar.add(meta(name, 'file', b.mtime), b.data);
    else
      await tar.add({ ...meta(name, 'file', b.layer.mtime), size: b.layer.size }, openDiff(b.layer.blobPath));
  }
  await tar.add(meta('index.json'), plan.indexJson);
  await tar.add(meta('manifest.json'), plan.manifestJson);
  await tar.add(meta('oci-layout'), Buffer.from(OCI_LAYOUT));
  if (plan.repositories) await tar.add(meta('repositories'), plan.repositories);
  await tar.finish();
}
