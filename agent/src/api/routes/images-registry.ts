/** Registry-facing image endpoints: pull (POST /images/create), push, and login (POST /auth). */
import type { ImageService } from '../../images/service.js';
import { pullImage } from '../../images/pull.js';
import { pushImage } from '../../images/push.js';
import {
  isDigest,
  parseReference,
  checkTag,
  formatReference,
  ReferenceError,
} from '../../images/reference.js';
import { inspectDistribution } from '../../images/distribution.js';
import { fetchTarball, importTarball, importUrl } from '../../images/import.js';
import { applyChanges } from '../../containers/commit.js';
import type { Readable } from 'node:stream';
import { login } from '../../images/login.js';
import { decodeRegistryAuth } from '../../images/registry/auth.js';
import { header } from '../../images/registry/http.js';
import type { Platform } from '../../images/oci.js';
import { badParameter } from '../errors.js';
import { openJsonStream, readJsonBody, sendJson } from '../http.js';
import type { RequestContext, Router } from '../router.js';

function parsePlatform(s: string | null): Platform | undefined {
  if (!s) return undefined;
  const [os, architecture, variant] = s.split('/');
  if (!os || !architecture)
    throw badParameter(`invalid platform ${JSON.stringify(s)}: use os/arch[/variant]`);
  return variant ? { os, architecture, variant } : { os, architecture };
}

/** docker import: POST /images/create?fromSrc=-|URL with repo, tag, message, changes and platform. */
async function importRoute(ctx: RequestContext, svc: ImageService, src: string): Promise<void> {
  const platform = parsePlatform(ctx.query.get('platform'));
  const tags: string[] = [];
  const repo = ctx.query.get('repo') ?? '';
  const tag = ctx.query.get('tag') ?? '';
  if (repo) {
    const ref = parseReference(repo, undefined);
    if (ref.digest) throw badParameter('cannot import digest reference');
    if (tag) {
      checkTag(tag);
      ref.tag = tag;
    }
    tags.push(formatReference({ ...ref, tag: ref.tag ?? 'latest' }));
  } else if (tag) checkTag(tag);
  // --change is the Dockerfile subset commit takes; checked before any byte of the archive is read.
  const config = applyChanges({}, ctx.query.getAll('changes'));
  const url = src === '-' ? undefined : importUrl(src);
  const ac = new AbortController();
  ctx.res.on('close', () => ac.abort());
  let body: Readable = ctx.req;
  if (url) {
    ctx.req.resume();
    body = await fetchTarball(url, ac.signal);
  }
  const image = await importTarball(svc, {
    src: body,
    from: src,
    config,
    message: ctx.query.get('message') ?? '',
    ...(platform ? { platform } : {}),
    tags,
  });
  const stream = openJsonStream(ctx.req, ctx.res);
  stream.write({ status: image.id });
  stream.end();
}

export function registerImageRegistryRoutes(r: Router, svc: ImageService): void {
  r.get('/distribution/{name*}/json', async (ctx) => {
    const creds = decodeRegistryAuth(header(ctx.req.headers, 'x-registry-auth'));
    sendJson(ctx.res, 200, await inspectDistribution(svc, ctx.params.name, creds));
  });

  r.post('/images/create', async (ctx) => {
    const from = ctx.query.get('fromImage');
    const src = ctx.query.get('fromSrc');
    if (src && !from) return importRoute(ctx, svc, src);
    if (!from) throw badParameter('fromImage must be set');
    const ref = parseReference(from, undefined);
    const tag = ctx.query.get('tag') ?? '';
    if (tag !== '') {
      if (isDigest(tag)) ref.digest = tag;
      else if (/^[a-z0-9]+:/.test(tag)) throw new ReferenceError('invalid reference format');
      else {
        checkTag(tag);
        ref.tag = tag;
      }
    }
    if (!ref.tag && !ref.digest) ref.tag = 'latest';
    if (ref.tag && ref.digest) delete ref.tag; // a digest pins the content; dockerd ignores the tag then
    const creds = decodeRegistryAuth(header(ctx.req.headers, 'x-registry-auth'));
    const platform = parsePlatform(ctx.query.get('platform'));
    let stream: ReturnType<typeof openJsonStream> | undefined;
    await pullImage(
      svc,
      { ref, creds, ...(platform ? { platform } : {}) },
      () => (stream = openJsonStream(ctx.req, ctx.res)),
    );
    stream?.end();
  });

  r.post('/images/{name*}/push', async (ctx) => {
    const ref = parseReference(ctx.params.name, undefined);
    const tag = ctx.query.get('tag') ?? '';
    if (tag !== '') {
      checkTag(tag);
      ref.tag = tag;
    }
    const creds = decodeRegistryAuth(header(ctx.req.headers, 'x-registry-auth'));
    let stream: ReturnType<typeof openJsonStream> | undefined;
    await pushImage(
      svc,
      { ref, tagGiven: ref.tag !== undefined, creds },
      () => (stream = openJsonStream(ctx.req, ctx.res)),
    );
    stream?.end();
  });

  r.post('/auth', async (ctx) => {
    await login(await readJsonBody<unknown>(ctx.req, {}), svc.engine.config.insecureRegistries);
    sendJson(ctx.res, 200, { Status: 'Login Succeeded', IdentityToken: '' });
  });
}
