/**
 * Facts about the machine the node runs on (the VM's guest, or the Linux host), read the way the kubelet's cadvisor
 * and nodeinfo do: /proc, /sys, /etc/os-release, statfs of the kubelet's directory. The engine's /info, when it
 * answers, is the authority for CPUs and memory (berthd runs on the same kernel).
 */
import { promises as fsp } from 'node:fs';
import os from 'node:os';

export interface HostFacts {
  cpus: number;
  memoryBytes: number;
  /** Size and free space of the filesystem holding the kubelet's directory. */
  storageBytes: number;
  storageFreeBytes: number;
  kernelVersion: string;
  osImage: string;
  machineID: string;
  systemUUID: string;
  bootID: string;
  /** Go's GOARCH names (amd64, arm64), as node labels and nodeInfo use them. */
  architecture: string;
  hostname: string;
}

const read = (p: string): Promise<string> =>
  fsp.readFile(p, 'utf8').then(
    (s) => s.trim(),
    () => '',
  );

export function goArch(arch = process.arch): string {
  return arch === 'x64' ? 'amd64' : arch === 'ia32' ? '386' : arch;
}

async function osImage(): Promise<string> {
  const text = (await read('/etc/os-release')) || (await read('/usr/lib/os-release'));
  const m = /^PRETTY_NAME=(.*)$/m.exec(text);
  return m ? m[1].replace(/^["']|["']$/g, '') : 'Linux';
}

export async function hostFacts(
  dir: string,
  engine?: { NCPU: number; MemTotal: number },
): Promise<HostFacts> {
  let storageBytes = 0;
  let storageFreeBytes = 0;
  try {
    const s = await fsp.statfs(dir);
    storageBytes = s.blocks * s.bsize;
    storageFreeBytes = s.bavail * s.bsize;
  } catch {
    // No statfs (or no directory yet): the node reports no ephemeral storage rather than failing.
  }
  return {
    cpus: engine?.NCPU || os.cpus().length || 1,
    memoryBytes: engine?.MemTotal || os.totalmem(),
    storageBytes,
    storageFreeBytes,
    kernelVersion: os.release(),
    osImage: await osImage(),
    machineID: await read('/etc/machine-id'),
    systemUUID: (await read('/sys/class/dmi/id/product_uuid')).toLowerCase(),
    bootID: await read('/proc/sys/kernel/random/boot_id'),
    architecture: goArch(),
    hostname: os.hostname(),
  };
}

/** MemAvailable from /proc/meminfo (bytes): what the kubelet's memory.available signal approximates. */
export async function memoryAvailable(): Promise<number> {
  const m = /^MemAvailable:\s+(\d+) kB$/m.exec(await read('/proc/meminfo'));
  return m ? Number(m[1]) * 1024 : os.freemem();
}

/** Processes running now against the kernel's pid_max: the kubelet's pid.available signal. */
export async function pidsAvailable(): Promise<{ max: number; used: number }> {
  const max = Number(await read('/proc/sys/kernel/pid_max')) || 32768;
  const m = /^(?:\S+\s+){3}\d+\/(\d+)/.exec(await read('/proc/loadavg'));
  return { max, used: m ? Number(m[1]) : 0 };
}

/** Total and idle jiffies from /proc/stat's first line (node CPU usage for metrics). */
export async function cpuTimes(): Promise<{ total: number; idle: number; at: number }> {
  const line = (await read('/proc/stat')).split('\n')[0] ?? '';
  const n = line.split(/\s+/).slice(1).map(Number);
  const idle = (n[3] ?? 0) + (n[4] ?? 0);
  const total = n.slice(0, 8).reduce((a, b) => a + (Number.isFinite(b) ? b : 0), 0);
  return { total, idle, at: Date.now() };
}

/**
 * The node's InternalIP: the address of the interface the default route leaves by (what the kubelet picks when no
 * --node-ip is given), else the first non-internal IPv4, else loopback.
 */
export async function defaultNodeIP(): Promise<string> {
  const ifaces = os.networkInterfaces();
  const v4 = (name: string) => ifaces[name]?.find((a) => a.family === 'IPv4' && !a.internal)?.address;
  for (const line of (await read('/proc/net/route')).split('\n').slice(1)) {
    const [iface, dest] = line.trim().split(/\s+/);
    if (dest === '00000000' && iface) {
      const ip = v4(iface);
      if (ip) return ip;
    }
  }
  for (const name of Object.keys(ifaces)) {
    const ip = v4(name);
    if (ip) return ip;
  }
  return '127.0.0.1';
}

/** A valid node name from the host name (DNS-1123 subdomain), or `berth`. */
export function nodeNameFrom(hostname: string): string {
  const n = hostname.toLowerCase();
  return /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/.test(n) && n.length <= 253
    ? n
    : 'berth';
}
