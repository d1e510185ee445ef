/** Engine API projections of image records: /images/json, /images/{name}/json, history, df. */
import type { HistoryItem, ImageInspect, ImageSummary } from '@berth/common';
import type { SystemProviders } from '../engine.js';
import type { HistoryEntry } from './oci.js';
import type { ImageService } from './service.js';
import type { ImageRecord } from './store.js';

export function createdSeconds(img: ImageRecord): number {
  const t = Date.parse(img.config.created ?? '');
  return Number.isNaN(t) ? 0 : Math.floor(t / 1000);
}

export function summary(svc: ImageService, img: ImageRecord, shared?: Map<string, number>): ImageSummary {
  const size = svc.size(img);
  let sharedSize = -1;
  if (shared)
    sharedSize = img.chainIds.reduce(
      (n, c) => n + ((shared.get(c) ?? 0) > 1 ? (svc.layers.get(c)?.size ?? 0) : 0),
      0,
    );
  return {
    Id: img.id,
    ParentId: img.meta.parent ?? '',
    RepoTags: svc.repoTags(img),
    RepoDigests: svc.repoDigests(img),
    Created: createdSeconds(img),
    Size: size,
    SharedSize: sharedSize,
    Labels: img.config.config?.Labels ?? {},
    Containers: svc.usedBy(img.id).length,
  };
}

/** How many images use each layer (for SharedSize). */
export function layerUseCounts(svc: ImageService): Map<string, number> {
  const m = new Map<string, number>();
  for (const img of svc.store.all()) for (const c of new Set(img.chainIds)) m.set(c, (m.get(c) ?? 0) + 1);
  return m;
}

export function inspect(svc: ImageService, img: ImageRecord): ImageInspect {
  const dirs = svc.layerDirs(img);
  const top = img.chainIds.length ? svc.layers.dir(img.chainIds[img.chainIds.length - 1]) : '';
  const data: Record<string, string> = top
    ? { MergedDir: `${top}/merged`, UpperDir: `${top}/diff`, WorkDir: `${top}/work` }
    : {};
  if (dirs.length > 1) data.LowerDir = dirs.slice(1).join(':');
  const c = img.config;
  const out: ImageInspect = {
    Id: img.id,
    RepoTags: svc.repoTags(img),
    RepoDigests: svc.repoDigests(img),
    Parent: img.meta.parent ?? '',
    Comment: c.comment ?? '',
    Created: c.created ?? '0001-01-01T00:00:00Z',
    DockerVersion: c.docker_version ?? '',
    Author: c.author ?? '',
    Config: c.config ?? {},
    Architecture: c.architecture,
    Os: c.os,
    Size: svc.size(img),
    GraphDriver: { Name: 'overlay2', Data: data },
    RootFS: { Type: 'layers', Layers: [...img.diffIds] },
    Metadata: { LastTagTime: img.meta.lastTagTime ?? '0001-01-01T00:00:00Z' },
  };
  if (c.variant) out.Variant = c.variant;
  if (c['os.version']) out.OsVersion = c['os.version'];
  return out;
}

/** Newest first; only the top entry carries the image ID (dockerd shows <missing> for pulled history). */
export function history(svc: ImageService, img: ImageRecord): HistoryItem[] {
  const metas = img.chainIds.map((ch) => svc.layers.get(ch));
  const entries: HistoryEntry[] = img.config.history?.length
    ? img.config.history
    : img.diffIds.map(() => ({ created: img.config.created ?? '', created_by: '', empty_layer: false }));
  let li = 0;
  const items: HistoryItem[] = entries.map((h) => {
    const size = h.empty_layer ? 0 : (metas[li++]?.size ?? 0);
    const t = Date.parse(h.created ?? '');
    return {
      Id: '<missing>',
      Created: Number.isNaN(t) ? 0 : Math.floor(t / 1000),
      CreatedBy: h.created_by ?? '',
      Tags: null,
      Size: size,
      Comment: h.comment ?? '',
    };
  });
  items.reverse();
  if (items.length) {
    items[0].Id = img.id;
    items[0].Tags = svc.repoTags(img);
  }
  return items;
}

/** The images' part of /info and /system/df. */
export function imageSystemProvider(svc: ImageService): SystemProviders {
  return {
    info: async () => ({ Images: svc.store.all().length }),
    df: async () => {
      const counts = layerUseCounts(svc);
      return {
        LayersSize: svc.layers.all().reduce((n, l) => n + l.size, 0),
        Images: svc.store.all().map((i) => summary(svc, i, counts)),
      };
    },
  };
}
