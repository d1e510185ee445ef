/**
 * `docker cp` into a container: an untrusted tar extracted under a directory of the container's root. Every
 * entry's parent is resolved inside the root (symlinks followed as a chroot would), the entry itself is never
 * followed (existing links are replaced, files opened O_NOFOLLOW), so neither `..` nor a symlink in the archive
 * or in the container can write outside it.
 */
import { spawnSync } from 'node:child_process';
import { chmodSync, closeSync, constants, lchownSync, linkSync, lstatSync, mkdirSync, openSync, rmSync, symlinkSync, unlinkSync, utimesSync, writeSync, type Stats } from 'node:fs';
import path from 'node:path';
import { ApiError, badParameter } from '../api/errors.js';
import type { TarEntry, TarSink } from '../storage/tar-parse.js';
import { hostPath, resolveInRoot } from './rootfs-path.js';

export interface ExtractOptions {
  /** dockerd's noOverwriteDirNonDir: refuse to replace a directory with a non-directory or vice versa. */
  noOverwriteDirNonDir: boolean;
  /** Keep the archive's uid/gid (docker cp -a); otherwise everything is owned by root, as dockerd. */
  copyUidGid: boolean;
}

function lstatOrNull(p: string): Stats | null {
  try {
    return lstatSync(p);
  } catch {
    return null;
  }
}

export class ContainerExtractor implements TarSink {
  private fd: number | undefined;
  private file: { host: string; e: TarEntry } | undefined;
  private dirTimes: { host: string; mtime: number }[] = [];

  constructor(
    private readonly root: string,
    /** Resolved container directory to extract into. */
    private readonly dest: string,
    private readonly o: ExtractOptions,
  ) {}

  private clean(name: string): string[] {
    const parts = name.split('/').filter((c) => c !== '' && c !== '.');
    if (parts.length === 0) return [];
    return parts;
  }

  /** Host path for an entry: parent resolved in-root and created if missing; the last component as is. */
  private target(parts: string[]): string {
    const parent = resolveInRoot(this.root, path.posix.join(this.dest, ...parts.slice(0, -1)), true);
    // Existing components of `parent` are real directories now; create the missing ones.
    let cur = '/';
    for (const c of parent.split('/').filter(Boolean)) {
      cur = path.posix.join(cur, c);
      const h = hostPath(this.root, cur);
      const st = lstatOrNull(h);
      if (!st) mkdirSync(h, { mode: 0o755 });
      else if (!st.isDirectory()) throw badParameter(`cannot extract into ${cur}: not a directory`);
    }
    return hostPath(this.root, path.posix.join(parent, parts[parts.length - 1]!));
  }

  private clear(host: string, wantDir: boolean): void {
    const st = lstatOrNull(host);
    if (!st) return;
    if (st.isDirectory() && wantDir) return;
    if (this.o.noOverwriteDirNonDir && st.isDirectory() !== wantDir)
      throw badParameter(`cannot overwrite ${st.isDirectory() ? 'directory' : 'non-directory'} "${host.slice(this.root.length)}" with ${wantDir ? 'directory' : 'non-directory'}`);
    if (st.isDirectory()) rmSync(host, { recursive: true, force: true });
    else unlinkSync(host);
  }

  private own(host: string, e: TarEntry): void {
    const uid = this.o.copyUidGid ? e.uid : 0;
    const gid = this.o.copyUidGid ? e.gid : 0;
    lchownSync(host, uid, gid);
    if (e.type !== 'symlink') chmodSync(host, e.mode & 0o7777);
  }

  entry(e: TarEntry): void {
    const parts = this.clean(e.name);
    if (parts.length === 0) return; // the "./" entry
    const host = this.target(parts);
    switch (e.type) {
      case 'dir':
        this.clear(host, true);
        if (!lstatOrNull(host)) mkdirSync(host, { mode: 0o700 });
        this.own(host, e);
        this.dirTimes.push({ host, mtime: e.mtime });
        return;
      case 'file':
        this.clear(host, false);
        this.fd = openSync(host, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW, 0o600);
        this.file = { host, e };
        return;
      case 'symlink':
        this.clear(host, false);
        symlinkSync(e.linkname, host);
        this.own(host, e);
        return;
      case 'hardlink': {
        const src = hostPath(this.root, resolveInRoot(this.root, path.posix.join(this.dest, e.linkname), false));
        const st = lstatOrNull(src);
        if (!st || st.isDirectory()) throw badParameter(`invalid hardlink ${e.name} -> ${e.linkname}`);
        this.clear(host, false);
        linkSync(src, host);
        return;
      }
      case 'char':
      case 'block':
      case 'fifo': {
        this.clear(host, false);
        // Node has no mknod(2); coreutils does the one syscall on a path already resolved in-root.
        const args = e.type === 'fifo' ? ['-m', '600', host, 'p'] : [host, e.type === 'char' ? 'c' : 'b', String(e.devmajor), String(e.devminor)];
        const r = spawnSync('mknod', args);
        if (r.status !== 0) throw new ApiError(500, `mknod ${e.name}: ${r.stderr.toString().trim()}`);
        this.own(host, e);
        return;
      }
    }
  }

  data(chunk: Buffer): void {
    if (this.fd === undefined) return;
    let off = 0;
    while (off < chunk.length) off += writeSync(this.fd, chunk, off);
  }

  entryEnd(): void {
    if (this.fd === undefined) return;
    closeSync(this.fd);
    this.fd = undefined;
    if (this.file) {
      this.own(this.file.host, this.file.e);
      utimesSync(this.file.host, this.file.e.mtime, this.file.e.mtime);
      this.file = undefined;
    }
  }

  /** Regular files get owner, mode and times after their data; directories get their times last. */
  finish(): void {
    for (const d of this.dirTimes.reverse()) utimesSync(d.host, d.mtime, d.mtime);
  }

  abort(): void {
    if (this.fd !== undefined) closeSync(this.fd);
    this.fd = undefined;
  }
}
