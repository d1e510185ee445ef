/**
 * `GET /distribution/{name}/json` (docker manifest inspect --verbose, buildx, compose pull checks): what a
 * registry holds for a reference, as dockerd's distribution router reports it: the descriptor of what the tag
 * (or digest) names, and the platforms: each entry of an index or manifest list, or a Docker schema2
 * manifest's config platform. An OCI image manifest reports no platforms, as dockerd's switch has no case
 * for it.
 */
import { internal, notFound, unauthorized } from '../errors.js';
import { MT, parseConfig, parseManifest, type Descriptor, type Platform } from './oci.js';
import { parseReference } from './reference.js';
import type { Credentials } from './registry/auth.js';
import { RegistryAuthError, RegistryClient, RegistryError } from './registry/client.js';
import { endpointsFor } from './registry/endpoints.js';
import { ConnectError } from './registry/http.js';
import type { ImageService } from './service.js';

export interface DistributionInspect {
  Descriptor: { mediaType: string; digest: string; size: number };
  Platforms: Platform[] | null;
}

/** ocispec.Platform as dockerd marshals it: the fields a config or index entry has, empty ones left out. */
function platformOf(p: Partial<Platform> & { 'os.features'?: string[] }): Platform {
  return {
    architecture: p.architecture ?? '',
    os: p.os ?? '',
    ...(p['os.version'] ? { 'os.version': p['os.version'] } : {}),
    ...(p['os.features']?.length ? { 'os.features': p['os.features'] } : {}),
    ...(p.variant ? { variant: p.variant } : {}),
  };
}

function distributionError(err: unknown): Error {
  if (err instanceof RegistryAuthError) return unauthorized(err.message);
  if (err instanceof RegistryError)
    return err.status === 404 || err.codes.includes('MANIFEST_UNKNOWN') || err.codes.includes('NAME_UNKNOWN')
      ? notFound(err.message)
      : internal(err.message);
  if (err instanceof ConnectError) return internal(err.message);
  return err as Error;
}

export async function inspectDistribution(
  svc: ImageService,
  name: string,
  creds: Credentials | undefined,
): Promise<DistributionInspect> {
  const ref = parseReference(name, 'latest');
  let lastErr: unknown;
  for (const ep of endpointsFor(ref.domain, svc.engine.config)) {
    const client = new RegistryClient({ base: ep.base, repo: ref.path, creds, actions: 'pull' });
    try {
      const top = await client.getManifest(ref.digest ?? ref.tag ?? 'latest');
      const parsed = parseManifest(top.body, top.mediaType);
      const mediaType = top.mediaType || (parsed.kind === 'index' ? MT.ociIndex : MT.ociManifest);
      let platforms: Platform[] | null = null;
      if (parsed.kind === 'index')
        platforms = parsed.index.manifests.map((m: Descriptor) => platformOf(m.platform ?? {}));
      else if (mediaType === MT.dockerManifest) {
        const config = parseConfig(
          await client.blobBytes(parsed.manifest.config.digest),
        ) as Partial<Platform>;
        if (config.os || config.architecture) platforms = [platformOf(config)];
      }
      return { Descriptor: { mediaType, digest: top.digest, size: top.body.length }, Platforms: platforms };
    } catch (err) {
      lastErr = err;
      if (!ep.mirror) break;
    }
  }
  throw distributionError(lastErr);
}
