/** Settings on disk: read + migrate on load, atomic writes (temp file + rename), one writer at a time. */
import { promises as fsp } from 'node:fs';
import path from 'node:path';
import type { Logger } from '@berth/common/log';
import { topicLogger } from '../log/topics.js';
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

  /** `log`: the `settings` topic, by default in the logs/ folder beside the settings file. */
  constructor(
    readonly file: string,
    private readonly log: Logger = topicLogger(path.join(path.dirname(file), 'logs'), 'settings'),
  ) {}

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
    } catch (err) {
      // Keep the unreadable file for the user instead of overwriting it silently.
      const aside = `${this.file}.corrupt-${Date.now()}`;
      await fsp.rename(this.file, aside);
      this.log.warn('settings file is not JSON: kept aside, using defaults', {
        file: aside,
        err: (err as Error).message,
      });
      this.current = structuredClone(DEFAULTS);
      return this.get();
    }
    this.current = migrate(parsed);
    const from = (parsed as { version?: unknown }).version;
    if (from !== this.current.version) {
      this.log.info('settings migrated', { from, to: this.current.version });
      await this.save();
    }
    return this.get();
  }

  get(): Settings {
    return structuredClone(this.current);
  }

  async update(patch: unknown): Promise<Settings> {
    // The file is shared (the app, `berth serve`, the CLI's `berth kube enable`): a patch applies to what is
    // on disk now, so one writer never puts back another's older values.
    await this.writing;
    await this.load();
    try {
      this.current = applyPatch(this.current, patch);
    } catch (err) {
      this.log.warn('settings update refused', { err: (err as Error).message });
      throw err;
    }
    this.log.info('settings updated', {
      keys: patch && typeof patch === 'object' ? Object.keys(patch).join(',') : undefined,
    });
    await this.save();
    return this.get();
  }

  async reset(): Promise<Settings> {
    this.current = structuredClone(DEFAULTS);
    this.log.info('settings reset to defaults');
    await this.save();
    return this.get();
  }

  private save(): Promise<void> {
    const text = JSON.stringify(this.current, null, 2) + '\n';
    // A failed write is the caller's error (it rejects); the chain itself goes on for the next writer.
    const write = this.writing.then(() => writeFileAtomic(this.file, text));
    this.writing = write.catch((err: Error) =>
      this.log.error('cannot write settings', { file: this.file, err: err.message }),
    );
    return write;
  }
}
