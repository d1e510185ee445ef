/**
 * `docker cp` out of a container and `docker export`: path stat in dockerd's X-Docker-Container-Path-Stat
 * form and tar streams of a path (or the whole root) read without following symlinks on the host.
 */
import { closeSync, constants, lstatSync, promises as fsp, readlinkSync, type Stats } from 'node:fs';
import type { FileHandle } from 'node:fs/promises';
import path from 'node:path';
import { Readable, type Writable } from 'node:stream';
import type { PathStat } from '@berth/common';
import { notFound } from '../errors.js';
import { TarStreamWriter, type TarEntry } from '../util/tar-writer.js';
import { ConfinedRoot, fdPath } from './confined-root.js';

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
  stat: PathStat;
  st: Stats;
}

function notInContainer(p: string, id: string): Error {
  return notFound(`Could not find the file ${p} in container ${id}`);
}

/** Stats `p` as dockerd does for HEAD/GET archive: parents resolved in-root, the last component lstat'ed. */
export function statPath(root: string, p: string, containerId: string): ResolvedPath {
  const cr = ConfinedRoot.open(root);
  try {
    const r = cr.stat(p, false);
    if (!r) throw notInContainer(p, containerId);
    const st = r.st;
    // dockerd reports where a link leads inside the container (the CLI follows it with -L).
    let linkTarget = '';
    if (st.isSymbolicLink()) {
      const t = cr.resolve(p, true);
      t.release();
      linkTarget = t.path;
    }
    return {
      path: r.path,
      st,
      stat: {
        name: path.posix.basename(r.path) || '/',
        size: st.size,
        mode: goFileMode(st),
        mtime: st.mtime.toISOString(),
        linkTarget,
      },
    };
  } finally {
    cr.close();
  }
}

export function encodeStat(s: PathStat): string {
  return Buffer.from(JSON.stringify(s)).toString('base64');
}

function devNums(rdev: number): { devmajor: number; devminor: number } {
  return { devmajor: (rdev >> 8) & 0xfff, devminor: (rdev & 0xff) | ((rdev >> 12) & 0xfff00) };
}

/** How a walk treats mount points of a running container's tree (dockerd reads the rootfs plus volumes). */
export interface MountPolicy {
  /** Container paths that are mount points (from the container's mountinfo). */
  points: ReadonlySet<string>;
  /** Whether a mount's content belongs in the archive (volumes, bind mounts, /etc/hosts...). */
  include(containerPath: string): boolean;
  /** The entry the mount covers (in the container's layers), for its header; null when none. */
  underlying(containerPath: string): Stats | null;
}

export interface WalkOptions {
  /** The container path under the root to archive (parents resolved in-root, itself not followed); default the root. */
  path?: string;
  /** Mount points met on the way: without a policy every directory is descended (overlay dirs hold no mounts). */
  mounts?: MountPolicy;
  /** Container paths (relative to the walk root, no leading slash) to leave out. */
  skip?: (rel: string) => boolean;
  /** Writing a layer from an overlay upper dir: 0/0 character devices become `.wh.` whiteout files. */
  whiteouts?: boolean;
  /** Opaque directories of that upper dir (storage/opaque.ts): each gets a `.wh..wh..opq` marker. */
  opaqueDirs?: ReadonlySet<string>;
}

const FILE_FLAGS = constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK;
const CHUNK = 256 << 10;

/** Exactly `size` bytes of an open file: a running container may grow or shrink it while we read. */
async function* fixedSize(fh: FileHandle, size: number): AsyncGenerator<Buffer> {
  let left = size;
  while (left > 0) {
    const buf = Buffer.allocUnsafe(Math.min(CHUNK, left));
    const { bytesRead } = await fh.read(buf, 0, buf.length, size - left);
    if (bytesRead === 0) {
      yield Buffer.alloc(left);
      return;
    }
    left -= bytesRead;
    yield buf.subarray(0, bytesRead);
  }
}

function errCode(err: unknown): string | undefined {
  return (err as NodeJS.ErrnoException).code;
}

/** Vanished or swapped for something else between our lstat and our open: a live container's tree moves. */
const RACED = new Set(['ENOENT', 'ELOOP', 'ENOTDIR', 'ENXIO', 'EWOULDBLOCK']);

/**
 * Streams the tree at `root` (a host dir: /proc/<pid>/root, an overlay upper dir) as a tar whose top entry is
 * `name` ('' = contents only). Every step goes through directory fds (containers/confined-root.ts), so links or
 * swaps inside the tree never lead outside it.
 */
export async function writeTree(
  out: Writable,
  root: string,
  name: string,
  opts: WalkOptions = {},
): Promise<void> {
  const tar = new TarStreamWriter(out);
  const cr = ConfinedRoot.open(root);
  const start = opts.path ?? '/';
  const inodes = new Map<string, string>();
  const header = (rel: string, st: Stats): TarEntry => ({
    name: rel,
    type: 'file',
    mode: st.mode & 0o7777,
    uid: st.uid,
    gid: st.gid,
    mtime: Math.floor(st.mtimeMs / 1000),
  });

  // Tar names: `name` for the start, `name/child` below it ('/' as dockerd names a copy of the root: '/bin').
  const tarName = (lrel: string): string =>
    !lrel ? name : !name ? lrel : name === '/' ? `/${lrel}` : `${name}/${lrel}`;
  const dirName = (n: string): string => (n.endsWith('/') ? n : n + '/');

  const visitDir = async (dirFd: number, lrel: string, cpath: string, dev: number): Promise<void> => {
    let names: string[];
    try {
      names = (await fsp.readdir(fdPath(dirFd))).sort();
    } catch (err) {
      if (RACED.has(errCode(err) ?? '')) return;
      throw err;
    }
    for (const n of names) {
      let st: Stats;
      try {
        st = lstatSync(fdPath(dirFd, n));
      } catch {
        continue; // vanished while we walked (a running container)
      }
      await visit(dirFd, n, lrel ? `${lrel}/${n}` : n, cpath === '/' ? `/${n}` : `${cpath}/${n}`, st, dev);
    }
  };

  /** One entry: `lrel` is its path below the start (what skip and opaqueDirs name), `cpath` its container path. */
  const visit = async (
    parentFd: number,
    n: string,
    lrel: string,
    cpath: string,
    st: Stats,
    parentDev: number,
  ): Promise<void> => {
    if (lrel && opts.skip?.(lrel)) return;
    const rel = tarName(lrel);
    const base = header(rel, st);
    const m = opts.mounts;
    if (m && (m.points.has(cpath) || (st.isDirectory() && st.dev !== parentDev)) && !m.include(cpath)) {
      // A mount whose content dockerd leaves out (proc, sysfs, /dev, tmpfs...): the entry it covers, not its content.
      const under = m.underlying(cpath);
      const h = under ? header(rel, under) : base;
      if ((under ?? st).isDirectory()) return tar.add({ ...h, name: dirName(rel), type: 'dir' });
      if (!under || under.isFile()) return tar.add({ ...h, size: 0 }, Buffer.alloc(0));
      return;
    }
    if (st.isDirectory()) {
      await tar.add({ ...base, name: dirName(rel), type: 'dir' });
      if (opts.opaqueDirs?.has(lrel))
        await tar.add(
          { ...base, name: `${dirName(rel)}.wh..wh..opq`, mode: 0o644, size: 0 },
          Buffer.alloc(0),
        );
      let fd: number;
      try {
        fd = ConfinedRoot.openDir(parentFd, n);
      } catch (err) {
        if (RACED.has(errCode(err) ?? '')) return;
        throw err;
      }
      try {
        await visitDir(fd, lrel, cpath, st.dev);
      } finally {
        closeSync(fd);
      }
      return;
    }
    if (st.nlink > 1) {
      const key = `${st.dev}:${st.ino}`;
      const first = inodes.get(key);
      if (first) return tar.add({ ...base, type: 'hardlink', linkname: first });
      inodes.set(key, rel);
    }
    if (st.isSymbolicLink()) {
      let linkname: string;
      try {
        linkname = readlinkSync(fdPath(parentFd, n));
      } catch {
        return;
      }
      return tar.add({ ...base, type: 'symlink', linkname });
    }
    if (st.isFile()) {
      let fh: FileHandle;
      try {
        fh = await fsp.open(fdPath(parentFd, n), FILE_FLAGS);
      } catch (err) {
        if (RACED.has(errCode(err) ?? '')) return;
        throw err;
      }
      try {
        const fst = await fh.stat();
        if (!fst.isFile()) return; // swapped for a fifo or a device since the lstat
        return await tar.add(
          { ...header(rel, fst), size: fst.size },
          fst.size === 0 ? Buffer.alloc(0) : Readable.from(fixedSize(fh, fst.size)),
        );
      } finally {
        await fh.close();
      }
    }
    if (opts.whiteouts && st.isCharacterDevice() && st.rdev === 0) {
      const i = rel.lastIndexOf('/');
      return tar.add(
        { ...base, name: `${rel.slice(0, i + 1)}.wh.${rel.slice(i + 1)}`, mode: 0o644, size: 0 },
        Buffer.alloc(0),
      );
    }
    if (st.isCharacterDevice()) return tar.add({ ...base, type: 'char', ...devNums(st.rdev) });
    if (st.isBlockDevice()) return tar.add({ ...base, type: 'block', ...devNums(st.rdev) });
    if (st.isFIFO()) return tar.add({ ...base, type: 'fifo' });
    // Sockets have no tar form; dockerd skips them too.
  };

  try {
    const r = cr.resolve(start, false);
    try {
      if (r.dir < 0) throw new Error(`${start}: no such file or directory`);
      const st = ConfinedRoot.lstat(r);
      if (!r.name) {
        // The start is a directory held by `r.dir` itself (the root, or a path ending in `..`).
        if (name) await tar.add({ ...header(name, st), name: dirName(name), type: 'dir' });
        await visitDir(r.dir, '', r.path, st.dev);
      } else if (st.isDirectory() && !name) {
        const fd = ConfinedRoot.openDir(r.dir, r.name);
        try {
          await visitDir(fd, '', r.path, st.dev);
        } finally {
          closeSync(fd);
        }
      } else await visit(r.dir, r.name, '', r.path, st, st.dev);
    } finally {
      r.release();
    }
  } finally {
    cr.close();
  }
  await tar.finish();
}
