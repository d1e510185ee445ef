/** `docker top`: the host's `ps`, filtered to the container's processes (its cgroup), as dockerd's top. */
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import type { ContainerTopResponse } from '@berth/common';
import { badParameter, internal } from '../errors.js';

const run = promisify(execFile);

/** Parses `ps` output and keeps rows whose PID column is one of `pids`. */
export function filterPs(output: string, pids: number[]): ContainerTopResponse {
  const lines = output.split('\n').filter((l) => l.trim() !== '');
  const header = lines[0]?.trim().split(/\s+/) ?? [];
  const pidCol = header.indexOf('PID');
  if (pidCol < 0) throw badParameter("Couldn't find PID field in ps output");
  const want = new Set(pids);
  const procs: string[][] = [];
  for (const line of lines.slice(1)) {
    const fields = line.trim().split(/\s+/);
    if (!want.has(Number(fields[pidCol]))) continue;
    // The last column (the command) may hold spaces.
    const row = fields.slice(0, header.length - 1);
    row.push(fields.slice(header.length - 1).join(' '));
    procs.push(row);
  }
  return { Titles: header, Processes: procs };
}

/** Runs `ps` with the client's arguments (default -ef) and keeps the container's `pids`. */
export async function top(psArgs: string | null, pids: number[]): Promise<ContainerTopResponse> {
  const args = (psArgs || '-ef').split(/\s+/).filter(Boolean);
  let out: string;
  try {
    out = (await run('ps', args, { maxBuffer: 16 * 1024 * 1024 })).stdout;
  } catch (err) {
    throw internal(`ps: ${(err as Error).message}`);
  }
  return filterPs(out, pids);
}
