/**
 * Where COPY/ADD read from: the received build context or another image's merged rootfs (COPY --from).
 * Both answer the same questions (lstat, list, resolve in scope) so copy planning does not care which.
 */
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import type { BuildContext, ContextEntry } from './context/receive.js';
import { resolveInScope, type RootfsView } from './rootfs-view.js';

export type SourceType = 'file' | 'dir' | 'symlink';

export interface SourceStat {
  type: SourceType;
  mode: number;
  uid: number;
  gid: number;
  size: number;
  mtime: number;
  linkname: string;
  /** where the bytes are on the host */
  hostPath: string;
  /** for context files: where the content starts in hostPath (the context's data file) */
  offset?: number;
}

export interface SourceFs {
  /** for messages and cache keys: 'context' or the image id */
  readonly id: string;
  lstat(rel: string): SourceStat | undefined;
  list(rel: string): string[];
  /** resolves symlinks inside the source root; never leaves it */
  resolve(rel: string, followLast: boolean): string;
  /** every path, for wildcard matching (context only; images answer by walking) */
  walk(): Iterable<string>;
  /** a stable digest of a path's tree (content, mode, links) for the build cache */
  digest(rel: string): string;
}

export class ContextSource implements SourceFs {
  readonly id = 'context';
  private children: Map<string, string[]> | undefined;
  private digests = new Map<string, string>();

  constructor(private readonly ctx: BuildContext) {}

  private entry(rel: string): ContextEntry | undefined {
    return this.ctx.entries.get(rel);
  }

  lstat(rel: string): SourceStat | undefined {
    const e = this.entry(rel);
    if (!e) return undefined;
    return {
      type: e.type,
      mode: e.mode,
      uid: e.uid,
      gid: e.gid,
      size: e.size,
      mtime: e.mtime,
      linkname: e.linkname,
      hostPath: this.ctx.dataFile,
      offset: e.offset,
    };
  }

  list(rel: string): string[] {
    if (!this.children) {
      this.children = new Map();
      for (const k of [...this.ctx.entries.keys()].sort()) {
        if (k === '') continue;
        const slash = k.lastIndexOf('/');
        const parent = slash < 0 ? '' : k.slice(0, slash);
        let arr = this.children.get(parent);
        if (!arr) this.children.set(parent, (arr = []));
        arr.push(k.slice(slash + 1));
      }
    }
    return this.children.get(rel) ?? [];
  }

  resolve(rel: string, followLast: boolean): string {
    return resolveInScope(rel, followLast, (p) => {
      const e = this.entry(p);
      return e?.type === 'symlink' ? e.linkname : undefined;
    });
  }

  walk(): Iterable<string> {
    return [...this.ctx.entries.keys()].filter((k) => k !== '').sort();
  }

  digest(rel: string): string {
    const cached = this.digests.get(rel);
    if (cached) return cached;
    const e = this.entry(rel);
    const h = createHash('sha256');
    if (!e) h.update('missing');
    else if (e.type === 'file') h.update(`f ${e.mode.toString(8)} ${e.hash}`);
    else if (e.type === 'symlink') h.update(`l ${e.linkname}`);
    else {
      h.update(`d ${e.mode.toString(8)}\n`);
      for (const name of this.list(rel)) h.update(`${name}\0${this.digest(rel ? `${rel}/${name}` : name)}\n`);
    }
    const d = h.digest('hex');
    this.digests.set(rel, d);
    return d;
  }

  /** The context entry behind a path (for reading it). */
  contextEntry(rel: string): ContextEntry | undefined {
    return this.ctx.entries.get(rel);
  }

  get context(): BuildContext {
    return this.ctx;
  }

  /** Drops entries (dockerignore); their bytes stay in the data file but are never read. */
  drop(pred: (rel: string) => boolean): void {
    const gone = [...this.ctx.entries].filter(([k]) => k !== '' && pred(k));
    for (const [k] of gone) this.ctx.entries.delete(k);
    // A directory excluded while something below it is re-included (`dir` then `!dir/sub/file`) stays, as
    // the file's parent: the docker CLI's archive walks into such a directory and the file arrives with it.
    const kept = [...this.ctx.entries.keys()];
    for (const [k, e] of gone) if (kept.some((x) => x.startsWith(`${k}/`))) this.ctx.entries.set(k, e);
    this.children = undefined;
    this.digests.clear();
  }
}

export class ImageSource implements SourceFs {
  constructor(
    readonly id: string,
    private readonly view: RootfsView,
  ) {}

  lstat(rel: string): SourceStat | undefined {
    const e = this.view.lstat(rel);
    if (!e) return undefined;
    const st = e.stat;
    const type: SourceType | undefined = st.isFile()
      ? 'file'
      : st.isDirectory()
        ? 'dir'
        : st.isSymbolicLink()
          ? 'symlink'
          : undefined;
    if (!type) return undefined;
    return {
      type,
      mode: st.mode & 0o7777,
      uid: st.uid,
      gid: st.gid,
      size: st.size,
      mtime: Math.floor(st.mtimeMs / 1000),
      linkname: type === 'symlink' ? fs.readlinkSync(e.hostPath) : '',
      hostPath: e.hostPath,
    };
  }

  list(rel: string): string[] {
    return this.view.list(rel);
  }

  resolve(rel: string, followLast: boolean): string {
    return this.view.resolve(rel, followLast);
  }

  *walk(): Iterable<string> {
    const stack = [''];
    while (stack.length) {
      const dir = stack.pop()!;
      for (const n of this.list(dir)) {
        const p = dir ? `${dir}/${n}` : n;
        yield p;
        if (this.lstat(p)?.type === 'dir') stack.push(p);
      }
    }
  }

  /** An image never changes under its id: the id and path are the key. */
  digest(rel: string): string {
    return createHash('sha256').update(`${this.id}:${rel}`).digest('hex');
  }
}

/** Go filepath.Match as a RegExp: `*` and `?` stop at `/`, `[...]` classes, `\` escapes. */
export function globToRegExp(pattern: string): RegExp {
  let re = '^';
  for (let i = 0; i < pattern.length; i++) {
    const ch = pattern[i];
    if (ch === '*') re += '[^/]*';
    else if (ch === '?') re += '[^/]';
    else if (ch === '[') {
      const end = pattern.indexOf(']', i + 2);
      if (end < 0) throw new Error(`syntax error in pattern: ${pattern}`);
      let cls = pattern.slice(i + 1, end);
      if (cls.startsWith('^')) cls = '^' + cls.slice(1).replace(/[\\\]]/g, '\\$&');
      else cls = cls.replace(/[\\\]]/g, '\\$&');
      re += `[${cls}]`;
      i = end;
    } else if (ch === '\\' && i + 1 < pattern.length) {
      const n = pattern[++i];
      re += /[a-zA-Z0-9]/.test(n) ? n : '\\' + n;
    } else re += ch.replace(/[.+^${}()|\]\\/]/g, '\\$&');
  }
  return new RegExp(re + '$', 's');
}

export function hasWildcard(s: string): boolean {
  return /[*?[]/.test(s);
}
