/**
 * Docker copies the image's content at a volume's mount path into the volume when the volume is empty on
 * first mount. We merge the path from the image layers ourselves (bottom to top, honouring overlay
 * whiteouts and opaque dirs) instead of mounting the image on the host.
 */
import { promises as fsp } from 'node:fs';
import path from 'node:path';

async function lstatOrNull(p: string) {
  try {
    return await fsp.lstat(p);
  } catch {
    return null;
  }
}

const isWhiteout = (st: { isCharacterDevice(): boolean; rdev: number }) =>
  st.isCharacterDevice() && st.rdev === 0;

/** Layers (top-most first) that contribute to directory `rel`, returned bottom-most first. */
async function contributingLayers(layers: string[], rel: string): Promise<string[]> {
  const out: string[] = [];
  const parts = rel.split('/').filter(Boolean);
  for (const l of layers) {
    // A whiteout or a non-directory at rel or any ancestor hides everything below.
    let hidden = false;
    for (let i = 1; i <= parts.length; i++) {
      const st = await lstatOrNull(path.join(l, ...parts.slice(0, i)));
      if (!st) continue;
      if (isWhiteout(st) || !st.isDirectory()) hidden = true;
      break;
    }
    const st = await lstatOrNull(path.join(l, ...parts));
    if (st?.isDirectory()) out.push(l);
    // Opaque dirs (an xattr Node cannot read) are not honoured: lower content may show through.
    if (hidden) break;
  }
  return out.reverse();
}

async function copyTree(src: string, dst: string): Promise<void> {
  for (const name of await fsp.readdir(src)) {
    const s = path.join(src, name);
    const d = path.join(dst, name);
    const st = await fsp.lstat(s);
    if (isWhiteout(st)) {
      await fsp.rm(d, { recursive: true, force: true });
      continue;
    }
    const existing = await lstatOrNull(d);
    if (existing && !(existing.isDirectory() && st.isDirectory()))
      await fsp.rm(d, { recursive: true, force: true });
    if (st.isDirectory()) {
      if (!existing?.isDirectory()) await fsp.mkdir(d);
      await copyTree(s, d);
    } else if (st.isSymbolicLink()) await fsp.symlink(await fsp.readlink(s), d);
    else if (st.isFile()) await fsp.copyFile(s, d);
    else continue; // devices, fifos and sockets are not copied into volumes
    await fsp.lchown(d, st.uid, st.gid);
    if (!st.isSymbolicLink()) {
      await fsp.chmod(d, st.mode & 0o7777);
      await fsp.utimes(d, st.atime, st.mtime);
    }
  }
}

/** Copies the image's content at `destination` into `volumeDir` (which the caller checked is empty). */
export async function primeVolume(
  layers: string[],
  destination: string,
  volumeDir: string,
): Promise<boolean> {
  const srcs = await contributingLayers(layers, destination);
  if (srcs.length === 0) return false;
  for (const l of srcs) await copyTree(path.join(l, destination), volumeDir);
  // The volume root takes the owner and mode of the image directory (e.g. /var/lib/mysql owned by mysql).
  const top = await fsp.stat(path.join(srcs[srcs.length - 1], destination));
  await fsp.chown(volumeDir, top.uid, top.gid);
  await fsp.chmod(volumeDir, top.mode & 0o7777);
  return true;
}
