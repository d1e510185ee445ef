/**
 * docker push: for each layer blob, HEAD (exists → "Layer already exists"), try a cross-repository mount from
 * a repository on the same registry we pulled it from, else upload; then the config and the manifest.
 * The manifest we pulled is pushed byte for byte when we still hold all of its blobs, so digests are stable.
 */
import { Transform } from 'node:stream';
import { EngineError, internal, notFound } from '../errors.js';
import { Semaphore } from './layer-fetch.js';
import { parseManifest } from './oci.js';
import { progress, shortId, status, type ProgressOut } from './progress.js';
import { familiarName, formatReference, parseReference, repoName, type Reference } from './reference.js';
import type { Credentials } from './registry/auth.js';
import { RegistryAuthError, RegistryClient, RegistryError } from './registry/client.js';
import { endpointsFor } from './registry/endpoints.js';
import { ConnectError } from './registry/http.js';
import type { ImageService } from './service.js';
import type { ImageRecord } from './store.js';

export interface PushRequest {
  /** Repository, optionally with a tag; `tag` wins when given. */
  ref: Reference;
  tagGiven: boolean;
  creds?: Credentials | undefined;
}

function pushError(err: unknown, ref: Reference): Error {
  if (err instanceof EngineError) return err;
  if (err instanceof RegistryAuthError || (err instanceof RegistryError && err.codes.includes('DENIED')))
    return internal(
      err.codes.includes('DENIED') || err.codes.includes('UNAUTHORIZED')
        ? `denied: requested access to the resource is denied (${err.message})`
        : err.message,
    );
  if (err instanceof RegistryError) return internal(err.message);
  if (err instanceof ConnectError) return internal(err.message);
  void ref;
  return err as Error;
}

/** Tags of the repository to push: the given one, or all of them (dockerd's behaviour for a bare name). */
function targets(svc: ImageService, req: PushRequest): { tag: string; image: ImageRecord }[] {
  const repo = repoName(req.ref);
  if (req.tagGiven) {
    const full = formatReference({
      domain: req.ref.domain,
      path: req.ref.path,
      tag: req.ref.tag ?? 'latest',
    });
    const id = svc.store.refTarget(full);
    const image = id ? svc.store.get(id) : undefined;
    if (!image)
      throw notFound(
        `An image does not exist locally with the tag: ${familiarName(req.ref)}${req.ref.tag && req.ref.tag !== 'latest' ? ':' + req.ref.tag : ''}`,
      );
    return [{ tag: req.ref.tag ?? 'latest', image }];
  }
  const out: { tag: string; image: ImageRecord }[] = [];
  for (const [full, id] of svc.store.allRefs()) {
    if (full.includes('@')) continue;
    const r = parseReference(full, undefined);
    if (repoName(r) === repo && r.tag) out.push({ tag: r.tag, image: svc.store.get(id)! });
  }
  if (out.length === 0)
    throw notFound(`An image does not exist locally with the tag: ${familiarName(req.ref)}`);
  return out;
}

export async function pushImage(svc: ImageService, req: PushRequest, open: () => ProgressOut): Promise<void> {
  const { ref } = req;
  const list = targets(svc, req);
  const ep = endpointsFor(ref.domain, {
    registryMirrors: [],
    insecureRegistries: svc.engine.config.insecureRegistries,
  })[0];
  const out = open();
  status(out, undefined, `The push refers to repository [${repoName(ref)}]`);
  try {
    for (const { tag, image } of list) await pushOne(svc, req, ep.base, tag, image, out);
  } catch (err) {
    throw pushError(err, ref);
  }
}

async function pushOne(
  svc: ImageService,
  req: PushRequest,
  base: URL,
  tag: string,
  image: ImageRecord,
  out: ProgressOut,
): Promise<void> {
  const { ref } = req;
  const blobs = svc.layerBlobs(image);
  // Mount sources: other repositories on this registry that we pulled this image from.
  const sources = image.meta.repoDigests
    .map((r) => parseReference(r, undefined))
    .filter((r) => r.domain === ref.domain && r.path !== ref.path)
    .map((r) => r.path);
  const client = new RegistryClient({
    base,
    repo: ref.path,
    creds: req.creds,
    actions: 'pull,push',
    extraScopes: sources.map((s) => `repository:${s}:pull`),
  });
  const sem = new Semaphore(3);
  const order = [...blobs].reverse();
  for (const b of order) status(out, shortId(b.diffId), 'Preparing');
  await Promise.all(
    order.map(async (b) => {
      const id = shortId(b.diffId);
      if (sem.busy) status(out, id, 'Waiting');
      const release = await sem.acquire();
      try {
        if (await client.blobExists(b.digest)) {
          status(out, id, 'Layer already exists');
          return;
        }
        const started = await client.mountOrStart(b.digest, sources[0]);
        if (started.mounted) {
          status(out, id, `Mounted from ${familiarName({ domain: ref.domain, path: sources[0] })}`);
          return;
        }
        let last = 0;
        await client.upload(started.location, b.digest, b.size, () => {
          let sent = 0;
          const counter = new Transform({
            transform(chunk: Buffer, _e, cb) {
              sent += chunk.length;
              const now = Date.now();
              if (now - last >= 100 || sent === b.size) {
                last = now;
                progress(out, id, 'Pushing', sent, b.size);
              }
              cb(null, chunk);
            },
          });
          return svc.blobs.open(b.digest).pipe(counter);
        });
        status(out, id, 'Pushed');
      } finally {
        release();
      }
    }),
  );
  // The config blob.
  if (!(await client.blobExists(image.id))) {
    const started = await client.mountOrStart(image.id, sources[0]);
    if (!started.mounted)
      await client.upload(started.location, image.id, image.configSize, () => svc.blobs.open(image.id));
  }
  const { body, mediaType } = await manifestToPush(svc, image);
  const digest = await client.putManifest(tag, body, mediaType);
  status(out, undefined, `${tag}: digest: ${digest} size: ${body.length}`);
  out.write({ progressDetail: {}, aux: { Tag: tag, Digest: digest, Size: body.length } });
  const repoDigest = formatReference({ domain: ref.domain, path: ref.path, digest });
  if (!image.meta.repoDigests.includes(repoDigest))
    await svc.store.updateMeta(image.id, { repoDigests: [...image.meta.repoDigests, repoDigest] });
  if (!image.meta.manifests.some((m) => m.digest === digest)) {
    await svc.blobs.put(body);
    await svc.store.updateMeta(image.id, {
      manifests: [...image.meta.manifests, { digest, mediaType, size: body.length }],
    });
  }
  svc.engine.events.publish('image', 'push', `${familiarName(ref)}:${tag}`, { name: familiarName(ref) });
}

/** The stored manifest when its blobs are exactly ours, else a schema2 manifest built from our layers. */
async function manifestToPush(
  svc: ImageService,
  image: ImageRecord,
): Promise<{ body: Buffer; mediaType: string }> {
  const ours = svc.layerBlobs(image).map((b) => b.digest);
  for (const m of image.meta.manifests) {
    if (!svc.blobs.has(m.digest)) continue;
    const body = await svc.blobs.read(m.digest);
    try {
      const p = parseManifest(body, m.mediaType);
      if (
        p.kind === 'manifest' &&
        p.manifest.config.digest === image.id &&
        p.manifest.layers.map((l) => l.digest).join() === ours.join()
      )
        return {
          body,
          mediaType: m.mediaType || p.manifest.mediaType || 'application/vnd.oci.image.manifest.v1+json',
        };
    } catch {
      /* fall through to a built one */
    }
  }
  return svc.buildManifest(image);
}
