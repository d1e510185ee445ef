/**
 * The images domain: owns the blob store, the layer store and image records; everything else (routes,
 * containers, save/load) goes through this service.
 */
import type { Readable } from 'node:stream';
import { promises as fsp } from 'node:fs';
import { badParameter, notFound } from '../errors.js';
import type { Engine } from '../engine.js';
import type { Logger } from '../log.js';
import { chainIds as toChainIds, LayerStore, type LayerMeta } from '../storage/layers.js';
import { unpackLayer } from '../storage/unpack.js';
import { BlobStore } from './blobs.js';
import { LayerFetcher } from './layer-fetch.js';
import { daemonPlatform, MT, parseConfig, type HistoryEntry, type OciImageConfig } from './oci.js';
import {
  familiarName,
  familiarString,
  formatReference,
  parseReference,
  type Reference,
} from './reference.js';
import { ImageStore, type ImageRecord } from './store.js';

/** Releases pinned keys; `add` pins more under the same release. */
export type Unpin = (() => void) & { add(keys: string[]): void };

/** Which containers use an image (the containers domain installs this). */
export type UsageProvider = (imageId: string) => string[];

export interface CreateImageOptions {
  /** Image (record, ID or reference) the new layer goes on top of. */
  parent?: ImageRecord | string;
  /** A layer tar stream (plain, gzip or zstd; Docker `.wh.` whiteouts). Omit for a config-only image. */
  layerTar?: Readable;
  /** Instead of a tar: the diff id of a layer the store already holds on top of the parent's chain (build
   *  --cache-from restoring a step of a cache source image). */
  existingLayer?: string;
  /** Container config and other config fields for the new image (merged over the parent's). */
  config?: Partial<OciImageConfig>;
  /** History entry for this step (created_by etc.). */
  history?: HistoryEntry;
  /** References to point at the new image (`name:tag`). */
  tags?: string[];
  /** Gzip a plain layer into the blob store (default true). Build steps pass false: like dockerd, the layer
   *  stays uncompressed (pushable as a plain tar), which keeps a cold build from paying for compression. */
  compress?: boolean;
}

export class ImageService {
  readonly blobs: BlobStore;
  readonly layers: LayerStore;
  readonly store: ImageStore;
  readonly fetcher: LayerFetcher;
  readonly log: Logger;
  private pins = new Map<string, number>();

  constructor(
    readonly engine: Engine,
    /** The containers using an image: `docker rmi` answers 409 for those and prune skips them. */
    private readonly usage: UsageProvider = () => [],
  ) {
    const root = engine.config.dataRoot;
    this.log = engine.log.child({ component: 'images' });
    this.blobs = new BlobStore(root);
    this.layers = new LayerStore(root);
    this.store = new ImageStore(root, this.blobs);
    this.fetcher = new LayerFetcher(this.blobs, this.layers, this.log, engine.config.maxConcurrentDownloads);
  }

  /** Loads state, removes temp leftovers of a crash and anything no image references. */
  async init(): Promise<void> {
    const b = await this.blobs.load();
    const l = await this.layers.load();
    const s = await this.store.load();
    const gc = await this.gc();
    this.log.info('images loaded', {
      images: this.store.all().length,
      layers: this.layers.all().length,
      tempsRemoved: b.removedTemps + l.removedTemps + s.removedTemps,
      dropped: s.dropped,
      ...gc,
    });
  }

  usedBy(imageId: string): string[] {
    return this.usage(imageId);
  }

  resolve(input: string): ImageRecord | undefined {
    return this.store.resolve(input);
  }

  /** Like resolve, but a Docker-style 404 when nothing matches. */
  mustResolve(input: string): ImageRecord {
    const img = this.store.resolve(input);
    if (!img) throw notFound(`No such image: ${input}`);
    return img;
  }

  /** Unpacked layer directories, top-most first (the order of overlayfs lowerdir=). */
  layerDirs(image: ImageRecord): string[] {
    return image.chainIds.map((c) => this.layers.diffDir(c)).reverse();
  }

  layerMeta(image: ImageRecord): LayerMeta[] {
    return image.chainIds.map((c) => {
      const m = this.layers.get(c);
      if (!m) throw new Error(`image ${image.id} is missing layer ${c}`);
      return m;
    });
  }

  /** Sum of unpacked layer sizes (what `docker images` shows). */
  size(image: ImageRecord): number {
    return image.chainIds.reduce((n, c) => n + (this.layers.get(c)?.size ?? 0), 0);
  }

  /** Keeps blobs/layers that are committed but not yet referenced by an image out of GC. */
  pin(keys: string[]): Unpin {
    const held = [...keys];
    for (const k of held) this.pins.set(k, (this.pins.get(k) ?? 0) + 1);
    let done = false;
    const unpin = (() => {
      if (done) return;
      done = true;
      for (const k of held) {
        const n = (this.pins.get(k) ?? 1) - 1;
        if (n <= 0) this.pins.delete(k);
        else this.pins.set(k, n);
      }
    }) as Unpin;
    unpin.add = (more) => {
      for (const k of more) this.pins.set(k, (this.pins.get(k) ?? 0) + 1);
      held.push(...more);
    };
    return unpin;
  }

  /** Removes layers and blobs no image references (and nothing in flight pins). */
  async gc(): Promise<{ layersRemoved: number; blobsRemoved: number; bytes: number }> {
    const liveChains = new Set<string>(this.pins.keys());
    const liveBlobs = new Set<string>(this.pins.keys());
    for (const img of this.store.all()) {
      liveBlobs.add(img.id);
      for (const m of img.meta.manifests) liveBlobs.add(m.digest);
      for (const c of img.chainIds) liveChains.add(c);
    }
    let layersRemoved = 0;
    let bytes = 0;
    for (const l of this.layers.all()) {
      if (liveChains.has(l.chainId) || this.fetcher.inFlight(l.chainId)) {
        if (l.blob) liveBlobs.add(l.blob.digest);
        continue;
      }
      bytes += l.size;
      await this.layers.remove(l.chainId);
      layersRemoved++;
    }
    let blobsRemoved = 0;
    for (const d of await this.blobs.list()) {
      if (liveBlobs.has(d)) continue;
      await this.blobs.remove(d);
      blobsRemoved++;
    }
    return { layersRemoved, blobsRemoved, bytes };
  }

  /** Points a reference at an image (docker tag); publishes the tag event. */
  async tag(image: ImageRecord, ref: Reference): Promise<void> {
    const full = formatReference(ref);
    await this.store.setRef(full, image.id);
    await this.store.updateMeta(image.id, { lastTagTime: new Date().toISOString() });
    this.engine.events.publish('image', 'tag', image.id, { name: familiarString(ref) });
  }

  /** Familiar `RepoTags` of an image. */
  repoTags(image: ImageRecord): string[] {
    return this.store.tagsOf(image.id).map((r) => familiarString(parseReference(r, undefined)));
  }

  /** Familiar `RepoDigests`: `busybox@sha256:…` for every repository the image was pulled from or pushed to. */
  repoDigests(image: ImageRecord): string[] {
    return image.meta.repoDigests.map((r) => {
      const ref = parseReference(r, undefined);
      return `${familiarName(ref)}@${ref.digest}`;
    });
  }

  /**
   * Creates an image from an optional new layer on top of `parent` (docker commit, build steps, load).
   * The layer is unpacked once; a plain tar is gzipped into the blob store on the way so the image can be
   * pushed with stable digests.
   */
  async createImage(o: CreateImageOptions): Promise<ImageRecord> {
    const parent = typeof o.parent === 'string' ? this.mustResolve(o.parent) : o.parent;
    const diffIds = [...(parent?.diffIds ?? [])];
    const unpin = this.pin([]);
    try {
      if (o.layerTar) {
        const parentChain = parent?.chainIds[parent.chainIds.length - 1];
        const tmpKey = `sha256:${'0'.repeat(48)}${Date.now().toString(16).padStart(16, '0')}`;
        const tmp = await this.layers.createTemp(tmpKey);
        const blobTemp = this.blobs.tempPath();
        try {
          const res = await unpackLayer(o.layerTar, {
            dir: tmp.diffDir,
            blobFile: blobTemp,
            gzipPlain: o.compress ?? true,
          });
          const chain = toChainIds([...diffIds, res.diffId]);
          const chainId = chain[chain.length - 1];
          await this.blobs.commit(blobTemp, res.blob.digest);
          unpin.add([chainId, res.blob.digest]);
          const meta: LayerMeta = {
            chainId,
            diffId: res.diffId,
            size: res.size,
            blob: res.blob,
            created: new Date().toISOString(),
          };
          if (parentChain) meta.parent = parentChain;
          await this.layers.commit(tmp, meta);
          diffIds.push(res.diffId);
        } catch (err) {
          await this.layers.discard(tmp);
          await fsp.rm(blobTemp, { force: true });
          throw err;
        }
      } else if (o.existingLayer) {
        const chain = toChainIds([...diffIds, o.existingLayer]);
        if (!this.layers.has(chain[chain.length - 1]))
          throw new Error(
            `layer ${o.existingLayer} is not in the store on top of ${parent?.id ?? 'scratch'}`,
          );
        diffIds.push(o.existingLayer);
      }
      const base: Partial<OciImageConfig> = parent ? structuredClone(parent.config) : {};
      const plat = daemonPlatform();
      const now = new Date().toISOString();
      const history = [...(base.history ?? [])];
      history.push({
        created: now,
        ...(o.history ?? {}),
        ...(o.layerTar || o.existingLayer ? {} : { empty_layer: true }),
      });
      const config: OciImageConfig = {
        architecture: plat.architecture,
        os: 'linux',
        ...base,
        ...o.config,
        created: o.config?.created ?? o.history?.created ?? now,
        rootfs: { type: 'layers', diff_ids: diffIds },
        history,
      };
      if (parent) config.parent = parent.id;
      const raw = Buffer.from(JSON.stringify(config));
      const id = await this.blobs.put(raw);
      const { image } = await this.store.add(id, {
        repoDigests: [],
        manifests: [],
        ...(parent ? { parent: parent.id } : {}),
      });
      this.engine.events.publish('image', 'create', id, {});
      for (const t of o.tags ?? []) await this.tag(image, parseReference(t));
      return image;
    } finally {
      unpin();
    }
  }

  /**
   * docker load: an image from its exact config bytes (so the image ID is kept) and a source for each layer
   * tar, bottom first (plain, gzip or zstd). Layers already present are not opened; each one opened is
   * checked against the config's diff id. `onLayer` reports progress per layer for the load stream.
   */
  async importImage(o: {
    config: Buffer;
    layers: (() => Readable | Promise<Readable>)[];
    tags?: string[];
    onLayer?: (index: number, status: 'exists' | 'loading' | 'done') => void;
    /** Gzip plain layer tars into their blobs (default). docker load keeps them plain: gzipping dominated its time. */
    compress?: boolean;
  }): Promise<ImageRecord> {
    const config = parseConfig(o.config);
    const diffIds = config.rootfs.diff_ids;
    if (diffIds.length !== o.layers.length)
      throw badParameter(`image config lists ${diffIds.length} layers but ${o.layers.length} were given`);
    const chains = toChainIds(diffIds);
    const unpin = this.pin(chains);
    try {
      for (let i = 0; i < chains.length; i++) {
        if (this.layers.has(chains[i])) {
          o.onLayer?.(i, 'exists');
          continue;
        }
        o.onLayer?.(i, 'loading');
        const tmp = await this.layers.createTemp(chains[i]);
        const blobTemp = this.blobs.tempPath();
        try {
          const res = await unpackLayer(await o.layers[i](), {
            dir: tmp.diffDir,
            blobFile: blobTemp,
            gzipPlain: o.compress ?? true,
            diffId: diffIds[i],
          });
          await this.blobs.commit(blobTemp, res.blob.digest);
          unpin.add([res.blob.digest]);
          const meta: LayerMeta = {
            chainId: chains[i],
            diffId: res.diffId,
            size: res.size,
            blob: res.blob,
            created: new Date().toISOString(),
          };
          if (i > 0) meta.parent = chains[i - 1]!;
          await this.layers.commit(tmp, meta);
        } catch (err) {
          await this.layers.discard(tmp);
          await fsp.rm(blobTemp, { force: true });
          throw err;
        }
        o.onLayer?.(i, 'done');
      }
      const id = await this.blobs.put(o.config);
      const { image } = await this.store.add(id, { repoDigests: [], manifests: [] });
      for (const t of o.tags ?? []) await this.tag(image, parseReference(t));
      this.engine.events.publish('image', 'load', id, {});
      return image;
    } finally {
      unpin();
    }
  }

  /** For save/load (docker-archive, OCI layout): the compressed blob of each layer, bottom first. */
  layerBlobs(
    image: ImageRecord,
  ): { digest: string; size: number; mediaType: string; diffId: string; path: string }[] {
    return this.layerMeta(image).map((m) => {
      if (!m.blob) throw new Error(`layer ${m.chainId} has no blob`);
      return { ...m.blob, diffId: m.diffId, path: this.blobs.path(m.blob.digest) };
    });
  }

  /** The raw config blob (its sha256 is the image ID). */
  configBlob(image: ImageRecord): Promise<Buffer> {
    return this.blobs.read(image.id);
  }

  /** A Docker schema2 manifest for the image built from the layers we hold (stable for a given image). */
  buildManifest(image: ImageRecord): { body: Buffer; mediaType: string } {
    const layers = this.layerBlobs(image).map((b) => ({
      mediaType: b.mediaType,
      size: b.size,
      digest: b.digest,
    }));
    const m = {
      schemaVersion: 2,
      mediaType: MT.dockerManifest,
      config: { mediaType: MT.dockerConfig, size: image.configSize, digest: image.id },
      layers,
    };
    return { body: Buffer.from(JSON.stringify(m, null, 3)), mediaType: MT.dockerManifest };
  }
}
