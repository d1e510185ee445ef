/** Picks the driver for this host: one place that knows which platform gets which implementation. */
import type { DriverKind, VmDriver, VmResources } from './driver.js';
import { guestArchFor } from './image/plan.js';
import { LimaDriver } from './lima/driver.js';
import { NativeDriver } from './native/driver.js';
import { imageDir, type BerthPaths } from './paths.js';
import type { HostPlatform } from './qemu/args.js';
import { QemuDriver } from './qemu/driver.js';

export interface DriverContext {
  paths: BerthPaths;
  resources: VmResources;
  shareFolders: string[];
  registries?: { insecure: string[]; mirrors: string[] };
  platform?: NodeJS.Platform;
  hostArch?: string;
  env?: NodeJS.ProcessEnv;
}

export function hostPlatform(p: NodeJS.Platform): HostPlatform {
  if (p === 'linux' || p === 'darwin' || p === 'win32') return p;
  throw new Error(`Berth does not run VMs on ${p}`);
}

export function createDriver(kind: DriverKind, ctx: DriverContext): VmDriver {
  const platform = ctx.platform ?? process.platform;
  const arch = guestArchFor(ctx.hostArch ?? process.arch);
  if (!arch) throw new Error(`no Berth guest for ${ctx.hostArch ?? process.arch} hosts`);
  switch (kind) {
    case 'qemu':
      return new QemuDriver({
        paths: ctx.paths,
        resources: ctx.resources,
        arch,
        platform: hostPlatform(platform),
        imageDir: imageDir(arch, ctx.env),
        shareFolders: ctx.shareFolders,
        ...(ctx.registries ? { registries: ctx.registries } : {}),
      });
    case 'lima':
      return new LimaDriver({
        paths: ctx.paths,
        resources: ctx.resources,
        arch,
        shareFolders: ctx.shareFolders,
      });
    case 'native':
      if (platform !== 'linux')
        throw new Error('the native driver needs a Linux host; use the qemu or lima driver');
      return new NativeDriver({ paths: ctx.paths });
  }
}
