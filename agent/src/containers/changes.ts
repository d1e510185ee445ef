/**
 * `docker diff` from the overlay upper dir (0/0 character devices are deletions) and the layer tar that
 * `docker commit` stores. Mount points the runtime creates (/etc/hosts, volume targets...) are not changes.
 */
import { closeSync, lstatSync, promises as fsp, type Stats } from 'node:fs';
import path from 'node:path';
import type { FilesystemChange } from '@berth/common';
import { RootfsView } from '../image-builder/rootfs-view.js';
import { opaqueAmong } from '../storage/opaque.js';
import { ConfinedRoot, fdPath } from './confined-root.js';
import type { ContainerRecord } from './record.js';

const RUNTIME_MOUNTPOINTS = [
  'etc/hostname',
  'etc/hosts',
  'etc/resolv.conf',
  'proc',
  'sys',
  'dev',
  'sbin/docker-init',
  '.dockerenv',
];

/** Paths (relative, no leading slash) that exist only as mount points. */
export function mountpointFilter(rec: ContainerRecord): (rel: string) => boolean {
  const points = new Set([
    ...RUNTIME_MOUNTPOINTS,
    ...rec.mounts.map((m) => m.destination.replace(/^\/+/, '')),
  ]);
  return (rel) => points.has(rel);
}

function lstatOrNull(p: string): Stats | null {
  try {
    return lstatSync(p);
  } catch {
    return null;
  }
}

const isWhiteout = (st: Stats) => st.isCharacterDevice() && st.rdev === 0;

/** Whether `rel` exists in the image (layers top-most first, whiteouts and non-dir parents honoured). */
export function inImage(layers: string[], rel: string): boolean {
  const parts = rel.split('/');
  for (const l of layers) {
    for (let i = 1; i < parts.length; i++) {
      const st = lstatOrNull(path.join(l, ...parts.slice(0, i)));
      if (st && (isWhiteout(st) || !st.isDirectory())) return false;
    }
    const st = lstatOrNull(path.join(l, rel));
    if (st) return !isWhiteout(st);
  }
  return false;
}

export async function changes(
  upper: string,
  layers: string[],
  skip: (rel: string) => boolean,
): Promise<FilesystemChange[]> {
  const out: FilesystemChange[] = [];
  // A directory removed and made again is opaque in the upper dir: what the image held below it is deleted.
  const root = ConfinedRoot.open(upper);
  const opaque = opaqueAmong(upper, root.listDirs());
  const image = new RootfsView(layers);
  // The upper dir of a running container changes under us: walk it through directory fds so a directory
  // swapped for a symlink is never followed onto the host (confined-root.ts).
  // `inImage` false for a directory means nothing below it is in the image either: no lookups for new trees.
  const walk = async (dirFd: number, rel: string, dirInImage: boolean): Promise<boolean> => {
    let reported = false;
    const names = (await fsp.readdir(fdPath(dirFd))).sort();
    const hidden = opaque.has(rel) ? image.list(rel).filter((n) => !names.includes(n)) : [];
    for (const n of [...names, ...hidden].sort()) {
      const r = rel ? `${rel}/${n}` : n;
      if (skip(r)) continue;
      if (hidden.includes(n)) {
        out.push({ Path: `/${r}`, Kind: 2 });
        reported = true;
        continue;
      }
      const st = lstatOrNull(fdPath(dirFd, n));
      if (!st) continue;
      if (isWhiteout(st)) {
        out.push({ Path: `/${r}`, Kind: 2 });
        reported = true;
        continue;
      }
      const existed = dirInImage && inImage(layers, r);
      if (st.isDirectory()) {
        const at = out.length;
        let fd: number;
        try {
          fd = ConfinedRoot.openDir(dirFd, n);
        } catch {
          continue; // replaced since the lstat
        }
        let childChanged: boolean;
        try {
          childChanged = await walk(fd, r, existed);
        } finally {
          closeSync(fd);
        }
        // A directory that only holds skipped mount points is not a change (dockerd's init layer hides them).
        if (!existed || childChanged) {
          out.splice(at, 0, { Path: `/${r}`, Kind: existed ? 0 : 1 });
          reported = true;
        }
        continue;
      }
      out.push({ Path: `/${r}`, Kind: existed ? 0 : 1 });
      reported = true;
    }
    return reported;
  };
  try {
    await walk(root.fd, '', true);
  } finally {
    root.close();
  }
  return out;
}
