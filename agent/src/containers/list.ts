/** `GET /containers/json` filtering, as dockerd's (status, label, name, id, ancestor, exited, before, since...). */
import { badParameter } from '../errors.js';
import { checkFilters, matchLabels, type Filters } from '../util/filters.js';
import type { ContainerRecord } from './record.js';
import { Status } from './state.js';

export const LIST_FILTERS = [
  'ancestor',
  'before',
  'expose',
  'exited',
  'health',
  'id',
  'isolation',
  'is-task',
  'label',
  'name',
  'network',
  'publish',
  'since',
  'status',
  'volume',
];
const STATUSES = ['created', 'restarting', 'running', 'removing', 'paused', 'exited', 'dead'];

export interface ListContext {
  find(ref: string): ContainerRecord | undefined;
  /** Image ids an ancestor filter value names (the image and, later, its children). */
  imageIdsFor(ref: string): Promise<string[]>;
  health(rec: ContainerRecord): string;
}

export async function filterContainers(
  all: ContainerRecord[],
  f: Filters,
  showAll: boolean,
  limit: number | undefined,
  ctx: ListContext,
): Promise<ContainerRecord[]> {
  checkFilters(f, LIST_FILTERS);
  for (const s of f.get('status') ?? [])
    if (!STATUSES.includes(s)) throw badParameter(`invalid filter 'status=${s}'`);
  const exited = (f.get('exited') ?? []).map((e) => {
    if (!/^-?\d+$/.test(e)) throw badParameter(`invalid filter 'exited=${e}'`);
    return Number(e);
  });
  const boundary = (key: string): ContainerRecord | undefined => {
    const v = f.get(key)?.[0];
    if (!v) return undefined;
    const r = ctx.find(v);
    if (!r) throw badParameter(`No such container: ${v}`);
    return r;
  };
  const before = boundary('before');
  const since = boundary('since');
  const ancestors = new Set<string>();
  for (const a of f.get('ancestor') ?? []) for (const id of await ctx.imageIdsFor(a)) ancestors.add(id);
  // Newest first, as dockerd lists them.
  let recs = [...all].sort((a, b) => Date.parse(b.created) - Date.parse(a.created) || (a.id < b.id ? -1 : 1));
  // `before`/`since`/`exited`/`status` imply all; otherwise stopped containers need `all`.
  const implyAll = before || since || exited.length || f.get('status')?.length;
  recs = recs.filter((r) => {
    const st = r.state.status;
    if (!showAll && !implyAll && st !== Status.Running && st !== Status.Paused && st !== Status.Restarting)
      return false;
    if (f.get('status') && !f.get('status')!.includes(st)) return false;
    if (exited.length && (st !== Status.Exited || !exited.includes(r.state.exitCode))) return false;
    if (f.get('id') && !f.get('id')!.some((p) => r.id.startsWith(p))) return false;
    // Name filters are regular expressions over the name with its slash or without it, as dockerd's
    // (`--filter name=^k1$` finds /k1).
    if (
      f.get('name') &&
      !f.get('name')!.some((n) => safeRegex(n).test(r.name) || safeRegex(n).test(r.name.slice(1)))
    )
      return false;
    if (!matchLabels(r.config.Labels, f.get('label'))) return false;
    if (f.get('ancestor') && !ancestors.has(r.image)) return false;
    if (before && Date.parse(r.created) >= Date.parse(before.created)) return false;
    if (since && Date.parse(r.created) <= Date.parse(since.created)) return false;
    if (
      f.get('volume') &&
      !f
        .get('volume')!
        .some((v) => r.mounts.some((m) => m.name === v || m.destination === v || m.source === v))
    )
      return false;
    if (f.get('health') && !f.get('health')!.includes(ctx.health(r))) return false;
    if (
      f.get('network') &&
      !f
        .get('network')!
        .includes(r.hostConfig.NetworkMode === 'default' ? 'bridge' : (r.hostConfig.NetworkMode ?? 'bridge'))
    )
      return false;
    if (f.get('is-task')?.includes('true')) return false;
    return true;
  });
  if (limit !== undefined && limit > 0) recs = recs.slice(0, limit);
  return recs;
}

function safeRegex(s: string): RegExp {
  try {
    return new RegExp(s);
  } catch {
    throw badParameter(`invalid filter 'name=${s}'`);
  }
}
