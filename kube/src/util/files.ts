/** berth-kube's on-disk state writes: atomic (temp + fsync + rename), and one process per data dir (a pid lock). */
import { randomBytes } from 'node:crypto';
import { promises as fsp } from 'node:fs';
import path from 'node:path';

/** Writes `target` so a crash leaves the old or the new content, never half; `mode` applies from the start. */
export async function writeFileAtomic(
  target: string,
  data: string | Uint8Array,
  mode = 0o644,
): Promise<void> {
  const tmp = path.join(
    path.dirname(target),
    `.tmp-${path.basename(target)}-${randomBytes(6).toString('hex')}`,
  );
  try {
    const fh = await fsp.open(tmp, 'w', mode);
    try {
      await fh.writeFile(data);
      await fh.sync();
    } finally {
      await fh.close();
    }
    await fsp.chmod(tmp, mode);
    await fsp.rename(tmp, target);
  } catch (err) {
    await fsp.rm(tmp, { force: true });
    throw err;
  }
}

export async function readIfExists(file: string): Promise<string | undefined> {
  try {
    return await fsp.readFile(file, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw err;
  }
}

export class LockHeldError extends Error {
  constructor(
    readonly lockPath: string,
    readonly pid: number,
  ) {
    super(`another berth-kube (pid ${pid}) is already using this data dir; lock file ${lockPath}`);
  }
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** Takes `<dir>/berth-kube.lock` (a stale lock of a dead pid is taken over); resolves to its release. */
export async function acquireLock(dir: string): Promise<() => Promise<void>> {
  const lockPath = path.join(dir, 'berth-kube.lock');
  for (let attempt = 0; attempt < 3; attempt++) {
    try {
      const fh = await fsp.open(lockPath, 'wx', 0o600);
      await fh.writeFile(String(process.pid));
      await fh.close();
      return async () => {
        await fsp.rm(lockPath, { force: true });
      };
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
      const pid = Number.parseInt((await readIfExists(lockPath)) ?? '', 10);
      if (Number.isFinite(pid) && pid > 0 && pid !== process.pid && alive(pid))
        throw new LockHeldError(lockPath, pid);
      await fsp.rm(lockPath, { force: true });
    }
  }
  throw new Error(`could not acquire lock ${lockPath}`);
}
