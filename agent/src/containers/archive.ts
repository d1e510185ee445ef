/**
 * `docker cp` out of a container and `docker export`: path stat in dockerd's X-Docker-Container-Path-Stat
 * form and tar streams of a path (or the whole root) read without following symlinks on the host.
 */
import { createReadStream, lstatSync, promises as fsp, type Stats } from 'node:fs';
import path from 'node:path';
import type { Writable } from 'node:stream';
import type { PathStat } from '@berth/common';
import { notFound } from '../api/errors.js';
import { TarStreamWriter, type TarEntry } from '../util/tar-writer.js';
import { hostPath, resolveInRoot } from './rootfs-path.js';

/** Go's os.FileMode bits, which the docker CLI decodes from the stat header. */
const GO_DIR = 2 ** 31;
const GO_SYMLINK = 2 ** 27;
const GO_DEVICE = 2 ** 26;
const GO_PIPE = 2 ** 25;
const GO_SOCKET = 2 ** 24;
const GO_SETUID = 2 ** 23;
const GO_SETGID = 2 ** 22;
const GO_CHARDEV = 2 ** 21;
const GO_STICKY = 2 ** 20;

export function goFileMode(st: Stats): number {
  let m = st.mode & 0o777;
  if (st.isDirectory()) m += GO_DIR;
  else if (st.isSymbolicLink()) m += GO_SYMLINK;
  else if (st.isFIFO()) m += GO_PIPE;
  else if (st.isSocket()) m += GO_SOCKET;
  else if (st.isCharacterDevice()) m += GO_DEVICE + GO_CHARDEV;
  else if (st.isBlockDevice()) m += GO_DEVICE;
  if (st.mode & 0o4000) m += GO_SETUID;
  if (st.mode & 0o2000) m += GO_SETGID;
  if (st.mode & 0o1000) m += GO_STICKY;
  return m;
}

export interface ResolvedPath {
  /** Clean container path (symlinks in parents resolved, the last component not followed). */
  path: string;
  host: string;
  stat: PathStat;
  st: Stats;
}

function notInContainer(p: string, id: string): Error {
  return notFound(`Could not find the file ${p} in container ${id}`);
}

/** Stats `p` as dockerd does for HEAD/GET archive: parents resolved in-root, the last component lstat'ed. */
export function statPath(root: string, p: string, containerId: string): ResolvedPath {
  const resolved = resolveInRoot(root, p, false);
  const host = hostPath(root, resolved);
  let st: Stats;
  try {
    st = lstatSync(host);
  } catch {
    throw notInContainer(p, containerId);
  }
  // dockerd reports where a link leads inside the container (the CLI follows it with -L).
  const linkTarget = st.isSymbolicLink() ? resolveInRoot(root, p, true) : '';
  return {
    path: resolved,
    host,
    st,
    stat: { name: path.posix.basename(resolved) || '/', size: st.size, mode: goFileMode(st), mtime: st.mtime.toISOString(), linkTarget },
  };
}

export function encodeStat(s: PathStat): string {
  return Buffer.from(JSON.stringify(s)).toString('base64');
}

function devNums(rdev: number): { devmajor: number; devminor: number } {
  return { devmajor: (rdev >> 8) & 0xfff, devminor: (rdev & 0xff) | ((rdev >> 12) & 0xfff00) };
}

export interface WalkOptions {
  /** Do not descend into other filesystems (export skips /proc, /sys, volumes...). */
  oneFilesystem?: boolean;
  /** Container paths (relative to the walk root, no leading slash) to leave out. */
  skip?: (rel: string) => boolean;
  /** Writing a layer from an overlay upper dir: 0/0 character devices become `.wh.` whiteout files. */
  whiteouts?: boolean;
  /** Opaque directories of that upper dir (storage/opaque.ts): each gets a `.wh..wh..opq` marker. */
  opaqueDirs?: ReadonlySet<string>;
}

/** Streams `host` (a file or a tree; end a magic /proc/<pid>/root with '/') as a tar whose top entry is `name` ('' = contents only). */
export async function writeTree(out: Writable, host: string, name: string, opts: WalkOptions = {}): Promise<void> {
  const tar = new TarStreamWriter(out);
  const rootSt = lstatSync(host);
  const inodes = new Map<string, string>();
  const visit = async (abs: string, rel: string, st: Stats): Promise<void> => {
    if (rel && opts.skip?.(rel)) return;
    const base: TarEntry = { name: rel, type: 'file', mode: st.mode & 0o7777, uid: st.uid, gid: st.gid, mtime: Math.floor(st.mtimeMs / 1000) };
    if (st.isDirectory()) {
      if (rel) await tar.add({ ...base, name: rel + '/', type: 'dir' });
      if (rel && opts.opaqueDirs?.has(rel)) await tar.add({ ...base, name: `${rel}/.wh..wh..opq`, mode: 0o644, size: 0 }, Buffer.alloc(0));
      if (opts.oneFilesystem && st.dev !== rootSt.dev) return;
      const names = (await fsp.readdir(abs)).sort();
      for (const n of names) {
        let cst: Stats;
        try {
          cst = lstatSync(path.join(abs, n));
        } catch {
          continue; // vanished while we walked (a running container)
        }
        if (opts.oneFilesystem && !cst.isDirectory() && cst.dev !== rootSt.dev) continue;
        await visit(path.join(abs, n), rel ? `${rel}/${n}` : n, cst);
      }
      return;
    }
    if (!rel) return;
    if (st.nlink > 1 && !st.isDirectory()) {
      const key = `${st.dev}:${st.ino}`;
      const first = inodes.get(key);
      if (first) return tar.add({ ...base, type: 'hardlink', linkname: first });
      inodes.set(key, rel);
    }
    if (st.isSymbolicLink()) return tar.add({ ...base, type: 'symlink', linkname: await fsp.readlink(abs) });
    if (st.isFile()) return tar.add({ ...base, size: st.size }, st.size === 0 ? Buffer.alloc(0) : createReadStream(abs));
    if (opts.whiteouts && st.isCharacterDevice() && st.rdev === 0) {
      const i = rel.lastIndexOf('/');
      return tar.add({ ...base, name: `${rel.slice(0, i + 1)}.wh.${rel.slice(i + 1)}`, mode: 0o644, size: 0 }, Buffer.alloc(0));
    }
    if (st.isCharacterDevice()) return tar.add({ ...base, type: 'char', ...devNums(st.rdev) });
    if (st.isBlockDevice()) return tar.add({ ...base, type: 'block', ...devNums(st.rdev) });
    if (st.isFIFO()) return tar.add({ ...base, type: 'fifo' });
    // Sockets have no tar form; dockerd skips them too.
  };
  if (rootSt.isDirectory()) {
    if (name) await tar.add({ name: name + '/', type: 'dir', mode: rootSt.mode & 0o7777, uid: rootSt.uid, gid: rootSt.gid, mtime: Math.floor(rootSt.mtimeMs / 1000) });
    for (const n of (await fsp.readdir(host)).sort()) {
      let cst: Stats;
      try {
        cst = lstatSync(path.join(host, n));
      } catch {
        continue;
      }
      if (opts.oneFilesystem && !cst.isDirectory() && cst.dev !== rootSt.dev) continue;
      await visit(path.join(host, n), name ? `${name}/${n}` : n, cst);
    }
  } else await visit(host, name, rootSt);
  await tar.finish();
}
