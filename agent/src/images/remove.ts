/** docker rmi and docker image prune, with dockerd's untag-vs-delete rules and 409 conflicts. */
import type { ImageDeleteItem, ImagePruneResponse } from '@berth/common';
import { conflict, notFound } from '../errors.js';
import { familiarString, formatReference, parseReference, repoName, type Reference } from './reference.js';
import type { ImageService } from './service.js';
import type { ImageRecord } from './store.js';

export interface RemoveOptions {
  force?: boolean;
  noprune?: boolean;
}

const short = (id: string) => id.replace(/^sha256:/, '').slice(0, 12);

function asReference(input: string): Reference | undefined {
  const hex = input.replace(/^sha256:/, '');
  if (/^[a-f0-9]{1,64}$/.test(hex) && (input.startsWith('sha256:') || hex.length === 64)) return undefined;
  try {
    return parseReference(input);
  } catch {
    return undefined;
  }
}

function children(svc: ImageService, id: string): ImageRecord[] {
  return svc.store.all().filter((i) => i.meta.parent === id);
}

/** Deletes the image record, then layers/blobs nobody references any more. */
async function deleteRecord(
  svc: ImageService,
  img: ImageRecord,
  out: ImageDeleteItem[],
  noprune: boolean,
): Promise<void> {
  await svc.store.remove(img.id);
  out.push({ Deleted: img.id });
  svc.engine.events.publish('image', 'delete', img.id, { name: img.id });
  const before = new Set(svc.layers.all().map((l) => l.chainId));
  await svc.gc();
  for (const c of [...img.chainIds].reverse())
    if (before.has(c) && !svc.layers.has(c)) out.push({ Deleted: c });
  // Untagged local parents (docker commit/build chains) go too, as dockerd does unless noprune.
  const parent = img.meta.parent ? svc.store.get(img.meta.parent) : undefined;
  if (
    !noprune &&
    parent &&
    svc.store.refsOf(parent.id).length === 0 &&
    children(svc, parent.id).length === 0 &&
    svc.usedBy(parent.id).length === 0
  ) {
    await deleteRecord(svc, parent, out, noprune);
  }
}

async function untag(
  svc: ImageService,
  img: ImageRecord,
  full: string,
  out: ImageDeleteItem[],
): Promise<void> {
  if (!(await svc.store.deleteRef(full))) return;
  out.push({ Untagged: familiarString(parseReference(full, undefined)) });
  svc.engine.events.publish('image', 'untag', img.id, { name: img.id });
  // As dockerd: once a repository has no tag left on this image, its digest references go too.
  const ref = parseReference(full, undefined);
  if (ref.digest) return;
  const repo = repoName(ref);
  const sameRepo = (r: string) => repoName(parseReference(r, undefined)) === repo;
  if (svc.store.tagsOf(img.id).some(sameRepo)) return;
  for (const r of svc.store.refsOf(img.id)) if (r.includes('@') && sameRepo(r)) await untag(svc, img, r, out);
  const kept = img.meta.repoDigests.filter((r) => !sameRepo(r));
  if (kept.length !== img.meta.repoDigests.length) {
    for (const r of img.meta.repoDigests)
      if (sameRepo(r)) out.push({ Untagged: familiarString(parseReference(r, undefined)) });
    await svc.store.updateMeta(img.id, { repoDigests: kept });
  }
}

export async function removeImage(
  svc: ImageService,
  input: string,
  o: RemoveOptions = {},
): Promise<ImageDeleteItem[]> {
  const img = svc.resolve(input);
  if (!img) throw notFound(`No such image: ${input}`);
  const out: ImageDeleteItem[] = [];
  const ref = asReference(input);
  const refs = svc.store.refsOf(img.id);
  const users = svc.usedBy(img.id);
  const byRef = ref !== undefined && refs.includes(formatReference(ref));

  if (byRef) {
    const full = formatReference(ref);
    const others = refs.filter((r) => r !== full);
    // Another tag keeps the image alive: untag only.
    if (others.some((r) => !r.includes('@'))) {
      await untag(svc, img, full, out);
      return out;
    }
    if (users.length > 0 && !o.force)
      throw conflict(
        `conflict: unable to remove repository reference "${input}" (must force) - container ${short(users[0])} is using its referenced image ${short(img.id)}`,
      );
    await untag(svc, img, full, out);
    for (const r of others) await untag(svc, img, r, out);
  } else {
    const repos = new Set(refs.map((r) => parseReference(r, undefined)).map((r) => `${r.domain}/${r.path}`));
    if (repos.size > 1 && !o.force)
      throw conflict(
        `conflict: unable to delete ${short(img.id)} (must be forced) - image is referenced in multiple repositories`,
      );
    if (users.length > 0 && !o.force)
      throw conflict(
        `conflict: unable to delete ${short(img.id)} (must be forced) - image is being used by stopped container ${short(users[0])}`,
      );
    if (children(svc, img.id).length > 0)
      throw conflict(
        `conflict: unable to delete ${short(img.id)} (cannot be forced) - image has dependent child images`,
      );
    for (const r of refs) await untag(svc, img, r, out);
  }
  if (users.length > 0) return out; // forced: untagged, kept dangling while a container needs it
  if (children(svc, img.id).length > 0) {
    if (out.length > 0) return out;
    throw conflict(
      `conflict: unable to delete ${short(img.id)} (cannot be forced) - image has dependent child images`,
    );
  }
  await deleteRecord(svc, img, out, o.noprune === true);
  return out;
}

/** `docker image prune`: dangling images, or with dangling=false every image no container uses. */
export async function pruneImages(
  svc: ImageService,
  o: { danglingOnly: boolean; until?: number; labels?: (img: ImageRecord) => boolean },
): Promise<ImagePruneResponse> {
  const deleted: ImageDeleteItem[] = [];
  const sizeBefore = svc.layers.all().reduce((n, l) => n + l.size, 0);
  let progress = true;
  while (progress) {
    progress = false;
    for (const img of svc.store.all()) {
      if (!svc.store.get(img.id)) continue;
      const tags = svc.store.tagsOf(img.id);
      if (o.danglingOnly && tags.length > 0) continue;
      if (svc.usedBy(img.id).length > 0) continue;
      if (children(svc, img.id).length > 0) continue;
      if (o.until !== undefined && Date.parse(img.config.created ?? img.meta.added) / 1000 >= o.until)
        continue;
      if (o.labels && !o.labels(img)) continue;
      for (const r of svc.store.refsOf(img.id)) await untag(svc, img, r, deleted);
      await deleteRecord(svc, img, deleted, false);
      progress = true;
    }
  }
  await svc.gc();
  const sizeAfter = svc.layers.all().reduce((n, l) => n + l.size, 0);
  return { ImagesDeleted: deleted.length ? deleted : null, SpaceReclaimed: sizeBefore - sizeAfter };
}
