/** /containers lifecycle: create, list, inspect, start/stop/restart/kill, pause, rm, rename, update, wait, prune. */
import type { ServerResponse } from 'node:http';
import type { ContainerOpsPort } from '../../containers/api-port.js';
import { parseFilters, queryBool, queryInt, readJsonBody, sendJson, sendNoContent } from '../http.js';
import type { Router } from '../router.js';

function sendDone(res: ServerResponse, r: string): void {
  if (r === 'noop') {
    res.writeHead(304);
    res.end();
  } else sendNoContent(res);
}

function stopOpts(q: URLSearchParams): { signal?: string; timeout?: number } {
  const t = queryInt(q, 't');
  const signal = q.get('signal') ?? undefined;
  return { ...(signal ? { signal } : {}), ...(t !== undefined ? { timeout: t } : {}) };
}

export function registerContainerRoutes(r: Router, c: ContainerOpsPort): void {
  r.post('/containers/create', async (ctx) => {
    const body = await readJsonBody<unknown>(ctx.req, null);
    sendJson(ctx.res, 201, await c.create(body, ctx.query.get('name')));
  });

  r.get('/containers/json', async (ctx) => {
    const q = ctx.query;
    const list = await c.list({
      filters: parseFilters(q),
      all: queryBool(q, 'all'),
      limit: queryInt(q, 'limit'),
      size: queryBool(q, 'size'),
    });
    sendJson(ctx.res, 200, list);
  });

  r.get('/containers/{id}/json', async (ctx) => {
    sendJson(ctx.res, 200, await c.inspect(ctx.params.id, queryBool(ctx.query, 'size')));
  });

  r.post('/containers/{id}/start', async (ctx) => {
    sendDone(ctx.res, await c.start(ctx.params.id, ctx.query.get('checkpoint')));
  });

  r.post('/containers/{id}/stop', async (ctx) => {
    sendDone(ctx.res, await c.stop(ctx.params.id, stopOpts(ctx.query)));
  });

  r.post('/containers/{id}/restart', async (ctx) => {
    await c.restart(ctx.params.id, stopOpts(ctx.query));
    sendNoContent(ctx.res);
  });

  r.post('/containers/{id}/kill', async (ctx) => {
    await c.kill(ctx.params.id, ctx.query.get('signal'));
    sendNoContent(ctx.res);
  });

  r.post('/containers/{id}/pause', async (ctx) => {
    await c.pause(ctx.params.id);
    sendNoContent(ctx.res);
  });

  r.post('/containers/{id}/unpause', async (ctx) => {
    await c.unpause(ctx.params.id);
    sendNoContent(ctx.res);
  });

  // `{id*}`: `docker rm --link` names the link as parent/alias.
  r.delete('/containers/{id*}', async (ctx) => {
    const q = ctx.query;
    await c.remove(ctx.params.id, {
      force: queryBool(q, 'force'),
      volumes: queryBool(q, 'v'),
      link: queryBool(q, 'link'),
    });
    sendNoContent(ctx.res);
  });

  r.post('/containers/{id}/rename', async (ctx) => {
    await c.rename(ctx.params.id, ctx.query.get('name'));
    sendNoContent(ctx.res);
  });

  r.post('/containers/{id}/update', async (ctx) => {
    const warnings = await c.update(ctx.params.id, await readJsonBody<unknown>(ctx.req, {}));
    sendJson(ctx.res, 200, { Warnings: warnings });
  });

  r.post('/containers/{id}/wait', async (ctx) => {
    const ac = new AbortController();
    ctx.res.on('close', () => ac.abort());
    const result = c.wait(ctx.params.id, ctx.query.get('condition'), ac.signal);
    // dockerd sends the headers at once: `docker run` waits for them before it starts the container.
    ctx.res.writeHead(200, { 'Content-Type': 'application/json' });
    ctx.res.flushHeaders();
    try {
      const w = await result;
      ctx.res.end(JSON.stringify({ StatusCode: w.StatusCode, Error: w.Error ?? null }) + '\n');
    } catch {
      /* the client went away */
    }
  });

  r.post('/containers/prune', async (ctx) => {
    sendJson(ctx.res, 200, await c.prune(parseFilters(ctx.query)));
  });
}
