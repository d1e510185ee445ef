/** Helpers strategies use to print table cells the way kube-apiserver's printers do. */
import type { KubeObject, TableColumn } from './types.js';

/** apimachinery's duration.HumanDuration: "45s", "5m3s", "3h2m", "4d5h", "2y3d". */
export function humanDuration(ms: number): string {
  const seconds = Math.floor(ms / 1000);
  if (seconds < -1) return '<invalid>';
  if (seconds < 0) return '0s';
  if (seconds < 120) return `${seconds}s`;
  const minutes = Math.floor(seconds / 60);
  if (minutes < 10) return seconds % 60 === 0 ? `${minutes}m` : `${minutes}m${seconds % 60}s`;
  if (minutes < 180) return `${minutes}m`;
  const hours = Math.floor(minutes / 60);
  if (hours < 8) return minutes % 60 === 0 ? `${hours}h` : `${hours}h${minutes % 60}m`;
  if (hours < 48) return `${hours}h`;
  if (hours < 24 * 8) return hours % 24 === 0 ? `${hours / 24}d` : `${Math.floor(hours / 24)}d${hours % 24}h`;
  if (hours < 24 * 365 * 2) return `${Math.floor(hours / 24)}d`;
  if (hours < 24 * 365 * 8) {
    const dy = Math.floor(hours / 24) % 365;
    const y = Math.floor(hours / 24 / 365);
    return dy === 0 ? `${y}y` : `${y}y${dy}d`;
  }
  return `${Math.floor(hours / 24 / 365)}y`;
}

/** translateTimestampSince: "<unknown>" for a missing timestamp. */
export function since(ts: string | undefined, now = Date.now()): string {
  if (!ts) return '<unknown>';
  return humanDuration(now - Date.parse(ts));
}

export const age = (obj: KubeObject): string => since(obj.metadata?.creationTimestamp);

export const NAME_COLUMN: TableColumn = {
  name: 'Name',
  type: 'string',
  format: 'name',
  description:
    'Name must be unique within a namespace. Is required when creating resources, although some resources may allow a client to request the generation of an appropriate name automatically. Name is primarily intended for creation idempotence and configuration definition. Cannot be updated. More info: https://kubernetes.io/docs/concepts/overview/working-with-objects/names#names',
  priority: 0,
};

export const AGE_COLUMN: TableColumn = {
  name: 'Age',
  type: 'string',
  description:
    'CreationTimestamp is a timestamp representing the server time when this object was created. It is not guaranteed to be set in happens-before order across separate operations. Clients may not set this value. It is represented in RFC3339 form and is in UTC.\n\nPopulated by the system. Read-only. Null for lists. More info: https://git.k8s.io/community/contributors/devel/sig-architecture/api-conventions.md#metadata',
  priority: 0,
};

export function col(
  name: string,
  type: TableColumn['type'] = 'string',
  priority = 0,
  description = '',
): TableColumn {
  return { name, type, priority, description };
}

/** A path into a JSON object ("spec.template.spec"), undefined when any step is missing. */
export function at(obj: unknown, path: string): unknown {
  let cur: unknown = obj;
  for (const k of path.split('.')) {
    if (cur === null || typeof cur !== 'object') return undefined;
    cur = (cur as Record<string, unknown>)[k];
  }
  return cur;
}

export const str = (v: unknown): string =>
  typeof v === 'string'
    ? v
    : typeof v === 'number' || typeof v === 'boolean'
      ? String(v)
      : v === undefined || v === null
        ? ''
        : JSON.stringify(v);
export const num = (v: unknown): number => (typeof v === 'number' ? v : 0);

/** "app=web,tier=front" (labels.FormatLabels sorts by key); "<none>" when empty. */
export function formatLabels(m: Record<string, string> | undefined): string {
  const keys = Object.keys(m ?? {}).sort();
  return keys.length ? keys.map((k) => `${k}=${m![k]}`).join(',') : '<none>';
}

interface Container {
  name?: string;
  image?: string;
}

/** CONTAINERS and IMAGES cells of a pod template (workload -o wide). */
export function templateContainers(template: unknown): [string, string] {
  const cs = (at(template, 'spec.containers') as Container[] | undefined) ?? [];
  return [cs.map((c) => c.name ?? '').join(','), cs.map((c) => c.image ?? '').join(',')];
}

/** metav1.FormatLabelSelector: "app=web,tier in (a,b)"; "<none>" when empty. */
export function formatSelector(sel: unknown): string {
  const s = (sel ?? {}) as {
    matchLabels?: Record<string, string>;
    matchExpressions?: Array<{ key: string; operator: string; values?: string[] }>;
  };
  const parts = Object.keys(s.matchLabels ?? {})
    .sort()
    .map((k) => `${k}=${s.matchLabels![k]}`);
  for (const e of s.matchExpressions ?? []) {
    const op = { In: 'in', NotIn: 'notin', Exists: '', DoesNotExist: '!' }[e.operator] ?? e.operator;
    if (e.operator === 'Exists') parts.push(e.key);
    else if (e.operator === 'DoesNotExist') parts.push(`!${e.key}`);
    else parts.push(`${e.key} ${op} (${(e.values ?? []).join(',')})`);
  }
  return parts.length ? parts.join(',') : '<none>';
}
