/**
 * Gets one layer into the layer store: from the local blob when we hold it, else downloaded and unpacked in a
 * single streaming pass. Jobs are keyed by chain ID, so concurrent pulls sharing a layer download it once and
 * all watch the same progress. Parallelism is bounded by --max-concurrent-downloads.
 */
import { promises as fsp } from 'node:fs';
import type { Logger } from '../log.js';
import type { LayerMeta, LayerStore } from '../storage/layers.js';
import { unpackLayer } from '../storage/unpack.js';
import type { BlobStore } from './blobs.js';
import type { Descriptor } from './oci.js';
import type { RegistryClient } from './registry/client.js';

export type LayerEvent = { status: string; current?: number; total?: number };
export type LayerListener = (e: LayerEvent) => void;

export class Semaphore {
  private waiters: (() => void)[] = [];
  private used = 0;
  constructor(private readonly max: number) {}
  get busy(): boolean {
    return this.used >= this.max;
  }
  async acquire(): Promise<() => void> {
    if (this.used >= this.max) await new Promise<void>((r) => this.waiters.push(r));
    else this.used++;
    let released = false;
    return () => {
      if (released) return;
      released = true;
      const next = this.waiters.shift();
      if (next) next();
      else this.used--;
    };
  }
}

export interface LayerRequest {
  chainId: string;
  parent: string | undefined;
  diffId: string;
  desc: Descriptor;
  client: RegistryClient;
}

interface Job {
  promise: Promise<LayerMeta>;
  listeners: Set<LayerListener>;
  last: LayerEvent | undefined;
}

export class LayerFetcher {
  private jobs = new Map<string, Job>();
  private readonly sem: Semaphore;

  constructor(
    private readonly blobs: BlobStore,
    private readonly layers: LayerStore,
    private readonly log: Logger,
    maxConcurrent: number,
  ) {
    this.sem = new Semaphore(maxConcurrent);
  }

  /** True when this chain is being fetched right now (a second pull joins it). */
  inFlight(chainId: string): boolean {
    return this.jobs.has(chainId);
  }

  fetch(req: LayerRequest, listener: LayerListener): Promise<LayerMeta> {
    const done = this.layers.get(req.chainId);
    if (done) return Promise.resolve(done);
    const job = this.jobs.get(req.chainId);
    if (job) {
      job.listeners.add(listener);
      if (job.last) listener(job.last);
      return job.promise.finally(() => job.listeners.delete(listener));
    }
    const listeners = new Set<LayerListener>([listener]);
    const j: Job = {
      promise: Promise.resolve(undefined as unknown as LayerMeta),
      listeners,
      last: undefined,
    };
    const emit = (e: LayerEvent) => {
      j.last = e;
      for (const l of listeners) l(e);
    };
    j.promise = this.run(req, emit).finally(() => this.jobs.delete(req.chainId));
    this.jobs.set(req.chainId, j);
    return j.promise;
  }

  private async run(req: LayerRequest, emit: LayerListener): Promise<LayerMeta> {
    if (this.sem.busy) emit({ status: 'Waiting' });
    const release = await this.sem.acquire();
    try {
      const again = this.layers.get(req.chainId);
      if (again) return again;
      const { desc } = req;
      const tmp = await this.layers.createTemp(req.chainId);
      const local = this.blobs.has(desc.digest);
      const blobTemp = local ? undefined : this.blobs.tempPath();
      const t0 = Date.now();
      try {
        const src = local ? this.blobs.open(desc.digest) : await req.client.blob(desc.digest);
        const phase = local ? 'Extracting' : 'Downloading';
        let lastEmit = 0;
        const res = await unpackLayer(src, {
          dir: tmp.diffDir,
          ...(blobTemp ? { blobFile: blobTemp } : {}),
          digest: desc.digest,
          size: desc.size,
          diffId: req.diffId,
          onProgress: (n) => {
            const now = Date.now();
            if (now - lastEmit >= 100 || n === desc.size) {
              lastEmit = now;
              emit({ status: phase, current: n, total: desc.size });
            }
          },
        });
        if (!local) {
          emit({ status: 'Verifying Checksum' });
          emit({ status: 'Download complete' });
          await this.blobs.commit(blobTemp!, desc.digest);
        }
        emit({ status: 'Extracting', current: desc.size, total: desc.size });
        const meta: LayerMeta = {
          chainId: req.chainId,
          diffId: res.diffId,
          size: res.size,
          blob: { digest: desc.digest, size: desc.size, mediaType: desc.mediaType },
          created: new Date().toISOString(),
        };
        if (req.parent) meta.parent = req.parent;
        const committed = await this.layers.commit(tmp, meta);
        this.log.debug('layer ready', {
          chainId: req.chainId,
          digest: desc.digest,
          bytes: res.compressedSize,
          size: res.size,
          ms: Date.now() - t0,
          local,
        });
        emit({ status: 'Pull complete' });
        return committed;
      } catch (err) {
        await this.layers.discard(tmp);
        if (blobTemp) await fsp.rm(blobTemp, { force: true });
        throw err;
      }
    } finally {
      release();
    }
  }
}
