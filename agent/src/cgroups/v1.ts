/** cgroup v1: one directory per controller hierarchy, e.g. /sys/fs/cgroup/memory/<parent>/<name>. */
import path from 'node:path';
import type { CgroupInfo, CgroupResources, RuntimeStats } from '../runtime/types.js';
import type { Sys } from '../sys/sys.js';
import { removeCgroupDir, removeParentDirs } from './dirs.js';
import { signalAll, waitEmpty } from './empty.js';
import {
  deviceRuleText,
  parseKeyValues,
  parseMemTotal,
  parseSystemCpuUsage,
  type CgroupDriver,
  type CgroupRef,
  type DeviceRule,
} from './types.js';

export class CgroupV1 implements CgroupDriver {
  readonly version = 1 as const;
  private readonly warnings: string[] = [];

  /** `mounts`: controller name → hierarchy mount point (a joint mount like cpu,cpuacct appears under both). */
  constructor(
    private readonly sys: Sys,
    private readonly mounts: ReadonlyMap<string, string>,
    /** 'blkio.weight' (CFQ) or 'blkio.bfq.weight' (BFQ), whichever this kernel has; undefined when neither. */
    private readonly blkioWeightFile: string | undefined,
    private readonly visible: readonly { dir: string; options: string }[] = [],
  ) {
    if (!blkioWeightFile) this.warnings.push('Your kernel does not support cgroup blkio weight');
  }

  info(): CgroupInfo {
    return {
      version: 1,
      controllers: [...this.mounts.keys()].filter((c) => c !== 'unified'),
      warnings: this.warnings,
    };
  }

  private dir(ctrl: string, ref: CgroupRef): string | undefined {
    const m = this.mounts.get(ctrl);
    return m ? path.join(m, ref.parent, ref.name) : undefined;
  }

  private hierarchies(): string[] {
    return [...new Set(this.mounts.values())];
  }

  private async write(ctrl: string, ref: CgroupRef, file: string, value: string | number): Promise<void> {
    const d = this.dir(ctrl, ref);
    if (d) await this.sys.writeFile(path.join(d, file), String(value));
  }

  async create(
    ref: CgroupRef,
    resources: CgroupResources,
    devices: readonly DeviceRule[] | 'all',
  ): Promise<void> {
    for (const h of this.hierarchies()) await this.sys.mkdirp(path.join(h, ref.parent, ref.name));
    // cpuset starts empty in a new v1 cgroup and refuses tasks until cpus/mems are copied down
    const cs = this.mounts.get('cpuset');
    if (cs) {
      let cur = cs;
      for (const part of [...ref.parent.split('/').filter(Boolean), ref.name]) {
        const next = path.join(cur, part);
        for (const f of ['cpuset.cpus', 'cpuset.mems']) {
          if ((await this.sys.readFile(path.join(next, f))).trim() === '') {
            await this.sys.writeFile(path.join(next, f), (await this.sys.readFile(path.join(cur, f))).trim());
          }
        }
        cur = next;
      }
    }
    if (this.mounts.has('devices')) {
      if (devices === 'all') await this.write('devices', ref, 'devices.allow', 'a');
      else {
        await this.write('devices', ref, 'devices.deny', 'a');
        for (const rule of devices) await this.write('devices', ref, 'devices.allow', deviceRuleText(rule));
      }
    }
    await this.update(ref, resources);
  }

  procsFiles(ref: CgroupRef): string[] {
    return this.hierarchies().map((h) => path.join(h, ref.parent, ref.name, 'cgroup.procs'));
  }

  oomEventsFile(ref: CgroupRef): string | undefined {
    const d = this.dir('memory', ref);
    return d && path.join(d, 'memory.oom_control');
  }

  async update(ref: CgroupRef, r: CgroupResources): Promise<void> {
    if (r.memory !== undefined) {
      const mem = r.memory > 0 ? r.memory : -1;
      const swap = r.memorySwap ?? (r.memory > 0 ? r.memory * 2 : -1);
      const memswFile =
        this.dir('memory', ref) && path.join(this.dir('memory', ref)!, 'memory.memsw.limit_in_bytes');
      const hasSwap = memswFile !== undefined && (await this.sys.exists(memswFile));
      // memsw must stay >= memory: raise whichever bound first so each write is valid on its own
      const current = Number(
        (await this.sys.readFile(path.join(this.dir('memory', ref)!, 'memory.limit_in_bytes'))).trim(),
      );
      if (hasSwap && (mem === -1 || mem > current))
        await this.write('memory', ref, 'memory.memsw.limit_in_bytes', swap);
      await this.write('memory', ref, 'memory.limit_in_bytes', mem);
      if (hasSwap && !(mem === -1 || mem > current))
        await this.write('memory', ref, 'memory.memsw.limit_in_bytes', swap);
    }
    if (r.memoryReservation !== undefined)
      await this.write('memory', ref, 'memory.soft_limit_in_bytes', r.memoryReservation || -1);
    if (r.cpuShares) await this.write('cpu', ref, 'cpu.shares', r.cpuShares);
    if (r.cpuPeriod) await this.write('cpu', ref, 'cpu.cfs_period_us', r.cpuPeriod);
    if (r.cpuQuota !== undefined)
      await this.write('cpu', ref, 'cpu.cfs_quota_us', r.cpuQuota > 0 ? r.cpuQuota : -1);
    if (r.cpusetCpus) await this.write('cpuset', ref, 'cpuset.cpus', r.cpusetCpus);
    if (r.cpusetMems) await this.write('cpuset', ref, 'cpuset.mems', r.cpusetMems);
    if (r.pidsLimit !== undefined)
      await this.write('pids', ref, 'pids.max', r.pidsLimit > 0 ? r.pidsLimit : 'max');
    if (r.blkioWeight && this.blkioWeightFile)
      await this.write('blkio', ref, this.blkioWeightFile, r.blkioWeight);
  }

  async freeze(ref: CgroupRef): Promise<void> {
    await this.write('freezer', ref, 'freezer.state', 'FROZEN');
    // the kernel reports FREEZING until every task stopped; `docker pause` returns once they have
    for (let i = 0; i < 200 && !(await this.isFrozen(ref)); i++) await new Promise((r) => setTimeout(r, 5));
  }

  async thaw(ref: CgroupRef): Promise<void> {
    await this.write('freezer', ref, 'freezer.state', 'THAWED');
  }

  async isFrozen(ref: CgroupRef): Promise<boolean> {
    const d = this.dir('freezer', ref);
    if (!d) return false;
    return (await this.sys.readFile(path.join(d, 'freezer.state'))).trim() === 'FROZEN';
  }

  async pids(ref: CgroupRef): Promise<number[]> {
    const ctrl = ['pids', 'freezer', 'memory', 'cpu'].find((c) => this.mounts.has(c));
    const d = ctrl && this.dir(ctrl, ref);
    if (!d) return [];
    try {
      return (await this.sys.readFile(path.join(d, 'cgroup.procs'))).split('\n').filter(Boolean).map(Number);
    } catch {
      return [];
    }
  }

  /** Through the hybrid layout's cgroup2 directory of the container (its processes join it too) when there is one. */
  kill(ref: CgroupRef, signal: NodeJS.Signals | number): Promise<void> {
    return signalAll(this.sys, this.dir('unified', ref), () => this.pids(ref), signal);
  }

  waitEmpty(ref: CgroupRef, timeoutMs: number): Promise<boolean> {
    return waitEmpty(this.sys, this.dir('unified', ref), () => this.pids(ref), timeoutMs);
  }

  private async read(ctrl: string, ref: CgroupRef, file: string): Promise<string> {
    const d = this.dir(ctrl, ref);
    if (!d) return '';
    try {
      return await this.sys.readFile(path.join(d, file));
    } catch {
      return '';
    }
  }

  async stats(ref: CgroupRef): Promise<Omit<RuntimeStats, 'read'>> {
    const num = (s: string): number => Number(s.trim()) || 0;
    const cpuacct = parseKeyValues(await this.read('cpuacct', ref, 'cpuacct.stat'));
    const cpuStat = parseKeyValues(await this.read('cpu', ref, 'cpu.stat'));
    const sys = parseSystemCpuUsage(await this.sys.readFile('/proc/stat'));
    const memStat = parseKeyValues(await this.read('memory', ref, 'memory.stat'));
    let limit = num(await this.read('memory', ref, 'memory.limit_in_bytes'));
    const host = parseMemTotal(await this.sys.readFile('/proc/meminfo'));
    if (!limit || limit > host) limit = host;
    const pidsMax = (await this.read('pids', ref, 'pids.max')).trim();
    const blk = async (file: string) => parseBlkio(await this.read('blkio', ref, file));
    return {
      cpu: {
        totalUsage: num(await this.read('cpuacct', ref, 'cpuacct.usage')),
        usageInKernelmode: (cpuacct.system ?? 0) * 1e7,
        usageInUsermode: (cpuacct.user ?? 0) * 1e7,
        perCpuUsage: (await this.read('cpuacct', ref, 'cpuacct.usage_percpu'))
          .trim()
          .split(/\s+/)
          .filter(Boolean)
          .map(Number),
        systemCpuUsage: sys.systemCpuUsage,
        onlineCpus: sys.onlineCpus,
        throttling: {
          periods: cpuStat.nr_periods ?? 0,
          throttledPeriods: cpuStat.nr_throttled ?? 0,
          throttledTime: cpuStat.throttled_time ?? 0,
        },
      },
      memory: {
        usage: num(await this.read('memory', ref, 'memory.usage_in_bytes')),
        maxUsage: num(await this.read('memory', ref, 'memory.max_usage_in_bytes')),
        limit,
        failcnt: num(await this.read('memory', ref, 'memory.failcnt')),
        stats: memStat,
      },
      pids: {
        current: num(await this.read('pids', ref, 'pids.current')),
        ...(pidsMax && pidsMax !== 'max' ? { limit: Number(pidsMax) } : {}),
      },
      blkio: {
        ioServiceBytesRecursive: await blk('blkio.throttle.io_service_bytes_recursive'),
        ioServicedRecursive: await blk('blkio.throttle.io_serviced_recursive'),
      },
    };
  }

  async remove(ref: CgroupRef): Promise<boolean> {
    let any = false;
    for (const h of this.hierarchies())
      any = (await removeCgroupDir(this.sys, path.join(h, ref.parent, ref.name))) || any;
    return any;
  }

  deviceFilterDir(ref: CgroupRef): string | undefined {
    return this.dir('unified', ref);
  }

  async removeParent(parent: string): Promise<boolean> {
    if ((await this.children(parent)).length) return false;
    await removeParentDirs(this.sys, this.hierarchies(), parent);
    return true;
  }

  containerMounts(): { dir: string; options: string }[] {
    return [...this.visible];
  }

  async children(parent: string): Promise<string[]> {
    const names = new Set<string>();
    for (const h of this.hierarchies())
      for (const n of await this.sys.subdirs(path.join(h, parent))) names.add(n);
    return [...names];
  }
}

/** "8:0 Read 4096" lines → entries (the "Total" line has no device and is skipped). */
export function parseBlkio(text: string): { major: number; minor: number; op: string; value: number }[] {
  const out = [];
  for (const line of text.split('\n')) {
    const m = /^(\d+):(\d+) (\w+) (\d+)$/.exec(line.trim());
    if (m) out.push({ major: Number(m[1]), minor: Number(m[2]), op: m[3], value: Number(m[4]) });
  }
  return out;
}
