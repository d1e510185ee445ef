/**
 * The local volume driver: volumes/<name>/_data plus volumes/<name>/meta.json. A volume appears atomically
 * (built under a temp name, then renamed), so a crash never leaves half a volume behind.
 */
import { randomBytes } from 'node:crypto';
import { promises as fsp } from 'node:fs';
import path from 'node:path';
import type { Volume, VolumeCreateOptions } from '@berth/common';
import { badParameter, conflict, notFound } from '../errors.js';
import type { EventBus } from '../events/bus.js';
import type { Logger } from '../log.js';
import { readJson, removeStaleTemps, tempPathFor, writeJsonAtomic } from '../util/fs-atomic.js';
import { hostSys, type Sys } from '../sys/sys.js';
import { dirSize } from './du.js';

export const ANONYMOUS_LABEL = 'com.docker.volume.anonymous';
const NAME_RE = /^[a-zA-Z0-9][a-zA-Z0-9_.-]+$/;
const LOCAL_OPTS = ['type', 'device', 'o', 'size'];

interface VolumeMeta {
  name: string;
  createdAt: string;
  labels: Record<string, string>;
  options: Record<string, string>;
}

/** Who uses a volume: ids of containers that reference it (running or not). */
export type VolumeUsers = (name: string) => string[];

export class VolumeStore {
  private vols = new Map<string, VolumeMeta>();
  /** Running containers per volume whose driver options ask for a mount (type/device/o). */
  private mountRefs = new Map<string, number>();

  constructor(
    readonly root: string,
    private readonly events: EventBus,
    private readonly log: Logger,
    /** The containers that reference each volume (rm and prune honour it). */
    private readonly users: VolumeUsers = () => [],
    private readonly sys: Sys = hostSys,
  ) {}

  async load(): Promise<void> {
    await fsp.mkdir(this.root, { recursive: true, mode: 0o701 });
    await removeStaleTemps(this.root);
    for (const name of await fsp.readdir(this.root)) {
      const meta = await readJson<VolumeMeta | null>(path.join(this.root, name, 'meta.json'), null).catch(
        () => null,
      );
      if (meta?.name === name) this.vols.set(name, meta);
      else this.log.warn('ignoring volume directory without metadata', { name });
    }
  }

  mountpoint(name: string): string {
    return path.join(this.root, name, '_data');
  }

  private toApi(m: VolumeMeta): Volume {
    return {
      CreatedAt: m.createdAt,
      Driver: 'local',
      Labels: m.labels,
      Mountpoint: this.mountpoint(m.name),
      Name: m.name,
      Options: m.options,
      Scope: 'local',
    };
  }

  has(name: string): boolean {
    return this.vols.has(name);
  }

  get(name: string): Volume {
    const m = this.vols.get(name);
    if (!m) throw notFound(`get ${name}: no such volume`);
    return this.toApi(m);
  }

  /** Creates a volume; an existing one with the same name is returned unchanged, as dockerd does. */
  async create(opts: VolumeCreateOptions): Promise<{ volume: Volume; created: boolean }> {
    const anonymous = !opts.Name;
    const name = opts.Name || randomBytes(32).toString('hex');
    const driver = opts.Driver || 'local';
    if (driver !== 'local')
      throw notFound(
        `create ${name}: error looking up volume plugin ${driver}: plugin "${driver}" not found`,
      );
    if (!NAME_RE.test(name))
      throw badParameter(
        `create ${name}: "${name}" includes invalid characters for a local volume name, only "[a-zA-Z0-9][a-zA-Z0-9_.-]" are allowed. If you intended to pass a host directory, use absolute path`,
      );
    const existing = this.vols.get(name);
    if (existing) return { volume: this.toApi(existing), created: false };
    const options = { ...(opts.DriverOpts ?? {}) };
    for (const k of Object.keys(options))
      if (!LOCAL_OPTS.includes(k)) throw badParameter(`create ${name}: invalid option key: "${k}"`);
    if (options.type && !options.device)
      throw badParameter(`create ${name}: missing required option: "device"`);
    const labels: Record<string, string> = { ...(opts.Labels ?? {}) };
    if (anonymous) labels[ANONYMOUS_LABEL] = '';
    const meta: VolumeMeta = {
      name,
      createdAt: new Date().toISOString().replace(/\.\d+Z$/, 'Z'),
      labels,
      options,
    };
    const final = path.join(this.root, name);
    const tmp = tempPathFor(final);
    try {
      await fsp.mkdir(path.join(tmp, '_data'), { recursive: true, mode: 0o755 });
      await writeJsonAtomic(path.join(tmp, 'meta.json'), meta);
      await fsp.rename(tmp, final);
    } catch (err) {
      await fsp.rm(tmp, { recursive: true, force: true });
      throw err;
    }
    this.vols.set(name, meta);
    this.events.publish('volume', 'create', name, { driver: 'local' });
    return { volume: this.toApi(meta), created: true };
  }

  list(): Volume[] {
    return [...this.vols.values()].map((m) => this.toApi(m));
  }

  isAnonymous(name: string): boolean {
    return this.vols.get(name)?.labels[ANONYMOUS_LABEL] !== undefined;
  }

  usersOf(name: string): string[] {
    return this.users(name);
  }

  async remove(name: string, force = false): Promise<void> {
    if (!this.vols.has(name)) {
      if (force) return;
      throw notFound(`get ${name}: no such volume`);
    }
    const users = this.users(name);
    if (users.length > 0) throw conflict(`remove ${name}: volume is in use - [${users.join(', ')}]`);
    // Rename first so a crash mid-delete leaves a temp dir (swept at load), never a half volume.
    const dir = path.join(this.root, name);
    const doomed = tempPathFor(dir);
    await fsp.rename(dir, doomed);
    this.vols.delete(name);
    await fsp.rm(doomed, { recursive: true, force: true });
    this.events.publish('volume', 'destroy', name, { driver: 'local' });
  }

  async size(name: string): Promise<number> {
    return dirSize(this.mountpoint(name));
  }

  private async isMounted(name: string): Promise<boolean> {
    const mp = this.mountpoint(name);
    return (await this.sys.mounts()).some((m) => m.mountPoint === mp);
  }

  /**
   * A container using the volume starts: with `-o type=… -o device=… [-o o=…]` the local driver mounts the
   * device on _data (as `mount -t type -o o device`), once for all containers using it.
   */
  async acquire(name: string): Promise<void> {
    const m = this.vols.get(name);
    if (!m?.options.type) return;
    const n = this.mountRefs.get(name) ?? 0;
    if (n === 0 && !(await this.isMounted(name))) {
      const o = m.options.o ? m.options.o.split(',') : [];
      try {
        await this.sys.mount(m.options.device, this.mountpoint(name), m.options.type, o);
      } catch (err) {
        throw badParameter(
          `error while mounting volume '${this.mountpoint(name)}': ${(err as Error).message}`,
        );
      }
      this.events.publish('volume', 'mount', name, { driver: 'local' });
    }
    this.mountRefs.set(name, n + 1);
  }

  /** The last running user stopped: unmount. (After a berthd restart re-adopted users count again on exit.) */
  async release(name: string): Promise<void> {
    const m = this.vols.get(name);
    if (!m?.options.type) return;
    const n = Math.max(0, (this.mountRefs.get(name) ?? 1) - 1);
    this.mountRefs.set(name, n);
    if (n === 0 && (await this.isMounted(name))) {
      await this.sys
        .umount(this.mountpoint(name))
        .catch(() => this.sys.umount(this.mountpoint(name), { lazy: true }));
      this.events.publish('volume', 'unmount', name, { driver: 'local' });
    }
  }

  /** Re-adopted running containers hold their volume mounts again. */
  adopt(name: string): void {
    if (this.vols.get(name)?.options.type) this.mountRefs.set(name, (this.mountRefs.get(name) ?? 0) + 1);
  }

  async isEmpty(name: string): Promise<boolean> {
    return (await fsp.readdir(this.mountpoint(name))).length === 0;
  }
}
