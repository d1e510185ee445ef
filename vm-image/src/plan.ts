/** Pure facts and command lines of the image build for each guest architecture (unit-tested for both). */
import path from 'node:path';
import type { Command } from './exec.js';
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
  /** Debian's cross compiler for this arch, and the packages that provide it with a static libc. */
  crossCc: string;
  crossPackages: string[];
}

export const ARCH: Record<GuestArch, ArchFacts> = {
  amd64: {
    triplet: 'x86_64-linux-gnu',
    elfMachine: 'Advanced Micro Devices X86-64',
    console: 'ttyS0',
    nodeArch: 'x64',
    kernelFile: 'vmlinux',
    crossCc: 'x86_64-linux-gnu-gcc',
    crossPackages: ['gcc-x86-64-linux-gnu', 'libc6-dev-amd64-cross'],
  },
  arm64: {
    triplet: 'aarch64-linux-gnu',
    elfMachine: 'AArch64',
    console: 'ttyAMA0',
    nodeArch: 'arm64',
    kernelFile: 'vmlinuz',
    crossCc: 'aarch64-linux-gnu-gcc',
    crossPackages: ['gcc-aarch64-linux-gnu', 'libc6-dev-arm64-cross'],
  },
};

/** The guest arch matching a Node `process.arch`, or undefined when Berth has no guest for it. */
export function guestArchFor(nodeArch: string): GuestArch | undefined {
  return nodeArch === 'x64' ? 'amd64' : nodeArch === 'arm64' ? 'arm64' : undefined;
}

/**
 * The native helper for a guest of another arch than the build host (e.g. the arm64 image built on an x86-64
 * Linux machine): agent/native's Makefile with Debian's cross compiler, into `outDir`. Undefined when the
 * guest matches the host: `npm run build` already made agent/dist/native/berth-shim for it.
 */
export function shimCrossBuild(
  repo: string,
  arch: GuestArch,
  hostArch: GuestArch | undefined,
  outDir: string,
): Command | undefined {
  if (arch === hostArch) return undefined;
  return {
    cmd: 'make',
    args: ['-s', '-C', path.join(repo, 'agent/native'), `CC=${ARCH[arch].crossCc}`, `OUT=${outDir}`],
  };
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
  return {
    cmd: 'npm',
    args: ['pack', `${p.name}@${p.version}`, '--pack-destination', dir, '--silent'],
    cwd: dir,
  };
}

export function allDebs(a: ArchInputs): Pin[] {
  return [a.kernel, ...a.debs];
}

/** The kernel release inside linux-image-<release> (e.g. 6.1.0-56-amd64). */
export function kernelRelease(a: ArchInputs): string {
  const m = /^linux-image-(.+)$/.exec(a.kernel.name);
  if (!m) throw new Error(`not a kernel package: ${a.kernel.name}`);
  return m[1];
}

/** mksquashfs flags that make the root filesystem byte-for-byte reproducible. */
export function squashfsCommand(stage: string, out: string, epoch: number): Command {
  return {
    cmd: 'mksquashfs',
    args: [
      stage,
      out,
      '-noappend',
      '-comp',
      'zstd',
      '-all-root',
      '-no-xattrs',
      '-mkfs-time',
      String(epoch),
      '-all-time',
      String(epoch),
      '-quiet',
      '-no-progress',
    ],
  };
}
