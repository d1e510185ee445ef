/** Atomic state writes: temp file in the same directory, then rename; a crash leaves old or new. */
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { promises as fsp } from 'node:fs';
import path from 'node:path';

export function tempPathFor(target: string): string {
  return path.join(path.dirname(target), `.tmp-${path.basename(target)}-${randomBytes(6).toString('hex')}`);
}

export async function writeFileAtomic(
  target: string,
  data: string | Uint8Array,
  mode = 0o644,
): Promise<void> {
  const tmp = tempPathFor(target);
  try {
    await fsp.writeFile(tmp, data, { mode });
    await fsp.rename(tmp, target);
  } catch (err) {
    await fsp.rm(tmp, { force: true });
    throw err;
  }
}

export async function writeJsonAtomic(target: string, value: unknown): Promise<void> {
  await writeFileAtomic(target, JSON.stringify(value, null, 1));
}

/** Reads JSON state; returns `fallback` when the file does not exist. */
export async function readJson<T>(file: string, fallback: T): Promise<T> {
  try {
    return JSON.parse(await fsp.readFile(file, 'utf8')) as T;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return fallback;
    throw err;
  }
}

/**
 * rm -rf that also copes with trees deeper than PATH_MAX, which a container can build in its upper dir (fs.rm
 * works on whole paths and fails with ENAMETOOLONG there); GNU rm walks them by directory fd. It never
 * crosses into another filesystem (a mount left behind inside).
 */
export async function removeTree(p: string): Promise<void> {
  try {
    await fsp.rm(p, { recursive: true, force: true });
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code !== 'ENAMETOOLONG' && code !== 'ELOOP' && code !== 'EMFILE') throw err;
    await new Promise<void>((resolve, reject) =>
      execFile('rm', ['-rf', '--one-file-system', '--', p], (e, _out, stderr) =>
        e ? reject(new Error(`removing ${p}: ${stderr.trim() || e.message}`)) : resolve(),
      ),
    );
  }
}

/** Removes leftover temp files from a crash mid-write. */
export async function removeStaleTemps(dir: string): Promise<number> {
  let n = 0;
  let names: string[];
  try {
    names = await fsp.readdir(dir);
  } catch {
    return 0;
  }
  for (const name of names) {
    if (name.startsWith('.tmp-')) {
      await removeTree(path.join(dir, name));
      n++;
    }
  }
  return n;
}
