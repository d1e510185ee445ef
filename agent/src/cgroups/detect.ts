/** Picks the cgroup driver from the mount table: a cgroup2 mount at the root means v2; any v1 controller
 *  hierarchy means v1 (also the hybrid layout with a controller-less cgroup2 at /sys/fs/cgroup/unified). */
import path from 'node:path';
import type { MountInfo, Sys } from '../sys/sys.js';
import type { CgroupDriver } from './types.js';
import { CgroupV1 } from './v1.js';
import { CgroupV2 } from './v2.js';

const V1_CONTROLLERS = [
  'cpu',
  'cpuacct',
  'cpuset',
  'memory',
  'devices',
  'freezer',
  'blkio',
  'pids',
  'net_cls',
  'net_prio',
  'perf_event',
  'hugetlb',
  'rdma',
  'misc',
];

export function v1Hierarchies(mounts: readonly MountInfo[]): Map<string, string> {
  const out = new Map<string, string>();
  for (const m of mounts) {
    if (m.fsType !== 'cgroup') continue;
    for (const opt of m.superOptions.split(','))
      if (V1_CONTROLLERS.includes(opt) && !out.has(opt)) out.set(opt, m.mountPoint);
  }
  return out;
}

/** Each v1 hierarchy as the container should see it: /sys/fs/cgroup/<dir> mounted with `options`. */
export function v1ContainerMounts(mounts: readonly MountInfo[]): { dir: string; options: string }[] {
  const out: { dir: string; options: string }[] = [];
  for (const m of mounts) {
    if (m.fsType !== 'cgroup') continue;
    const opts = m.superOptions.split(',').filter((o) => V1_CONTROLLERS.includes(o) || o.startsWith('name='));
    const dir = path.basename(m.mountPoint);
    if (opts.length && /^[a-z0-9_,=]+$/.test(dir) && !out.some((o) => o.dir === dir))
      out.push({ dir, options: opts.join(',') });
  }
  return out;
}

export async function createCgroupDriver(sys: Sys): Promise<CgroupDriver> {
  const mounts = await sys.mounts();
  const v1 = v1Hierarchies(mounts);
  if (v1.size > 0) {
    const blkio = v1.get('blkio');
    let weight: string | undefined;
    for (const f of ['blkio.weight', 'blkio.bfq.weight'])
      if (!weight && blkio && (await sys.exists(path.join(blkio, f)))) weight = f;
    // hybrid layout: also join the controller-less cgroup2 tree (as runc), which takes the device BPF program
    const unified = mounts.find((m) => m.fsType === 'cgroup2' && m.mountPoint.startsWith('/sys/fs/cgroup/'));
    if (unified) v1.set('unified', unified.mountPoint);
    return new CgroupV1(sys, v1, weight, v1ContainerMounts(mounts));
  }
  const unified = mounts.find((m) => m.fsType === 'cgroup2' && m.mountPoint === '/sys/fs/cgroup');
  if (!unified)
    throw new Error('no usable cgroup hierarchy: mount cgroup2 at /sys/fs/cgroup or the v1 controllers');
  const available = (await sys.readFile(path.join(unified.mountPoint, 'cgroup.controllers')))
    .trim()
    .split(/\s+/);
  return new CgroupV2(sys, unified.mountPoint, available);
}
