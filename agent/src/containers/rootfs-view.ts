/**
 * Access to a container's filesystem for cp/export/diff/commit. A running container is reached through
 * /proc/<pid>/root (its own mount namespace: volumes and tmpfs included, as `docker cp` sees them). A stopped
 * one gets its overlay mounted on containers/<id>/merged for the duration of the call, with its volumes and
 * bind mounts on top (dockerd mounts them for a copy too), under the container's lock so a start cannot
 * interleave; berthd unmounts leftovers of a crash at boot.
 */
import { closeSync, mkdirSync, openSync, statSync } from 'node:fs';
import { hostSys, type Sys } from '../sys/sys.js';
import { internal } from '../errors.js';
import type { ContainerDeps } from './deps.js';
import { ConfinedRoot, fdPath } from './confined-root.js';
import type { KeyedLock } from './keyed-lock.js';
import type { ContainerRecord } from './record.js';
import { isRunning } from './state.js';

export type ViewMode = 'read' | 'write';

export class RootfsViews {
  constructor(
    private readonly d: ContainerDeps,
    private readonly lock: KeyedLock,
    private readonly sys: Sys = hostSys,
  ) {}

  async with<T>(
    rec: ContainerRecord,
    mode: ViewMode,
    fn: (root: string, running: boolean) => Promise<T>,
  ): Promise<T> {
    if (isRunning(rec.state)) return fn(`/proc/${rec.state.pid}/root`, true);
    return this.lock.run(rec.id, async () => {
      // It may have started while we waited for the lock.
      if (isRunning(rec.state)) return fn(`/proc/${rec.state.pid}/root`, true);
      const image = await this.d.images.resolve(rec.image);
      if (!image) throw internal(`image ${rec.image} of container ${rec.id} is missing`);
      const dir = this.d.store.files(rec.id);
      const target = dir.merged;
      await this.sys.mkdirp(target);
      const binds = rec.mounts.filter((m) => m.type !== 'tmpfs');
      // Mount points may have to be made in the rootfs: then the overlay is writable (copy-up of the dirs).
      const opts =
        mode === 'read' && binds.length === 0
          ? ['ro', `lowerdir=${[dir.upper, ...image.layerDirs].join(':')}`]
          : [`lowerdir=${image.layerDirs.join(':')}`, `upperdir=${dir.upper}`, `workdir=${dir.work}`];
      await this.sys.mount('overlay', target, 'overlay', opts);
      const mounted: string[] = [];
      try {
        for (const m of [...binds].sort((a, b) => a.destination.length - b.destination.length)) {
          const at = `${target}${this.mountPoint(target, m.destination, m.source)}`;
          await this.sys.mount(m.source, at, 'none', ['bind']);
          mounted.push(at);
          if (!m.rw) await this.sys.mount('none', at, 'none', ['remount', 'bind', 'ro']);
        }
        return await fn(target, false);
      } finally {
        for (const at of mounted.reverse())
          await this.sys.umount(at).catch(() => this.sys.umount(at, { lazy: true }));
        await this.sys.umount(target).catch(() => this.sys.umount(target, { lazy: true }));
      }
    });
  }

  /**
   * Makes the mount point for `dest` inside the mounted rootfs (a directory, or an empty file for a file bind),
   * resolving symlinks inside the root so an image's link cannot send the mount onto a host path. Returns the
   * clean container path.
   */
  private mountPoint(root: string, dest: string, source: string): string {
    const r = ConfinedRoot.open(root);
    try {
      const res = r.resolve(dest, true, true);
      try {
        if (res.dir < 0 || !res.name) return res.path;
        const at = fdPath(res.dir, res.name);
        if (statSync(source).isDirectory()) mkdirSync(at, { recursive: false, mode: 0o755 });
        else closeSync(openSync(at, 'a', 0o644));
        return res.path;
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code === 'EEXIST') return res.path;
        throw err;
      } finally {
        res.release();
      }
    } finally {
      r.close();
    }
  }

  /** At boot: a crash during cp/export leaves an overlay on containers/<id>/merged; unmount it. */
  async cleanup(): Promise<string[]> {
    const root = this.d.store.root + '/';
    const left = (await this.sys.mounts())
      .filter((m) => m.mountPoint.startsWith(root))
      .map((m) => m.mountPoint);
    for (const m of left.reverse()) await this.sys.umount(m, { lazy: true }).catch(() => undefined);
    return left;
  }
}
