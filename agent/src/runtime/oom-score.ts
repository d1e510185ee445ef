/**
 * The oom_score_adj a container's processes get. The kernel lets a process go below the lowest score its
 * ancestors were given only with CAP_SYS_RESOURCE in the initial user namespace: a berthd without it (a
 * sandbox that withholds it, rootless, inside a user namespace) cannot give any container less than its own
 * score, so a lower request is raised to that, as moby's rootless spec conversion, containerd's
 * restrict_oom_score_adj and podman do, instead of failing the start. With the capability the value is exact.
 */
import { readFileSync } from 'node:fs';

const CAP_SYS_RESOURCE = 24n;

/** The effective capability set from /proc/<pid>/status has CAP_SYS_RESOURCE. */
export function hasSysResource(status: string): boolean {
  const m = /^CapEff:\s*([0-9a-f]+)$/m.exec(status);
  return m !== null && ((BigInt(`0x${m[1]}`) >> CAP_SYS_RESOURCE) & 1n) === 1n;
}

/** /proc/<pid>/uid_map of the initial user namespace maps every id onto itself. */
export function inInitialUserNs(uidMap: string): boolean {
  const rows = uidMap.trim().split('\n');
  return rows.length === 1 && /^\s*0\s+0\s+4294967295\s*$/.test(rows[0]);
}

/** The score given to a process that asked for `requested`, when nothing may go below `floor`. */
export function clampOomScore(requested: number, floor: number | undefined): number {
  return floor !== undefined && requested < floor ? floor : requested;
}

export interface OomScorePolicy {
  /** The lowest score berthd can give now; undefined when any value in [-1000, 1000] can be given. */
  floor(): number | undefined;
}

/** Decided once (berthd's privileges do not change); the floor is re-read, as berthd's own score may be. */
export function oomScorePolicy(): OomScorePolicy {
  let restricted: boolean;
  try {
    restricted =
      !hasSysResource(readFileSync('/proc/self/status', 'utf8')) ||
      !inInitialUserNs(readFileSync('/proc/self/uid_map', 'utf8'));
  } catch {
    restricted = true;
  }
  return {
    floor: () => {
      if (!restricted) return undefined;
      try {
        return Number.parseInt(readFileSync('/proc/self/oom_score_adj', 'utf8').trim(), 10) || 0;
      } catch {
        return 0;
      }
    },
  };
}
