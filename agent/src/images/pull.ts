/**
 * docker pull: resolve the manifest (index → our platform), fetch the config, then fetch missing layers in
 * parallel while streaming dockerd's progress lines. Errors before the first progress line are HTTP errors
 * (404/401/500 JSON); after it they are in-band, as dockerd does.
 */
import { EngineError, internal, notFound } from '../errors.js';
import type { LayerMeta } from '../storage/layers.js';
import { chainIds } from '../storage/layers.js';
import {
  daemonPlatform,
  FormatError,
  LAYER_TYPES,
  parseConfig,
  parseManifest,
  platformString,
  selectPlatform,
  type Descriptor,
  type ImageManifest,
  type Platform,
} from './oci.js';
import { progress, shortId, status, type ProgressOut } from './progress.js';
import { familiarName, familiarString, formatReference, repoName, type Reference } from './reference.js';
import type { Credentials } from './registry/auth.js';
import { RegistryAuthError, RegistryClient, RegistryError, type Manifest } from './registry/client.js';
import { endpointsFor } from './registry/endpoints.js';
import { ConnectError } from './registry/http.js';
import type { ImageService } from './service.js';
import type { ImageRecord } from './store.js';

export interface PullRequest {
  ref: Reference;
  creds?: Credentials | undefined;
  platform?: Platform;
}

/** Maps registry failures to dockerd's messages and status codes. */
export function pullError(err: unknown, ref: Reference): Error {
  if (err instanceof EngineError) return err;
  const fam = familiarName(ref);
  // Not 401: the docker CLI answers a 401 from pull by prompting for a login; dockerd does not send one.
  if (err instanceof RegistryAuthError) {
    if (err.codes.includes('DENIED') || err.codes.includes('UNAUTHORIZED'))
      return notFound(
        `pull access denied for ${fam}, repository does not exist or may require 'docker login': ${err.message}`,
      );
    return internal(err.message);
  }
  if (err instanceof RegistryError) {
    if (err.codes.includes('NAME_UNKNOWN') || err.codes.includes('DENIED'))
      return notFound(
        `pull access denied for ${fam}, repository does not exist or may require 'docker login': ${err.message}`,
      );
    if (err.codes.includes('MANIFEST_UNKNOWN') || err.status === 404)
      return notFound(`manifest for ${familiarString(ref)} not found: ${err.message}`);
    return internal(err.message);
  }
  if (err instanceof ConnectError || err instanceof FormatError) return internal(err.message);
  return err as Error;
}

interface Resolved {
  client: RegistryClient;
  /** What the tag pointed at (an index or a manifest): the RepoDigest. */
  topDigest: string;
  manifest: ImageManifest;
  manifestRaw: Manifest;
  configRaw: Buffer;
}

async function resolveOn(
  client: RegistryClient,
  ref: Reference,
  platform: Platform | undefined,
): Promise<Resolved> {
  const top = await client.getManifest(ref.digest ?? ref.tag ?? 'latest');
  let raw = top;
  let parsed = parseManifest(top.body, top.mediaType);
  if (parsed.kind === 'index') {
    const want = platform ?? undefined;
    const desc = selectPlatform(parsed.index, want);
    if (!desc)
      throw notFound(
        `no matching manifest for ${platformString(want ?? daemonPlatform())} in the manifest list entries`,
      );
    raw = await client.getManifest(desc.digest);
    parsed = parseManifest(raw.body, raw.mediaType);
    if (parsed.kind !== 'manifest') throw new FormatError('invalid image index: an entry is itself an index');
  }
  const manifest = parsed.manifest;
  for (const l of manifest.layers) {
    if (l.urls?.length) throw new FormatError(`foreign layer ${l.digest} is not supported`);
    if (!LAYER_TYPES.includes(l.mediaType) && l.mediaType)
      throw new FormatError(`unsupported layer media type ${l.mediaType}`);
  }
  const configRaw = await client.blobBytes(manifest.config.digest);
  return { client, topDigest: top.digest, manifest, manifestRaw: raw, configRaw };
}

/**
 * Pulls `req.ref`. `open` starts the 200 response stream; it is called only once the manifest and config
 * were fetched, so early failures can still be proper HTTP errors.
 */
export async function pullImage(
  svc: ImageService,
  req: PullRequest,
  open: () => ProgressOut,
): Promise<ImageRecord> {
  const { ref } = req;
  const eps = endpointsFor(ref.domain, svc.engine.config);
  let resolved: Resolved | undefined;
  let lastErr: unknown;
  for (const ep of eps) {
    const client = new RegistryClient({ base: ep.base, repo: ref.path, creds: req.creds, actions: 'pull' });
    try {
      resolved = await resolveOn(client, ref, req.platform);
      break;
    } catch (err) {
      lastErr = err;
      svc.log.debug('pull endpoint failed', { endpoint: ep.base.href, err: (err as Error).message });
      if (!ep.mirror) break;
    }
  }
  if (!resolved) throw pullError(lastErr, ref);
  const { client, manifest, configRaw, topDigest, manifestRaw } = resolved;
  let config;
  try {
    config = parseConfig(configRaw);
  } catch (err) {
    throw pullError(err, ref);
  }
  const diffIds = config.rootfs.diff_ids;
  if (diffIds.length !== manifest.layers.length)
    throw internal(
      `layers from manifest don't match image configuration (${manifest.layers.length} layers, ${diffIds.length} diff ids)`,
    );
  const chains = chainIds(diffIds);
  const unpin = svc.pin([...chains, manifest.config.digest, manifestRaw.digest, topDigest]);
  try {
    const out = open();
    const tagOrDigest = ref.digest ?? ref.tag ?? 'latest';
    status(out, tagOrDigest, `Pulling from ${ref.path}`);
    const jobs: Promise<LayerMeta>[] = [];
    const seen = new Set<string>();
    manifest.layers.forEach((desc: Descriptor, i) => {
      const id = shortId(desc.digest);
      const chainId = chains[i];
      if (seen.has(chainId)) return;
      seen.add(chainId);
      if (svc.layers.has(chainId)) {
        status(out, id, 'Already exists');
        return;
      }
      status(out, id, 'Pulling fs layer');
    });
    seen.clear();
    manifest.layers.forEach((desc: Descriptor, i) => {
      const chainId = chains[i];
      if (seen.has(chainId) || svc.layers.has(chainId)) return;
      seen.add(chainId);
      const id = shortId(desc.digest);
      jobs.push(
        svc.fetcher.fetch({ chainId, parent: chains[i - 1], diffId: diffIds[i], desc, client }, (e) => {
          if (e.current !== undefined && e.total !== undefined)
            progress(out, id, e.status, e.current, e.total);
          else status(out, id, e.status);
        }),
      );
    });
    const results = await Promise.allSettled(jobs);
    const failed = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
    if (failed) throw failed.reason;

    await svc.blobs.put(configRaw);
    await svc.blobs.put(manifestRaw.body);
    const repoDigest = formatReference({ domain: ref.domain, path: ref.path, digest: topDigest });
    const { image, isNew } = await svc.store.add(manifest.config.digest, {
      repoDigests: [repoDigest],
      manifests: [
        {
          digest: manifestRaw.digest,
          mediaType: manifestRaw.mediaType || manifest.mediaType || '',
          size: manifestRaw.body.length,
        },
      ],
    });
    let changed = isNew;
    if (ref.tag !== undefined && !ref.digest) {
      const full = formatReference({ domain: ref.domain, path: ref.path, tag: ref.tag });
      const before = await svc.store.setRef(full, image.id);
      if (before !== image.id) {
        changed = true;
        await svc.store.updateMeta(image.id, { lastTagTime: new Date().toISOString() });
      }
    } else {
      const before = await svc.store.setRef(repoDigest, image.id);
      if (before !== image.id) changed = true;
    }
    status(out, undefined, `Digest: ${topDigest}`);
    const shown = ref.digest
      ? `${familiarName(ref)}@${ref.digest}`
      : familiarString({ domain: ref.domain, path: ref.path, tag: ref.tag ?? 'latest' });
    status(
      out,
      undefined,
      changed ? `Status: Downloaded newer image for ${shown}` : `Status: Image is up to date for ${shown}`,
    );
    svc.engine.events.publish('image', 'pull', shown, { name: familiarName(ref) });
    svc.log.info('pulled', { ref: repoName(ref), image: image.id });
    return image;
  } catch (err) {
    throw pullError(err, ref);
  } finally {
    unpin();
  }
}
