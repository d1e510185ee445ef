/**
 * pkg/controller/deployment/util in TypeScript: revisions and the annotations a Deployment's ReplicaSets carry,
 * the pod-template-hash, maxSurge/maxUnavailable fenceposts, replica counts over ReplicaSets, the status
 * predicates (complete, progressing, timed out) and the condition reasons `kubectl rollout status` reads.
 */
import { deepEqual } from '../../registry/generic/metadata.js';
import type { Deployment, PodTemplateSpec, ReplicaSet } from '../framework/types.js';

export const REVISION = 'deployment.kubernetes.io/revision';
export const REVISION_HISTORY = 'deployment.kubernetes.io/revision-history';
export const DESIRED_REPLICAS = 'deployment.kubernetes.io/desired-replicas';
export const MAX_REPLICAS = 'deployment.kubernetes.io/max-replicas';
export const HASH_LABEL = 'pod-template-hash';
const LAST_APPLIED = 'kubectl.kubernetes.io/last-applied-configuration';

export const Reasons = {
  ReplicaSetUpdated: 'ReplicaSetUpdated',
  FailedRSCreate: 'ReplicaSetCreateError',
  NewReplicaSetCreated: 'NewReplicaSetCreated',
  FoundNewReplicaSet: 'FoundNewReplicaSet',
  NewReplicaSetAvailable: 'NewReplicaSetAvailable',
  TimedOut: 'ProgressDeadlineExceeded',
  Paused: 'DeploymentPaused',
  Resumed: 'DeploymentResumed',
  MinimumReplicasAvailable: 'MinimumReplicasAvailable',
  MinimumReplicasUnavailable: 'MinimumReplicasUnavailable',
} as const;

const SKIPPED_ANNOTATIONS = new Set([
  LAST_APPLIED,
  REVISION,
  REVISION_HISTORY,
  DESIRED_REPLICAS,
  MAX_REPLICAS,
]);

export const replicasOf = (rs: ReplicaSet | undefined): number => rs?.spec?.replicas ?? 0;
export const desired = (d: Deployment): number => d.spec?.replicas ?? 1;

export function revisionOf(o: { metadata?: { annotations?: Record<string, string> } }): number {
  const v = o.metadata?.annotations?.[REVISION];
  const n = v === undefined ? 0 : Number(v);
  return Number.isFinite(n) ? n : 0;
}

export const maxRevision = (rss: ReplicaSet[]): number => Math.max(0, ...rss.map(revisionOf));

/** apimachinery's SafeEncodeString alphabet: no vowels, no confusable digits. */
const ALPHANUMS = 'bcdfghjklmnpqrstvwxz2456789';

function canonical(v: unknown): string {
  if (Array.isArray(v)) return `[${v.map(canonical).join(',')}]`;
  if (v && typeof v === 'object')
    return `{${Object.keys(v)
      .sort()
      .filter((k) => (v as Record<string, unknown>)[k] != null)
      .map((k) => `${JSON.stringify(k)}:${canonical((v as Record<string, unknown>)[k])}`)
      .join(',')}}`;
  return JSON.stringify(v);
}

/**
 * The pod-template-hash: FNV-32a of the template (and the collision count), its decimal text encoded with the
 * safe alphabet, as controller.ComputeHash. Stable across restarts for the same template.
 */
export function templateHash(template: PodTemplateSpec | undefined, collisionCount?: number): string {
  let h = 0x811c9dc5;
  const bytes = Buffer.from(canonical(template ?? {}));
  const tail = collisionCount === undefined ? Buffer.alloc(0) : Buffer.alloc(8);
  if (collisionCount !== undefined) tail.writeUInt32LE(collisionCount >>> 0);
  for (const b of [...bytes, ...tail]) {
    h ^= b;
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return [...String(h)].map((c) => ALPHANUMS[c.charCodeAt(0) % ALPHANUMS.length]).join('');
}

/** Null fields dropped: Go decodes them to zero values, so kubectl's `"creationTimestamp": null` is no field. */
function withoutNulls(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(withoutNulls);
  if (!v || typeof v !== 'object') return v;
  return Object.fromEntries(
    Object.entries(v)
      .filter(([, x]) => x != null)
      .map(([k, x]) => [k, withoutNulls(x)]),
  );
}

function withoutHash(t: PodTemplateSpec | undefined): unknown {
  const c = withoutNulls(t ?? {}) as PodTemplateSpec;
  if (c.metadata?.labels) {
    delete c.metadata.labels[HASH_LABEL];
    if (!Object.keys(c.metadata.labels).length) delete c.metadata.labels;
  }
  return c;
}

/** EqualIgnoreHash: the same template but for the pod-template-hash label. */
export const sameTemplate = (a: PodTemplateSpec | undefined, b: PodTemplateSpec | undefined): boolean =>
  deepEqual(withoutHash(a), withoutHash(b));

const byCreation = (a: ReplicaSet, b: ReplicaSet) =>
  (Date.parse(a.metadata?.creationTimestamp ?? '') || 0) -
    (Date.parse(b.metadata?.creationTimestamp ?? '') || 0) ||
  (a.metadata?.name ?? '').localeCompare(b.metadata?.name ?? '');

export const sortByCreation = (rss: ReplicaSet[]): ReplicaSet[] => [...rss].sort(byCreation);

/** The ReplicaSet whose template is the Deployment's (the oldest, should there be several). */
export function findNewRS(d: Deployment, rss: ReplicaSet[]): ReplicaSet | undefined {
  return sortByCreation(rss).find((rs) => sameTemplate(rs.spec?.template, d.spec?.template));
}

export const activeRSs = (rss: Array<ReplicaSet | undefined>): ReplicaSet[] =>
  rss.filter((r): r is ReplicaSet => !!r && replicasOf(r) > 0);

export const sumSpec = (rss: Array<ReplicaSet | undefined>): number =>
  rss.reduce((s, r) => s + replicasOf(r), 0);
export const sumStatus = (
  rss: Array<ReplicaSet | undefined>,
  f: 'replicas' | 'readyReplicas' | 'availableReplicas',
): number => rss.reduce((s, r) => s + (r?.status?.[f] ?? 0), 0);

/** An int-or-percent of `total` (intstr.GetScaledValueFromIntOrPercent). */
export function scaled(
  v: number | string | undefined,
  total: number,
  roundUp: boolean,
  dflt: string,
): number {
  const x = v ?? dflt;
  if (typeof x === 'number') return x;
  const m = /^(\d+)%$/.exec(x);
  if (!m) return Number(x) || 0;
  const f = (Number(m[1]) * total) / 100;
  return roundUp ? Math.ceil(f) : Math.floor(f);
}

const isRolling = (d: Deployment) => (d.spec?.strategy?.type ?? 'RollingUpdate') === 'RollingUpdate';

/** ResolveFenceposts: surge rounds up, unavailable down, and both zero means one may be unavailable. */
export function fenceposts(d: Deployment): { surge: number; unavailable: number } {
  const ru = d.spec?.strategy?.rollingUpdate;
  const n = desired(d);
  const surge = scaled(ru?.maxSurge, n, true, '25%');
  let unavailable = scaled(ru?.maxUnavailable, n, false, '25%');
  if (surge === 0 && unavailable === 0) unavailable = 1;
  return { surge, unavailable };
}

export const maxSurge = (d: Deployment): number => (isRolling(d) ? fenceposts(d).surge : 0);

export function maxUnavailable(d: Deployment): number {
  if (!isRolling(d) || desired(d) === 0) return 0;
  return Math.min(fenceposts(d).unavailable, desired(d));
}

/** How many replicas the new ReplicaSet should have now (NewRSNewReplicas). */
export function newRSReplicas(d: Deployment, all: ReplicaSet[], newRS: ReplicaSet): number {
  if (!isRolling(d)) return desired(d);
  const current = sumSpec(all);
  const maxTotal = desired(d) + maxSurge(d);
  if (current >= maxTotal) return replicasOf(newRS);
  const up = Math.min(maxTotal - current, desired(d) - replicasOf(newRS));
  return replicasOf(newRS) + up;
}

export function annotationsNeedUpdate(rs: ReplicaSet, want: number, max: number): boolean {
  const a = rs.metadata?.annotations ?? {};
  return a[DESIRED_REPLICAS] !== String(want) || a[MAX_REPLICAS] !== String(max);
}

export function setReplicasAnnotations(rs: ReplicaSet, want: number, max: number): void {
  rs.metadata ??= {};
  rs.metadata.annotations = {
    ...rs.metadata.annotations,
    [DESIRED_REPLICAS]: String(want),
    [MAX_REPLICAS]: String(max),
  };
}

/**
 * SetNewReplicaSetAnnotations: the Deployment's annotations (but apply's and the bookkeeping ones), the new
 * revision if it is higher, and the revisions this ReplicaSet served before (a rollback) in revision-history.
 */
export function setNewRSAnnotations(
  d: Deployment,
  rs: ReplicaSet,
  newRevision: number,
  exists: boolean,
): boolean {
  rs.metadata ??= {};
  const a = { ...rs.metadata.annotations };
  let changed = false;
  for (const [k, v] of Object.entries(d.metadata?.annotations ?? {})) {
    if (SKIPPED_ANNOTATIONS.has(k) || a[k] === v) continue;
    a[k] = v;
    changed = true;
  }
  const old = a[REVISION];
  if (old === undefined || Number(old) < newRevision) {
    a[REVISION] = String(newRevision);
    changed = true;
    if (old !== undefined) a[REVISION_HISTORY] = a[REVISION_HISTORY] ? `${a[REVISION_HISTORY]},${old}` : old;
  }
  rs.metadata.annotations = a;
  if (!exists) {
    setReplicasAnnotations(rs, desired(d), desired(d) + maxSurge(d));
    changed = true;
  }
  return changed;
}

export const hasProgressDeadline = (d: Deployment): boolean =>
  d.spec?.progressDeadlineSeconds !== undefined && d.spec.progressDeadlineSeconds !== 2147483647;

export type DeploymentStatus = NonNullable<Deployment['status']>;

export function isComplete(d: Deployment, s: DeploymentStatus): boolean {
  const n = desired(d);
  return (
    (s.updatedReplicas ?? 0) === n &&
    (s.replicas ?? 0) === n &&
    (s.availableReplicas ?? 0) === n &&
    (s.observedGeneration ?? 0) >= (d.metadata?.generation ?? 0)
  );
}

export function isProgressing(d: Deployment, s: DeploymentStatus): boolean {
  const old = d.status ?? {};
  const oldOld = (old.replicas ?? 0) - (old.updatedReplicas ?? 0);
  const newOld = (s.replicas ?? 0) - (s.updatedReplicas ?? 0);
  return (
    (s.updatedReplicas ?? 0) > (old.updatedReplicas ?? 0) ||
    newOld < oldOld ||
    (s.readyReplicas ?? 0) > (old.readyReplicas ?? 0) ||
    (s.availableReplicas ?? 0) > (old.availableReplicas ?? 0)
  );
}

export function isTimedOut(d: Deployment, s: DeploymentStatus, now: number): boolean {
  if (!hasProgressDeadline(d)) return false;
  const c = s.conditions?.find((x) => x.type === 'Progressing');
  if (!c) return false;
  if (c.reason === Reasons.NewReplicaSetAvailable) return false;
  if (c.reason === Reasons.TimedOut) return true;
  const from = Date.parse(c.lastUpdateTime ?? '') || 0;
  return from + (d.spec?.progressDeadlineSeconds ?? 0) * 1000 < now;
}

/** IsSaturated: the new ReplicaSet runs every replica and all are available. */
export function isSaturated(d: Deployment, rs: ReplicaSet | undefined): boolean {
  if (!rs) return false;
  const want = rs.metadata?.annotations?.[DESIRED_REPLICAS];
  const n = desired(d);
  return want === String(n) && replicasOf(rs) === n && (rs.status?.availableReplicas ?? 0) === n;
}
