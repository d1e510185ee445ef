/** Build-context helpers for build tests: a temp dir from a file map, with the host's static busybox. */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

export const HOST_BUSYBOX = ['/bin/busybox', '/usr/bin/busybox'].find((p) => fs.existsSync(p));

export type Tree = Record<string, string | Buffer | { symlink: string } | { mode: number; data: string }>;

/** Writes `tree` under a fresh temp dir (`busybox: true` copies the static busybox in). */
export function makeContext(tree: Tree, opts: { busybox?: boolean } = {}): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'berth-build-ctx-'));
  writeTree(dir, tree);
  if (opts.busybox) {
    if (!HOST_BUSYBOX) throw new Error('busybox-static is not installed');
    fs.copyFileSync(HOST_BUSYBOX, path.join(dir, 'busybox'));
    fs.chmodSync(path.join(dir, 'busybox'), 0o755);
  }
  return dir;
}

export function writeTree(dir: string, tree: Tree): void {
  for (const [rel, v] of Object.entries(tree)) {
    const p = path.join(dir, rel);
    fs.mkdirSync(path.dirname(p), { recursive: true });
    fs.rmSync(p, { force: true });
    if (typeof v === 'string' || Buffer.isBuffer(v)) fs.writeFileSync(p, v);
    else if ('symlink' in v) fs.symlinkSync(v.symlink, p);
    else {
      fs.writeFileSync(p, v.data);
      fs.chmodSync(p, v.mode);
    }
  }
}

/** Lines of `docker build` output that say a step was reused. */
export function cacheHits(out: string): number {
  return out.split('\n').filter((l) => l.includes('---> Using cache')).length;
}

/** Step headers ("Step N/M : ...") in order. */
export function steps(out: string): string[] {
  return out.split('\n').filter((l) => /^Step \d+\/\d+ : /.test(l));
}

/** Makes contexts for one test file and removes them all at the end. */
export function contextFactory(): { ctx: typeof makeContext; cleanup: () => void } {
  const dirs: string[] = [];
  return {
    ctx(tree, opts) {
      const dir = makeContext(tree, opts);
      dirs.push(dir);
      return dir;
    },
    cleanup() {
      for (const d of dirs.splice(0)) fs.rmSync(d, { recursive: true, force: true });
    },
  };
}
