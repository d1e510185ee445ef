/** Container files over the API: archive HEAD/GET/PUT (docker cp), export, changes (docker diff), commit. */
import path from 'node:path';
import type { ContainerConfig } from '@berth/common';
import type { ContainerApi } from '../../containers/api-port.js';
import { encodeStat, statPath, writeTree } from '../../containers/archive.js';
import { ContainerExtractor } from '../../containers/archive-extract.js';
import { archiveMounts, hiddenByMount } from '../../containers/archive-mounts.js';
import type { ContainerRecord } from '../../containers/record.js';
import { changes, mountpointFilter } from '../../containers/changes.js';
import { commitContainer } from '../../containers/commit.js';
import { TarParser } from '../../storage/tar-parse.js';
import { badParameter, EngineError, forbidden, notFound } from '../errors.js';
import { queryBool, readJsonBody, sendJson } from '../http.js';
import type { Router } from '../router.js';

function pathParam(q: URLSearchParams): string {
  const p = q.get('path');
  if (!p) throw badParameter('path is required');
  return p;
}

export function registerContainerFileRoutes(r: Router, c: ContainerApi): void {
  const runningMounts = async (rec: ContainerRecord, forExport: boolean) => {
    const img = await c.images.resolve(rec.image);
    return archiveMounts(
      rec,
      rec.state.pid,
      path.join(c.store.dir(rec.id), 'upper'),
      img?.layerDirs ?? [],
      forExport,
    );
  };
  const statRoute = (head: boolean) => async (ctx: Parameters<Parameters<Router['get']>[1]>[0]) => {
    const rec = c.store.get(ctx.params.id!);
    const p = pathParam(ctx.query);
    await c.views.with(rec, 'read', async (root, running) => {
      const abs = path.posix.isAbsolute(p) ? p : path.posix.join(rec.config.WorkingDir || '/', p);
      const s = statPath(root, abs, rec.id);
      const mounts = running ? await runningMounts(rec, false) : undefined;
      if (mounts && hiddenByMount(mounts, s.path))
        throw notFound(`Could not find the file ${p} in container ${rec.id}`);
      ctx.res.setHeader('X-Docker-Container-Path-Stat', encodeStat(s.stat));
      if (head) {
        ctx.res.writeHead(200, { 'Content-Type': 'application/json' });
        ctx.res.end();
        return;
      }
      ctx.res.writeHead(200, { 'Content-Type': 'application/x-tar' });
      const name = /\/\.$/.test(p) ? '.' : s.stat.name;
      await writeTree(ctx.res, root, name, { path: s.path, ...(mounts ? { mounts } : {}) });
    });
  };
  r.head('/containers/{id}/archive', statRoute(true));
  r.get('/containers/{id}/archive', statRoute(false));

  r.put('/containers/{id}/archive', async (ctx) => {
    const rec = c.store.get(ctx.params.id!);
    const p = pathParam(ctx.query);
    const abs = path.posix.isAbsolute(p) ? p : path.posix.join(rec.config.WorkingDir || '/', p);
    if (
      rec.hostConfig.ReadonlyRootfs &&
      !rec.mounts.some((m) => m.rw && (abs === m.destination || abs.startsWith(m.destination + '/')))
    )
      throw forbidden('container rootfs is marked read-only');
    const opts = {
      noOverwriteDirNonDir: queryBool(ctx.query, 'noOverwriteDirNonDir'),
      copyUidGid: queryBool(ctx.query, 'copyUIDGID'),
    };
    await c.views.with(rec, 'write', async (root) => {
      const x = ContainerExtractor.open(
        root,
        abs,
        opts,
        `Could not find the file ${p} in container ${rec.id}`,
      );
      const parser = new TarParser(x);
      try {
        for await (const chunk of ctx.req) parser.write(chunk as Buffer);
        parser.end();
        x.finish();
      } catch (err) {
        x.abort();
        if (err instanceof EngineError) throw err;
        throw badParameter(`invalid archive: ${(err as Error).message}`);
      }
    });
    ctx.res.writeHead(200, { 'Content-Length': '0' });
    ctx.res.end();
  });

  r.get('/containers/{id}/export', async (ctx) => {
    const rec = c.store.get(ctx.params.id!);
    await c.views.with(rec, 'read', async (root, running) => {
      const mounts = running ? await runningMounts(rec, true) : undefined;
      ctx.res.writeHead(200, { 'Content-Type': 'application/x-tar' });
      await writeTree(ctx.res, root, '', mounts ? { mounts } : {});
    });
  });

  r.get('/containers/{id}/changes', async (ctx) => {
    const rec = c.store.get(ctx.params.id!);
    const img = await c.images.resolve(rec.image);
    const out = await changes(
      path.join(c.store.dir(rec.id), 'upper'),
      img?.layerDirs ?? [],
      mountpointFilter(rec),
    );
    sendJson(ctx.res, 200, out.length ? out : null);
  });

  r.post('/commit', async (ctx) => {
    const ref = ctx.query.get('container');
    if (!ref) throw badParameter('container is required');
    const rec = c.store.get(ref);
    const config = await readJsonBody<ContainerConfig | null>(ctx.req, null);
    if (config !== null && (typeof config !== 'object' || Array.isArray(config)))
      throw badParameter('invalid commit config: expected a JSON object');
    const id = await commitContainer(c.containers.d, rec, {
      ...(ctx.query.get('repo') ? { repo: ctx.query.get('repo')! } : {}),
      ...(ctx.query.get('tag') ? { tag: ctx.query.get('tag')! } : {}),
      comment: ctx.query.get('comment') ?? '',
      author: ctx.query.get('author') ?? '',
      pause: queryBool(ctx.query, 'pause', true),
      changes: ctx.query.getAll('changes'),
      config: config ?? {},
    });
    sendJson(ctx.res, 201, { Id: id });
  });
}
