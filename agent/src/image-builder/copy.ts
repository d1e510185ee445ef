/**
 * COPY/ADD planning with the classic builder's rules: sources resolved inside their root (a symlink never
 * leads out of the context), wildcards as Go filepath.Match, a directory's contents copied rather than the
 * directory, trailing-slash and existing-directory destination rules, --chown/--chmod, ADD's local archive
 * extraction. The plan becomes a layer tar (layer-writer.ts); its digest is the cache key.
 */
import { createHash } from 'node:crypto';
import path from 'node:path';
import { globToRegExp, hasWildcard, type SourceFs, type SourceStat } from './sources.js';
import type { RootfsView } from './rootfs-view.js';

export class CopyError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'CopyError';
  }
}

export interface LayerEntry {
  /** path inside the image, no leading slash */
  name: string;
  type: 'file' | 'dir' | 'symlink';
  mode: number;
  uid: number;
  gid: number;
  mtime: number;
  linkname: string;
  size: number;
  /** host file with the content (files) */
  hostPath?: string;
  /** the content starts at this offset of hostPath and is `size` bytes long (context files) */
  offset?: number;
  /** inline content (heredocs) */
  content?: Buffer;
}

export interface CopySource {
  src: SourceFs;
  /** the path as written (for messages) */
  orig: string;
  /** resolved path inside the source root */
  rel: string;
  stat: SourceStat;
  /** ADD: a local archive to extract (a SourceFs over its extracted entries) */
  archive?: SourceFs;
  /** keep the source's ownership (ADD archives) unless --chown */
  keepOwner?: boolean;
}

export interface CopyPlanInput {
  instruction: 'COPY' | 'ADD';
  sources: CopySource[];
  dest: string;
  workdir: string;
  chown: { uid: number; gid: number } | undefined;
  chmod: number | undefined;
  target: RootfsView;
}

/** Finds COPY sources by path or wildcard; missing ones fail with dockerd's message. */
export function findSources(src: SourceFs, patterns: string[], instruction: 'COPY' | 'ADD'): CopySource[] {
  const out: CopySource[] = [];
  for (const orig of patterns) {
    const clean = path.posix.normalize('/' + orig).slice(1);
    if (hasWildcard(clean)) {
      let re: RegExp;
      try {
        re = globToRegExp(clean);
      } catch (err) {
        throw new CopyError(`${instruction} failed: ${(err as Error).message}`);
      }
      const before = out.length;
      for (const p of src.walk()) {
        if (!re.test(p)) continue;
        const rel = src.resolve(p, true);
        const stat = src.lstat(rel);
        if (stat && stat.type !== 'symlink') out.push({ src, orig: p, rel, stat });
      }
      if (out.length === before) throw new CopyError(`${instruction} failed: no source files were specified`);
      continue;
    }
    const rel = src.resolve(clean, true);
    const stat = rel === '' ? (src.lstat('') ?? dirStat()) : src.lstat(rel);
    if (!stat || stat.type === 'symlink') {
      if (src.id === 'context')
        throw new CopyError(
          `${instruction} failed: file not found in build context or excluded by .dockerignore: stat ${orig}: file does not exist`,
        );
      throw new CopyError(
        `${instruction} failed: stat ${orig.startsWith('/') ? orig : '/' + orig}: file does not exist`,
      );
    }
    out.push({ src, orig, rel, stat });
  }
  return out;
}

function dirStat(): SourceStat {
  return { type: 'dir', mode: 0o755, uid: 0, gid: 0, size: 0, mtime: 0, linkname: '', hostPath: '' };
}

/** The cache/history text: `file:<hash> in /dst ` as the classic builder writes it. */
export function copyDigestText(input: Pick<CopyPlanInput, 'sources' | 'dest'>, flags: string): string {
  const parts = input.sources.map((s) => `${s.stat.type === 'dir' ? 'dir' : 'file'}:${s.src.digest(s.rel)}`);
  let src: string;
  if (parts.length === 1) src = parts[0]!;
  else src = 'multi:' + createHash('sha256').update(parts.join('\n')).digest('hex');
  return `${flags}${src} in ${input.dest} `;
}

/** Turns the sources into the entries of a new layer, parents included (existing ones keep their metadata). */
export function planCopy(input: CopyPlanInput): LayerEntry[] {
  const { target } = input;
  let dest = input.dest;
  const endsInSlash = dest.endsWith('/') || dest.endsWith('/.') || dest === '.';
  if (!dest.startsWith('/')) dest = path.posix.join(input.workdir || '/', dest);
  dest = path.posix.normalize(dest);
  const destRel = dest.replace(/^\/+/, '').replace(/\/+$/, '');
  const many = input.sources.length > 1;
  if (many && !endsInSlash)
    throw new CopyError(
      `When using ${input.instruction} with more than one source file, the destination must be a directory and end with a /`,
    );

  const entries = new Map<string, LayerEntry>();
  const owner = (s: SourceStat, keep: boolean | undefined) =>
    input.chown ?? (keep ? { uid: s.uid, gid: s.gid } : { uid: 0, gid: 0 });
  const mode = (s: SourceStat) => (input.chmod !== undefined && s.type !== 'symlink' ? input.chmod : s.mode);

  // Resolve the destination's existing directories through symlinks inside the image.
  const resolvedDest = (rel: string): string => (rel === '' ? '' : target.resolve(rel));
  const isDirInImage = (rel: string): boolean => {
    const r = resolvedDest(rel);
    return r === '' || target.lstat(r)?.stat.isDirectory() === true;
  };

  const ensureParents = (rel: string): void => {
    const parts = rel.split('/').filter(Boolean);
    let cur = '';
    for (let i = 0; i < parts.length - 1; i++) {
      cur = cur ? `${cur}/${parts[i]}` : parts[i];
      if (entries.has(cur)) continue;
      const existing = target.lstat(cur);
      if (existing) {
        if (!existing.stat.isDirectory())
          throw new CopyError(
            `${input.instruction} failed: cannot copy to /${rel}: /${cur} is not a directory`,
          );
        const st = existing.stat;
        entries.set(cur, {
          name: cur,
          type: 'dir',
          mode: st.mode & 0o7777,
          uid: st.uid,
          gid: st.gid,
          mtime: Math.floor(st.mtimeMs / 1000),
          linkname: '',
          size: 0,
        });
      } else {
        const o = input.chown ?? { uid: 0, gid: 0 };
        entries.set(cur, {
          name: cur,
          type: 'dir',
          mode: 0o755,
          uid: o.uid,
          gid: o.gid,
          mtime: Math.floor(Date.now() / 1000),
          linkname: '',
          size: 0,
        });
      }
    }
  };

  const put = (name: string, s: SourceStat, keep: boolean | undefined): void => {
    if (s.type === 'symlink' && !s.linkname.startsWith('/')) {
      // The layer store refuses relative links that climb above the image root (as dockerd does on pull).
      let depth = name.split('/').length - 1;
      for (const c of s.linkname.split('/')) {
        depth += c === '..' ? -1 : c === '' || c === '.' ? 0 : 1;
        if (depth < 0)
          throw new CopyError(
            `${input.instruction} failed: symlink /${name} -> ${s.linkname} points above the image root`,
          );
      }
    }
    ensureParents(name);
    const o = owner(s, keep);
    entries.set(name, {
      name,
      type: s.type,
      mode: mode(s),
      uid: o.uid,
      gid: o.gid,
      mtime: s.mtime,
      linkname: s.linkname,
      size: s.type === 'file' ? s.size : 0,
      ...(s.type === 'file'
        ? { hostPath: s.hostPath, ...(s.offset !== undefined ? { offset: s.offset } : {}) }
        : {}),
    });
  };

  const copyTree = (src: SourceFs, fromRel: string, toRel: string, keep: boolean | undefined): void => {
    for (const name of src.list(fromRel)) {
      const childFrom = fromRel ? `${fromRel}/${name}` : name;
      const childTo = toRel ? `${toRel}/${name}` : name;
      const st = src.lstat(childFrom);
      if (!st) continue;
      put(childTo, st, keep);
      if (st.type === 'dir') copyTree(src, childFrom, childTo, keep);
    }
  };

  const destDirRel = (): string => resolvedDest(destRel);

  for (const s of input.sources) {
    if (s.archive) {
      const to = destDirRel();
      const root = s.archive.lstat('');
      if (to !== '' && root)
        put(
          to,
          {
            ...root,
            type: 'dir',
            mode: isDirInImage(destRel) ? target.lstat(to)!.stat.mode & 0o7777 : 0o755,
          },
          false,
        );
      copyTree(s.archive, '', to, true);
      continue;
    }
    if (s.stat.type === 'dir') {
      const to = destDirRel();
      if (to !== '') put(to, s.stat, s.keepOwner);
      copyTree(s.src, s.rel, to, s.keepOwner);
      continue;
    }
    const base = path.posix.basename(s.rel || s.orig);
    const intoDir = endsInSlash || isDirInImage(destRel);
    const to = intoDir
      ? [destDirRel(), base].filter(Boolean).join('/')
      : [
          resolvedDest(path.posix.dirname(destRel) === '.' ? '' : path.posix.dirname(destRel)),
          path.posix.basename(destRel),
        ]
          .filter(Boolean)
          .join('/');
    if (to === '') throw new CopyError(`${input.instruction} failed: cannot copy a file to /`);
    put(to, s.stat, s.keepOwner);
  }
  return [...entries.values()].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
}
