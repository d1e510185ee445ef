/** The images domain as the builder sees it (BuildImages): resolve, pull, create a step image, tag. */
import fs from 'node:fs';
import type { ImageService, ImageRecord } from '../images/index.js';
import { parseReference } from '../images/index.js';
import { pullImage } from '../images/pull.js';
import type { BuildImage, BuildImages } from './ports.js';

function view(svc: ImageService, rec: ImageRecord): BuildImage {
  return {
    id: rec.id,
    config: rec.config.config ?? {},
    layerDirs: svc.layerDirs(rec),
    architecture: rec.config.architecture,
    os: rec.config.os,
    ...(rec.config.variant ? { variant: rec.config.variant } : {}),
  };
}

export function buildImagesFrom(svc: ImageService): BuildImages {
  return {
    async resolve(ref) {
      const rec = svc.resolve(ref);
      return rec ? view(svc, rec) : undefined;
    },
    async pull(ref, out) {
      const rec = await pullImage(svc, { ref: parseReference(ref) }, () => ({ write: out }));
      return view(svc, rec);
    },
    async create(req) {
      const rec = await svc.createImage({
        ...(req.parent ? { parent: req.parent } : {}),
        ...(req.layerTar ? { layerTar: typeof req.layerTar === 'string' ? fs.createReadStream(req.layerTar) : req.layerTar } : {}),
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
