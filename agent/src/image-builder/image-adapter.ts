/** The images domain as the builder sees it (BuildImages): resolve, pull, create a step image, tag. */
import fs from 'node:fs';
import type { ImageService, ImageRecord } from '../images/index.js';
import { parseReference } from '../images/index.js';
import { pullImage } from '../images/pull.js';
import { decodeRegistryAuth, type Credentials } from '../images/registry/auth.js';
import type { BuildImage, BuildImages } from './ports.js';

function view(svc: ImageService, rec: ImageRecord): BuildImage {
  return {
    id: rec.id,
    config: rec.config.config ?? {},
    layerDirs: svc.layerDirs(rec),
    architecture: rec.config.architecture,
    os: rec.config.os,
    ...(rec.config.variant ? { variant: rec.config.variant } : {}),
    ...(rec.config.author ? { author: rec.config.author } : {}),
    history: rec.config.history ?? [],
    diffIds: rec.config.rootfs.diff_ids,
  };
}

/**
 * X-Registry-Config (base64 JSON: registry → auth config, what the CLI has for every registry it logged in
 * to) → the credentials for one registry domain.
 */
export function credentialsFor(header: string | undefined, domain: string): Credentials | undefined {
  if (!header) return undefined;
  let map: unknown;
  try {
    map = JSON.parse(Buffer.from(header.replace(/-/g, '+').replace(/_/g, '/'), 'base64').toString('utf8'));
  } catch {
    return undefined;
  }
  if (typeof map !== 'object' || map === null) return undefined;
  for (const [key, value] of Object.entries(map as Record<string, unknown>)) {
    const host = key.replace(/^https?:\/\//, '').replace(/\/.*$/, '');
    const matches =
      host === domain ||
      (domain === 'docker.io' && (host === 'index.docker.io' || host === 'registry-1.docker.io'));
    if (!matches || typeof value !== 'object' || value === null) continue;
    return decodeRegistryAuth(Buffer.from(JSON.stringify(value)).toString('base64'));
  }
  return undefined;
}

export function buildImagesFrom(svc: ImageService): BuildImages {
  return {
    async resolve(ref) {
      const rec = svc.resolve(ref);
      return rec ? view(svc, rec) : undefined;
    },
    async pull(ref, out, _signal, registryConfig) {
      const parsed = parseReference(ref);
      const creds = credentialsFor(registryConfig, parsed.domain);
      const rec = await pullImage(svc, { ref: parsed, ...(creds ? { creds } : {}) }, () => ({ write: out }));
      return view(svc, rec);
    },
    async create(req) {
      const rec = await svc.createImage({
        ...(req.parent ? { parent: req.parent } : {}),
        ...(req.layerTar
          ? { layerTar: typeof req.layerTar === 'string' ? fs.createReadStream(req.layerTar) : req.layerTar }
          : {}),
        ...(req.existingLayer ? { existingLayer: req.existingLayer } : {}),
        config: {
          config: req.config,
          ...(req.author ? { author: req.author } : {}),
          ...(req.container ? { container: req.container } : {}),
          ...(req.containerConfig ? { container_config: req.containerConfig } : {}),
        },
        history: req.history,
        compress: false,
      });
      return rec.id;
    },
    async tag(id, ref) {
      await svc.tag(svc.mustResolve(id), parseReference(ref));
    },
    checkTag(ref) {
      parseReference(ref);
    },
  };
}
