/** The native driver (Linux hosts): berthd runs directly on the host, listening on Berth's host socket. No VM. */
import { spawn } from 'node:child_process';
import { closeSync, openSync, promises as fsp } from 'node:fs';
import path from 'node:path';
import type { DriverStatus, GuestEndpoint, LogFiles, Progress, ShellTarget, VmDriver } from '../driver.js';
import { pingSocket } from '../../engine/control.js';
import { REPO_ROOT, type BerthPaths } from '../paths.js';
import { livePid, tailFile, terminate } from '../process.js';

export interface NativeDriverOptions {
  paths: BerthPaths;
  /** berthd's entry (default: this checkout's agent/dist/src/main.js). */
  berthd?: string;
  extraArgs?: string[];
  startTimeoutMs?: number;
}

/** The native driver's files: berthd's own data root, pid file and log, beside (not in) the VM directory. */
export function nativeFiles(p: BerthPaths): { dir: string; dataRoot: string; pid: string; log: string } {
  const dir = path.join(p.home, 'native');
  return {
    dir,
    dataRoot: path.join(dir, 'data'),
    pid: path.join(dir, 'berthd.pid'),
    log: path.join(dir, 'berthd.log'),
  };
}

export function nativeBerthdArgs(entry: string, paths: BerthPaths, extra: string[] = []): string[] {
  const f = nativeFiles(paths);
  return [entry, '--data-root', f.dataRoot, '-H', `unix://${paths.socket}`, '--pidfile', f.pid, ...extra];
}

export class NativeDriver implements VmDriver {
  readonly kind = 'native';
  readonly runsVm = false;
  readonly hostSocket = 'driver';
  constructor(private readonly o: NativeDriverOptions) {}

  private get f() {
    return nativeFiles(this.o.paths);
  }
  private entry(): string {
    return this.o.berthd ?? path.join(REPO_ROOT, 'agent/dist/src/main.js');
  }
  private pid(): number | undefined {
    return livePid(this.f.pid, this.f.dataRoot);
  }

  async create(): Promise<void> {
    if (process.platform !== 'linux')
      throw new Error('the native driver needs a Linux host; use the qemu or lima driver');
    await fsp.mkdir(this.f.dataRoot, { recursive: true });
    await fsp.mkdir(this.o.paths.run, { recursive: true, mode: 0o700 });
  }

  async start(progress: Progress): Promise<DriverStatus> {
    await this.create();
    if (this.pid()) return this.status();
    if (process.getuid?.() !== 0)
      progress('warning: berthd is not running as root; containers will not start');
    progress('Starting berthd on this host');
    const fd = openSync(this.f.log, 'a');
    const child = spawn(process.execPath, nativeBerthdArgs(this.entry(), this.o.paths, this.o.extraArgs), {
      detached: true,
      stdio: ['ignore', fd, fd],
    });
    closeSync(fd);
    let exit: number | null | undefined;
    child.on('exit', (code) => (exit = code));
    child.unref();
    const deadline = Date.now() + (this.o.startTimeoutMs ?? 30_000);
    while (Date.now() < deadline) {
      if (exit !== undefined)
        throw new Error(`berthd exited with ${exit}:\n${await tailFile(this.f.log, 10)}`);
      if (await pingSocket(this.o.paths.socket)) return this.status();
      await new Promise((r) => setTimeout(r, 50));
    }
    child.kill('SIGKILL');
    throw new Error(
      `berthd did not answer on ${this.o.paths.socket} in time:\n${await tailFile(this.f.log, 10)}`,
    );
  }

  async stop(timeoutMs: number, progress: Progress): Promise<void> {
    const pid = this.pid();
    if (!pid) return;
    progress('Stopping berthd (and its containers)');
    await terminate(pid, timeoutMs);
  }

  async status(): Promise<DriverStatus> {
    const pid = this.pid();
    return pid ? { state: 'running', pid } : { state: 'stopped' };
  }

  async shell(): Promise<ShellTarget> {
    // No VM: the engine's kernel is this host's, so a shell here is the equivalent.
    return { kind: 'command', cmd: process.env.SHELL ?? '/bin/sh', args: [] };
  }

  async forward(): Promise<GuestEndpoint> {
    return { kind: 'unix', socketPath: this.o.paths.socket };
  }

  async reset(): Promise<void> {
    if (this.pid()) throw new Error('berthd is running: stop it first (`berth stop`)');
    await fsp.rm(this.f.dir, { recursive: true, force: true });
  }

  async compact(): Promise<string> {
    return 'nothing to compact: the native engine stores its data directly on the host file system';
  }

  logFiles(): LogFiles {
    return { engine: this.f.log };
  }
}
