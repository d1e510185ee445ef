/**
 * A container's root (or an overlay layer dir) reached only through directory file descriptors, so that a
 * process inside the container swapping a path component for a symlink between our check and our use cannot
 * steer berthd onto a host file (the docker cp symlink-swap race, CVE-2018-15664).
 *
 * Node has no openat(2); `/proc/<berthd>/fd/<dirfd>/<name>` is its equivalent: the kernel jumps to the exact
 * directory the fd holds (never re-resolving a path), then looks up one component, which every caller here
 * asks not to follow (lstat, O_NOFOLLOW, unlink, mkdir, symlink...). Symlinks met on the way are resolved by
 * us, as a chroot would, against the root fd: `..` stops at the root. Child processes (mknod) can use the same
 * paths since they name berthd's fds by pid.
 */
import {
  closeSync,
  constants,
  fstatSync,
  lstatSync,
  mkdirSync,
  openSync,
  readdirSync,
  readlinkSync,
  type Stats,
} from 'node:fs';
import { badParameter } from '../errors.js';

const MAX_LINKS = 40;
/** O_PATH: an fd that names an inode without opening it (fstat and /proc/self/fd reopen work). Linux value. */
export const O_PATH = 0o10000000;
const DIR_FLAGS = constants.O_RDONLY | constants.O_DIRECTORY | constants.O_NOFOLLOW;

/** The path that names `name` inside the directory `fd` (or the directory itself when `name` is empty). */
export function fdPath(fd: number, name = ''): string {
  return name ? `/proc/${process.pid}/fd/${fd}/${name}` : `/proc/${process.pid}/fd/${fd}`;
}

function errno(err: unknown): string | undefined {
  return (err as NodeJS.ErrnoException).code;
}

/** The result of resolving a container path: its parent directory (an fd), the last component and the clean path. */
export interface Resolved {
  /** Clean container path (symlinks in parents resolved in-root; the last one as asked). */
  path: string;
  /** Open parent directory; -1 when a parent is missing (then `path` is taken literally past it). */
  dir: number;
  /** Last component; '' for the root itself (then `dir` is the root fd). */
  name: string;
  /** Closes `dir` unless it is the root fd. */
  release(): void;
}

export class ConfinedRoot {
  private closed = false;

  private constructor(readonly fd: number) {}

  /** `root` is a host path berthd chose (a /proc/<pid>/root magic link or an overlay dir). */
  static open(root: string): ConfinedRoot {
    return new ConfinedRoot(openSync(root, constants.O_RDONLY | constants.O_DIRECTORY));
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    closeSync(this.fd);
  }

  /**
   * Resolves `p` inside the root. `followLast` as stat vs lstat. With `create`, missing parent directories
   * are made (mode 0755), as `docker cp` into a container does.
   */
  resolve(p: string, followLast: boolean, create = false): Resolved {
    let pending = p.split('/').filter((c) => c !== '' && c !== '.');
    const stack: number[] = [this.fd];
    const names: string[] = [];
    let links = 0;
    // Past a missing component names carry no fd: nothing exists there to follow, the rest is literal.
    const missing = (): boolean => names.length > stack.length - 1;
    const top = (): number => stack[stack.length - 1];
    const closeAbove = (depth: number): void => {
      while (stack.length > depth) {
        const fd = stack.pop()!;
        if (fd !== this.fd && fd >= 0) closeSync(fd);
      }
    };
    try {
      while (pending.length > 0) {
        const comp = pending.shift()!;
        if (comp === '..') {
          if (names.length > 0) {
            const hadFd = !missing();
            names.pop();
            if (hadFd) closeAbove(stack.length - 1);
          }
          continue;
        }
        const isLast = pending.length === 0;
        if (missing()) {
          names.push(comp);
          continue;
        }
        let st: Stats | null = null;
        try {
          st = lstatSync(fdPath(top(), comp));
        } catch (err) {
          if (errno(err) !== 'ENOENT' && errno(err) !== 'ENOTDIR') throw err;
        }
        if (st?.isSymbolicLink() && (!isLast || followLast)) {
          if (++links > MAX_LINKS) throw badParameter(`too many levels of symbolic links: ${p}`);
          let target: string;
          try {
            target = readlinkSync(fdPath(top(), comp));
          } catch (err) {
            // Renamed or replaced since the lstat (a live container): look at it again.
            if (errno(err) === 'ENOENT' || errno(err) === 'EINVAL') {
              pending.unshift(comp);
              continue;
            }
            throw err;
          }
          if (target.startsWith('/')) {
            names.length = 0;
            closeAbove(1);
          }
          pending = [...target.split('/').filter((c) => c !== '' && c !== '.'), ...pending];
          continue;
        }
        if (isLast) {
          names.push(comp);
          break;
        }
        if (!st && create) {
          try {
            mkdirSync(fdPath(top(), comp), { mode: 0o755 });
          } catch (err) {
            if (errno(err) !== 'EEXIST') throw err;
          }
        } else if (!st || !st.isDirectory()) {
          if (st && create)
            throw badParameter(`cannot extract into /${[...names, comp].join('/')}: not a directory`);
          names.push(comp);
          continue;
        }
        let fd: number;
        try {
          fd = openSync(fdPath(top(), comp), DIR_FLAGS);
        } catch (err) {
          // Swapped for a link or a file since the lstat: look at it again (bounded like links).
          if (
            (errno(err) === 'ELOOP' || errno(err) === 'ENOTDIR' || errno(err) === 'ENOENT') &&
            ++links <= MAX_LINKS
          ) {
            pending.unshift(comp);
            continue;
          }
          throw err;
        }
        stack.push(fd);
        names.push(comp);
      }
    } catch (err) {
      closeAbove(1);
      throw err;
    }
    const path = '/' + names.join('/');
    if (names.length > stack.length) {
      closeAbove(1);
      return { path, dir: -1, name: names[names.length - 1] ?? '', release: () => undefined };
    }
    const name = names.length > 0 && stack.length === names.length ? names[names.length - 1] : '';
    const dir = top();
    // The stack holds the root plus one fd per directory; the last name (when any) is not opened.
    for (let i = 1; i < stack.length - 1; i++) closeSync(stack[i]);
    return { path, dir, name, release: () => (dir !== this.fd ? closeSync(dir) : undefined) };
  }

  /** Resolves `p` and lstats what it names (the last component as `followLast` says); null when missing. */
  stat(p: string, followLast: boolean): { path: string; st: Stats } | null {
    const r = this.resolve(p, followLast);
    try {
      return r.dir < 0 ? null : { path: r.path, st: ConfinedRoot.lstat(r) };
    } catch {
      return null;
    } finally {
      r.release();
    }
  }

  /** Every directory below the root (relative paths), listed one directory fd at a time. */
  listDirs(): string[] {
    const out: string[] = [];
    const walk = (fd: number, rel: string): void => {
      for (const d of readdirSync(fdPath(fd), { withFileTypes: true })) {
        if (!d.isDirectory()) continue;
        let sub: number;
        try {
          sub = ConfinedRoot.openDir(fd, d.name);
        } catch {
          continue; // replaced since readdir
        }
        const r = rel ? `${rel}/${d.name}` : d.name;
        out.push(r);
        try {
          walk(sub, r);
        } finally {
          closeSync(sub);
        }
      }
    };
    walk(this.fd, '');
    return out;
  }

  /** lstat of a resolved entry (fstat of the directory itself for the root). */
  static lstat(r: Resolved): Stats {
    return r.name ? lstatSync(fdPath(r.dir, r.name)) : fstatSync(r.dir);
  }

  /** Opens a directory entry as a directory without following it. */
  static openDir(dir: number, name: string): number {
    return name ? openSync(fdPath(dir, name), DIR_FLAGS) : openSync(fdPath(dir), DIR_FLAGS);
  }
}
