/**
 * Killing everything in a cgroup and waiting until it is empty, shared by both drivers. Where the container's
 * cgroup has a cgroup2 directory (v2, or the hybrid layout's unified tree, which berthd's containers join too)
 * the kernel does it: cgroup.kill (Linux 5.14) kills every process, forks included, in one write, and
 * cgroup.events says "populated 0" when the last one is gone, which inotify reports. Without those files
 * (pure v1, older kernels) the processes listed in cgroup.procs are signalled and the list is polled.
 */
import path from 'node:path';
import type { Sys } from '../sys/sys.js';

const isKill = (signal: NodeJS.Signals | number): boolean => signal === 'SIGKILL' || signal === 9;

export async function signalAll(
  sys: Sys,
  v2dir: string | undefined,
  pids: () => Promise<number[]>,
  signal: NodeJS.Signals | number,
): Promise<void> {
  if (v2dir && isKill(signal) && (await sys.exists(path.join(v2dir, 'cgroup.kill')))) {
    try {
      await sys.writeFile(path.join(v2dir, 'cgroup.kill'), '1');
      return;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return; // the cgroup is gone: nothing to kill
      /* fall back to signalling each process */
    }
  }
  for (const pid of await pids()) sys.kill(pid, signal);
}

export async function waitEmpty(
  sys: Sys,
  v2dir: string | undefined,
  pids: () => Promise<number[]>,
  timeoutMs: number,
): Promise<boolean> {
  if (v2dir && (await sys.exists(path.join(v2dir, 'cgroup.events'))))
    return sys.waitFor(path.join(v2dir, 'cgroup.events'), (t) => /^populated 0$/m.test(t), timeoutMs);
  const end = Date.now() + timeoutMs;
  for (let i = 0; (await pids()).length > 0; i++) {
    if (Date.now() >= end) return false;
    await new Promise((r) => setTimeout(r, i < 20 ? 5 : 25));
  }
  return true;
}
