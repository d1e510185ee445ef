/**
 * cgroups behind one interface: v1 (one hierarchy per controller, the hybrid layout of this machine counts
 * as v1) and v2 (unified). The runtime names a container's cgroup by {parent, name}; drivers map that to
 * directories, write limits, and read the numbers `docker stats` needs.
 */
import type { CgroupInfo, CgroupResources, RuntimeStats } from '../runtime/types.js';

export interface CgroupRef {
  /** Per-daemon parent relative to each hierarchy root, e.g. 'berth' or 'berth-test-1a2b/sub'. */
  parent: string;
  name: string;
}

export interface CgroupDriver {
  readonly version: 1 | 2;
  info(): CgroupInfo;
  /** Creates the cgroup (and parents), applies `resources`; idempotent. */
  create(ref: CgroupRef, resources: CgroupResources): Promise<void>;
  /** cgroup.procs files a new process must be written into (one per v1 hierarchy; one on v2). */
  procsFiles(ref: CgroupRef): string[];
  /** A file with an "oom_kill N" line (v1 memory.oom_control, v2 memory.events). */
  oomEventsFile(ref: CgroupRef): string | undefined;
  update(ref: CgroupRef, resources: CgroupResources): Promise<void>;
  freeze(ref: CgroupRef): Promise<void>;
  thaw(ref: CgroupRef): Promise<void>;
  isFrozen(ref: CgroupRef): Promise<boolean>;
  pids(ref: CgroupRef): Promise<number[]>;
  stats(ref: CgroupRef): Promise<Omit<RuntimeStats, 'read'>>;
  /** Removes the cgroup everywhere (it must be empty); false if it did not exist. */
  remove(ref: CgroupRef): Promise<boolean>;
  /** Names of the children of `parent` (for reconcile). */
  children(parent: string): Promise<string[]>;
}

/** Parses "key value" lines (memory.stat, cpu.stat, memory.events). */
export function parseKeyValues(text: string): Record<string, number> {
  const out: Record<string, number> = {};
  for (const line of text.split('\n')) {
    const [k, v] = line.trim().split(/\s+/);
    if (k && v !== undefined && /^-?\d+$/.test(v)) out[k] = Number(v);
  }
  return out;
}

/** Host CPU time in ns from /proc/stat's first line (USER_HZ = 100), as dockerd's system_cpu_usage. */
export function parseSystemCpuUsage(procStat: string): { systemCpuUsage: number; onlineCpus: number } {
  const lines = procStat.split('\n');
  const cpu = lines.find((l) => l.startsWith('cpu '));
  const ticks = cpu ? cpu.trim().split(/\s+/).slice(1, 8).reduce((a, b) => a + Number(b), 0) : 0;
  const online = lines.filter((l) => /^cpu\d+ /.test(l)).length;
  return { systemCpuUsage: ticks * 1e7, onlineCpus: online || 1 };
}

/** Host memory in bytes from /proc/meminfo (the limit Docker reports for an unlimited container). */
export function parseMemTotal(meminfo: string): number {
  const m = /MemTotal:\s+(\d+) kB/.exec(meminfo);
  return m ? Number(m[1]) * 1024 : 0;
}
