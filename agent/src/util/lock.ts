/** One daemon per data root: an exclusive lock file holding the owner's pid; stale locks are taken over. */
import { promises as fsp } from 'node:fs';
import path from 'node:path';

export class LockHeldError extends Error {
  constructor(
    readonly lockPath: string,
    readonly pid: number,
  ) {
    super(`another berthd (pid ${pid}) is already using this data root; lock file ${lockPath}`);
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

export async function acquireLock(dataRoot: string): Promise<() => Promise<void>> {
  const lockPath = path.join(dataRoot, 'berthd.lock');
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
      const pid = Number.parseInt(await fsp.readFile(lockPath, 'utf8').catch(() => ''), 10);
      if (Number.isFinite(pid) && pid > 0 && pid !== process.pid && alive(pid))
        throw new LockHeldError(lockPath, pid);
      await fsp.rm(lockPath, { force: true });
    }
  }
  throw new Error(`could not acquire lock ${lockPath}`);
}
