/**
 * The one owner of a container's directory (containers/<id>/): config.json, the json-file log, the overlay
 * snapshot dirs (upper/, work/, merged/) and /etc/hostname, hosts, resolv.conf. Nothing else in the engine
 * builds these paths or creates these directories.
 */
import { promises as fsp } from 'node:fs';
import path from 'node:path';
import type { EtcFiles } from '../network/types.js';
import type { RootfsSpec } from '../runtime/types.js';
import { describeOverlay } from '../storage/overlay.js';
import { writeFileAtomic } from '../util/fs-atomic.js';

export interface EtcPaths {
  hostname: string;
  hosts: string;
  resolvConf: string;
}

export class ContainerDir {
  constructor(
    readonly id: string,
    /** containers/<id> */
    readonly path: string,
  ) {}

  get config(): string {
    return path.join(this.path, 'config.json');
  }
  get log(): string {
    return path.join(this.path, `${this.id}-json.log`);
  }
  /** The container's writable layer: its changes to the image (diff, commit, export). */
  get upper(): string {
    return path.join(this.path, 'upper');
  }
  get work(): string {
    return path.join(this.path, 'work');
  }
  /** Where a stopped container's overlay is mounted for cp/export (a running one mounts it in its own ns). */
  get merged(): string {
    return path.join(this.path, 'merged');
  }
  get etc(): EtcPaths {
    return {
      hostname: path.join(this.path, 'hostname'),
      hosts: path.join(this.path, 'hosts'),
      resolvConf: path.join(this.path, 'resolv.conf'),
    };
  }

  /** Creates the directory and the snapshot dirs; idempotent (create makes them, start makes sure). */
  async ensure(): Promise<void> {
    await fsp.mkdir(this.path, { recursive: true, mode: 0o710 });
    for (const d of [this.upper, this.work, this.merged]) await fsp.mkdir(d, { recursive: true });
  }

  /** The overlay the runtime mounts as the rootfs: the image's layers (top-most first) under upper/. */
  rootfs(layerDirs: string[]): RootfsSpec {
    return describeOverlay({ lowerDirs: layerDirs, containerDir: this.path });
  }

  /** Before start: atomic writes (nothing has the files mounted yet). */
  async writeEtc(hostname: string, files: EtcFiles): Promise<EtcPaths> {
    const p = this.etc;
    await writeFileAtomic(p.hostname, `${hostname}\n`);
    await writeFileAtomic(p.hosts, files.hosts);
    await writeFileAtomic(p.resolvConf, files.resolvConf);
    return p;
  }

  /** While running: rewritten in place, since a rename would leave the container's bind mount on the old inode. */
  async rewriteEtc(files: EtcFiles): Promise<void> {
    const p = this.etc;
    await fsp.writeFile(p.hosts, files.hosts);
    await fsp.writeFile(p.resolvConf, files.resolvConf);
  }
}
