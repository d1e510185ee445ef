/**
 * Container records: one directory per container (its layout is ContainerDir's) holding config.json, written
 * atomically. Owns the name registry and id-prefix lookup.
 */
import { randomBytes } from 'node:crypto';
import { promises as fsp } from 'node:fs';
import path from 'node:path';
import { badParameter, conflict, notFound } from '../errors.js';
import type { Logger } from '../log.js';
import { readJson, removeStaleTemps, removeTree, writeJsonAtomic } from '../util/fs-atomic.js';
import { ContainerDir } from './container-dir.js';
import type { ContainerRecord } from './record.js';

const NAME_RE = /^\/?[a-zA-Z0-9][a-zA-Z0-9_.-]+$/;
const ADJECTIVES = [
  'admiring',
  'brave',
  'calm',
  'dazzling',
  'eager',
  'focused',
  'gallant',
  'happy',
  'jolly',
  'keen',
  'lucid',
  'modest',
  'nifty',
  'optimistic',
  'quirky',
  'relaxed',
  'serene',
  'tender',
  'upbeat',
  'vibrant',
  'wizardly',
  'zealous',
];
const SURNAMES = [
  'agnesi',
  'babbage',
  'curie',
  'darwin',
  'euler',
  'feynman',
  'galileo',
  'hopper',
  'jepsen',
  'kepler',
  'lovelace',
  'meitner',
  'noether',
  'pasteur',
  'ritchie',
  'shannon',
  'turing',
  'volhard',
  'wozniak',
  'yalow',
];

export function validateName(name: string): string {
  if (!NAME_RE.test(name))
    throw badParameter(`Invalid container name (${name}), only [a-zA-Z0-9][a-zA-Z0-9_.-] are allowed`);
  return name.startsWith('/') ? name : `/${name}`;
}

export class ContainerStore {
  private byId = new Map<string, ContainerRecord>();
  private names = new Map<string, string>();

  constructor(
    readonly root: string,
    private readonly log: Logger,
  ) {}

  /** The container's directory and everything in it. */
  files(id: string): ContainerDir {
    return new ContainerDir(id, path.join(this.root, id));
  }

  async load(): Promise<ContainerRecord[]> {
    await fsp.mkdir(this.root, { recursive: true, mode: 0o710 });
    await removeStaleTemps(this.root);
    for (const id of await fsp.readdir(this.root)) {
      const rec = await readJson<ContainerRecord | null>(this.files(id).config, null).catch(() => null);
      if (!rec || rec.id !== id) {
        // A create that crashed before its first config write: nothing references it.
        this.log.warn('removing container directory without a valid config', { id });
        await fsp.rm(path.join(this.root, id), { recursive: true, force: true });
        continue;
      }
      this.byId.set(id, rec);
      this.names.set(rec.name, id);
    }
    return [...this.byId.values()];
  }

  all(): ContainerRecord[] {
    return [...this.byId.values()];
  }

  newId(): string {
    for (;;) {
      const id = randomBytes(32).toString('hex');
      // Docker avoids ids whose short form is all digits (they read as numbers in shells and tables).
      if (/^\d{12}/.test(id) || this.byId.has(id)) continue;
      return id;
    }
  }

  generateName(): string {
    for (let i = 0; ; i++) {
      const a = ADJECTIVES[Math.floor(Math.random() * ADJECTIVES.length)];
      const b = SURNAMES[Math.floor(Math.random() * SURNAMES.length)];
      const n = `/${a}_${b}${i > 5 ? Math.floor(Math.random() * 10) : ''}`;
      if (!this.names.has(n)) return n;
    }
  }

  /** Reserves `name` (with leading slash) for `id`, or throws dockerd's 409. */
  reserveName(name: string, id: string): void {
    const owner = this.names.get(name);
    if (owner && owner !== id)
      throw conflict(
        `Conflict. The container name "${name}" is already in use by container "${owner}". You have to remove (or rename) that container to be able to reuse that name.`,
      );
    this.names.set(name, id);
  }

  releaseName(name: string, id: string): void {
    if (this.names.get(name) === id) this.names.delete(name);
  }

  /** Finds by full id, name (with or without slash) or unique id prefix; throws 404 as dockerd. */
  get(ref: string): ContainerRecord {
    const rec = this.find(ref);
    if (!rec) throw notFound(`No such container: ${ref}`);
    return rec;
  }

  find(ref: string): ContainerRecord | undefined {
    if (!ref) return undefined;
    const exact = this.byId.get(ref);
    if (exact) return exact;
    const byName = this.names.get(ref.startsWith('/') ? ref : `/${ref}`);
    if (byName) return this.byId.get(byName);
    if (!/^[0-9a-f]+$/.test(ref)) return undefined;
    let found: ContainerRecord | undefined;
    for (const [id, rec] of this.byId) {
      if (!id.startsWith(ref)) continue;
      if (found) throw badParameter(`multiple IDs found with provided prefix: ${ref}`);
      found = rec;
    }
    return found;
  }

  async save(rec: ContainerRecord): Promise<void> {
    this.byId.set(rec.id, rec);
    const dir = this.files(rec.id);
    await fsp.mkdir(dir.path, { recursive: true, mode: 0o710 });
    await writeJsonAtomic(dir.config, rec);
  }

  /** Forgets the record and deletes its directory (rename first: a crash leaves a swept temp dir). */
  async delete(rec: ContainerRecord): Promise<void> {
    this.byId.delete(rec.id);
    this.releaseName(rec.name, rec.id);
    const dir = this.files(rec.id).path;
    const doomed = path.join(this.root, `.tmp-rm-${rec.id}-${randomBytes(4).toString('hex')}`);
    try {
      await fsp.rename(dir, doomed);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return;
      throw err;
    }
    await removeTree(doomed);
  }
}
