/**
 * Finding QEMU: the packaged app carries its own (electron-builder extraResources put
 * build/qemu/<platform>-<arch>/ in resources/qemu/, as Docker Desktop, Rancher Desktop and OrbStack ship their
 * hypervisor), a checkout uses the one installed on the host. When it is missing, say what is missing and how to
 * get it on this platform, instead of `spawn qemu-img ENOENT`.
 */
import { accessSync, constants } from 'node:fs';
import path from 'node:path';
import type { GuestArch } from '@berth/vm-image/manifest';
import type { HostPlatform } from '../driver.js';
import { qemuBinary } from './args.js';

export interface QemuTools {
  /** qemu-system-x86_64 or qemu-system-aarch64 (absolute path). */
  system: string;
  /** qemu-img (absolute path): creates and compacts the data disk. */
  img: string;
}

export class QemuMissingError extends Error {
  override name = 'QemuMissingError';
}

/**
 * Where to look, in order: $BERTH_QEMU_DIR, the app's bundled copy, then PATH and the places installers put it
 * (an app started from the Finder or the Start menu does not get the shell's PATH).
 */
export function qemuSearchDirs(
  platform: HostPlatform,
  env: NodeJS.ProcessEnv = process.env,
  resourcesPath: string | undefined = (process as { resourcesPath?: string }).resourcesPath,
): string[] {
  const dirs: string[] = [];
  if (env.BERTH_QEMU_DIR) dirs.push(env.BERTH_QEMU_DIR);
  if (resourcesPath) dirs.push(path.join(resourcesPath, 'qemu', 'bin'), path.join(resourcesPath, 'qemu'));
  const sep = platform === 'win32' ? ';' : ':';
  dirs.push(...(env.PATH ?? env.Path ?? '').split(sep).filter(Boolean));
  if (platform === 'darwin') dirs.push('/opt/homebrew/bin', '/usr/local/bin', '/opt/local/bin');
  if (platform === 'win32') dirs.push(path.win32.join(env.ProgramFiles ?? 'C:\\Program Files', 'qemu'));
  return [...new Set(dirs)];
}

function findIn(dirs: string[], name: string, platform: HostPlatform): string | undefined {
  const join = (d: string, n: string) => (platform === 'win32' ? path.win32.join(d, n) : path.join(d, n));
  for (const d of dirs) {
    const p = join(d, name);
    try {
      accessSync(p, platform === 'win32' ? constants.F_OK : constants.X_OK);
      return p;
    } catch {
      /* not here */
    }
  }
  return undefined;
}

/** How to install QEMU on this platform (one sentence, with the command). */
export function qemuInstallHint(platform: HostPlatform, arch: GuestArch): string {
  switch (platform) {
    case 'linux':
      return arch === 'amd64'
        ? 'install it with `sudo apt-get install qemu-system-x86 qemu-utils` (Debian, Ubuntu) or `sudo dnf install qemu-system-x86 qemu-img` (Fedora), or run the engine on this host without a VM: `berth start --driver native`'
        : 'install it with `sudo apt-get install qemu-system-arm qemu-utils` (Debian, Ubuntu) or `sudo dnf install qemu-system-aarch64 qemu-img` (Fedora), or run the engine on this host without a VM: `berth start --driver native`';
    case 'darwin':
      return 'install it with `brew install qemu` (Homebrew), or use Lima: `berth start --driver lima`';
    case 'win32':
      return 'install it with `winget install SoftwareFreedomConservancy.QEMU` (it goes to C:\\Program Files\\qemu, where Berth looks), or set BERTH_QEMU_DIR to the folder holding qemu-system-x86_64.exe';
  }
}

/** The QEMU binaries the driver runs; throws `QemuMissingError` naming what is missing and how to get it. */
export function findQemuTools(
  arch: GuestArch,
  platform: HostPlatform,
  env: NodeJS.ProcessEnv = process.env,
  resourcesPath?: string,
): QemuTools {
  const dirs = qemuSearchDirs(
    platform,
    env,
    resourcesPath ?? (process as { resourcesPath?: string }).resourcesPath,
  );
  const names = {
    system: qemuBinary(arch, platform),
    img: platform === 'win32' ? 'qemu-img.exe' : 'qemu-img',
  };
  const system = findIn(dirs, names.system, platform);
  const img = findIn(dirs, names.img, platform);
  if (system && img) return { system, img };
  const missing = [system ? undefined : names.system, img ? undefined : names.img].filter(Boolean);
  throw new QemuMissingError(
    `QEMU is not installed: the qemu driver needs ${missing.join(' and ')}, not found in ${env.BERTH_QEMU_DIR ? 'BERTH_QEMU_DIR, ' : ''}PATH or the usual install places; ${qemuInstallHint(platform, arch)}`,
  );
}
