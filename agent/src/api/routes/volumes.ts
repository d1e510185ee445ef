/** /volumes: the local volume driver over the Engine API. */
import type { Volume, VolumeCreateOptions, VolumeListResponse, VolumePruneResponse } from '@berth/common';
import type { VolumeStore } from '../../volumes/store.js';
import { badParameter } from '../errors.js';
import {
  checkFilters,
  matchLabels,
  parseFilters,
  queryBool,
  readJsonBody,
  sendJson,
  sendNoContent,
  type Filters,
} from '../http.js';
import type { Router } from '../router.js';

function parseBoolFilter(f: Filters, key: string): boolean | undefined {
  const v = f.get(key);
  if (!v || v.length === 0) return undefined;
  const s = v[v.length - 1].toLowerCase();
  if (s === 'true' || s === '1') return true;
  if (s === 'false' || s === '0') return false;
  throw badParameter(`invalid filter '${key}=${s}'`);
}

function isRecordOfStrings(v: unknown): v is Record<string, string> {
  return (
    typeof v === 'object' &&
    v !== null &&
    !Array.isArray(v) &&
    Object.values(v).every((x) => typeof x === 'string')
  );
}

function validateCreate(body: unknown): VolumeCreateOptions {
  if (typeof body !== 'object' || body === null || Array.isArray(body))
    throw badParameter('invalid volume create body: expected a JSON object');
  const b = body as Record<string, unknown>;
  if (b.Name !== undefined && typeof b.Name !== 'string')
    throw badParameter('invalid volume create body: Name must be a string');
  if (b.Driver !== undefined && typeof b.Driver !== 'string')
    throw badParameter('invalid volume create body: Driver must be a string');
  for (const k of ['DriverOpts', 'Labels'] as const)
    if (b[k] !== undefined && b[k] !== null && !isRecordOfStrings(b[k]))
      throw badParameter(`invalid volume create body: ${k} must map strings to strings`);
  return b;
}

export function registerVolumeRoutes(r: Router, volumes: VolumeStore): void {
  r.get('/volumes', (ctx) => {
    const f = parseFilters(ctx.query);
    checkFilters(f, ['dangling', 'driver', 'label', 'name']);
    const dangling = parseBoolFilter(f, 'dangling');
    const list = volumes.list().filter((v: Volume) => {
      if (dangling !== undefined && (volumes.usersOf(v.Name).length === 0) !== dangling) return false;
      if (f.get('driver') && !f.get('driver')!.includes(v.Driver)) return false;
      if (f.get('name') && !f.get('name')!.some((n) => v.Name.includes(n))) return false;
      return matchLabels(v.Labels, f.get('label'));
    });
    const out: VolumeListResponse = { Volumes: list, Warnings: null };
    sendJson(ctx.res, 200, out);
  });

  r.post('/volumes/create', async (ctx) => {
    const opts = validateCreate(await readJsonBody<unknown>(ctx.req, {}));
    const { volume } = await volumes.create(opts);
    sendJson(ctx.res, 201, volume);
  });

  r.post('/volumes/prune', async (ctx) => {
    const f = parseFilters(ctx.query);
    checkFilters(f, ['label', 'label!', 'all']);
    // API >= 1.42 prunes only anonymous volumes unless all=true.
    const all = parseBoolFilter(f, 'all') ?? Number(ctx.apiVersion.split('.')[1]) < 42;
    const deleted: string[] = [];
    let reclaimed = 0;
    for (const v of volumes.list()) {
      if (!all && !volumes.isAnonymous(v.Name)) continue;
      if (!matchLabels(v.Labels, f.get('label'))) continue;
      const not = f.get('label!');
      if (not && not.some((w) => matchLabels(v.Labels, [w]))) continue;
      if (volumes.usersOf(v.Name).length > 0) continue;
      const size = await volumes.size(v.Name);
      await volumes.remove(v.Name);
      deleted.push(v.Name);
      reclaimed += size;
    }
    const out: VolumePruneResponse = { VolumesDeleted: deleted, SpaceReclaimed: reclaimed };
    sendJson(ctx.res, 200, out);
  });

  r.get('/volumes/{name}', (ctx) => {
    sendJson(ctx.res, 200, volumes.get(ctx.params.name));
  });

  r.delete('/volumes/{name}', async (ctx) => {
    await volumes.remove(ctx.params.name, queryBool(ctx.query, 'force'));
    sendNoContent(ctx.res);
  });
}
