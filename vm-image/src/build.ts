/**
 * Builds the guest image for one arch from vm-image/manifest.json into vm-image/out/<arch>/:
 *   vmlinux|vmlinuz  Debian's kernel (amd64: decompressed to the PVH-bootable ELF, see plan.ts)
 *   rootfs.squashfs  the read-only root: the pinned .debs (docs pruned) + Node; rebuilt when the manifest changes
 *   initrd.img       busybox + kernel modules + /init + berthd; rebuilt when berthd or the modules change
 *   image.json       cache keys and sizes
 * Each part is skipped when its inputs are unchanged; finished parts are also kept by key in the download
 * cache outside the checkout (~/.cache/berth/vm-image), so a fresh clone on the same machine (CI) reuses
 * them. Output is reproducible (fixed mtimes, sorted entries).
 */
import { createHash } from 'node:crypto';
import { promises as fsp } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { stageAgent } from './agent-tree.js';
import { stageKube } from './kube-tree.js';
import { cpioOf } from './cpio.js';
import { foreignBinaries, missingLibraries } from './elf.js';
import { runCommand } from './exec.js';
import { fetchDeb, fetchNode } from './fetch.js';
import { loadManifest, type GuestArch, type ImageManifest } from './manifest.js';
import { BOOT_MODULES, DEFERRED_MODULES, resolveModules, stripSignature } from './modules.js';
import { ARCH, guestArchFor, kernelRelease, shimCrossBuild, squashfsCommand } from './plan.js';

/** Bump when the build's own logic changes what it produces. */
const RECIPE_VERSION = 5;

export interface ImageBuildOptions {
  repo: string;
  arch: GuestArch;
  outDir?: string;
  cacheDir?: string;
  force?: boolean;
  log?: (msg: string) => void;
}

export interface ImageInfo {
  arch: GuestArch;
  kernelRelease: string;
  rootfsKey: string;
  initrdKey: string;
  sizes: { kernel: number; rootfs: number; initrd: number };
  /** Which parts this run rebuilt (empty when all were cached). */
  rebuilt: string[];
}

export interface ImagePaths {
  dir: string;
  kernel: string;
  rootfs: string;
  initrd: string;
  info: string;
}

export function imagePaths(
  repo: string,
  arch: GuestArch,
  outDir = path.join(repo, 'vm-image/out'),
): ImagePaths {
  const dir = path.join(outDir, arch);
  return {
    dir,
    kernel: path.join(dir, ARCH[arch].kernelFile),
    rootfs: path.join(dir, 'rootfs.squashfs'),
    initrd: path.join(dir, 'initrd.img'),
    info: path.join(dir, 'image.json'),
  };
}

/** The cache shared by every checkout on this machine: $BERTH_CACHE_DIR, else ~/.cache/berth/vm-image. */
export function defaultCacheDir(env: NodeJS.ProcessEnv = process.env): string {
  return (
    env.BERTH_CACHE_DIR ??
    path.join(env.XDG_CACHE_HOME ?? path.join(os.homedir(), '.cache'), 'berth', 'vm-image')
  );
}

/** Hard-links (or copies, across file systems) `from` to `to`, replacing it atomically. */
async function place(from: string, to: string): Promise<void> {
  const tmp = `${to}.placing`;
  await fsp.rm(tmp, { force: true });
  try {
    await fsp.link(from, tmp);
  } catch {
    await fsp.copyFile(from, tmp);
  }
  await fsp.rename(tmp, to);
}

/** Keeps a finished part in the shared cache under its key; old keys beyond the newest three are dropped. */
async function remember(partsDir: string, kind: string, key: string, file: string): Promise<void> {
  await fsp.mkdir(partsDir, { recursive: true });
  await place(file, path.join(partsDir, `${kind}-${key}`));
  const mine = (await fsp.readdir(partsDir)).filter((n) => n.startsWith(`${kind}-`));
  const withTime = await Promise.all(
    mine.map(async (n) => ({ n, t: (await fsp.stat(path.join(partsDir, n))).mtimeMs })),
  );
  for (const old of withTime.sort((a, b) => b.t - a.t).slice(3))
    await fsp.rm(path.join(partsDir, old.n), { force: true });
}

/** Restores a part from the shared cache; false when it has not been built with this key. */
async function recall(partsDir: string, kind: string, key: string, file: string): Promise<boolean> {
  const cached = path.join(partsDir, `${kind}-${key}`);
  if (
    !(await fsp.access(cached).then(
      () => true,
      () => false,
    ))
  )
    return false;
  await place(cached, file);
  return true;
}

const sha = (...parts: (string | Buffer)[]) => {
  const h = createHash('sha256');
  for (const p of parts) h.update(p).update('\0');
  return h.digest('hex');
};

async function readInfo(file: string): Promise<ImageInfo | undefined> {
  try {
    return JSON.parse(await fsp.readFile(file, 'utf8')) as ImageInfo;
  } catch {
    return undefined;
  }
}

const PRUNE = [
  'usr/share/doc',
  'usr/share/man',
  'usr/share/info',
  'usr/share/locale',
  'usr/share/lintian',
  'usr/share/bug',
  'usr/share/bash-completion',
  'usr/share/zsh',
  'usr/include',
  'etc/init.d',
  'etc/default',
  'etc/cron.daily',
  'boot',
];

const ETC: Record<string, string> = {
  'etc/passwd': 'root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/nonexistent:/bin/false\n',
  'etc/group': 'root:x:0:\ntty:x:5:\nnogroup:x:65534:\n',
  'etc/shadow': 'root:*:19000:0:99999:7:::\n',
  'etc/hosts': '127.0.0.1 localhost berth\n::1 localhost\n',
  'etc/nsswitch.conf': 'passwd: files\ngroup: files\nhosts: files dns\n',
  'etc/os-release': 'NAME="Berth guest"\nID=berth\nPRETTY_NAME="Berth guest (Debian 12 packages)"\n',
  'etc/shells': '/bin/sh\n',
};

async function buildRootfs(
  m: ImageManifest,
  o: Required<Omit<ImageBuildOptions, 'log' | 'force'>>,
  p: ImagePaths,
  work: string,
  log: (s: string) => void,
): Promise<void> {
  const a = m.arches[o.arch];
  const stage = path.join(work, 'rootfs');
  await fsp.mkdir(stage, { recursive: true });
  for (const d of a.debs) {
    const deb = await fetchDeb(o.cacheDir, o.arch, d);
    await runCommand({ cmd: 'dpkg-deb', args: ['-x', deb, stage] });
  }
  log(`rootfs: ${a.debs.length} packages extracted`);
  // gconv (iconv charsets) and tc's ATM module are never used by the guest and pull in libraries it lacks.
  const t = ARCH[o.arch].triplet;
  for (const x of [...PRUNE, `usr/lib/${t}/gconv`, `usr/lib/${t}/tc/q_atm.so`])
    await fsp.rm(path.join(stage, x), { recursive: true, force: true });
  const nodeTgz = await fetchNode(o.cacheDir, o.arch, a.node);
  const nodeDir = path.join(work, 'node');
  await fsp.mkdir(nodeDir, { recursive: true });
  await runCommand({ cmd: 'tar', args: ['-xzf', nodeTgz, '-C', nodeDir, 'package/bin/node'] });
  await fsp.mkdir(path.join(stage, 'usr/local/bin'), { recursive: true });
  await fsp.rename(path.join(nodeDir, 'package/bin/node'), path.join(stage, 'usr/local/bin/node'));
  const header = await runCommand({ cmd: 'readelf', args: ['-h', path.join(stage, 'usr/local/bin/node')] });
  if (!header.includes(ARCH[o.arch].elfMachine))
    throw new Error(`node binary is not ${o.arch}: ${/Machine:.*/.exec(header)?.[0]}`);
  // The guest's /bin/sh is busybox; `busybox --install -s` at boot adds the other applets.
  await fsp.rm(path.join(stage, 'bin/sh'), { force: true });
  await fsp.symlink('busybox', path.join(stage, 'bin/sh'));
  for (const [f, text] of Object.entries(ETC))
    await fsp.writeFile(path.join(stage, f), text, { mode: f === 'etc/shadow' ? 0o600 : 0o644 });
  await fsp.rm(path.join(stage, 'etc/resolv.conf'), { force: true });
  await fsp.symlink('../run/resolv.conf', path.join(stage, 'etc/resolv.conf'));
  for (const d of [
    'root',
    'run',
    'tmp',
    'proc',
    'sys',
    'dev',
    'mnt',
    'opt',
    'var/lib/berth',
    'var/log',
    'lib/modules',
  ])
    await fsp.mkdir(path.join(stage, d), { recursive: true });
  for (const s of ['berth-init', 'berth-shutdown']) {
    await fsp.copyFile(path.join(o.repo, 'vm-image/guest', s), path.join(stage, 'sbin', s));
    await fsp.chmod(path.join(stage, 'sbin', s), 0o755);
  }
  const foreign = await foreignBinaries(stage, ARCH[o.arch].elfMachine);
  if (foreign.length)
    throw new Error(
      `rootfs has binaries for another machine than ${o.arch}:\n  ${foreign.slice(0, 30).join('\n  ')}`,
    );
  const missing = await missingLibraries(stage, ARCH[o.arch].triplet);
  if (missing.length)
    throw new Error(
      `rootfs is missing shared libraries (add their packages to the manifest):\n  ${missing.slice(0, 30).join('\n  ')}`,
    );
  const tmp = `${p.rootfs}.tmp`;
  // The flags pin every timestamp; mksquashfs refuses SOURCE_DATE_EPOCH alongside them.
  const env = { ...process.env };
  delete env.SOURCE_DATE_EPOCH;
  await runCommand(squashfsCommand(stage, tmp, m.sourceDateEpoch), { env });
  await fsp.rename(tmp, p.rootfs);
}

/**
 * The ELF kernel inside an x86 bzImage: its payload is xz-compressed (Debian), found by its magic and
 * decompressed; the result must carry the PVH entry note (Xen note type 0x12) QEMU boots it through.
 */
export async function extractVmlinux(bzImage: string, out: string): Promise<void> {
  const data = await fsp.readFile(bzImage);
  const at = data.indexOf(Buffer.from([0xfd, 0x37, 0x7a, 0x58, 0x5a, 0x00]));
  if (at < 0) throw new Error(`${bzImage}: no xz payload found (not a Debian amd64 kernel?)`);
  const xz = `${out}.xz`;
  await fsp.writeFile(xz, data.subarray(at));
  try {
    await runCommand({ cmd: 'sh', args: ['-c', 'xz -dc --single-stream "$1" > "$2"', 'sh', xz, out] });
  } finally {
    await fsp.rm(xz, { force: true });
  }
  const notes = await runCommand({ cmd: 'readelf', args: ['-n', out] });
  if (!/Xen\s+0x[0-9a-f]+\s+Unknown note type: \(0x00000012\)/.test(notes))
    throw new Error(`${out}: the kernel has no PVH entry note; QEMU cannot boot it uncompressed`);
}

async function buildKernelAndInitrd(
  m: ImageManifest,
  o: Required<Omit<ImageBuildOptions, 'log' | 'force'>>,
  p: ImagePaths,
  work: string,
  agentStage: string,
): Promise<void> {
  const a = m.arches[o.arch];
  const release = kernelRelease(a);
  const kdir = path.join(work, 'kernel');
  await runCommand({ cmd: 'dpkg-deb', args: ['-x', await fetchDeb(o.cacheDir, o.arch, a.kernel), kdir] });
  const vmlinuz = path.join(kdir, 'boot', `vmlinuz-${release}`);
  if (ARCH[o.arch].kernelFile === 'vmlinux') await extractVmlinux(vmlinuz, `${p.kernel}.tmp`);
  else await fsp.copyFile(vmlinuz, `${p.kernel}.tmp`);
  await fsp.rename(`${p.kernel}.tmp`, p.kernel);

  const ir = path.join(work, 'initrd');
  for (const d of ['bin', 'dev', 'proc', 'sys', 'mnt', 'newroot', 'lib/modules', 'opt'])
    await fsp.mkdir(path.join(ir, d), { recursive: true });
  const bbDir = path.join(work, 'busybox');
  const bbPin = a.debs.find((d) => d.name === 'busybox-static');
  if (!bbPin) throw new Error('manifest: busybox-static is required');
  await runCommand({ cmd: 'dpkg-deb', args: ['-x', await fetchDeb(o.cacheDir, o.arch, bbPin), bbDir] });
  await fsp.copyFile(path.join(bbDir, 'bin/busybox'), path.join(ir, 'bin/busybox'));
  await fsp.chmod(path.join(ir, 'bin/busybox'), 0o755);
  // Only the applets /init uses: the arm64 busybox cannot be run here to list its own.
  for (const applet of [
    'sh',
    'mount',
    'insmod',
    'cat',
    'echo',
    'seq',
    'usleep',
    'mkdir',
    'chroot',
    'poweroff',
    'sleep',
  ])
    await fsp.symlink('busybox', path.join(ir, 'bin', applet));
  await fsp.copyFile(path.join(o.repo, 'vm-image/guest/init'), path.join(ir, 'init'));
  await fsp.chmod(path.join(ir, 'init'), 0o755);

  const modRoot = path.join(kdir, 'lib/modules', release);
  // boot.order: what /init needs to mount the root; load.order: the rest, which berth-init loads in the
  // background while it mounts the data disk (ext4 first, and the crc32c it asks for at mount: that mount
  // waits for ext4, which the loader reaches last of the two), then a `-` line where berthd may start, then
  // the deferred modules.
  const boot = await resolveModules(modRoot, BOOT_MODULES);
  const first = ['crc32c_generic', 'ext4', ...m.modules.filter((n) => !DEFERRED_MODULES.includes(n))];
  const needed = await resolveModules(modRoot, [...BOOT_MODULES, ...first]);
  const all = await resolveModules(modRoot, [...BOOT_MODULES, ...first, ...m.modules]);
  const late = [
    ...needed.order.filter((rel) => !boot.order.includes(rel)),
    '-',
    ...all.order.filter((rel) => !needed.order.includes(rel)),
  ];
  const irMods = path.join(ir, 'lib/modules');
  for (const rel of all.order) {
    await fsp.mkdir(path.join(irMods, path.dirname(rel)), { recursive: true });
    await fsp.writeFile(path.join(irMods, rel), stripSignature(await fsp.readFile(path.join(modRoot, rel))));
  }
  await fsp.writeFile(path.join(irMods, 'boot.order'), boot.order.join('\n') + '\n');
  await fsp.writeFile(path.join(irMods, 'load.order'), late.join('\n') + '\n');
  await fsp.cp(agentStage, path.join(ir, 'opt/berth'), { recursive: true });
  const cpio = await cpioOf(ir, m.sourceDateEpoch);
  // Uncompressed: the kernel unpacks the initramfs while its own init runs, and its first usermode-helper
  // call waits for that; gunzip under TCG kept that wait ~0.25 s long, a plain copy is a fraction of it.
  await fsp.writeFile(`${p.initrd}.tmp`, cpio);
  await fsp.rename(`${p.initrd}.tmp`, p.initrd);
}

/** Builds what changed; returns the image's description. */
export async function buildImage(opts: ImageBuildOptions): Promise<ImageInfo> {
  const log = opts.log ?? (() => {});
  const o = {
    repo: opts.repo,
    arch: opts.arch,
    outDir: opts.outDir ?? path.join(opts.repo, 'vm-image/out'),
    cacheDir: opts.cacheDir ?? defaultCacheDir(),
  };
  const partsDir = path.join(o.cacheDir, o.arch, 'parts');
  const m = loadManifest(path.join(o.repo, 'vm-image/manifest.json'));
  const a = m.arches[o.arch];
  const p = imagePaths(o.repo, o.arch, o.outDir);
  await fsp.mkdir(p.dir, { recursive: true });
  const work = await fsp.mkdtemp(path.join(os.tmpdir(), `berth-image-${o.arch}-`));
  try {
    const guest = async (f: string) => fsp.readFile(path.join(o.repo, 'vm-image/guest', f));
    const rootfsKey = sha(
      String(RECIPE_VERSION),
      JSON.stringify({ debs: a.debs, node: a.node, epoch: m.sourceDateEpoch }),
      await guest('berth-init'),
      await guest('berth-shutdown'),
    );
    const agentStage = path.join(work, 'agent');
    let agentHash = await stageAgent(o.repo, agentStage);
    agentHash = sha(agentHash, await stageKube(o.repo, agentStage));
    const nativeDir = path.join(agentStage, 'agent/dist/native');
    const cross = shimCrossBuild(o.repo, o.arch, guestArchFor(process.arch), nativeDir);
    if (cross) {
      // The staged helper was built for this host; make would call the copy up to date.
      await fsp.rm(path.join(nativeDir, 'berth-shim'), { force: true });
      await runCommand(cross).catch((err: Error) => {
        throw new Error(
          `cannot cross-build berth-shim for ${o.arch} (apt-get install ${ARCH[o.arch].crossPackages.join(' ')}): ${err.message}`,
        );
      });
      agentHash = sha(agentHash, await fsp.readFile(path.join(nativeDir, 'berth-shim')));
    }
    const foreign = await foreignBinaries(agentStage, ARCH[o.arch].elfMachine);
    if (foreign.length)
      throw new Error(
        `berthd's files include binaries for another machine than ${o.arch}:\n  ${foreign.slice(0, 30).join('\n  ')}`,
      );
    const initrdKey = sha(
      String(RECIPE_VERSION),
      JSON.stringify({
        kernel: a.kernel,
        boot: BOOT_MODULES,
        deferred: DEFERRED_MODULES,
        modules: m.modules,
        bb: a.debs.find((d) => d.name === 'busybox-static'),
        epoch: m.sourceDateEpoch,
      }),
      await guest('init'),
      agentHash,
    );
    const prev = await readInfo(p.info);
    const have = async (f: string) =>
      fsp.access(f).then(
        () => true,
        () => false,
      );
    const rebuilt: string[] = [];
    if (opts.force || prev?.rootfsKey !== rootfsKey || !(await have(p.rootfs))) {
      if (opts.force || !(await recall(partsDir, 'rootfs', rootfsKey, p.rootfs))) {
        log(`building rootfs (${o.arch})`);
        await buildRootfs(m, o, p, work, log);
        await remember(partsDir, 'rootfs', rootfsKey, p.rootfs);
        rebuilt.push('rootfs');
      }
    }
    if (opts.force || prev?.initrdKey !== initrdKey || !(await have(p.initrd)) || !(await have(p.kernel))) {
      const cached =
        !opts.force &&
        (await recall(partsDir, 'initrd', initrdKey, p.initrd)) &&
        (await recall(partsDir, ARCH[o.arch].kernelFile, initrdKey, p.kernel));
      if (!cached) {
        log(`building kernel + initrd (${o.arch})`);
        await buildKernelAndInitrd(m, o, p, work, agentStage);
        await remember(partsDir, 'initrd', initrdKey, p.initrd);
        await remember(partsDir, ARCH[o.arch].kernelFile, initrdKey, p.kernel);
        rebuilt.push('initrd');
      }
    }
    const size = async (f: string) => (await fsp.stat(f)).size;
    const info: ImageInfo = {
      arch: o.arch,
      kernelRelease: kernelRelease(a),
      rootfsKey,
      initrdKey,
      sizes: { kernel: await size(p.kernel), rootfs: await size(p.rootfs), initrd: await size(p.initrd) },
      rebuilt,
    };
    await fsp.writeFile(p.info, JSON.stringify(info, null, 1) + '\n');
    return info;
  } finally {
    await fsp.rm(work, { recursive: true, force: true });
  }
}
