/** Per-container runtime state under <stateRoot>/<id>: state.json (ours, atomic), exit.json (the shim's). */
import { promises as fsp } from 'node:fs';
import path from 'node:path';
import type { CgroupRef } from '../cgroups/types.js';
import { readJson, writeJsonAtomic } from '../util/fs-atomic.js';
import type { ContainerId, ExitStatus, NetworkStats } from './types.js';

export interface SavedState {
  id: ContainerId;
  pid: number;
  shimPid: number;
  createdAt: string;
  startedAt?: string;
  cgroup: CgroupRef;
  /** The container has a network namespace of its own (new or joined), so its counters mean something. */
  ownNetns?: boolean;
  /** The oom_score_adj its init was given (execs get it too); absent in state written before it was kept. */
  oomScoreAdj?: number;
  annotations: Record<string, string>;
}

const ID_RE = /^[a-zA-Z0-9][a-zA-Z0-9_.-]{0,63}$/;

export function validateId(id: string): void {
  if (!ID_RE.test(id)) throw new Error(`invalid container id for the runtime: ${JSON.stringify(id)}`);
}

export class StateStore {
  constructor(readonly root: string) {}

  dir(id: ContainerId): string {
    validateId(id);
    return path.join(this.root, id);
  }
  socket(id: ContainerId): string {
    return path.join(this.dir(id), 'shim.sock');
  }
  async load(id: ContainerId): Promise<SavedState | undefined> {
    return readJson<SavedState | undefined>(path.join(this.dir(id), 'state.json'), undefined);
  }
  async save(s: SavedState): Promise<void> {
    await writeJsonAtomic(path.join(this.dir(s.id), 'state.json'), s);
  }
  async exit(id: ContainerId): Promise<ExitStatus | undefined> {
    try {
      return parseExit(await fsp.readFile(path.join(this.dir(id), 'exit.json'), 'utf8'));
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw err;
    }
  }
  async ids(): Promise<ContainerId[]> {
    try {
      return (await fsp.readdir(this.root)).filter((n) => ID_RE.test(n));
    } catch {
      return [];
    }
  }
  async remove(id: ContainerId): Promise<void> {
    await fsp.rm(this.dir(id), { recursive: true, force: true });
  }
}

interface ExitJson {
  exitCode: number;
  signal?: number;
  oomKilled: boolean;
  finishedAt: string;
  error?: string;
}

/** /proc/<pid>/net/dev → per-interface counters, lo excluded (as dockerd). */
export function parseNetDev(text: string): Record<string, NetworkStats> {
  const out: Record<string, NetworkStats> = {};
  for (const line of text.split('\n').slice(2)) {
    const m = /^\s*([^:]+):\s*(.*)$/.exec(line);
    if (!m || m[1] === 'lo') continue;
    const f = m[2].trim().split(/\s+/).map(Number);
    out[m[1]] = {
      rxBytes: f[0] ?? 0,
      rxPackets: f[1] ?? 0,
      rxErrors: f[2] ?? 0,
      rxDropped: f[3] ?? 0,
      txBytes: f[8] ?? 0,
      txPackets: f[9] ?? 0,
      txErrors: f[10] ?? 0,
      txDropped: f[11] ?? 0,
    };
  }
  return out;
}

export function parseExit(text: string): ExitStatus {
  const j = JSON.parse(text) as ExitJson;
  const out: ExitStatus = {
    exitCode: j.exitCode,
    oomKilled: j.oomKilled,
    finishedAt: new Date(j.finishedAt),
  };
  if (j.signal !== undefined) out.signal = j.signal;
  if (j.error !== undefined) out.error = j.error;
  return out;
}
