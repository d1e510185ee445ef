/**
 * A read-only merged view of an image's layer dirs (overlay form, top-most first) without mounting anything:
 * what COPY needs to know about the destination (does /dst exist, is it a directory, what mode/owner do its
 * parents have), `COPY --from=<stage|image>` sources, and /etc/passwd lookups for --chown. Symlinks are
 * resolved inside the image's root, never on the host.
 */
import fs from 'node:fs';
import path from 'node:path';
import { readOpaqueDirs } from '../storage/opaque.js';

export interface ViewEntry {
  /** absolute host path of the entry in the layer that provides it */
  hostPath: string;
  stat: fs.Stats;
}

const WHITEOUT = '.wh.';

/**
 * Resolves symlinks in a slash-separated path inside a root (Docker's FollowSymlinkInScope): `..` and
 * absolute link targets stop at the root, so the result never leaves it. `link` answers a path's link target,
 * or undefined when it is not a symlink. `followLast` false keeps a final symlink as is.
 */
export function resolveInScope(
  rel: string,
  followLast: boolean,
  link: (p: string) => string | undefined,
): string {
  let todo = rel.split('/').filter(Boolean);
  const done: string[] = [];
  let hops = 0;
  while (todo.length > 0) {
    const c = todo.shift()!;
    if (c === '.') continue;
    if (c === '..') {
      done.pop();
      continue;
    }
    const cand = [...done, c].join('/');
    const target = followLast || todo.length > 0 ? link(cand) : undefined;
    if (target !== undefined) {
      if (++hops > 255) throw new Error(`too many levels of symbolic links: ${rel}`);
      if (target.startsWith('/')) done.length = 0;
      todo = [...target.split('/').filter(Boolean), ...todo];
      continue;
    }
    done.push(c);
  }
  return done.join('/');
}

function isWhiteoutDevice(st: fs.Stats): boolean {
  return st.isCharacterDevice() && st.rdev === 0;
}

export class RootfsView {
  private opaque = new Map<number, Set<string>>();

  constructor(private readonly layers: readonly string[]) {}

  get empty(): boolean {
    return this.layers.length === 0;
  }

  /** An opaque directory in one layer hides what lower layers hold below it. Read once per layer, when asked. */
  private isOpaque(layerIndex: number, rel: string): boolean {
    let set = this.opaque.get(layerIndex);
    if (!set) this.opaque.set(layerIndex, (set = readOpaqueDirs(this.layers[layerIndex])));
    return set.has(rel);
  }

  /** lstat of an in-image path (slash-separated, relative to /), without following the last component. */
  lstat(rel: string): ViewEntry | undefined {
    const parts = rel.split('/').filter(Boolean);
    for (let li = 0; li < this.layers.length; li++) {
      const layer = this.layers[li];
      const hostPath = path.join(layer, ...parts);
      let st: fs.Stats | undefined;
      try {
        st = fs.lstatSync(hostPath);
      } catch {
        st = undefined;
      }
      if (st) {
        if (isWhiteoutDevice(st)) return undefined;
        return { hostPath, stat: st };
      }
      if (parts.length === 0 || li === this.layers.length - 1) continue;
      // A non-directory ancestor, a whiteout or an opaque ancestor in this layer hides the lower layers.
      for (let i = parts.length - 1; i >= 1; i--) {
        let ast: fs.Stats;
        try {
          ast = fs.lstatSync(path.join(layer, ...parts.slice(0, i)));
        } catch {
          continue;
        }
        if (!ast.isDirectory()) return undefined;
        if (this.isOpaque(li, parts.slice(0, i).join('/'))) return undefined;
      }
    }
    return undefined;
  }

  /**
   * Resolves symlinks in `rel` inside the image root (like Docker's FollowSymlinkInScope): `..` and absolute
   * link targets stop at the root. `followLast` false keeps a final symlink as is.
   */
  resolve(rel: string, followLast = true): string {
    return resolveInScope(rel, followLast, (p) => {
      const e = this.lstat(p);
      return e?.stat.isSymbolicLink() ? fs.readlinkSync(e.hostPath) : undefined;
    });
  }

  /** Names in a directory of the merged view (whiteouts removed, opaque directories respected), sorted. */
  list(rel: string): string[] {
    const names = new Set<string>();
    const hidden = new Set<string>();
    const parts = rel.split('/').filter(Boolean);
    for (let li = 0; li < this.layers.length; li++) {
      const dir = path.join(this.layers[li], ...parts);
      let st: fs.Stats;
      try {
        st = fs.lstatSync(dir);
      } catch {
        continue;
      }
      if (!st.isDirectory()) break;
      for (const d of fs.readdirSync(dir, { withFileTypes: true })) {
        if (d.name.startsWith(WHITEOUT)) {
          hidden.add(d.name.slice(WHITEOUT.length));
          continue;
        }
        if (hidden.has(d.name) || names.has(d.name)) continue;
        if (d.isCharacterDevice() && isWhiteoutDevice(fs.lstatSync(path.join(dir, d.name)))) {
          hidden.add(d.name);
          continue;
        }
        names.add(d.name);
      }
      if (li < this.layers.length - 1 && parts.length > 0 && this.isOpaque(li, parts.join('/'))) break;
    }
    return [...names].sort();
  }

  readFile(rel: string): Buffer | undefined {
    const r = this.resolve(rel);
    const e = this.lstat(r);
    if (!e || !e.stat.isFile()) return undefined;
    return fs.readFileSync(e.hostPath);
  }
}

/** Resolves `user[:group]` (names or ids) against the image's /etc/passwd and /etc/group. */
export function lookupUser(view: RootfsView, spec: string): { uid: number; gid: number } {
  const [u, g] = spec.split(':', 2) as [string, string | undefined];
  const table = (file: string): string[][] =>
    (view.readFile(file)?.toString('utf8') ?? '')
      .split('\n')
      .filter((l) => l && !l.startsWith('#'))
      .map((l) => l.split(':'));
  let uid: number;
  let gid: number | undefined;
  if (/^\d+$/.test(u)) {
    uid = Number(u);
    // A numeric user keeps its gid only from an explicit group, as dockerd's chown parsing does.
    gid = g === undefined ? uid : undefined;
  } else {
    const row = table('etc/passwd').find((r) => r[0] === u);
    if (!row) throw new Error(`unable to find user ${u}: no matching entries in passwd file`);
    uid = Number(row[2]);
    gid = Number(row[3]);
  }
  if (g !== undefined && g !== '') {
    if (/^\d+$/.test(g)) gid = Number(g);
    else {
      const row = table('etc/group').find((r) => r[0] === g);
      if (!row) throw new Error(`unable to find group ${g}: no matching entries in group file`);
      gid = Number(row[2]);
    }
  }
  return { uid, gid: gid ?? uid };
}
