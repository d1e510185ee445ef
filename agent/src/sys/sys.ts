/**
 * The one narrow port through which the agent touches the kernel from TypeScript: cgroup fs reads/writes,
 * signals and pid liveness, host mounts (via mount(8)), and the mount table. Policy code takes a `Sys`, so
 * unit tests can hand it a RecordingSys (sys/recording.ts) while acceptance tests use the real kernel.
 */
import { execFile } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, rmdirSync, watch, writeFileSync } from 'node:fs';
import { promisify } from 'node:util';

const run = promisify(execFile);

export interface MountInfo {
  mountPoint: string;
  fsType: string;
  source: string;
  options: string;
  superOptions: string;
}

export interface Sys {
  readFile(path: string): Promise<string>;
  /** Writes without truncating semantics beyond what the kernel file does (cgroup control files). */
  writeFile(path: string, data: string): Promise<void>;
  mkdirp(path: string): Promise<void>;
  /** rmdir; resolves false when the directory does not exist. */
  rmdir(path: string): Promise<boolean>;
  exists(path: string): Promise<boolean>;
  readdir(path: string): Promise<string[]>;
  /** Names of the subdirectories of `path` ([] when it does not exist). */
  subdirs(path: string): Promise<string[]>;
  /** Sends a signal; false when the process does not exist. */
  kill(pid: number, signal: NodeJS.Signals | number): boolean;
  pidAlive(pid: number): boolean;
  mount(source: string, target: string, fsType: string, options: string[]): Promise<void>;
  umount(target: string, opts?: { lazy?: boolean }): Promise<void>;
  mounts(): Promise<MountInfo[]>;
  /**
   * Waits until `done(contents of path)` holds, woken by inotify (cgroup v2 notifies changes of cgroup.events
   * and the like); false after `timeoutMs`. A file that does not exist (or vanishes) counts as done.
   */
  waitFor(path: string, done: (text: string) => boolean, timeoutMs: number): Promise<boolean>;
}

/** Splits /proc/self/mountinfo lines; octal escapes (\040 for space) are decoded. */
export function parseMountInfo(text: string): MountInfo[] {
  const unesc = (s: string): string =>
    s.replace(/\\([0-7]{3})/g, (_, o: string) => String.fromCharCode(parseInt(o, 8)));
  const out: MountInfo[] = [];
  for (const line of text.split('\n')) {
    if (!line) continue;
    const [left, right] = line.split(' - ');
    if (!left || !right) continue;
    const l = left.split(' ');
    const r = right.split(' ');
    out.push({
      mountPoint: unesc(l[4] ?? ''),
      options: l[5] ?? '',
      fsType: r[0] ?? '',
      source: unesc(r[1] ?? ''),
      superOptions: r[2] ?? '',
    });
  }
  return out;
}

/**
 * The real kernel. File operations here only ever touch kernfs/procfs (cgroup control files, /proc), which
 * answer in microseconds without blocking on a disk, so they are done synchronously: a run of ~30 cgroup
 * writes through the libuv thread pool costs milliseconds on a busy machine, synchronously it costs ~0.1 ms.
 */
export const hostSys: Sys = {
  readFile: async (p) => readFileSync(p, 'utf8'),
  writeFile: async (p, data) => {
    writeFileSync(p, data);
  },
  mkdirp: async (p) => {
    mkdirSync(p, { recursive: true });
  },
  rmdir: async (p) => {
    try {
      rmdirSync(p);
      return true;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return false;
      throw err;
    }
  },
  exists: async (p) => existsSync(p),
  readdir: async (p) => {
    try {
      return readdirSync(p);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return [];
      throw err;
    }
  },
  subdirs: async (p) => {
    try {
      return readdirSync(p, { withFileTypes: true })
        .filter((d) => d.isDirectory())
        .map((d) => d.name);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return [];
      throw err;
    }
  },
  kill: (pid, signal) => {
    try {
      process.kill(pid, signal);
      return true;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ESRCH') return false;
      throw err;
    }
  },
  pidAlive: (pid) => {
    try {
      process.kill(pid, 0);
      return true;
    } catch (err) {
      return (err as NodeJS.ErrnoException).code === 'EPERM';
    }
  },
  mount: async (source, target, fsType, options) => {
    const args = ['-t', fsType];
    if (options.length) args.push('-o', options.join(','));
    await run('mount', [...args, source, target]);
  },
  umount: async (target, opts) => {
    await run('umount', opts?.lazy ? ['-l', target] : [target]);
  },
  mounts: async () => parseMountInfo(readFileSync('/proc/self/mountinfo', 'utf8')),
  waitFor: (p, done, timeoutMs) =>
    new Promise((resolve) => {
      const check = (): boolean => {
        let text: string;
        try {
          text = readFileSync(p, 'utf8');
        } catch {
          return true;
        }
        return done(text);
      };
      if (check()) return resolve(true);
      let settled = false;
      const finish = (ok: boolean) => {
        if (settled) return;
        settled = true;
        watcher?.close();
        clearTimeout(timer);
        clearInterval(slow);
        resolve(ok);
      };
      let watcher: ReturnType<typeof watch> | undefined;
      try {
        watcher = watch(p, () => {
          if (check()) finish(true);
        });
        watcher.on('error', () => finish(check()));
      } catch {
        /* no inotify here: the slow re-check below still ends the wait */
      }
      // inotify is the wake-up; this re-check only covers a file that never notifies.
      const slow = setInterval(() => {
        if (check()) finish(true);
      }, 250);
      const timer = setTimeout(() => finish(check()), timeoutMs);
      if (check()) finish(true); // changed between the first check and the watch
    }),
};
