/**
 * Access to a container's filesystem for cp/export/diff/commit. A running container is reached through
 * /proc/<pid>/root (its own mount namespace: volumes and tmpfs included, as `docker cp` sees them). A stopped
 * one gets its overlay mounted on containers/<id>/merged for the duration of the call, under the container's
 * lock so a start cannot interleave; berthd unmounts leftovers of a crash at boot.
 */
import { hostSys, type Sys } from '../sys/sys.js';
import { internal } from '../errors.js';
import type { ContainerDeps } from './deps.js';
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
      const opts =
        mode === 'read'
          ? ['ro', `lowerdir=${[dir.upper, ...image.layerDirs].join(':')}`]
          : [`lowerdir=${image.layerDirs.join(':')}`, `upperdir=${dir.upper}`, `workdir=${dir.work}`];
      await this.sys.mount('overlay', target, 'overlay', opts);
      try {
        return await fn(target, false);
      } finally {
        await this.sys.umount(target).catch(() => this.sys.umount(target, { lazy: true }));
      }
    });
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
