/**
 * How a Deployment moves between ReplicaSets (rolling.go, recreate.go, sync.go): RollingUpdate scales the new
 * ReplicaSet up within maxSurge and old ones down within maxUnavailable (unhealthy old replicas first); Recreate
 * scales every old ReplicaSet to zero, waits for their pods to be gone, then scales the new one up; a scaling
 * event (spec.replicas changed mid-rollout) spreads the difference proportionally; old ReplicaSets beyond
 * revisionHistoryLimit are deleted once the rollout is complete.
 */
import type { Deployment, Pod, ReplicaSet } from '../framework/types.js';
import {
  activeRSs,
  desired,
  isComplete,
  isSaturated,
  MAX_REPLICAS,
  maxSurge,
  maxUnavailable,
  newRSReplicas,
  replicasOf,
  revisionOf,
  sortByCreation,
  sumSpec,
  sumStatus,
  type DeploymentStatus,
} from './util.js';

export interface RolloutOps {
  replicaSets(
    d: Deployment,
    rsList: ReplicaSet[],
    create: boolean,
  ): Promise<{ newRS: ReplicaSet | undefined; oldRSs: ReplicaSet[] }>;
  scaleRS(rs: ReplicaSet, to: number, d: Deployment, operation?: 'up' | 'down'): Promise<ReplicaSet>;
  deleteRS(rs: ReplicaSet): Promise<void>;
  syncRolloutStatus(all: ReplicaSet[], newRS: ReplicaSet | undefined, d: Deployment): Promise<void>;
  syncStatusOnly(
    d: Deployment,
    all: Array<ReplicaSet | undefined>,
    newRS: ReplicaSet | undefined,
  ): Promise<void>;
  calculateStatus(all: ReplicaSet[], newRS: ReplicaSet | undefined, d: Deployment): DeploymentStatus;
}

const defined = (rss: Array<ReplicaSet | undefined>): ReplicaSet[] => rss.filter((r): r is ReplicaSet => !!r);

export async function rollout(
  ops: RolloutOps,
  d: Deployment,
  rsList: ReplicaSet[],
  pods: Map<string, Pod[]>,
): Promise<void> {
  return d.spec?.strategy?.type === 'Recreate' ? recreate(ops, d, rsList, pods) : rolling(ops, d, rsList);
}

async function rolling(ops: RolloutOps, d: Deployment, rsList: ReplicaSet[]): Promise<void> {
  const { newRS: created, oldRSs } = await ops.replicaSets(d, rsList, true);
  let newRS = created!;
  const all = () => [...oldRSs, newRS];
  // reconcileNewReplicaSet
  if (replicasOf(newRS) !== desired(d)) {
    const to = replicasOf(newRS) > desired(d) ? desired(d) : newRSReplicas(d, all(), newRS);
    if (to !== replicasOf(newRS)) {
      newRS = await ops.scaleRS(newRS, to, d);
      return ops.syncRolloutStatus(all(), newRS, d);
    }
  }
  // reconcileOldReplicaSets
  if (await scaleDownOld(ops, d, oldRSs, newRS)) return ops.syncRolloutStatus(all(), newRS, d);
  if (isComplete(d, d.status ?? {})) await cleanup(ops, d, oldRSs);
  return ops.syncRolloutStatus(all(), newRS, d);
}

async function scaleDownOld(
  ops: RolloutOps,
  d: Deployment,
  oldRSs: ReplicaSet[],
  newRS: ReplicaSet,
): Promise<boolean> {
  if (sumSpec(oldRSs) === 0) return false;
  const minAvailable = desired(d) - maxUnavailable(d);
  const newUnavailable = replicasOf(newRS) - (newRS.status?.availableReplicas ?? 0);
  const maxScaledDown = sumSpec([...oldRSs, newRS]) - minAvailable - newUnavailable;
  if (maxScaledDown <= 0) return false;
  // cleanupUnhealthyReplicas: replicas that are not available go first, they cost no availability.
  let cleaned = 0;
  for (const rs of sortByCreation(activeRSs(oldRSs))) {
    if (cleaned >= maxScaledDown) break;
    const unhealthy = replicasOf(rs) - (rs.status?.availableReplicas ?? 0);
    if (unhealthy <= 0) continue;
    const n = Math.min(maxScaledDown - cleaned, unhealthy);
    const updated = await ops.scaleRS(rs, replicasOf(rs) - n, d);
    oldRSs[oldRSs.indexOf(rs)] = updated;
    cleaned += n;
  }
  // scaleDownOldReplicaSetsForRollingUpdate: then available ones, down to minAvailable.
  let scaled = 0;
  const available = sumStatus([...oldRSs, newRS], 'availableReplicas');
  if (available > minAvailable) {
    const total = available - minAvailable;
    for (const rs of sortByCreation(oldRSs)) {
      if (scaled >= total) break;
      if (replicasOf(rs) === 0) continue;
      const n = Math.min(replicasOf(rs), total - scaled);
      oldRSs[oldRSs.indexOf(rs)] = await ops.scaleRS(rs, replicasOf(rs) - n, d);
      scaled += n;
    }
  }
  return cleaned + scaled > 0;
}

async function recreate(
  ops: RolloutOps,
  d: Deployment,
  rsList: ReplicaSet[],
  pods: Map<string, Pod[]>,
): Promise<void> {
  let { newRS, oldRSs } = await ops.replicaSets(d, rsList, false);
  let scaledDown = false;
  for (const rs of activeRSs(oldRSs)) {
    oldRSs[oldRSs.indexOf(rs)] = await ops.scaleRS(rs, 0, d);
    scaledDown = true;
  }
  if (scaledDown) return ops.syncRolloutStatus(defined([...oldRSs, newRS]), newRS, d);
  // Old pods must be gone (terminating ones too) before new ones start.
  const oldRunning =
    sumStatus(oldRSs, 'replicas') > 0 ||
    oldRSs.some((rs) =>
      (pods.get(rs.metadata?.uid ?? '') ?? []).some(
        (p) => p.status?.phase !== 'Failed' && p.status?.phase !== 'Succeeded',
      ),
    );
  if (oldRunning) return ops.syncRolloutStatus(defined([...oldRSs, newRS]), newRS, d);
  if (!newRS) ({ newRS, oldRSs } = await ops.replicaSets(d, rsList, true));
  newRS = await ops.scaleRS(newRS!, desired(d), d);
  if (isComplete(d, d.status ?? {})) await cleanup(ops, d, oldRSs);
  return ops.syncRolloutStatus(defined([...oldRSs, newRS]), newRS, d);
}

/** sync(): scaling only (paused Deployments and scaling events), then status. */
export async function scaleOnly(ops: RolloutOps, d: Deployment, rsList: ReplicaSet[]): Promise<void> {
  const { newRS, oldRSs } = await ops.replicaSets(d, rsList, false);
  await scale(ops, d, newRS, oldRSs);
  if (d.spec?.paused) await cleanup(ops, d, oldRSs);
  return ops.syncStatusOnly(d, [...oldRSs, newRS], newRS);
}

/** FindActiveOrLatest: the only active ReplicaSet, or the newest when none is active; undefined when several are. */
function activeOrLatest(newRS: ReplicaSet | undefined, oldRSs: ReplicaSet[]): ReplicaSet | undefined {
  if (!newRS && !oldRSs.length) return undefined;
  const newestFirst = sortByCreation(oldRSs).reverse();
  const active = activeRSs([...newestFirst, newRS]);
  if (active.length === 0) return newRS ?? newestFirst[0];
  if (active.length === 1) return active[0];
  return undefined;
}

async function scale(
  ops: RolloutOps,
  d: Deployment,
  newRS: ReplicaSet | undefined,
  oldRSs: ReplicaSet[],
): Promise<void> {
  const one = activeOrLatest(newRS, oldRSs);
  if (one) {
    if (replicasOf(one) !== desired(d)) await ops.scaleRS(one, desired(d), d);
    return;
  }
  if (isSaturated(d, newRS)) {
    for (const rs of activeRSs(oldRSs)) await ops.scaleRS(rs, 0, d);
    return;
  }
  if ((d.spec?.strategy?.type ?? 'RollingUpdate') !== 'RollingUpdate') return;
  const all = activeRSs([...oldRSs, newRS]);
  const allowed = desired(d) > 0 ? desired(d) + maxSurge(d) : 0;
  const toAdd = allowed - sumSpec(all);
  const size = (rs: ReplicaSet) => replicasOf(rs);
  const created = (rs: ReplicaSet) => Date.parse(rs.metadata?.creationTimestamp ?? '') || 0;
  // Larger first; among equals, newer first when growing and older first when shrinking.
  all.sort((a, b) => size(b) - size(a) || (toAdd > 0 ? created(b) - created(a) : created(a) - created(b)));
  let added = 0;
  const sizes = new Map<ReplicaSet, number>();
  for (const rs of all) {
    if (toAdd === 0) {
      sizes.set(rs, size(rs));
      continue;
    }
    const p = proportion(rs, d, toAdd, added);
    sizes.set(rs, size(rs) + p);
    added += p;
  }
  for (const [i, rs] of all.entries()) {
    let n = sizes.get(rs)!;
    if (i === 0 && toAdd !== 0) n = Math.max(0, n + toAdd - added);
    await ops.scaleRS(rs, n, d, toAdd > 0 ? 'up' : 'down');
  }
}

/** GetProportion: this ReplicaSet's share of the replicas to add (or remove). */
function proportion(rs: ReplicaSet, d: Deployment, toAdd: number, added: number): number {
  if (replicasOf(rs) === 0 || toAdd === 0 || toAdd === added) return 0;
  let fraction: number;
  if (desired(d) === 0) fraction = -replicasOf(rs);
  else {
    const total = desired(d) + maxSurge(d);
    const annotated =
      Number(rs.metadata?.annotations?.[MAX_REPLICAS] ?? d.status?.replicas ?? 0) || d.status?.replicas || 1;
    fraction = Math.round((replicasOf(rs) * total) / annotated) - replicasOf(rs);
  }
  const allowed = toAdd - added;
  return toAdd > 0 ? Math.min(fraction, allowed) : Math.max(fraction, allowed);
}

/** cleanupDeployment: delete the oldest idle ReplicaSets beyond revisionHistoryLimit. */
async function cleanup(ops: RolloutOps, d: Deployment, oldRSs: ReplicaSet[]): Promise<void> {
  const limit = d.spec?.revisionHistoryLimit;
  if (limit === undefined) return;
  const alive = oldRSs.filter((r) => !r.metadata?.deletionTimestamp);
  const diff = alive.length - limit;
  if (diff <= 0) return;
  const byRevision = [...alive].sort(
    (a, b) =>
      revisionOf(a) - revisionOf(b) ||
      (Date.parse(a.metadata?.creationTimestamp ?? '') || 0) -
        (Date.parse(b.metadata?.creationTimestamp ?? '') || 0),
  );
  for (const rs of byRevision.slice(0, diff)) {
    if ((rs.status?.replicas ?? 0) !== 0 || replicasOf(rs) !== 0) continue;
    if ((rs.metadata?.generation ?? 0) > (rs.status?.observedGeneration ?? 0)) continue;
    await ops.deleteRS(rs);
  }
}
