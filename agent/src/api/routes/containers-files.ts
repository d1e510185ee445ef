/** Container files over the API: archive HEAD/GET/PUT (docker cp), export, changes (docker diff), commit. */
import type { ContainerFilesPort } from '../../containers/api-port.js';
import { queryBool, readJsonBody, sendJson } from '../http.js';
import type { Router } from '../router.js';

export function registerContainerFileRoutes(r: Router, c: ContainerFilesPort): void {
  const statRoute = (head: boolean) => async (ctx: Parameters<Parameters<Router['get']>[1]>[0]) => {
    await c.readArchive(ctx.params.id, ctx.query.get('path'), (stat) => {
      ctx.res.setHeader('X-Docker-Container-Path-Stat', stat);
      if (head) {
        ctx.res.writeHead(200, { 'Content-Type': 'application/json' });
        ctx.res.end();
        return undefined;
      }
      ctx.res.writeHead(200, { 'Content-Type': 'application/x-tar' });
      return ctx.res;
    });
  };
  r.head('/containers/{id}/archive', statRoute(true));
  r.get('/containers/{id}/archive', statRoute(false));

  r.put('/containers/{id}/archive', async (ctx) => {
    const opts = {
      noOverwriteDirNonDir: queryBool(ctx.query, 'noOverwriteDirNonDir'),
      copyUidGid: queryBool(ctx.query, 'copyUIDGID'),
    };
    await c.writeArchive(ctx.params.id, ctx.query.get('path'), opts, ctx.req);
    ctx.res.writeHead(200, { 'Content-Length': '0' });
    ctx.res.end();
  });

  r.get('/containers/{id}/export', async (ctx) => {
    await c.exportRootfs(ctx.params.id, () => {
      ctx.res.writeHead(200, { 'Content-Type': 'application/x-tar' });
      return ctx.res;
    });
  });

  r.get('/containers/{id}/changes', async (ctx) => {
    const out = await c.changes(ctx.params.id);
    sendJson(ctx.res, 200, out.length ? out : null);
  });

  r.post('/commit', async (ctx) => {
    const q = ctx.query;
    const config = await readJsonBody<unknown>(ctx.req, null);
    const id = await c.commit(q.get('container'), {
      ...(q.get('repo') ? { repo: q.get('repo')! } : {}),
      ...(q.get('tag') ? { tag: q.get('tag')! } : {}),
      comment: q.get('comment') ?? '',
      author: q.get('author') ?? '',
      pause: queryBool(q, 'pause', true),
      changes: q.getAll('changes'),
      config: config ?? {},
    });
    sendJson(ctx.res, 201, { Id: id });
  });
}
