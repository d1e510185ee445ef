/**
 * A Sys for unit tests of policy (DESIGN example 5): file operations go to a real temp directory under
 * `root` (so code reading back what it wrote behaves), every call is recorded, and processes/mounts are
 * simulated. Never used by the daemon.
 */
import { promises as fsp } from 'node:fs';
import path from 'node:path';
import { hostSys, type MountInfo, type Sys } from './sys.js';

export interface SysCall {
  op: string;
  path?: string;
  data?: string;
  pid?: number;
  signal?: NodeJS.Signals | number;
}

export class RecordingSys implements Sys {
  readonly calls: SysCall[] = [];
  readonly alive = new Set<number>();
  readonly mountTable: MountInfo[] = [];

  constructor(readonly root: string) {}

  private at(p: string): string {
    return path.join(this.root, p);
  }
  writes(): { path: string; data: string }[] {
    return this.calls
      .filter((c) => c.op === 'write')
      .map((c) => ({ path: c.path ?? '', data: c.data ?? '' }));
  }
  async readFile(p: string): Promise<string> {
    this.calls.push({ op: 'read', path: p });
    return fsp.readFile(this.at(p), 'utf8');
  }
  async writeFile(p: string, data: string): Promise<void> {
    this.calls.push({ op: 'write', path: p, data });
    await fsp.mkdir(path.dirname(this.at(p)), { recursive: true });
    await fsp.writeFile(this.at(p), data);
  }
  async mkdirp(p: string): Promise<void> {
    this.calls.push({ op: 'mkdir', path: p });
    await fsp.mkdir(this.at(p), { recursive: true });
  }
  async rmdir(p: string): Promise<boolean> {
    this.calls.push({ op: 'rmdir', path: p });
    // a real cgroup dir holds only kernel files, which vanish with it
    const existed = await hostSys.exists(this.at(p));
    await fsp.rm(this.at(p), { recursive: true, force: true });
    return existed;
  }
  exists(p: string): Promise<boolean> {
    return hostSys.exists(this.at(p));
  }
  readdir(p: string): Promise<string[]> {
    return hostSys.readdir(this.at(p));
  }
  subdirs(p: string): Promise<string[]> {
    return hostSys.subdirs(this.at(p));
  }
  kill(pid: number, signal: NodeJS.Signals | number): boolean {
    this.calls.push({ op: 'kill', pid, signal });
    return this.alive.has(pid);
  }
  pidAlive(pid: number): boolean {
    return this.alive.has(pid);
  }
  async mount(source: string, target: string, fsType: string, options: string[]): Promise<void> {
    this.calls.push({ op: 'mount', path: target, data: `${fsType} ${source} ${options.join(',')}` });
    this.mountTable.push({
      mountPoint: target,
      fsType,
      source,
      options: options.join(','),
      superOptions: '',
    });
  }
  async umount(target: string): Promise<void> {
    this.calls.push({ op: 'umount', path: target });
    const i = this.mountTable.findIndex((m) => m.mountPoint === target);
    if (i >= 0) this.mountTable.splice(i, 1);
  }
  async mounts(): Promise<MountInfo[]> {
    return [...this.mountTable];
  }
  /** Re-reads the file under `root` until `done` holds or the time is up (tests write the file themselves). */
  async waitFor(p: string, done: (text: string) => boolean, timeoutMs: number): Promise<boolean> {
    this.calls.push({ op: 'waitFor', path: p });
    const end = Date.now() + timeoutMs;
    for (;;) {
      const text = await fsp.readFile(this.at(p), 'utf8').catch(() => undefined);
      if (text === undefined || done(text)) return true;
      if (Date.now() >= end) return false;
      await new Promise((r) => setTimeout(r, 5));
    }
  }
}
