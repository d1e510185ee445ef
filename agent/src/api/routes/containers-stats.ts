/** /containers/{id}/stats (stream and one-shot) and /containers/{id}/top (host `ps` filtered to the container). */
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import type { ContainerTopResponse } from '@berth/common';
import type { ContainerApi } from '../../containers/api-port.js';
import { isRunning } from '../../containers/state.js';
import { dockerStats, emptyStats } from '../../containers/stats.js';
import type { RuntimeStats } from '../../runtime/types.js';
import { badParameter, conflict, internal } from '../errors.js';
import { queryBool, sendJson } from '../http.js';
import type { Router } from '../router.js';

const run = promisify(execFile);

/** Parses `ps` output and keeps rows whose PID column is one of `pids`, as dockerd's top does. */
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

export function registerContainerStatsRoutes(r: Router, c: ContainerApi): void {
  r.get('/containers/{id}/top', async (ctx) => {
    const rec = c.store.get(ctx.params.id!);
    if (!isRunning(rec.state)) throw conflict(`Container ${rec.id} is not running`);
    const args = (ctx.query.get('ps_args') || '-ef').split(/\s+/).filter(Boolean);
    const pids = await c.runtime.top(rec.id);
    let out: string;
    try {
      out = (await run('ps', args, { maxBuffer: 16 * 1024 * 1024 })).stdout;
    } catch (err) {
      throw internal(`ps: ${(err as Error).message}`);
    }
    sendJson(ctx.res, 200, filterPs(out, pids));
  });

  r.get('/containers/{id}/stats', async (ctx) => {
    const rec = c.store.get(ctx.params.id!);
    const stream = queryBool(ctx.query, 'stream', true);
    const oneShot = queryBool(ctx.query, 'one-shot');
    const name = rec.name;
    if (!isRunning(rec.state)) {
      if (!stream) return sendJson(ctx.res, 200, emptyStats(rec.id, name));
    }
    let closed = false;
    ctx.res.on('close', () => (closed = true));
    const sample = async (): Promise<RuntimeStats | undefined> => {
      const cur = c.store.find(rec.id);
      if (!cur || !isRunning(cur.state)) return undefined;
      return c.runtime.stats(rec.id).catch(() => undefined);
    };
    let prev = await sample();
    if (!stream) {
      // One result with precpu filled from a sample a second earlier, as dockerd (unless one-shot).
      if (!oneShot && prev) await new Promise((res) => setTimeout(res, 1000));
      const cur = oneShot ? prev : await sample();
      return sendJson(
        ctx.res,
        200,
        cur ? dockerStats(rec.id, name, cur, oneShot ? undefined : prev) : emptyStats(rec.id, name),
      );
    }
    ctx.res.writeHead(200, { 'Content-Type': 'application/json' });
    ctx.res.flushHeaders();
    if (prev) ctx.res.write(JSON.stringify(dockerStats(rec.id, name, prev, undefined)) + '\n');
    while (!closed) {
      await new Promise((res) => setTimeout(res, 1000));
      if (closed) break;
      const cur = await sample();
      if (!cur) {
        ctx.res.write(JSON.stringify(emptyStats(rec.id, name)) + '\n');
        if (!c.store.find(rec.id)) break;
        continue;
      }
      ctx.res.write(JSON.stringify(dockerStats(rec.id, name, cur, prev)) + '\n');
      prev = cur;
    }
    ctx.res.end();
  });
}
