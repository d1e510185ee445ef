/** cgroup v2 (the VM guest): one unified tree; controllers enabled per level through cgroup.subtree_control. */
import path from 'node:path';
import type { CgroupInfo, CgroupResources, RuntimeStats } from '../runtime/types.js';
import type { Sys } from '../sys/sys.js';
import { removeCgroupDir, removeParentDirs } from './dirs.js';
import { signalAll, waitEmpty } from './empty.js';
import {
  parseKeyValues,
  parseMemTotal,
  parseSystemCpuUsage,
  type CgroupDriver,
  type CgroupRef,
  type DeviceRule,
} from './types.js';

const WANTED = ['cpuset', 'cpu', 'io', 'memory', 'pids', 'hugetlb'];

/** runc's conversions from v1 numbers (what the Docker API carries) to v2 files. */
export function sharesToWeight(shares: number): number {
  return Math.round(1 + ((shares - 2) * 9999) / 262142);
}
export function blkioToIoWeight(weight: number): number {
  return Math.round(1 + ((weight - 10) * 9999) / 990);
}

export class CgroupV2 implements CgroupDriver {
  readonly version = 2 as const;

  constructor(
    private readonly sys: Sys,
    private readonly root: string,
    private readonly available: readonly string[],
  ) {}

  info(): CgroupInfo {
    const warnings = this.available.includes('io')
      ? []
      : ['Your kernel does not support cgroup blkio weight'];
    return { version: 2, controllers: [...this.available], warnings };
  }

  private dir(ref: CgroupRef): string {
    return path.join(this.root, ref.parent, ref.name);
  }

  private async write(ref: CgroupRef, file: string, value: string | number): Promise<void> {
    await this.sys.writeFile(path.join(this.dir(ref), file), String(value));
  }

  private async read(ref: CgroupRef, file: string): Promise<string> {
    try {
      return await this.sys.readFile(path.join(this.dir(ref), file));
    } catch {
      return '';
    }
  }

  /** Device rules are a BPF program on v2 (device-bpf.ts), attached by the native helper. */
  async create(
    ref: CgroupRef,
    resources: CgroupResources,
    _devices: readonly DeviceRule[] | 'all',
  ): Promise<void> {
    // every ancestor must delegate the controllers to its children (no-internal-process rule: only dirs we made)
    const enable = WANTED.filter((c) => this.available.includes(c));
    let cur = this.root;
    for (const part of ref.parent.split('/').filter(Boolean)) {
      await this.enableControllers(cur, enable);
      cur = path.join(cur, part);
      await this.sys.mkdirp(cur);
    }
    await this.enableControllers(cur, enable);
    await this.sys.mkdirp(this.dir(ref));
    await this.update(ref, resources);
  }

  private async enableControllers(dir: string, ctrls: string[]): Promise<void> {
    const file = path.join(dir, 'cgroup.subtree_control');
    let have: string[] = [];
    try {
      have = (await this.sys.readFile(file)).trim().split(/\s+/);
    } catch {
      /* a fresh fake dir has no file yet */
    }
    const missing = ctrls.filter((c) => !have.includes(c));
    if (missing.length) await this.sys.writeFile(file, missing.map((c) => `+${c}`).join(' '));
  }

  procsFiles(ref: CgroupRef): string[] {
    return [path.join(this.dir(ref), 'cgroup.procs')];
  }

  oomEventsFile(ref: CgroupRef): string {
    return path.join(this.dir(ref), 'memory.events');
  }

  async update(ref: CgroupRef, r: CgroupResources): Promise<void> {
    if (r.memory !== undefined) {
      await this.write(ref, 'memory.max', r.memory > 0 ? r.memory : 'max');
      // v2 limits swap alone; Docker's memorySwap is memory+swap
      const swap = r.memorySwap ?? (r.memory > 0 ? r.memory * 2 : -1);
      const swapMax = swap === -1 || !(r.memory > 0) ? 'max' : Math.max(0, swap - r.memory);
      if (await this.sys.exists(path.join(this.dir(ref), 'memory.swap.max')))
        await this.write(ref, 'memory.swap.max', swapMax);
    }
    if (r.memoryReservation !== undefined) await this.write(ref, 'memory.low', r.memoryReservation || 0);
    if (r.cpuShares) await this.write(ref, 'cpu.weight', sharesToWeight(r.cpuShares));
    if (r.cpuQuota !== undefined || r.cpuPeriod) {
      const quota = r.cpuQuota && r.cpuQuota > 0 ? String(r.cpuQuota) : 'max';
      await this.write(ref, 'cpu.max', `${quota} ${r.cpuPeriod || 100000}`);
    }
    if (r.cpusetCpus) await this.write(ref, 'cpuset.cpus', r.cpusetCpus);
    if (r.cpusetMems) await this.write(ref, 'cpuset.mems', r.cpusetMems);
    if (r.pidsLimit !== undefined) await this.write(ref, 'pids.max', r.pidsLimit > 0 ? r.pidsLimit : 'max');
    if (r.blkioWeight && this.available.includes('io')) {
      // io.weight needs iocost, io.bfq.weight the BFQ scheduler; with neither the weight is ignored, as Docker
      if (await this.sys.exists(path.join(this.dir(ref), 'io.bfq.weight')))
        await this.write(ref, 'io.bfq.weight', r.blkioWeight);
      else if (await this.sys.exists(path.join(this.dir(ref), 'io.weight'))) {
        await this.write(ref, 'io.weight', `default ${blkioToIoWeight(r.blkioWeight)}`);
      }
    }
  }

  async freeze(ref: CgroupRef): Promise<void> {
    await this.write(ref, 'cgroup.freeze', '1');
    // The freeze completes asynchronously; cgroup.events says "frozen 1" when every task stopped.
    await this.sys.waitFor(path.join(this.dir(ref), 'cgroup.events'), (t) => /^frozen 1$/m.test(t), 1000);
  }

  async thaw(ref: CgroupRef): Promise<void> {
    await this.write(ref, 'cgroup.freeze', '0');
  }

  async isFrozen(ref: CgroupRef): Promise<boolean> {
    return parseKeyValues(await this.read(ref, 'cgroup.events')).frozen === 1;
  }

  async pids(ref: CgroupRef): Promise<number[]> {
    return (await this.read(ref, 'cgroup.procs')).split('\n').filter(Boolean).map(Number);
  }

  kill(ref: CgroupRef, signal: NodeJS.Signals | number): Promise<void> {
    return signalAll(this.sys, this.dir(ref), () => this.pids(ref), signal);
  }

  waitEmpty(ref: CgroupRef, timeoutMs: number): Promise<boolean> {
    return waitEmpty(this.sys, this.dir(ref), () => this.pids(ref), timeoutMs);
  }

  async stats(ref: CgroupRef): Promise<Omit<RuntimeStats, 'read'>> {
    const cpu = parseKeyValues(await this.read(ref, 'cpu.stat'));
    const mem = parseKeyValues(await this.read(ref, 'memory.stat'));
    const sys = parseSystemCpuUsage(await this.sys.readFile('/proc/stat'));
    const host = parseMemTotal(await this.sys.readFile('/proc/meminfo'));
    const max = (await this.read(ref, 'memory.max')).trim();
    const pidsMax = (await this.read(ref, 'pids.max')).trim();
    const io = parseIoStat(await this.read(ref, 'io.stat'));
    return {
      cpu: {
        totalUsage: (cpu.usage_usec ?? 0) * 1000,
        usageInKernelmode: (cpu.system_usec ?? 0) * 1000,
        usageInUsermode: (cpu.user_usec ?? 0) * 1000,
        perCpuUsage: [],
        systemCpuUsage: sys.systemCpuUsage,
        onlineCpus: sys.onlineCpus,
        throttling: {
          periods: cpu.nr_periods ?? 0,
          throttledPeriods: cpu.nr_throttled ?? 0,
          throttledTime: (cpu.throttled_usec ?? 0) * 1000,
        },
      },
      memory: {
        usage: Number((await this.read(ref, 'memory.current')).trim()) || 0,
        limit: max && max !== 'max' ? Math.min(Number(max), host) : host,
        stats: mem,
      },
      pids: {
        current: Number((await this.read(ref, 'pids.current')).trim()) || 0,
        ...(pidsMax && pidsMax !== 'max' ? { limit: Number(pidsMax) } : {}),
      },
      blkio: io,
    };
  }

  remove(ref: CgroupRef): Promise<boolean> {
    return removeCgroupDir(this.sys, this.dir(ref));
  }

  deviceFilterDir(ref: CgroupRef): string {
    return this.dir(ref);
  }

  async removeParent(parent: string): Promise<boolean> {
    if ((await this.children(parent)).length) return false;
    await removeParentDirs(this.sys, [this.root], parent);
    return true;
  }

  containerMounts(): { dir: string; options: string }[] {
    return []; // v2: one cgroup2 mount, made by the runtime's op list
  }

  children(parent: string): Promise<string[]> {
    return this.sys.subdirs(path.join(this.root, parent));
  }
}

/** io.stat "8:0 rbytes=1 wbytes=2 rios=3 wios=4 ..." → Docker's v1-shaped blkio entries. */
export function parseIoStat(text: string): RuntimeStats['blkio'] {
  const bytes = [];
  const ios = [];
  for (const line of text.split('\n')) {
    const m = /^(\d+):(\d+) (.*)$/.exec(line.trim());
    if (!m) continue;
    const kv = Object.fromEntries(m[3].split(' ').map((p) => p.split('=') as [string, string]));
    const dev = { major: Number(m[1]), minor: Number(m[2]) };
    bytes.push(
      { ...dev, op: 'read', value: Number(kv.rbytes ?? 0) },
      { ...dev, op: 'write', value: Number(kv.wbytes ?? 0) },
    );
    ios.push(
      { ...dev, op: 'read', value: Number(kv.rios ?? 0) },
      { ...dev, op: 'write', value: Number(kv.wios ?? 0) },
    );
  }
  return { ioServiceBytesRecursive: bytes, ioServicedRecursive: ios };
}
