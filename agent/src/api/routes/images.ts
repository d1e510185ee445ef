/** Image endpoints: list, inspect, history, tag, remove, prune, search; registry ones live in images-registry.ts. */
import type { ImageSummary } from '@berth/common';
import type { ImageService } from '../../images/service.js';
import { pruneImages, removeImage } from '../../images/remove.js';
import { checkTag, parseReference } from '../../images/reference.js';
import type { ImageRecord } from '../../images/store.js';
import { createdSeconds, history, inspect, layerUseCounts, summary } from '../../images/views.js';
import { parseTimestamp } from '../../events/bus.js';
import { badParameter, notImplemented } from '../errors.js';
import { checkFilters, matchLabels, parseFilters, queryBool, sendJson, type Filters } from '../http.js';
import type { Router } from '../router.js';

/** Docker's path.Match-style glob on familiar references: `*` does not cross `/`. */
function glob(pattern: string): RegExp {
  const src = pattern
    .replace(/[.+^$()|{}\\]/g, '\\$&')
    .replace(/\*/g, '[^/]*')
    .replace(/\?/g, '[^/]');
  return new RegExp(`^${src}$`);
}

function referenceMatches(svc: ImageService, img: ImageRecord, patterns: string[]): boolean {
  const tags = svc.repoTags(img);
  const digests = svc.repoDigests(img);
  return patterns.some((p) => {
    const re = glob(p);
    const hasTag = /:[^/]*$/.test(p) || p.includes('@');
    return [...tags, ...digests].some((t) => (hasTag ? re.test(t) : re.test(t.replace(/[:@][^/]*$/, ''))));
  });
}

function timeBound(svc: ImageService, v: string): number {
  const img = svc.resolve(v);
  if (img) return createdSeconds(img);
  const ns = parseTimestamp(v);
  if (ns === undefined) throw badParameter(`No such image: ${v}`);
  return ns / 1e9;
}

export function listImages(svc: ImageService, f: Filters, all: boolean, sharedSize: boolean): ImageSummary[] {
  checkFilters(f, ['dangling', 'label', 'before', 'since', 'reference', 'until']);
  const dangling = f.get('dangling');
  if (dangling && dangling.some((d) => !['true', 'false', '1', '0'].includes(d)))
    throw badParameter(`invalid filter 'dangling=${dangling.join(',')}'`);
  const wantDangling = dangling ? dangling.includes('true') || dangling.includes('1') : undefined;
  const before = f.get('before')?.map((v) => timeBound(svc, v));
  const since = f.get('since')?.map((v) => timeBound(svc, v));
  const until = f.get('until')?.map((v) => timeBound(svc, v));
  const parents = new Set(
    svc.store
      .all()
      .map((i) => i.meta.parent)
      .filter((p): p is string => !!p),
  );
  const counts = sharedSize ? layerUseCounts(svc) : undefined;
  const out: ImageSummary[] = [];
  for (const img of svc.store.all()) {
    const tags = svc.store.tagsOf(img.id);
    const isDangling = tags.length === 0;
    if (!all && isDangling && parents.has(img.id)) continue; // intermediate build images
    if (wantDangling !== undefined && wantDangling !== isDangling) continue;
    if (!matchLabels(img.config.config?.Labels, f.get('label'))) continue;
    const created = createdSeconds(img);
    if (before && !before.every((b) => created < b)) continue;
    if (since && !since.every((s) => created > s)) continue;
    if (until && !until.every((u) => created <= u)) continue;
    const refs = f.get('reference');
    if (refs && !referenceMatches(svc, img, refs)) continue;
    out.push(summary(svc, img, counts));
  }
  return out.sort((a, b) => b.Created - a.Created || a.Id.localeCompare(b.Id));
}

export function registerImageRoutes(r: Router, svc: ImageService): void {
  r.get('/images/json', (ctx) => {
    const f = parseFilters(ctx.query);
    // API < 1.41 also accepted ?filter=name
    const legacy = ctx.query.get('filter');
    if (legacy) f.set('reference', [legacy]);
    sendJson(
      ctx.res,
      200,
      listImages(svc, f, queryBool(ctx.query, 'all'), queryBool(ctx.query, 'shared-size')),
    );
  });

  r.get('/images/search', () => {
    throw notImplemented(
      "search is not supported by Berth: it has no index of registries to search; use your registry's web interface or API (`docker pull` and `docker push` work)",
    );
  });

  r.post('/images/prune', async (ctx) => {
    const f = parseFilters(ctx.query);
    checkFilters(f, ['dangling', 'label', 'label!', 'until']);
    const d = f.get('dangling');
    const danglingOnly = !d || d.includes('true') || d.includes('1');
    const untilRaw = f.get('until')?.[0];
    const until = untilRaw !== undefined ? parseTimestamp(untilRaw) : undefined;
    if (untilRaw !== undefined && until === undefined)
      throw badParameter(`invalid filter 'until=${untilRaw}'`);
    const labels = f.get('label');
    const notLabels = f.get('label!');
    const res = await pruneImages(svc, {
      danglingOnly,
      ...(until !== undefined ? { until: until / 1e9 } : {}),
      labels: (img) =>
        matchLabels(img.config.config?.Labels, labels) &&
        !(notLabels?.some((l) => matchLabels(img.config.config?.Labels, [l])) ?? false),
    });
    sendJson(ctx.res, 200, res);
  });

  r.get('/images/{name*}/json', (ctx) => {
    sendJson(ctx.res, 200, inspect(svc, svc.mustResolve(ctx.params.name)));
  });

  r.get('/images/{name*}/history', (ctx) => {
    sendJson(ctx.res, 200, history(svc, svc.mustResolve(ctx.params.name)));
  });

  r.post('/images/{name*}/tag', async (ctx) => {
    const img = svc.mustResolve(ctx.params.name);
    const repo = ctx.query.get('repo') ?? '';
    const tag = ctx.query.get('tag') ?? '';
    if (repo === '') throw badParameter('repository name must have at least one component');
    const ref = parseReference(repo, undefined);
    if (ref.digest) throw badParameter('refusing to create a tag with a digest reference');
    if (tag !== '') {
      checkTag(tag);
      ref.tag = tag;
    }
    ref.tag ??= 'latest';
    await svc.tag(img, ref);
    ctx.res.writeHead(201);
    ctx.res.end();
  });

  r.delete('/images/{name*}', async (ctx) => {
    const items = await removeImage(svc, ctx.params.name, {
      force: queryBool(ctx.query, 'force'),
      noprune: queryBool(ctx.query, 'noprune'),
    });
    sendJson(ctx.res, 200, items);
  });
}
