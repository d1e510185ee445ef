/** /containers/{id}/stats (stream and one-shot) and /containers/{id}/top. */
import type { ContainerIoPort } from '../../containers/api-port.js';
import { queryBool, sendJson } from '../http.js';
import type { Router } from '../router.js';

export function registerContainerStatsRoutes(r: Router, c: ContainerIoPort): void {
  r.get('/containers/{id}/top', async (ctx) => {
    sendJson(ctx.res, 200, await c.top(ctx.params.id, ctx.query.get('ps_args')));
  });

  r.get('/containers/{id}/stats', async (ctx) => {
    if (!queryBool(ctx.query, 'stream', true))
      return sendJson(ctx.res, 200, await c.statsOnce(ctx.params.id, queryBool(ctx.query, 'one-shot')));
    const ac = new AbortController();
    ctx.res.on('close', () => ac.abort());
    const samples = await c.statsStream(ctx.params.id, ac.signal);
    ctx.res.writeHead(200, { 'Content-Type': 'application/json' });
    ctx.res.flushHeaders();
    for await (const s of samples) ctx.res.write(JSON.stringify(s) + '\n');
    ctx.res.end();
  });
}
