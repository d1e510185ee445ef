/** Removing cgroup directories, shared by both drivers: a just-emptied cgroup can stay busy for a moment, and
 *  a per-daemon parent goes only when empty, taking its empty ancestors with it. */
import path from 'node:path';
import type { Sys } from '../sys/sys.js';

/** rmdir that waits out EBUSY (tasks still exiting) for up to a second; false if it did not exist. */
export async function removeCgroupDir(sys: Sys, dir: string): Promise<boolean> {
  for (let i = 0; ; i++) {
    try {
      return await sys.rmdir(dir);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EBUSY' || i >= 100) throw err;
      await new Promise((r) => setTimeout(r, 10));
    }
  }
}

/** Removes `parent` and its empty ancestors under each root, stopping at the first one still in use. */
export async function removeParentDirs(sys: Sys, roots: readonly string[], parent: string): Promise<void> {
  const parts = parent.split('/').filter(Boolean);
  for (const root of roots) {
    for (let n = parts.length; n > 0; n--) {
      try {
        await sys.rmdir(path.join(root, ...parts.slice(0, n)));
      } catch {
        break; // an ancestor someone else uses
      }
    }
  }
}
