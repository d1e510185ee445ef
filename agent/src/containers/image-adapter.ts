/** The images domain as containers/ needs it (ImagePort over ImageService). */
import type { ImageService } from '../images/index.js';
import type { CommitRequest, ImagePort } from './image-port.js';

export function imagePort(images: ImageService): ImagePort {
  return {
    async resolve(ref) {
      const rec = images.resolve(ref);
      if (!rec) return undefined;
      return { id: rec.id, config: rec.config.config ?? {}, layerDirs: images.layerDirs(rec) };
    },
    async commit(o: CommitRequest) {
      const img = await images.createImage({
        parent: o.parentId,
        layerTar: o.layerTar,
        config: {
          config: o.config,
          ...(o.author ? { author: o.author } : {}),
          ...(o.comment ? { comment: o.comment } : {}),
          container: o.containerId,
        },
        history: {
          created_by: o.createdBy,
          ...(o.comment ? { comment: o.comment } : {}),
          ...(o.author ? { author: o.author } : {}),
        },
        tags: o.tags,
      });
      return img.id;
    },
  };
}
