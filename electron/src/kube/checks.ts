/**
 * What can keep the cluster from working, each check saying it in words a user can act on: `berth kube status`,
 * the tray and Troubleshoot show the same `KubeProblem`s.
 */
import { promises as fsp } from 'node:fs';
import path from 'node:path';
import type { KubeProblem } from '@berth/common';

/** Who listens on TCP `port` (Linux: /proc's socket tables, then the fds naming that socket), if we can tell. */
export async function portHolder(port: number): Promise<string | undefined> {
  if (process.platform !== 'linux') return undefined;
  const inodes = new Set<string>();
  const hex = port.toString(16).toUpperCase().padStart(4, '0');
  for (const t of ['/proc/net/tcp', '/proc/net/tcp6']) {
    const text = await fsp.readFile(t, 'utf8').catch(() => '');
    for (const line of text.split('\n').slice(1)) {
      const f = line.trim().split(/\s+/);
      // local_address is ADDR:PORT in hex; st 0A is LISTEN; the inode is the 10th field.
      if (f.length > 9 && f[1].endsWith(`:${hex}`) && f[3] === '0A') inodes.add(f[9]);
    }
  }
  if (!inodes.size) return undefined;
  const pids = (await fsp.readdir('/proc').catch(() => [] as string[])).filter((d) => /^\d+$/.test(d));
  for (const pid of pids) {
    const fds = await fsp.readdir(`/proc/${pid}/fd`).catch(() => [] as string[]);
    for (const fd of fds) {
      const link = await fsp.readlink(`/proc/${pid}/fd/${fd}`).catch(() => '');
      const m = /^socket:\[(\d+)\]$/.exec(link);
      if (m && inodes.has(m[1])) {
        const cmd = (await fsp.readFile(`/proc/${pid}/cmdline`, 'utf8').catch(() => ''))
          .split('\0')
          .filter(Boolean)
          .join(' ');
        const comm = (await fsp.readFile(`/proc/${pid}/comm`, 'utf8').catch(() => '?')).trim();
        return `${comm} (pid ${pid}${cmd ? `: ${cmd.length > 80 ? `${cmd.slice(0, 77)}...` : cmd}` : ''})`;
      }
    }
  }
  return undefined;
}

export function portTakenProblem(port: number, holder: string | undefined, explicit: boolean): KubeProblem {
  return {
    check: 'port',
    message:
      `port ${port} on 127.0.0.1 is taken by ${holder ?? 'another program'}: ` +
      (explicit
        ? 'stop it, or choose another port with `berth kube enable --port N`'
        : 'stop it, or the cluster uses another free port when enabled'),
  };
}

/**
 * Whether the kubeconfig can be written the way the merge writes it (a temporary file beside it, renamed
 * over it): tried for real, so a read-only mount, an immutable directory or a file where a directory should be
 * are all seen, for root too.
 */
export async function kubeconfigProblem(file: string): Promise<KubeProblem | undefined> {
  let dir = path.dirname(file);
  const fail = (why: string): KubeProblem => ({
    check: 'kubeconfig',
    message: `the kubeconfig ${file} cannot be written (${why}): make ${dir} writable, or point $KUBECONFIG at a file you can write`,
  });
  // The nearest directory that exists (the merge creates the missing ones).
  for (;;) {
    const st = await fsp.stat(dir).catch((e: NodeJS.ErrnoException) => e);
    if (!(st instanceof Error)) {
      if (!st.isDirectory()) return fail(`${dir} is not a directory`);
      break;
    }
    if (st.code !== 'ENOENT') return fail(st.code ?? st.message);
    const up = path.dirname(dir);
    if (up === dir) return fail('no existing parent directory');
    dir = up;
  }
  const probe = path.join(dir, `.berth-write-check-${process.pid}-${Date.now()}`);
  try {
    await fsp.writeFile(probe, '', { mode: 0o600 });
    await fsp.rm(probe, { force: true });
  } catch (e) {
    return fail((e as NodeJS.ErrnoException).code ?? (e as Error).message);
  }
  const st = await fsp.stat(file).catch(() => undefined);
  if (st?.isDirectory()) return fail('it is a directory');
  return undefined;
}

export const ENGINE_DOWN: KubeProblem = {
  check: 'engine',
  message: 'the engine is not running: `berth start` starts it (and the cluster, when it is enabled)',
};

export function exitedProblem(log: string): KubeProblem {
  return {
    check: 'process',
    message: log
      ? 'berth-kube exited: `berth kube enable` starts it again; its last log lines are below (`berth logs kube` has the rest)'
      : 'berth-kube is not running (it left no log): `berth kube enable` starts it',
    ...(log ? { log } : {}),
  };
}
