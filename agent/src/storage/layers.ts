/**
 * Unpacked layers, shared by every image that contains them: layers/<chain-id hex>/{diff/, layer.json}.
 * A layer is built in a temp directory and renamed into place whole, so a crash never leaves half a layer.
 */
import { createHash, randomBytes } from 'node:crypto';
import { promises as fsp } from 'node:fs';
import path from 'node:path';
import { writeJsonAtomic } from '../util/fs-atomic.js';

export interface LayerBlobRef {
  digest: string;
  size: number;
  mediaType: string;
}

export interface LayerMeta {
  chainId: string;
  diffId: string;
  parent?: string;
  /** Bytes of file data in the unpacked tree. */
  size: number;
  /** The compressed blob this layer came from (kept in the blob store for push and save). */
  blob?: LayerBlobRef;
  created: string;
}

const hex = (digest: string) => digest.replace(/^sha256:/, '');

/** chain[0] = diff[0]; chain[i] = sha256(chain[i-1] + " " + diff[i]) (the OCI ChainID). */
export function chainIds(diffIds: readonly string[]): string[] {
  const out: string[] = [];
  for (const d of diffIds) {
    const prev = out[out.length - 1];
    out.push(prev === undefined ? d : 'sha256:' + createHash('sha256').update(`${prev} ${d}`).digest('hex'));
  }
  return out;
}

export interface TempLayer {
  dir: string;
  diffDir: string;
}

export class LayerStore {
  private layers = new Map<string, LayerMeta>();
  readonly root: string;

  constructor(dataRoot: string) {
    this.root = path.join(dataRoot, 'layers');
  }

  /** Loads committed layers and removes temp directories a crash left behind. */
  async load(): Promise<{ removedTemps: number }> {
    await fsp.mkdir(this.root, { recursive: true, mode: 0o700 });
    let removedTemps = 0;
    for (const name of await fsp.readdir(this.root)) {
      const dir = path.join(this.root, name);
      if (name.startsWith('.tmp-') || name.startsWith('.del-')) {
        await fsp.rm(dir, { recursive: true, force: true });
        removedTemps++;
        continue;
      }
      try {
        const meta = JSON.parse(await fsp.readFile(path.join(dir, 'layer.json'), 'utf8')) as LayerMeta;
        this.layers.set(meta.chainId, meta);
      } catch {
        // No metadata: never committed (should not happen: the rename is the commit). Treat as garbage.
        await fsp.rm(dir, { recursive: true, force: true });
        removedTemps++;
      }
    }
    return { removedTemps };
  }

  get(chainId: string): LayerMeta | undefined {
    return this.layers.get(chainId);
  }

  has(chainId: string): boolean {
    return this.layers.has(chainId);
  }

  all(): LayerMeta[] {
    return [...this.layers.values()];
  }

  dir(chainId: string): string {
    return path.join(this.root, hex(chainId));
  }

  diffDir(chainId: string): string {
    return path.join(this.dir(chainId), 'diff');
  }

  async createTemp(chainId: string): Promise<TempLayer> {
    const dir = path.join(this.root, `.tmp-${hex(chainId).slice(0, 12)}-${randomBytes(6).toString('hex')}`);
    const diffDir = path.join(dir, 'diff');
    await fsp.mkdir(diffDir, { recursive: true, mode: 0o755 });
    return { dir, diffDir };
  }

  /** Renames the temp layer into place. If another pull won the race, keeps theirs. */
  async commit(tmp: TempLayer, meta: LayerMeta): Promise<LayerMeta> {
    const existing = this.layers.get(meta.chainId);
    if (existing) {
      await fsp.rm(tmp.dir, { recursive: true, force: true });
      return existing;
    }
    await writeJsonAtomic(path.join(tmp.dir, 'layer.json'), meta);
    try {
      await fsp.rename(tmp.dir, this.dir(meta.chainId));
    } catch (err) {
      await fsp.rm(tmp.dir, { recursive: true, force: true });
      throw err;
    }
    this.layers.set(meta.chainId, meta);
    return meta;
  }

  async discard(tmp: TempLayer): Promise<void> {
    await fsp.rm(tmp.dir, { recursive: true, force: true });
  }

  /** Removes a layer: renamed aside first so a crash mid-delete leaves a temp name, not a half layer. */
  async remove(chainId: string): Promise<void> {
    if (!this.layers.delete(chainId)) return;
    const aside = path.join(this.root, `.del-${hex(chainId).slice(0, 12)}-${randomBytes(6).toString('hex')}`);
    try {
      await fsp.rename(this.dir(chainId), aside);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return;
      throw err;
    }
    await fsp.rm(aside, { recursive: true, force: true });
  }
}
