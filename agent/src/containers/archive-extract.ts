/**
 * `docker cp` into a container: an untrusted tar extracted under a directory of the container's root. Every
 * entry's parent is resolved inside the root (symlinks followed as a chroot would) through directory fds
 * (confined-root.ts), and the entry itself is only ever named as one component of such an fd and never
 * followed (O_NOFOLLOW, lchown, lutimes, chmod through an O_PATH fd). So neither `..` nor a symlink in the
 * archive, nor a container process swapping a path component for a symlink while we write, can reach a host
 * file outside the root.
 */
import { spawnSync } from 'node:child_process';
import {
  chmodSync,
  closeSync,
  constants,
  fchmodSync,
  fchownSync,
  fstatSync,
  futimesSync,
  lchownSync,
  linkSync,
  lstatSync,
  lutimesSync,
  mkdirSync,
  openSync,
  readdirSync,
  rmdirSync,
  symlinkSync,
  unlinkSync,
  writeSync,
  type Stats,
} from 'node:fs';
import path from 'node:path';
import { badParameter, internal, notFound } from '../errors.js';
import type { TarEntry, TarSink } from '../storage/tar-parse.js';
import { ConfinedRoot, fdPath, O_PATH, type Resolved } from './confined-root.js';

export interface ExtractOptions {
  /** dockerd's noOverwriteDirNonDir: refuse to replace a directory with a non-directory or vice versa. */
  noOverwriteDirNonDir: boolean;
  /** Keep the archive's uid/gid (docker cp -a); otherwise everything is owned by root, as dockerd. */
  copyUidGid: boolean;
}

function lstatAt(dir: number, name: string): Stats | null {
  try {
    return lstatSync(fdPath(dir, name));
  } catch {
    return null;
  }
}

/** rm -r of `name` in `dir`, one directory fd at a time (a link swapped in is unlinked, never followed). */
function removeTree(dir: number, name: string): void {
  let fd: number;
  try {
    fd = ConfinedRoot.openDir(dir, name);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ELOOP' || code === 'ENOTDIR') return unlinkSync(fdPath(dir, name));
    if (code === 'ENOENT') return;
    throw err;
  }
  try {
    for (const n of readdirSync(fdPath(fd))) {
      if (lstatAt(fd, n)?.isDirectory()) removeTree(fd, n);
      else unlinkSync(fdPath(fd, n));
    }
  } finally {
    closeSync(fd);
  }
  rmdirSync(fdPath(dir, name));
}

export class ContainerExtractor implements TarSink {
  private file: { fd: number; e: TarEntry } | undefined;
  private dirTimes: { path: string; mtime: number }[] = [];

  private constructor(
    private readonly cr: ConfinedRoot,
    /** Resolved container directory to extract into. */
    private readonly dest: string,
    private readonly o: ExtractOptions,
  ) {}

  /** Opens the root and checks the extraction point (404 when missing, 400 when not a directory). */
  static open(root: string, dest: string, o: ExtractOptions, missing: string): ContainerExtractor {
    const cr = ConfinedRoot.open(root);
    try {
      const r = cr.stat(dest, true);
      if (!r) throw notFound(missing);
      if (!r.st.isDirectory()) throw badParameter('extraction point is not a directory');
      return new ContainerExtractor(cr, r.path, o);
    } catch (err) {
      cr.close();
      throw err;
    }
  }

  /** The entry's parent directory (made when missing) and its own name, never followed. */
  private target(name: string): Resolved | undefined {
    const parts = name.split('/').filter((c) => c !== '' && c !== '.');
    if (parts.length === 0) return undefined; // the "./" entry
    const r = this.cr.resolve(path.posix.join(this.dest, ...parts), false, true);
    if (r.dir < 0 || !r.name) {
      r.release();
      return undefined;
    }
    return r;
  }

  private clear(r: Resolved, wantDir: boolean): void {
    const st = lstatAt(r.dir, r.name);
    if (!st) return;
    if (st.isDirectory() && wantDir) return;
    if (this.o.noOverwriteDirNonDir && st.isDirectory() !== wantDir)
      throw badParameter(
        `cannot overwrite ${st.isDirectory() ? 'directory' : 'non-directory'} "${r.path}" with ${wantDir ? 'directory' : 'non-directory'}`,
      );
    if (st.isDirectory()) removeTree(r.dir, r.name);
    else unlinkSync(fdPath(r.dir, r.name));
  }

  private ids(e: TarEntry): [number, number] {
    return this.o.copyUidGid ? [e.uid, e.gid] : [0, 0];
  }

  /** Owner, then mode (chown clears setuid bits), on exactly the inode we made. */
  private own(r: Resolved, e: TarEntry): void {
    lchownSync(fdPath(r.dir, r.name), ...this.ids(e));
    if (e.type === 'symlink') return;
    const p = openSync(fdPath(r.dir, r.name), O_PATH | constants.O_NOFOLLOW);
    try {
      if (!fstatSync(p).isSymbolicLink()) chmodSync(fdPath(p), e.mode & 0o7777);
    } finally {
      closeSync(p);
    }
  }

  entry(e: TarEntry): void {
    const r = this.target(e.name);
    if (!r) return;
    try {
      switch (e.type) {
        case 'dir':
          this.clear(r, true);
          if (!lstatAt(r.dir, r.name)) mkdirSync(fdPath(r.dir, r.name), { mode: 0o700 });
          this.own(r, e);
          this.dirTimes.push({ path: r.path, mtime: e.mtime });
          return;
        case 'file': {
          this.clear(r, false);
          const fd = openSync(
            fdPath(r.dir, r.name),
            constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW,
            0o600,
          );
          this.file = { fd, e };
          return;
        }
        case 'symlink':
          this.clear(r, false);
          symlinkSync(e.linkname, fdPath(r.dir, r.name));
          this.own(r, e);
          return;
        case 'hardlink': {
          const src = this.cr.resolve(path.posix.join(this.dest, e.linkname), false);
          try {
            const st = src.dir >= 0 && src.name ? lstatAt(src.dir, src.name) : null;
            if (!st || st.isDirectory()) throw badParameter(`invalid hardlink ${e.name} -> ${e.linkname}`);
            this.clear(r, false);
            linkSync(fdPath(src.dir, src.name), fdPath(r.dir, r.name));
          } finally {
            src.release();
          }
          return;
        }
        case 'char':
        case 'block':
        case 'fifo': {
          this.clear(r, false);
          // Node has no mknod(2); coreutils makes the node as the last component of berthd's directory fd.
          const at = fdPath(r.dir, r.name);
          const args =
            e.type === 'fifo'
              ? ['-m', '600', at, 'p']
              : [at, e.type === 'char' ? 'c' : 'b', String(e.devmajor), String(e.devminor)];
          const res = spawnSync('mknod', args);
          if (res.status !== 0) throw internal(`mknod ${e.name}: ${res.stderr.toString().trim()}`);
          this.own(r, e);
          return;
        }
      }
    } finally {
      r.release();
    }
  }

  data(chunk: Buffer): void {
    if (!this.file) return;
    let off = 0;
    while (off < chunk.length) off += writeSync(this.file.fd, chunk, off);
  }

  entryEnd(): void {
    if (!this.file) return;
    const { fd, e } = this.file;
    this.file = undefined;
    try {
      fchownSync(fd, ...this.ids(e));
      fchmodSync(fd, e.mode & 0o7777);
      futimesSync(fd, e.mtime, e.mtime);
    } finally {
      closeSync(fd);
    }
  }

  /** Directories get their times last (their entries changed them); then the root is released. */
  finish(): void {
    try {
      for (const d of this.dirTimes.reverse()) {
        const r = this.cr.resolve(d.path, false);
        try {
          if (r.dir >= 0) lutimesSync(r.name ? fdPath(r.dir, r.name) : fdPath(r.dir), d.mtime, d.mtime);
        } finally {
          r.release();
        }
      }
    } finally {
      this.cr.close();
    }
  }

  abort(): void {
    if (this.file) closeSync(this.file.fd);
    this.file = undefined;
    this.cr.close();
  }
}
