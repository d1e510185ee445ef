/** The Lima driver: drives an installed `limactl` with a generated lima.yaml (see config.ts). */
import { existsSync, promises as fsp } from 'node:fs';
import path from 'node:path';
import type {
  DriverStatus,
  GuestEndpoint,
  LogFiles,
  Progress,
  ShellTarget,
  VmDriver,
  VmResources,
} from '../driver.js';
import { runCommand } from '@berth/vm-image/exec';
import { stageAgent } from '@berth/vm-image/agent-tree';
import { stageKube } from '@berth/vm-image/kube-tree';
import { defaultCacheDir } from '@berth/vm-image/build';
import { fetchNode } from '@berth/vm-image/fetch';
import { loadManifest, type GuestArch } from '@berth/vm-image/manifest';
import { REPO_ROOT, type BerthPaths } from '../paths.js';
import { limactl, limaYaml, LIMA_INSTANCE } from './config.js';

/** The native helper's sources and Makefile, compiled inside the Lima guest (see config.ts). */
export async function stageNativeSources(from: string, to: string): Promise<string[]> {
  await fsp.mkdir(to, { recursive: true });
  const names = (await fsp.readdir(from)).filter((n) => /\.[ch]$/.test(n) || n === 'Makefile').sort();
  for (const n of names) await fsp.copyFile(path.join(from, n), path.join(to, n));
  return names;
}

export interface LimaDriverOptions {
  paths: BerthPaths;
  resources: VmResources;
  arch: GuestArch;
  shareFolders?: string[];
  limactl?: string;
}

export class LimaDriver implements VmDriver {
  readonly kind = 'lima';
  readonly runsVm = true;
  // lima.yaml forwards the guest's engine socket to the host socket itself.
  readonly hostSocket = 'driver';
  constructor(private readonly o: LimaDriverOptions) {}

  private bin(): string {
    return this.o.limactl ?? 'limactl';
  }
  private run(args: string[]): Promise<string> {
    return runCommand({ cmd: this.bin(), args }).catch((err: Error) => {
      if (/ENOENT/.test(err.message))
        throw new Error('limactl is not installed (https://lima-vm.io); or use the qemu driver');
      throw err;
    });
  }
  private yamlFile(): string {
    return path.join(this.o.paths.vm.dir, 'lima.yaml');
  }
  private berthDir(): string {
    return path.join(this.o.paths.vm.dir, 'lima-berth');
  }

  async create(progress: Progress): Promise<void> {
    await fsp.mkdir(this.o.paths.vm.dir, { recursive: true });
    progress('Preparing berthd for the Lima VM');
    const dir = this.berthDir();
    await fsp.rm(dir, { recursive: true, force: true });
    await stageAgent(REPO_ROOT, dir);
    await stageNativeSources(path.join(REPO_ROOT, 'agent/native'), path.join(dir, 'native-src'));
    // berth-kube beside it (`berth kube enable`); its berth-pause is compiled in the guest like berth-shim.
    await stageKube(REPO_ROOT, dir);
    await stageNativeSources(path.join(REPO_ROOT, 'kube/native'), path.join(dir, 'kube-native-src'));
    const m = loadManifest(path.join(REPO_ROOT, 'vm-image/manifest.json'));
    const tgz = await fetchNode(defaultCacheDir(), this.o.arch, m.arches[this.o.arch].node);
    await fsp.mkdir(path.join(dir, 'node'), { recursive: true });
    await runCommand({
      cmd: 'tar',
      args: ['-xzf', tgz, '-C', path.join(dir, 'node'), '--strip-components=1', 'package/bin/node'],
    });
    const yaml = limaYaml({
      resources: this.o.resources,
      berthDir: dir,
      hostSocket: this.o.paths.socket,
      shareFolders: this.o.shareFolders ?? [],
      arch: this.o.arch === 'amd64' ? 'x86_64' : 'aarch64',
      vmType: process.platform === 'darwin' && this.o.arch === 'arm64' ? 'vz' : 'qemu',
    });
    await fsp.writeFile(this.yamlFile(), yaml);
    if (!(await this.exists())) await this.run(limactl.create(this.yamlFile()));
  }

  private async exists(): Promise<boolean> {
    const out = await this.run(limactl.list()).catch(() => '');
    return out.split('\n').some((l) => l.includes(`"name":"${LIMA_INSTANCE}"`));
  }

  async start(progress: Progress): Promise<DriverStatus> {
    await this.create(progress);
    progress('Starting the Lima VM');
    await this.run(limactl.start());
    return this.status();
  }

  async stop(timeoutMs: number, progress: Progress): Promise<void> {
    if ((await this.status()).state !== 'running') return;
    progress('Stopping the Lima VM');
    const timer = new Promise<'timeout'>((r) => setTimeout(() => r('timeout'), timeoutMs).unref());
    const r = await Promise.race([this.run(limactl.stop()).then(() => 'ok' as const), timer]);
    if (r === 'timeout') await this.run(limactl.forceStop());
  }

  async status(): Promise<DriverStatus> {
    const out = await this.run(limactl.list()).catch(() => '');
    const line = out.split('\n').find((l) => l.includes(`"name":"${LIMA_INSTANCE}"`));
    if (!line) return { state: 'stopped' };
    const st = (JSON.parse(line) as { status?: string }).status;
    return { state: st === 'Running' ? 'running' : 'stopped' };
  }

  async shell(): Promise<ShellTarget> {
    return { kind: 'command', cmd: this.bin(), args: limactl.shell() };
  }

  async forward(): Promise<GuestEndpoint> {
    return { kind: 'unix', socketPath: this.o.paths.socket };
  }

  async reset(): Promise<void> {
    if ((await this.status()).state === 'running')
      throw new Error('the Lima VM is running: stop it first (`berth stop`)');
    await this.run(limactl.delete()).catch(() => undefined);
    await fsp.rm(this.o.paths.vm.dir, { recursive: true, force: true });
  }

  async compact(): Promise<string> {
    const out = await this.run(limactl.fstrim());
    return out.trim() || 'trimmed';
  }

  logFiles(): LogFiles {
    const home = process.env.LIMA_HOME ?? path.join(process.env.HOME ?? '', '.lima');
    const serial = path.join(home, LIMA_INSTANCE, 'serial.log');
    return existsSync(serial) ? { console: serial } : {};
  }
}
