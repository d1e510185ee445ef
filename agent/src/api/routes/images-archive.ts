/** docker save (`GET /images/get`, `GET /images/{name}/get`) and docker load (`POST /images/load`). */
import type { IncomingMessage } from 'node:http';
import { loadImages, removeStaleStaging } from '../../images/archive/load.js';
import { planSave, resolveSaveNames, writeSaveArchive } from '../../images/archive/save.js';
import { progress } from '../../images/progress.js';
import type { ImageService } from '../../images/service.js';
import { badParameter } from '../errors.js';
import { openJsonStream, queryBool, type JsonStream } from '../http.js';
import type { RequestContext, Router } from '../router.js';

async function save(svc: ImageService, ctx: RequestContext, names: string[]): Promise<void> {
  if (names.length === 0) throw badParameter('no image names given: name at least one image to save');
  const plan = await planSave(svc, resolveSaveNames(svc, names));
  ctx.res.writeHead(200, { 'Content-Type': 'application/x-tar' });
  try {
    await writeSaveArchive(plan, ctx.res);
  } catch (err) {
    // Half a tar must not look like a whole one: cut the connection.
    svc.log.error('save failed mid-stream', { err: err as Error });
    ctx.res.destroy(err as Error);
    return;
  }
  for (const img of plan.images) svc.engine.events.publish('image', 'save', img.id, {});
}

/** Reads and discards what is left of a request we refused, so the client sees our answer, not a reset. */
function drain(req: IncomingMessage): Promise<void> {
  if (req.readableEnded) return Promise.resolve();
  return new Promise((resolve) => {
    req.on('end', resolve);
    req.on('error', () => resolve());
    req.on('close', () => resolve());
    req.resume();
  });
}

export function registerImageArchiveRoutes(r: Router, svc: ImageService): void {
  void removeStaleStaging(svc.engine.config.dataRoot).then((n) => {
    if (n) svc.log.info('removed load staging left by a crash', { dirs: n });
  });

  r.get('/images/get', (ctx) =>
    save(
      svc,
      ctx,
      ctx.query
        .getAll('names')
        .flatMap((n) => n.split(','))
        .filter((n) => n !== ''),
    ),
  );
  r.get('/images/{name*}/get', (ctx) => save(svc, ctx, [ctx.params.name]));

  r.post('/images/load', async (ctx) => {
    // dockerd's default is quiet; the CLI asks for progress only on a terminal.
    const quiet = queryBool(ctx.query, 'quiet', true);
    // The response starts with the first progress line, or with the error: dockerd's load never fails the request.
    let stream: JsonStream | undefined;
    const out = (obj: unknown): void => {
      stream ??= openJsonStream(ctx.req, ctx.res);
      stream.write(obj);
    };
    try {
      await loadImages(svc, ctx.req, {
        ...(quiet
          ? {}
          : {
              layer: (id: string, current: number, total: number) =>
                progress({ write: out }, id, 'Loading layer', current, total),
            }),
        line: (text) => out({ stream: text + '\n' }),
      });
    } catch (err) {
      await drain(ctx.req);
      // dockerd answers 200 and reports a failed load in the stream (`docker load` prints it, exits 1).
      const message = (err as Error).message;
      out({ errorDetail: { message }, error: message });
    }
    if (stream) stream.end();
    else {
      ctx.res.writeHead(200, { 'Content-Type': 'application/json' });
      ctx.res.end();
    }
  });
}
