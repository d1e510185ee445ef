/**
 * One start of a container, in order: snapshot dirs, volumes (acquired, primed from the image once), user,
 * network sandbox, /etc files, the runtime spec, runtime create, the attach sessions that were waiting, runtime
 * start. On failure everything it set up is undone before the error goes back to the caller, which records it.
 */
import { promises as fsp } from 'node:fs';
import { conflict, internal } from '../errors.js';
import type { StartResult } from '../runtime/types.js';
import type { PendingAttach } from './attach-handoff.js';
import type { ContainerDeps } from './deps.js';
import type { ContainerRecord } from './record.js';
import { linkedEnv } from './links.js';
import { buildRuntimeSpec } from './spec.js';
import { isRunning } from './state.js';
import { resolveUser } from './user.js';
import { primeVolume } from './volume-prime.js';

export class Launcher {
  constructor(private readonly d: ContainerDeps) {}

  /** `--pid/--ipc/--network container:X`: the namespaces of a running container. */
  private lookupPid = (ref: string): number => {
    const other = this.d.store.get(ref);
    if (!isRunning(other.state))
      throw conflict(`cannot join namespaces of container ${ref}: it is not running`);
    return other.state.pid;
  };

  async launch(rec: ContainerRecord, attachers: PendingAttach[]): Promise<StartResult> {
    let acquired = false;
    try {
      const image = await this.d.images.resolve(rec.image);
      if (!image) throw internal(`image ${rec.image} of container ${rec.name.slice(1)} is missing`);
      const dir = this.d.store.files(rec.id);
      await dir.ensure();
      for (const m of rec.mounts) if (m.type === 'volume') await this.d.volumes.acquire(m.name!);
      acquired = true;
      await this.prepareVolumes(rec, image.layerDirs);
      const user = await resolveUser(
        [dir.upper, ...image.layerDirs],
        rec.config.User ?? '',
        rec.hostConfig.GroupAdd ?? [],
      );
      const linked = linkedEnv(rec, this.d.store, this.d.network);
      const sandbox = await this.d.network.setUp(rec.id);
      const etc = await dir.writeEtc(rec.config.Hostname ?? rec.id.slice(0, 12), sandbox.etc);
      const spec = buildRuntimeSpec({
        rec,
        layerDirs: image.layerDirs,
        dir,
        user,
        etc,
        cgroupParent: this.d.cgroupParent,
        volumePath: (n) => this.d.volumes.mountpoint(n),
        lookupPid: this.lookupPid,
        linkEnv: linked,
        net: sandbox.net,
      });
      // A previous run leaves runtime state (cgroup, shim dir) until the next start or rm.
      if (await this.d.runtime.state(rec.id)) await this.d.runtime.delete(rec.id);
      await this.d.runtime.create(spec);
      for (const a of attachers) {
        try {
          a.deliver(await this.d.runtime.attach(rec.id, a.opts));
        } catch (err) {
          a.fail(err as Error);
        }
      }
      return await this.d.runtime.start(rec.id);
    } catch (err) {
      for (const a of attachers) a.fail(err as Error);
      await this.d.runtime.delete(rec.id).catch(() => undefined);
      await this.d.network.tearDown(rec.id).catch(() => undefined);
      if (acquired) await this.releaseVolumes(rec);
      throw err;
    }
  }

  /** Bind sources that vanished are made again (as dockerd); empty named volumes get the image's content. */
  private async prepareVolumes(rec: ContainerRecord, layers: string[]): Promise<void> {
    for (const m of rec.mounts) {
      if (m.type === 'bind' && !(await fsp.stat(m.source).catch(() => null))) {
        await fsp.mkdir(m.source, { recursive: true });
      }
      if (m.type !== 'volume' || m.noCopy || rec.volumesPrimed) continue;
      if (await this.d.volumes.isEmpty(m.name!))
        await primeVolume(layers, m.destination, this.d.volumes.mountpoint(m.name!));
    }
    if (!rec.volumesPrimed) rec.volumesPrimed = true;
  }

  async releaseVolumes(rec: ContainerRecord): Promise<void> {
    for (const m of rec.mounts) {
      if (m.type === 'volume')
        await this.d.volumes
          .release(m.name!)
          .catch((err: Error) =>
            this.d.log.warn('volume release failed', { name: m.name, err: err.message }),
          );
    }
  }
}
