/**
 * The classic builder's layer cache: a step is reused when its parent image and its cache text (the
 * instruction as committed plus the resulting config, and for COPY/ADD the digest of the sources) match a
 * step built before. Entries point at image ids; an entry whose image was removed is a miss.
 */
import { createHash } from 'node:crypto';
import path from 'node:path';
import { readJson, writeJsonAtomic } from '../util/fs-atomic.js';

interface CacheFile {
  version: 1;
  entries: Record<string, string>;
}

/** The key of a step: the parent image (or '' for scratch) and what the step does. */
export function cacheKey(parent: string | undefined, text: string): string {
  return createHash('sha256')
    .update(`${parent ?? ''}\n${text}`)
    .digest('hex');
}

export class BuildCache {
  private entries = new Map<string, string>();
  private readonly file: string;
  private dirty = false;
  private saving: Promise<void> = Promise.resolve();

  constructor(stateDir: string) {
    this.file = path.join(stateDir, 'cache.json');
  }

  async load(): Promise<void> {
    const f = await readJson<CacheFile>(this.file, { version: 1, entries: {} });
    this.entries = new Map(Object.entries(f.entries ?? {}));
  }

  get(key: string): string | undefined {
    return this.entries.get(key);
  }

  set(key: string, imageId: string): void {
    if (this.entries.get(key) === imageId) return;
    this.entries.set(key, imageId);
    this.dirty = true;
  }

  delete(key: string): void {
    if (this.entries.delete(key)) this.dirty = true;
  }

  /** Forgets every entry (docker builder prune); returns how many there were. */
  clear(): number {
    const n = this.entries.size;
    this.entries.clear();
    this.dirty = true;
    return n;
  }

  /** Persists after a build (one atomic write, chained so an older snapshot never lands last). */
  save(): Promise<void> {
    if (!this.dirty) return this.saving;
    this.dirty = false;
    const snapshot: CacheFile = { version: 1, entries: Object.fromEntries(this.entries) };
    const run = () => writeJsonAtomic(this.file, snapshot);
    this.saving = this.saving.then(run, run);
    return this.saving;
  }
}
