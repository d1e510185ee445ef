/** Disk usage of a directory tree (apparent blocks, hard links counted once), as `du` and dockerd count it. */
import { promises as fsp } from 'node:fs';
import path from 'node:path';

export async function dirSize(dir: string, seen = new Set<string>()): Promise<number> {
  let total = 0;
  let names: string[];
  try {
    names = await fsp.readdir(dir);
  } catch {
    return 0;
  }
  for (const n of names) {
    const p = path.join(dir, n);
    let st;
    try {
      st = await fsp.lstat(p, { bigint: false });
    } catch {
      continue;
    }
    if (st.nlink > 1) {
      const key = `${st.dev}:${st.ino}`;
      if (seen.has(key)) continue;
      seen.add(key);
    }
    if (st.isDirectory()) total += await dirSize(p, seen);
    else total += st.size;
  }
  return total;
}
