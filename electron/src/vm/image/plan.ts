/** Pure facts and command lines of the image build for each guest architecture (unit-tested for both). */
import path from 'node:path';
import type { Command } from '../exec.js';
import type { ArchInputs, GuestArch, Pin } from './manifest.js';

export interface ArchFacts {
  /** Debian's multiarch triplet (library directory). */
  triplet: string;
  /** The ELF machine readelf prints, to check every binary matches the guest. */
  elfMachine: string;
  /** The serial console the guest kernel writes to. */
  console: string;
  /** npm's name for this arch in node-linux-<arch>. */
  nodeArch: string;
  /**
   * The kernel file QEMU boots. amd64: the uncompressed ELF `vmlinux`, entered through its PVH note, because
   * the bzImage's own xz decompressor is very slow under TCG (17 s against 2.6 s to userspace measured
   * here). arm64: Debian's gzip'd Image, which QEMU decompresses itself.
   */
  kernelFile: string;
}

export const ARCH: Record<GuestArch, ArchFacts> = {
  amd64: { triplet: 'x86_64-linux-gnu', elfMachine: 'Advanced Micro Devices X86-64', console: 'ttyS0', nodeArch: 'x64', kernelFile: 'vmlinux' },
  arm64: { triplet: 'aarch64-linux-gnu', elfMachine: 'AArch64', console: 'ttyAMA0', nodeArch: 'arm64', kernelFile: 'vmlinuz' },
};

/** The guest arch matching a Node `process.arch`, or undefined when Berth has no guest for it. */
export function guestArchFor(nodeArch: string): GuestArch | undefined {
  return nodeArch === 'x64' ? 'amd64' : nodeArch === 'arm64' ? 'arm64' : undefined;
}


/** Where a pinned .deb lives in the download cache. */
export function debFile(cacheDir: string, arch: GuestArch, p: Pin): string {
  return path.join(cacheDir, arch, `${p.name}_${p.version.replace(/^\d+:/, '')}_${arch}.deb`);
}

export function nodeTarball(cacheDir: string, arch: GuestArch, p: Pin): string {
  return path.join(cacheDir, arch, `${p.name}-${p.version}.tgz`);
}

/** `apt-get download` of exactly the pinned version (foreign arches need `dpkg --add-architecture`). */
export function aptDownload(dir: string, arch: GuestArch, p: Pin): Command {
  return { cmd: 'apt-get', args: ['download', '-q', `${p.name}:${arch}=${p.version}`], cwd: dir };
}

export function npmPack(dir: string, p: Pin): Command {
  return { cmd: 'npm', args: ['pack', `${p.name}@${p.version}`, '--pack-destination', dir, '--silent'], cwd: dir };
}

export function allDebs(a: ArchInputs): Pin[] {
  return [a.kernel, ...a.debs];
}

/** The kernel release inside linux-image-<release> (e.g. 6.1.0-56-amd64). */
export function kernelRelease(a: ArchInputs): string {
  const m = /^linux-image-(.+)$/.exec(a.kernel.name);
  if (!m) throw new Error(`not a kernel package: ${a.kernel.name}`);
  return m[1]!;
}

/** mksquashfs flags that make the root filesystem byte-for-byte reproducible. */
export function squashfsCommand(stage: string, out: string, epoch: number): Command {
  return {
    cmd: 'mksquashfs',
    args: [stage, out, '-noappend', '-comp', 'zstd', '-all-root', '-no-xattrs', '-mkfs-time', String(epoch), '-all-time', String(epoch), '-quiet', '-no-progress'],
  };
}
