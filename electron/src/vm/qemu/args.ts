/** QEMU command lines for each host platform and accelerator (pure, unit-tested for every combination). */
import type { HostPlatform } from '../driver.js';
import type { GuestArch } from '@berth/vm-image/manifest';

export type Accel = 'kvm' | 'hvf' | 'whpx' | 'tcg';

export interface Share {
  tag: string;
  hostPath: string;
  guestPath: string;
}

export interface QemuPlan {
  platform: HostPlatform;
  arch: GuestArch;
  accel: Accel;
  cpus: number;
  memoryMiB: number;
  kernel: string;
  initrd: string;
  rootfs: string;
  disk?: string;
  serialLog?: string;
  pidFile?: string;
  /** QMP control: a unix socket, or a loopback TCP port on Windows. */
  qmp?: { kind: 'unix'; path: string } | { kind: 'tcp'; port: number };
  /** Host loopback port forwarded to the guest's SSH server. */
  sshPort?: number;
  /** Host loopback port forwarded to berthd's token-gated TCP listener (GUEST_IP:GUEST_ENGINE_PORT). */
  enginePort?: number;
  /** A file (0600) holding the engine token, handed to the guest through fw_cfg (see GUEST_TOKEN_FW_CFG). */
  engineTokenFile?: string;
  /** The base64 blob of the per-install ssh-ed25519 public key. */
  sshKey?: string;
  shares?: Share[];
  /** qboot (x86 only): skips SeaBIOS's option-ROM scan, about a second faster to the kernel. */
  firmware?: string;
  /** The accelerator probe: boot to the initramfs, print a marker, power off. */
  probe?: boolean;
  /** berthd's registry settings inside (the host's loopback is 10.0.2.2 there). */
  registries?: { insecure: string[]; mirrors: string[] };
}

/** QEMU user-mode network: the guest's fixed address (berth-init sets it) and the netdev id QMP names. */
export const GUEST_IP = '10.0.2.15';
export const NETDEV = 'net0';
/** berthd's token-gated TCP port inside (berth-init starts it on GUEST_IP). */
export const GUEST_ENGINE_PORT = 2376;
/** The fw_cfg entry carrying the engine token; berth-init reads /sys/firmware/qemu_fw_cfg/by_name/<this>/raw. */
export const GUEST_TOKEN_FW_CFG = 'opt/berth/token';

/** A value the kernel command line can carry in a comma-separated list. */
export function cmdlineSafe(v: string): boolean {
  return v.length > 0 && !/[\s,"]/.test(v);
}

export function qemuBinary(arch: GuestArch, platform: HostPlatform): string {
  const base = arch === 'amd64' ? 'qemu-system-x86_64' : 'qemu-system-aarch64';
  return platform === 'win32' ? `${base}.exe` : base;
}

/** Which hardware accelerator each host offers (TCG is the software fallback everywhere). */
export function hardwareAccel(platform: HostPlatform): Accel {
  return platform === 'linux' ? 'kvm' : platform === 'darwin' ? 'hvf' : 'whpx';
}

function machine(p: QemuPlan): string[] {
  const accelOpt =
    p.accel === 'tcg' ? 'tcg,thread=multi' : p.accel === 'whpx' ? 'whpx,kernel-irqchip=off' : p.accel;
  if (p.arch === 'amd64')
    return [
      '-machine',
      'q35',
      '-accel',
      accelOpt,
      '-cpu',
      p.accel === 'tcg' || p.accel === 'whpx' ? 'max' : 'host',
    ];
  // arm64: `virt` with the host's GIC under KVM/HVF; HVF's GIC is v2-only before macOS 15.
  return [
    '-machine',
    p.accel === 'hvf' ? 'virt,highmem=on' : 'virt,gic-version=max',
    '-accel',
    accelOpt,
    '-cpu',
    p.accel === 'tcg' ? 'max' : 'host',
  ];
}

/** The guest kernel's command line: console, and what berth-init reads (key, shares). */
export function kernelCmdline(p: QemuPlan): string {
  const console = p.arch === 'amd64' ? 'ttyS0' : 'ttyAMA0';
  // cryptomgr.notests: no self-tests of the kernel's crypto algorithms at each boot (they verify the
  // implementations, not the guest's integrity). tsc=reliable (x86): TCG's and KVM's TSCs are synchronized
  // across vCPUs, but the kernel's check fails under TCG and falls back to the HPET, whose every read traps
  // into QEMU; with the TSC, clock_gettime stays in the vDSO (Node reads the clock constantly).
  // The probe keeps the kernel's messages: its first output is how a working accelerator shows early.
  const parts = [
    `console=${console}`,
    ...(p.probe ? [] : ['quiet']),
    'panic=-1',
    'cryptomgr.notests',
    ...(p.arch === 'amd64' ? ['tsc=reliable'] : []),
  ];
  if (p.probe) parts.push('berth.probe=1');
  if (p.sshKey) parts.push(`berth.key=${p.sshKey}`);
  if (p.shares?.length) parts.push(`berth.share=${p.shares.map((s) => `${s.tag}:${s.guestPath}`).join(',')}`);
  const insecure = p.registries?.insecure.filter(cmdlineSafe) ?? [];
  const mirrors = p.registries?.mirrors.filter(cmdlineSafe) ?? [];
  if (insecure.length) parts.push(`berth.insecure=${insecure.join(',')}`);
  if (mirrors.length) parts.push(`berth.mirror=${mirrors.join(',')}`);
  return parts.join(' ');
}

export function qemuArgs(p: QemuPlan): string[] {
  const a = [
    '-nodefaults',
    '-no-user-config',
    '-nographic',
    '-no-reboot',
    ...machine(p),
    '-smp',
    String(p.cpus),
    '-m',
    String(p.memoryMiB),
  ];
  if (p.firmware && p.arch === 'amd64') a.push('-bios', p.firmware);
  a.push('-kernel', p.kernel, '-initrd', p.initrd, '-append', kernelCmdline(p));
  a.push('-serial', p.probe ? 'stdio' : p.serialLog ? `file:${p.serialLog}` : 'null');
  if (p.probe) return a;
  a.push(
    '-drive',
    `if=none,id=root,file=${p.rootfs},format=raw,readonly=on`,
    '-device',
    'virtio-blk-pci,drive=root,serial=berth-root',
  );
  // discard=unmap: blocks the guest frees (fstrim, `-o discard`) are punched out of the qcow2 file.
  if (p.disk)
    a.push(
      '-drive',
      `if=none,id=data,file=${p.disk},format=qcow2,discard=unmap,detect-zeroes=unmap`,
      '-device',
      'virtio-blk-pci,drive=data,serial=berth-data',
    );
  // A user-network hostfwd listens with a backlog of 1 and accepts when QEMU's main loop gets to it (slowly
  // under TCG): bursts of connects to the engine port are reset, so the tunnel dials it one at a time
  // (tunnel/engine-dialer.ts), and it accepts before the guest does (engine-tcp.ts pings through the ack).
  const fwd =
    (p.sshPort ? `,hostfwd=tcp:127.0.0.1:${p.sshPort}-:22` : '') +
    (p.enginePort ? `,hostfwd=tcp:127.0.0.1:${p.enginePort}-${GUEST_IP}:${GUEST_ENGINE_PORT}` : '');
  // romfile= : no iPXE option ROM to load; the kernel is booted directly.
  a.push(
    '-netdev',
    `user,id=${NETDEV}${fwd}`,
    '-device',
    'virtio-net-pci,netdev=net0,romfile=',
    '-device',
    'virtio-rng-pci',
  );
  // fw_cfg, not the kernel command line: QEMU's argv is readable by every user of the host, and the guest's
  // /proc/cmdline by every container; only the file's path shows here, and the guest reads it from /sys/firmware.
  if (p.engineTokenFile) a.push('-fw_cfg', `name=${GUEST_TOKEN_FW_CFG},file=${p.engineTokenFile}`);
  // multidevs=remap: a home folder often spans several host file systems (mounts inside it); without the
  // remap their inode numbers can collide inside the guest, and find/du/tar take distinct files for hard links.
  for (const s of p.shares ?? [])
    a.push(
      '-virtfs',
      `local,path=${s.hostPath},mount_tag=${s.tag},security_model=none,multidevs=remap,id=${s.tag}`,
    );
  if (p.qmp)
    a.push(
      '-qmp',
      p.qmp.kind === 'unix'
        ? `unix:${p.qmp.path},server=on,wait=off`
        : `tcp:127.0.0.1:${p.qmp.port},server=on,wait=off`,
    );
  if (p.pidFile) a.push('-pidfile', p.pidFile);
  return a;
}
