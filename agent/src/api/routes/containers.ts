/** /containers lifecycle: create, list, inspect, start/stop/restart/kill, pause, rm, rename, update, wait, prune. */
import type { ContainerPruneResponse, ContainerWaitResponse } from '@berth/common';
import type { ContainerApi } from '../../containers/api-port.js';
import { filterContainers } from '../../containers/list.js';
import { badParameter } from '../errors.js';
import {
  checkFilters,
  matchLabels,
  parseFilters,
  queryBool,
  queryInt,
  readJsonBody,
  sendJson,
  sendNoContent,
} from '../http.js';
import type { Router } from '../router.js';

function sendNotModified(res: import('node:http').ServerResponse): void {
  res.writeHead(304);
  res.end();
}

function stopOpts(q: URLSearchParams): { signal?: string; timeout?: number } {
  const t = queryInt(q, 't');
  const signal = q.get('signal') ?? undefined;
  return { ...(signal ? { signal } : {}), ...(t !== undefined ? { timeout: t } : {}) };
}

export function registerContainerRoutes(r: Router, c: ContainerApi): void {
  r.post('/containers/create', async (ctx) => {
    const body = await readJsonBody<unknown>(ctx.req, null);
    if (body === null) throw badParameter('config cannot be empty in order to create a container');
    sendJson(ctx.res, 201, await c.containers.create(body, ctx.query.get('name')));
  });

  r.get('/containers/json', async (ctx) => {
    const f = parseFilters(ctx.query);
    const size = queryBool(ctx.query, 'size');
    const recs = await filterContainers(
      c.store.all(),
      f,
      queryBool(ctx.query, 'all'),
      queryInt(ctx.query, 'limit'),
      {
        find: (ref) => c.store.find(ref),
        imageIdsFor: async (ref) => {
          const img = await c.images.resolve(ref);
          return img ? [img.id] : [];
        },
        health: (rec) => rec.health?.Status ?? 'none',
      },
    );
    const out = [];
    for (const rec of recs) out.push(c.summary(rec, size ? await c.sizes(rec) : undefined));
    sendJson(ctx.res, 200, out);
  });

  r.get('/containers/{id}/json', async (ctx) => {
    sendJson(ctx.res, 200, await c.inspect(ctx.params.id!, queryBool(ctx.query, 'size')));
  });

  r.post('/containers/{id}/start', async (ctx) => {
    if (ctx.query.get('checkpoint')) throw badParameter('checkpoints are not supported');
    const res = await c.containers.lifecycle.start(ctx.params.id!);
    if (res === 'noop') sendNotModified(ctx.res);
    else sendNoContent(ctx.res);
  });

  r.post('/containers/{id}/stop', async (ctx) => {
    const res = await c.containers.lifecycle.stop(ctx.params.id!, stopOpts(ctx.query));
    if (res === 'noop') sendNotModified(ctx.res);
    else sendNoContent(ctx.res);
  });

  r.post('/containers/{id}/restart', async (ctx) => {
    await c.containers.lifecycle.restart(ctx.params.id!, stopOpts(ctx.query));
    sendNoContent(ctx.res);
  });

  r.post('/containers/{id}/kill', async (ctx) => {
    await c.containers.lifecycle.kill(ctx.params.id!, ctx.query.get('signal') || 'SIGKILL');
    sendNoContent(ctx.res);
  });

  r.post('/containers/{id}/pause', async (ctx) => {
    await c.containers.lifecycle.pause(ctx.params.id!);
    sendNoContent(ctx.res);
  });

  r.post('/containers/{id}/unpause', async (ctx) => {
    await c.containers.lifecycle.unpause(ctx.params.id!);
    sendNoContent(ctx.res);
  });

  r.delete('/containers/{id}', async (ctx) => {
    if (queryBool(ctx.query, 'link')) throw badParameter('legacy links are not supported');
    await c.containers.remove(ctx.params.id!, {
      force: queryBool(ctx.query, 'force'),
      volumes: queryBool(ctx.query, 'v'),
    });
    sendNoContent(ctx.res);
  });

  r.post('/containers/{id}/rename', async (ctx) => {
    await c.containers.rename(ctx.params.id!, ctx.query.get('name'));
    sendNoContent(ctx.res);
  });

  r.post('/containers/{id}/update', async (ctx) => {
    const warnings = await c.containers.update(ctx.params.id!, await readJsonBody<unknown>(ctx.req, {}));
    sendJson(ctx.res, 200, { Warnings: warnings });
  });

  r.post('/containers/{id}/wait', async (ctx) => {
    const cond = ctx.query.get('condition') || 'not-running';
    if (cond !== 'not-running' && cond !== 'next-exit' && cond !== 'removed')
      throw badParameter(`invalid condition: "${cond}"`);
    const rec = c.store.get(ctx.params.id!);
    const ac = new AbortController();
    ctx.res.on('close', () => ac.abort());
    let result: Promise<ContainerWaitResponse>;
    const running = ['running', 'paused', 'restarting'].includes(rec.state.status);
    if (cond === 'not-running' && !running)
      result = Promise.resolve({ StatusCode: rec.state.exitCode, Error: null });
    else
      result = c.containers.lifecycle.waiters.next(
        rec.id,
        cond === 'removed' ? 'removed' : 'exit',
        ac.signal,
      );
    // dockerd sends the headers at once: `docker run` waits for them before it starts the container.
    ctx.res.writeHead(200, { 'Content-Type': 'application/json' });
    ctx.res.flushHeaders();
    try {
      const r = await result;
      ctx.res.end(JSON.stringify({ StatusCode: r.StatusCode, Error: r.Error ?? null }) + '\n');
    } catch {
      /* the client went away */
    }
  });

  r.post('/containers/prune', async (ctx) => {
    const f = parseFilters(ctx.query);
    checkFilters(f, ['until', 'label', 'label!']);
    const untilRaw = f.get('until')?.[0];
    let untilMs = Infinity;
    if (untilRaw) {
      untilMs = /^\d+(\.\d+)?$/.test(untilRaw)
        ? Number(untilRaw) * 1000
        : /^\d+[smh]$/.test(untilRaw)
          ? Date.now() -
            Number(untilRaw.slice(0, -1)) * { s: 1e3, m: 6e4, h: 3.6e6 }[untilRaw.slice(-1) as 's']!
          : Date.parse(untilRaw);
      if (Number.isNaN(untilMs)) throw badParameter(`invalid filter 'until=${untilRaw}'`);
    }
    const out: ContainerPruneResponse = { ContainersDeleted: [], SpaceReclaimed: 0 };
    for (const rec of c.store.all()) {
      if (!['exited', 'created', 'dead'].includes(rec.state.status)) continue;
      if (Date.parse(rec.created) > untilMs) continue;
      if (!matchLabels(rec.config.Labels, f.get('label'))) continue;
      if (f.get('label!')?.some((w) => matchLabels(rec.config.Labels, [w]))) continue;
      const size = (await c.sizes(rec)).rw;
      try {
        await c.containers.remove(rec.id, { force: false, volumes: false });
      } catch {
        continue;
      }
      out.ContainersDeleted!.push(rec.id);
      out.SpaceReclaimed += size;
    }
    sendJson(ctx.res, 200, out);
  });
}
