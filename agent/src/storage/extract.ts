/**
 * Safe, single-pass extraction of an untrusted layer tar into an empty directory, in the form overlayfs
 * stacks as a lowerdir: `.wh.NAME` becomes a 0/0 character device, `.wh..wh..opq` the
 * `trusted.overlay.opaque=y` xattr on its directory.
 *
 * Safety: every path is resolved inside the root against what this extraction itself created (the directory
 * starts empty), so no symlink is ever followed on the host; `..`, escaping hardlinks and symlinks, device
 * nodes and oversized entries are refused. File data is written synchronously as it streams by: one pass.
 * Node has no mknod/mkfifo/setxattr, so whiteouts, fifos and xattrs are collected and applied at the end
 * by one GNU tar process fed a small generated archive whose paths were already resolved here.
 */
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { TarParser, TarFormatError, type TarEntry, type TarSink } from './tar-parse.js';
import { tarHeader, tarPadding, TAR_END, type TarEntry as HeaderInput } from '../util/tar-writer.js';

export class LayerError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'LayerError';
  }
}

export const WHITEOUT_PREFIX = '.wh.';
export const OPAQUE_MARKER = '.wh..wh..opq';
export const OPAQUE_XATTR = 'trusted.overlay.opaque';
/** Only these xattrs from a layer are applied; trusted.* would let a layer steer overlayfs. */
const ALLOWED_XATTR = /^(security\.capability|user\..+)$/;
/** A file with xattrs is routed through GNU tar; bigger ones keep their data but lose the xattrs. */
const MAX_DEFERRED_FILE = 8 << 20;

export interface ExtractLimits {
  maxEntrySize: number;
  maxTotalSize: number;
  maxEntries: number;
}

export const DEFAULT_LIMITS: ExtractLimits = {
  maxEntrySize: 64 * 2 ** 30,
  maxTotalSize: 256 * 2 ** 30,
  maxEntries: 5_000_000,
};

type Kind = 'dir' | 'file' | 'symlink' | 'other' | 'deferred';

const IS_ROOT = process.getuid?.() === 0;
/** Read once: modes the umask would not change need no chmod after creation. */
const UMASK = (() => {
  const u = process.umask(0o022);
  process.umask(u);
  return u;
})();

/** Splits a tar path into clean components; refuses `..` (the layer would escape its root). */
export function cleanComponents(name: string, what = 'path'): string[] {
  const parts: string[] = [];
  for (const c of name.split('/')) {
    if (c === '' || c === '.') continue;
    if (c === '..')
      throw new LayerError(`invalid ${what} in layer: ${JSON.stringify(name)} escapes the layer root`);
    parts.push(c);
  }
  return parts;
}

export interface ExtractStats {
  /** Bytes of regular file data written. */
  size: number;
  entries: number;
}

export class LayerExtractor implements TarSink {
  private kinds = new Map<string, Kind>();
  private links = new Map<string, string>();
  private dirTimes: [string, number][] = [];
  private special: Buffer[] = [];
  private fd: number | undefined;
  private deferred: { header: HeaderInput; chunks: Buffer[] } | undefined;
  private parser: TarParser;
  readonly stats: ExtractStats = { size: 0, entries: 0 };

  constructor(
    readonly root: string,
    private readonly limits: ExtractLimits = DEFAULT_LIMITS,
  ) {
    this.kinds.set('', 'dir');
    this.parser = new TarParser(this, limits.maxEntrySize);
  }

  write(chunk: Buffer): void {
    try {
      this.parser.write(chunk);
    } catch (err) {
      this.closeFd();
      throw wrap(err);
    }
  }

  /** Ends the archive: applies whiteouts/specials, then directory times. */
  async finish(): Promise<ExtractStats> {
    try {
      this.parser.end();
    } catch (err) {
      this.closeFd();
      throw wrap(err);
    }
    if (this.special.length > 0) await applyWithTar(this.root, Buffer.concat([...this.special, TAR_END]));
    for (let i = this.dirTimes.length - 1; i >= 0; i--) {
      const [rel, mtime] = this.dirTimes[i];
      if (this.kinds.get(rel) === 'dir') fs.utimesSync(path.join(this.root, rel), mtime, mtime);
    }
    return this.stats;
  }

  /** Closes a file left open by an aborted extraction. */
  abort(): void {
    this.closeFd();
  }

  entry(e: TarEntry): void {
    if (++this.stats.entries > this.limits.maxEntries)
      throw new LayerError(`layer has more than ${this.limits.maxEntries} entries`);
    const parts = cleanComponents(e.name);
    if (parts.length === 0) return; // the root itself: keep ours
    const base = parts[parts.length - 1];
    if (base.startsWith(WHITEOUT_PREFIX)) return this.whiteout(parts, base, e);
    if (e.type === 'char' && e.devmajor === 0 && e.devminor === 0) {
      // Already in overlay form (a layer taken from an overlay upper dir).
      const dir = this.resolveDir(parts.slice(0, -1), e.name);
      this.replace(join(dir, base));
      this.addSpecial({ name: join(dir, base), type: 'char', mode: 0, mtime: e.mtime }, join(dir, base));
      return;
    }
    const dir = this.resolveDir(parts.slice(0, -1), e.name);
    const rel = join(dir, base);
    const abs = path.join(this.root, rel);
    const xattrs = filterXattrs(e.xattrs);
    switch (e.type) {
      case 'dir': {
        const k = this.kinds.get(rel);
        if (k !== 'dir') {
          if (k !== undefined) this.replace(rel);
          fs.mkdirSync(abs, { mode: e.mode & 0o777 });
          this.kinds.set(rel, 'dir');
          this.owner(abs, e);
          if (e.mode & ~0o777 || e.mode & UMASK) fs.chmodSync(abs, e.mode);
        } else {
          this.owner(abs, e);
          fs.chmodSync(abs, e.mode);
        }
        this.dirTimes.push([rel, e.mtime]);
        if (Object.keys(xattrs).length > 0)
          this.addSpecial({ ...headerOf(e, rel), pax: paxOf(xattrs) }, undefined);
        return;
      }
      case 'file': {
        this.replace(rel);
        if (Object.keys(xattrs).length > 0 && e.size <= MAX_DEFERRED_FILE) {
          this.deferred = { header: { ...headerOf(e, rel), pax: paxOf(xattrs) }, chunks: [] };
          this.kinds.set(rel, 'deferred');
          return;
        }
        // O_EXCL: the final component is never followed, even if something raced a symlink in.
        this.fd = fs.openSync(
          abs,
          fs.constants.O_WRONLY | fs.constants.O_CREAT | fs.constants.O_EXCL,
          e.mode & 0o777 & ~UMASK,
        );
        this.kinds.set(rel, 'file');
        this.pending = e;
        return;
      }
      case 'symlink': {
        if (!e.linkname.startsWith('/')) {
          // dockerd's rule: a relative target may not climb above the layer root.
          let depth = parts.length - 1;
          for (const c of e.linkname.split('/')) {
            if (c === '..') depth--;
            else if (c !== '' && c !== '.') depth++;
            if (depth < 0)
              throw new LayerError(
                `invalid symlink ${JSON.stringify(e.name)} -> ${JSON.stringify(e.linkname)}: it escapes the layer root`,
              );
          }
        }
        this.replace(rel);
        fs.symlinkSync(e.linkname, abs);
        this.kinds.set(rel, 'symlink');
        this.links.set(rel, e.linkname);
        this.owner(abs, e);
        fs.lutimesSync(abs, e.mtime, e.mtime);
        return;
      }
      case 'hardlink': {
        const tparts = cleanComponents(e.linkname, 'hardlink target');
        if (tparts.length === 0)
          throw new LayerError(`invalid hardlink ${JSON.stringify(e.name)} -> ${JSON.stringify(e.linkname)}`);
        const tdir = this.resolveDir(tparts.slice(0, -1), e.linkname);
        const target = join(tdir, tparts[tparts.length - 1]);
        const tk = this.kinds.get(target);
        if (tk === undefined)
          throw new LayerError(
            `invalid hardlink ${JSON.stringify(e.name)} -> ${JSON.stringify(e.linkname)}: target is not in the layer`,
          );
        if (tk === 'dir')
          throw new LayerError(
            `invalid hardlink ${JSON.stringify(e.name)} -> ${JSON.stringify(e.linkname)}: target is a directory`,
          );
        if (target === rel) return;
        this.replace(rel);
        if (tk === 'deferred') {
          this.addSpecial({ name: rel, type: 'hardlink', linkname: target }, rel);
          return;
        }
        fs.linkSync(path.join(this.root, target), abs);
        this.kinds.set(rel, tk);
        return;
      }
      case 'fifo':
        this.replace(rel);
        this.addSpecial(headerOf(e, rel), rel);
        return;
      case 'char':
      case 'block':
        throw new LayerError(
          `device node ${JSON.stringify(e.name)} (${e.devmajor}:${e.devminor}) is not allowed in an image layer`,
        );
    }
  }

  private pending: TarEntry | undefined;

  data(chunk: Buffer): void {
    this.stats.size += chunk.length;
    if (this.stats.size > this.limits.maxTotalSize)
      throw new LayerError(`layer is larger than ${this.limits.maxTotalSize} bytes`);
    if (this.deferred) {
      this.deferred.chunks.push(Buffer.from(chunk));
      return;
    }
    if (this.fd === undefined) return;
    let off = 0;
    while (off < chunk.length) off += fs.writeSync(this.fd, chunk, off, chunk.length - off);
  }

  entryEnd(): void {
    if (this.deferred) {
      const { header, chunks } = this.deferred;
      this.deferred = undefined;
      const body = Buffer.concat(chunks);
      this.special.push(tarHeader({ ...header, size: body.length }), body, tarPadding(body.length));
      return;
    }
    const e = this.pending;
    const fd = this.fd;
    this.pending = undefined;
    this.fd = undefined;
    if (fd === undefined || !e) return;
    try {
      // chown first: it clears setuid bits that chmod then sets. Both are skipped when creation got it right
      // (root-owned files whose mode the umask left alone: most of a layer), saving two syscalls per file.
      const chowned = IS_ROOT && (e.uid !== 0 || e.gid !== 0);
      if (chowned) fs.fchownSync(fd, e.uid, e.gid);
      if (e.mode & ~0o777 || e.mode & UMASK || (chowned && e.mode & 0o6000)) fs.fchmodSync(fd, e.mode);
      fs.futimesSync(fd, e.mtime, e.mtime);
    } finally {
      fs.closeSync(fd);
    }
  }

  private closeFd(): void {
    if (this.fd !== undefined) {
      try {
        fs.closeSync(this.fd);
      } catch {
        /* already closed */
      }
      this.fd = undefined;
    }
  }

  private whiteout(parts: string[], base: string, e: TarEntry): void {
    const dir = this.resolveDir(parts.slice(0, -1), e.name);
    if (base === OPAQUE_MARKER) {
      const mtime = this.dirTimes.find(([r]) => r === dir)?.[1] ?? e.mtime;
      const st = fs.statSync(path.join(this.root, dir));
      this.addSpecial(
        {
          name: dir === '' ? '.' : dir,
          type: 'dir',
          mode: st.mode & 0o7777,
          uid: st.uid,
          gid: st.gid,
          mtime,
          pax: paxOf({ [OPAQUE_XATTR]: 'y' }),
        },
        undefined,
      );
      return;
    }
    if (base.startsWith(WHITEOUT_PREFIX + WHITEOUT_PREFIX)) return; // aufs metadata (.wh..wh.plnk etc.)
    const name = base.slice(WHITEOUT_PREFIX.length);
    if (name === '' || name === '.' || name === '..')
      throw new LayerError(`invalid whiteout ${JSON.stringify(e.name)}`);
    const rel = join(dir, name);
    this.replace(rel);
    this.addSpecial({ name: rel, type: 'char', mode: 0, mtime: e.mtime }, rel);
  }

  private addSpecial(h: HeaderInput, rel: string | undefined): void {
    this.special.push(tarHeader(h));
    if (rel !== undefined) this.kinds.set(rel, 'deferred');
  }

  /** Removes whatever this layer already put at `rel` (later tar entries win), unless both are directories. */
  private replace(rel: string): void {
    const k = this.kinds.get(rel);
    if (k === undefined) return;
    if (k === 'deferred') throw new LayerError(`layer rewrites special file ${JSON.stringify(rel)}`);
    fs.rmSync(path.join(this.root, rel), { recursive: true, force: true });
    for (const key of [...this.kinds.keys()])
      if (key === rel || key.startsWith(rel + '/')) this.kinds.delete(key);
    this.links.delete(rel);
  }

  /**
   * Resolves directory components inside the root without touching host symlinks: each component is looked up
   * in what this layer created; a symlink is followed in scope (clamped at the root), missing ones are created.
   */
  private resolveDir(parts: string[], orig: string, hops = 0): string {
    let cur = '';
    for (let i = 0; i < parts.length; i++) {
      const c = parts[i];
      const next = join(cur, c);
      const k = this.kinds.get(next);
      if (k === undefined) {
        fs.mkdirSync(path.join(this.root, next), { mode: 0o755 });
        this.kinds.set(next, 'dir');
        cur = next;
      } else if (k === 'dir') {
        cur = next;
      } else if (k === 'symlink') {
        if (hops > 40)
          throw new LayerError(`too many levels of symbolic links resolving ${JSON.stringify(orig)}`);
        const target = this.links.get(next)!;
        const stack = target.startsWith('/') ? [] : cur === '' ? [] : cur.split('/');
        for (const t of target.split('/')) {
          if (t === '' || t === '.') continue;
          if (t === '..') stack.pop();
          else stack.push(t);
        }
        cur = this.resolveDir(stack, orig, hops + 1);
      } else {
        throw new LayerError(
          `invalid path in layer: ${JSON.stringify(orig)}: ${JSON.stringify(next)} is not a directory`,
        );
      }
    }
    return cur;
  }

  private owner(abs: string, e: TarEntry): void {
    if (IS_ROOT && (e.uid !== 0 || e.gid !== 0)) fs.lchownSync(abs, e.uid, e.gid);
  }
}

function join(dir: string, base: string): string {
  return dir === '' ? base : `${dir}/${base}`;
}

function headerOf(e: TarEntry, rel: string): HeaderInput {
  return {
    name: rel,
    type: e.type,
    mode: e.mode,
    uid: e.uid,
    gid: e.gid,
    mtime: e.mtime,
    linkname: e.linkname,
  };
}

function paxOf(xattrs: Record<string, string>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(xattrs)) out[`SCHILY.xattr.${k}`] = v;
  return out;
}

function filterXattrs(x: Record<string, string>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(x)) if (ALLOWED_XATTR.test(k)) out[k] = v;
  return out;
}

function wrap(err: unknown): Error {
  if (err instanceof LayerError) return err;
  if (err instanceof TarFormatError) return new LayerError(err.message);
  return err as Error;
}

/** Applies the generated archive of whiteouts, fifos and xattrs with GNU tar (paths already resolved). */
function applyWithTar(root: string, archive: Buffer): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn(
      'tar',
      ['--xattrs', '--xattrs-include=*', '--numeric-owner', '-p', '-x', '-f', '-', '-C', root],
      {
        stdio: ['pipe', 'ignore', 'pipe'],
      },
    );
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('error', (err) => reject(new LayerError(`cannot run tar to apply whiteouts: ${err.message}`)));
    child.on('close', (code) =>
      code === 0
        ? resolve()
        : reject(new LayerError(`applying whiteouts failed: ${stderr.trim() || `tar exited ${code}`}`)),
    );
    child.stdin.on('error', () => {
      /* reported through close */
    });
    child.stdin.end(archive);
  });
}
