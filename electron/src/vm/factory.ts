/**
 * The drivers by name: the one place that knows which drivers exist, which platform gets which, and how to
 * reopen a driver's capability in another process (the tunnel's port control).
 */
import type { HostPlatform, PortControl, PortControlSpec, VmDriver, VmResources } from './driver.js';
import { guestArchFor } from '@berth/vm-image/plan';
import { LimaDriver } from './lima/driver.js';
import { NativeDriver } from './native/driver.js';
import { imageDir, type BerthPaths } from './paths.js';
import { QemuDriver } from './qemu/driver.js';
import { QmpPortControl, type QmpPortParams } from './qemu/port-control.js';

export type DriverKind = 'qemu' | 'lima' | 'native';
export const DRIVER_KINDS: readonly DriverKind[] = ['qemu', 'lima', 'native'];
export const DEFAULT_DRIVER: DriverKind = 'qemu';
/** The choices as `berth start --help` lists them. */
export const DRIVER_HELP = 'qemu (default), lima, or native (Linux hosts only)';

export function isDriverKind(s: unknown): s is DriverKind {
  return DRIVER_KINDS.includes(s as DriverKind);
}

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
      return new NativeDriver({
        paths: ctx.paths,
        extraArgs: [
          ...(ctx.registries?.insecure ?? []).flatMap((r) => ['--insecure-registry', r]),
          ...(ctx.registries?.mirrors ?? []).flatMap((m) => ['--registry-mirror', m]),
        ],
      });
  }
}

/** The `PortControl` a driver described with `portControl()`, opened where it is used (the tunnel process). */
export function openPortControl(spec: PortControlSpec): PortControl {
  switch (spec.driver) {
    case 'qemu':
      return new QmpPortControl(spec.params as QmpPortParams);
    default:
      throw new Error(`the ${spec.driver} driver has no port control`);
  }
}
