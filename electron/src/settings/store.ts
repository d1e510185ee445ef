/** Settings on disk: read + migrate on load, atomic writes (temp file + rename), one writer at a time. */
import { promises as fsp } from 'node:fs';
import path from 'node:path';
import { applyPatch, DEFAULTS, migrate, type Settings } from './schema.js';

export async function writeFileAtomic(file: string, data: string): Promise<void> {
  await fsp.mkdir(path.dirname(file), { recursive: true });
  const tmp = `${file}.${process.pid}.${Date.now()}.tmp`;
  const fh = await fsp.open(tmp, 'w', 0o600);
  try {
    await fh.writeFile(data);
    await fh.sync();
  } finally {
    await fh.close();
  }
  await fsp.rename(tmp, file);
}

export class SettingsStore {
  private current: Settings = structuredClone(DEFAULTS);
  private writing: Promise<void> = Promise.resolve();

  constructor(readonly file: string) {}

  /** Loads and migrates; a missing file means defaults. A migrated file is written back in the new form. */
  async load(): Promise<Settings> {
    let text: string | undefined;
    try {
      text = await fsp.readFile(this.file, 'utf8');
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
    }
    if (text === undefined) {
      this.current = structuredClone(DEFAULTS);
      return this.get();
    }
    let parsed: unknown;
    try {
      parsed = JSON.parse(text);
    } catch {
      // Keep the unreadable file for the user instead of overwriting it silently.
      await fsp.rename(this.file, `${this.file}.corrupt-${Date.now()}`);
      this.current = structuredClone(DEFAULTS);
      return this.get();
    }
    this.current = migrate(parsed);
    if ((parsed as { version?: unknown }).version !== this.current.version) await this.save();
    return this.get();
  }

  get(): Settings {
    return structuredClone(this.current);
  }

  async update(patch: unknown): Promise<Settings> {
    this.current = applyPatch(this.current, patch);
    await this.save();
    return this.get();
  }

  async reset(): Promise<Settings> {
    this.current = structuredClone(DEFAULTS);
    await this.save();
    return this.get();
  }

  private save(): Promise<void> {
    const text = JSON.stringify(this.current, null, 2) + '\n';
    this.writing = this.writing.then(() => writeFileAtomic(this.file, text));
    return this.writing;
  }
}
