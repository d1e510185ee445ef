/**
 * What `docker cp CONTAINER:/` and `docker export` see of a running container's mounts. dockerd reads the
 * container's rootfs (its overlay, not the container's mount namespace) with the volumes, bind mounts and
 * /etc/{hosts,hostname,resolv.conf} bound in for cp, and nothing bound for export: /proc, /sys, /dev, tmpfs
 * mounts and masked paths show as the entries they cover in the image (empty /proc and /sys directories),
 * never the kernel's pseudo-filesystems.
 */
import { readFileSync, type Stats } from 'node:fs';
import type { MountPolicy } from './archive.js';
import { ConfinedRoot } from './confined-root.js';
import type { ContainerRecord } from './record.js';

const ETC_FILES = ['/etc/hostname', '/etc/hosts', '/etc/resolv.conf'];

/** Mount points of a process's mount namespace, relative to its root (mountinfo's 5th field, octal escapes undone). */
export function readMountPoints(pid: number): Set<string> {
  const out = new Set<string>();
  for (const line of readFileSync(`/proc/${pid}/mountinfo`, 'utf8').split('\n')) {
    const f = line.split(' ');
    if (f.length < 5) continue;
    const p = f[4].replace(/\\([0-7]{3})/g, (_, o: string) => String.fromCharCode(parseInt(o, 8)));
    if (p !== '/') out.add(p);
  }
  return out;
}

/** The entry at `cpath` in the container's own layers (upper dir first), as the overlay shows it unmounted. */
function underlying(layers: string[], cpath: string): Stats | null {
  for (const dir of layers) {
    let cr: ConfinedRoot;
    try {
      cr = ConfinedRoot.open(dir);
    } catch {
      continue;
    }
    try {
      const r = cr.resolve(cpath, false);
      try {
        if (r.dir < 0) continue;
        const st = ConfinedRoot.lstat(r);
        // A whiteout deletes it from the layers below.
        if (st.isCharacterDevice() && st.rdev === 0) return null;
        return st;
      } catch {
        continue;
      } finally {
        r.release();
      }
    } finally {
      cr.close();
    }
  }
  return null;
}

/** dockerd's view for a running container: `forExport` leaves volumes and network files out too. */
export function archiveMounts(
  rec: ContainerRecord,
  pid: number,
  upper: string,
  layerDirs: string[],
  forExport: boolean,
): MountPolicy {
  const data = new Set(
    forExport
      ? []
      : [...rec.mounts.filter((m) => m.type !== 'tmpfs').map((m) => m.destination), ...ETC_FILES],
  );
  return {
    points: readMountPoints(pid),
    include: (cpath) => data.has(cpath),
    underlying: (cpath) => underlying([upper, ...layerDirs], cpath),
  };
}

/** Whether `cpath` lies inside a mount the policy leaves out (dockerd cannot see /proc/cpuinfo: "Could not find"). */
export function hiddenByMount(m: MountPolicy, cpath: string): boolean {
  for (let a = cpath; a !== '/' && a !== '.';) {
    a = a.slice(0, a.lastIndexOf('/')) || '/';
    if (a !== '/' && m.points.has(a) && !m.include(a)) return true;
  }
  return false;
}
