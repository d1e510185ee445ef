/**
 * Image records and references. An image exists once images/meta/<id>.json is written (after its config blob
 * and all its layers are committed); references live in images/repositories.json. Both are atomic writes.
 */
import { promises as fsp } from 'node:fs';
import path from 'node:path';
import { readJson, removeStaleTemps, writeJsonAtomic } from '../util/fs-atomic.js';
import type { BlobStore } from './blobs.js';
import { chainIds } from '../storage/layers.js';
import { parseConfig, type OciImageConfig } from './oci.js';
import { formatReference, parseReference, type Reference } from './reference.js';

export interface ImageMeta {
  id: string;
  /** Local parent (docker commit/build); registries do not carry it. */
  parent?: string;
  lastTagTime?: string;
  /** Full references by digest: docker.io/library/busybox@sha256:… */
  repoDigests: string[];
  /** Manifests we hold as blobs for this image (pushed as-is to keep the digest). */
  manifests: { digest: string; mediaType: string; size: number }[];
  /** When this engine stored the image. */
  added: string;
}

export interface ImageRecord {
  /** sha256 of the config blob */
  id: string;
  config: OciImageConfig;
  /** The raw config blob size */
  configSize: number;
  diffIds: string[];
  chainIds: string[];
  meta: ImageMeta;
}

interface RepositoriesFile {
  refs: Record<string, string>;
}

const HEX = /^[a-f0-9]+$/;

export class ImageStore {
  private images = new Map<string, ImageRecord>();
  private refs = new Map<string, string>();
  private readonly dir: string;
  private readonly metaDir: string;
  private readonly reposFile: string;

  constructor(
    dataRoot: string,
    private readonly blobs: BlobStore,
  ) {
    this.dir = path.join(dataRoot, 'images');
    this.metaDir = path.join(this.dir, 'meta');
    this.reposFile = path.join(this.dir, 'repositories.json');
  }

  async load(): Promise<{ removedTemps: number; dropped: number }> {
    await fsp.mkdir(this.metaDir, { recursive: true, mode: 0o700 });
    const removedTemps = (await removeStaleTemps(this.dir)) + (await removeStaleTemps(this.metaDir));
    let dropped = 0;
    for (const name of await fsp.readdir(this.metaDir)) {
      if (!name.endsWith('.json')) continue;
      try {
        const meta = JSON.parse(await fsp.readFile(path.join(this.metaDir, name), 'utf8')) as ImageMeta;
        const raw = await this.blobs.read(meta.id);
        this.images.set(meta.id, this.record(meta, raw));
      } catch {
        await fsp.rm(path.join(this.metaDir, name), { force: true });
        dropped++;
      }
    }
    const repos = await readJson<RepositoriesFile>(this.reposFile, { refs: {} });
    for (const [ref, id] of Object.entries(repos.refs ?? {})) if (this.images.has(id)) this.refs.set(ref, id);
    return { removedTemps, dropped };
  }

  private record(meta: ImageMeta, raw: Buffer): ImageRecord {
    const config = parseConfig(raw);
    return {
      id: meta.id,
      config,
      configSize: raw.length,
      diffIds: config.rootfs.diff_ids,
      chainIds: chainIds(config.rootfs.diff_ids),
      meta,
    };
  }

  get(id: string): ImageRecord | undefined {
    return this.images.get(id);
  }

  all(): ImageRecord[] {
    return [...this.images.values()];
  }

  /** Full reference strings pointing at `id` (tags and digests). */
  refsOf(id: string): string[] {
    const out: string[] = [];
    for (const [r, i] of this.refs) if (i === id) out.push(r);
    return out.sort();
  }

  tagsOf(id: string): string[] {
    return this.refsOf(id).filter((r) => !r.includes('@'));
  }

  refTarget(full: string): string | undefined {
    return this.refs.get(full);
  }

  allRefs(): [string, string][] {
    return [...this.refs.entries()];
  }

  /**
   * Finds an image by reference (`busybox`, `busybox:1`, `x@sha256:…`), full ID, or unique ID prefix,
   * in dockerd's order. Returns undefined when nothing matches.
   */
  resolve(input: string): ImageRecord | undefined {
    const s = input.trim();
    const idHex = s.startsWith('sha256:') ? s.slice(7) : s;
    if (HEX.test(idHex) && idHex.length === 64) return this.images.get('sha256:' + idHex);
    let ref: Reference | undefined;
    try {
      ref = parseReference(s);
    } catch {
      ref = undefined;
    }
    if (ref) {
      if (ref.digest) {
        const byDigest = this.refs.get(
          formatReference({ domain: ref.domain, path: ref.path, digest: ref.digest }),
        );
        if (byDigest) return this.images.get(byDigest);
        for (const img of this.images.values()) {
          if (
            img.meta.repoDigests.includes(
              formatReference({ domain: ref.domain, path: ref.path, digest: ref.digest }),
            )
          )
            return img;
        }
      } else {
        const id = this.refs.get(formatReference(ref));
        if (id) return this.images.get(id);
      }
    }
    if (HEX.test(idHex) && idHex.length > 0 && (s.startsWith('sha256:') || !s.includes(':'))) {
      const matches = [...this.images.keys()].filter((k) => k.startsWith('sha256:' + idHex));
      if (matches.length === 1) return this.images.get(matches[0]);
    }
    return undefined;
  }

  /** Records an image whose config blob and layers are already committed. */
  async add(
    configDigest: string,
    meta: Omit<ImageMeta, 'id' | 'added'> & { added?: string },
  ): Promise<{ image: ImageRecord; isNew: boolean }> {
    const existing = this.images.get(configDigest);
    if (existing) {
      const merged: ImageMeta = {
        ...existing.meta,
        repoDigests: [...new Set([...existing.meta.repoDigests, ...meta.repoDigests])],
        manifests: mergeManifests(existing.meta.manifests, meta.manifests),
      };
      if (meta.parent && !merged.parent) merged.parent = meta.parent;
      await this.writeMeta(merged);
      existing.meta = merged;
      return { image: existing, isNew: false };
    }
    const full: ImageMeta = { ...meta, id: configDigest, added: meta.added ?? new Date().toISOString() };
    const raw = await this.blobs.read(configDigest);
    const rec = this.record(full, raw);
    await this.writeMeta(full);
    this.images.set(configDigest, rec);
    return { image: rec, isNew: true };
  }

  async updateMeta(id: string, patch: Partial<ImageMeta>): Promise<void> {
    const img = this.images.get(id);
    if (!img) return;
    img.meta = { ...img.meta, ...patch };
    await this.writeMeta(img.meta);
  }

  private async writeMeta(meta: ImageMeta): Promise<void> {
    await writeJsonAtomic(path.join(this.metaDir, meta.id.slice(7) + '.json'), meta);
  }

  /** Points `full` (a normalized reference string) at `id`; returns the image it pointed at before. */
  async setRef(full: string, id: string): Promise<string | undefined> {
    const before = this.refs.get(full);
    this.refs.set(full, id);
    if (before !== id) await this.saveRefs();
    return before;
  }

  async deleteRef(full: string): Promise<boolean> {
    if (!this.refs.delete(full)) return false;
    await this.saveRefs();
    return true;
  }

  async remove(id: string): Promise<void> {
    let changed = false;
    for (const [r, i] of [...this.refs]) {
      if (i === id) {
        this.refs.delete(r);
        changed = true;
      }
    }
    if (changed) await this.saveRefs();
    this.images.delete(id);
    await fsp.rm(path.join(this.metaDir, id.slice(7) + '.json'), { force: true });
  }

  private saving: Promise<void> = Promise.resolve();

  /** Writes are chained so an older snapshot never lands after a newer one. */
  private saveRefs(): Promise<void> {
    const run = async () => {
      const refs: Record<string, string> = {};
      for (const [k, v] of [...this.refs.entries()].sort()) refs[k] = v;
      await writeJsonAtomic(this.reposFile, { refs } satisfies RepositoriesFile);
    };
    this.saving = this.saving.then(run, run);
    return this.saving;
  }
}

function mergeManifests(a: ImageMeta['manifests'], b: ImageMeta['manifests']): ImageMeta['manifests'] {
  const out = [...a];
  for (const m of b) if (!out.some((x) => x.digest === m.digest)) out.push(m);
  return out;
}
