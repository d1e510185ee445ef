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

/** Normalizes and checks a cgroup ref built from user input (docker run --cgroup-parent): it must stay
 *  below each hierarchy's root. Returns the ref with the parent's leading '/' removed. */
export function checkCgroupRef(ref: CgroupRef): CgroupRef {
  const parent = ref.parent.replace(/^\/+/, '').replace(/\/+$/, '');
  const ok = (s: string): boolean => /^[a-zA-Z0-9_.:@-]+$/.test(s) && s !== '.' && s !== '..';
  if ((parent !== '' && !parent.split('/').every(ok)) || !ok(ref.name)) {
    throw new Error(
      `invalid cgroup parent or name ${JSON.stringify(`${ref.parent}/${ref.name}`)}: path segments may not be empty, "." or ".."`,
    );
  }
  return { parent, name: ref.name };
}

/** A device-cgroup rule: 'c'/'b'/'a', major/minor (-1 = any), permissions subset of 'rwm'. */
export interface DeviceRule {
  type: 'a' | 'c' | 'b';
  major: number;
  minor: number;
  access: string;
}

/** Docker's default: mknod anything; read/write only the standard nodes, ptys and tun. */
export const DEFAULT_DEVICE_RULES: readonly DeviceRule[] = [
  { type: 'c', major: -1, minor: -1, access: 'm' },
  { type: 'b', major: -1, minor: -1, access: 'm' },
  ...[
    [1, 3],
    [1, 5],
    [1, 7],
    [1, 8],
    [1, 9],
    [5, 0],
    [5, 1],
    [5, 2],
    [136, -1],
    [10, 200],
  ].map(([major, minor]): DeviceRule => ({ type: 'c', major: major, minor: minor, access: 'rwm' })),
];

export function deviceRuleText(r: DeviceRule): string {
  const n = (v: number): string => (v < 0 ? '*' : String(v));
  return r.type === 'a' ? 'a' : `${r.type} ${n(r.major)}:${n(r.minor)} ${r.access}`;
}

export interface CgroupDriver {
  readonly version: 1 | 2;
  info(): CgroupInfo;
  /** Creates the cgroup (and parents), applies `resources` and the device allow-list (all devices when
   *  `devices` is 'all', for --privileged); idempotent. */
  create(ref: CgroupRef, resources: CgroupResources, devices: readonly DeviceRule[] | 'all'): Promise<void>;
  /** cgroup.procs files a new process must be written into (one per v1 hierarchy; one on v2). */
  procsFiles(ref: CgroupRef): string[];
  /** A file with an "oom_kill N" line (v1 memory.oom_control, v2 memory.events). */
  oomEventsFile(ref: CgroupRef): string | undefined;
  update(ref: CgroupRef, resources: CgroupResources): Promise<void>;
  freeze(ref: CgroupRef): Promise<void>;
  thaw(ref: CgroupRef): Promise<void>;
  isFrozen(ref: CgroupRef): Promise<boolean>;
  pids(ref: CgroupRef): Promise<number[]>;
  /** Signals every process in the cgroup (SIGKILL through cgroup.kill where the kernel has it; empty.ts). */
  kill(ref: CgroupRef, signal: NodeJS.Signals | number): Promise<void>;
  /** Resolves true once no process is left (cgroup.events where present, else polling); false on timeout. */
  waitEmpty(ref: CgroupRef, timeoutMs: number): Promise<boolean>;
  stats(ref: CgroupRef): Promise<Omit<RuntimeStats, 'read'>>;
  /** Removes the cgroup everywhere (it must be empty); false if it did not exist. */
  remove(ref: CgroupRef): Promise<boolean>;
  /** Removes `parent` (and its empty ancestors below the roots) if it has no children; false if kept. */
  removeParent(parent: string): Promise<boolean>;
  /** Names of the children of `parent` (for reconcile). */
  children(parent: string): Promise<string[]>;
  /** The cgroup2 directory a device BPF program must be attached to (v2; v1 hybrid joins the unified tree
   *  too), or undefined when the v1 devices controller does the job alone. */
  deviceFilterDir(ref: CgroupRef): string | undefined;
  /** v1 hierarchies to mount read-only under the container's /sys/fs/cgroup ({dir name, mount options}). */
  containerMounts(): { dir: string; options: string }[];
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
  const ticks = cpu
    ? cpu
        .trim()
        .split(/\s+/)
        .slice(1, 8)
        .reduce((a, b) => a + Number(b), 0)
    : 0;
  const online = lines.filter((l) => /^cpu\d+ /.test(l)).length;
  return { systemCpuUsage: ticks * 1e7, onlineCpus: online || 1 };
}

/** Host memory in bytes from /proc/meminfo (the limit Docker reports for an unlimited container). */
export function parseMemTotal(meminfo: string): number {
  const m = /MemTotal:\s+(\d+) kB/.exec(meminfo);
  return m ? Number(m[1]) * 1024 : 0;
}
