/**
 * The Deployment controller, as pkg/controller/deployment: claims the ReplicaSets its selector matches, finds or
 * creates the one for the current template (named `<deployment>-<pod-template-hash>`, revision annotations,
 * hash collisions counted in status.collisionCount), then rolls out (rollout.ts: RollingUpdate within
 * maxSurge/maxUnavailable, Recreate), scales proportionally, keeps revisionHistoryLimit old ReplicaSets, and writes
 * status with the Progressing and Available conditions `kubectl rollout status` reads. Paused Deployments only
 * scale; progressDeadlineSeconds is checked on a timer so a stuck rollout reports ProgressDeadlineExceeded.
 */
import { isKubeError } from '../../errors.js';
import type { ResourceClient } from '../../client/index.js';
import { deepEqual } from '../../registry/generic/metadata.js';
import type { KubeObject } from '../../registry/types.js';
import { fromStructured, matchesLabels } from '../../selectors/labels.js';
import { claim, ownerStillThere } from '../framework/claim.js';
import { nowRfc3339 } from '../framework/conditions.js';
import { QueueController, type ControllerContext } from '../framework/controller.js';
import { keyOf, type Informer } from '../framework/informer.js';
import { controllerOf, controllerRef } from '../framework/pods.js';
import { omitZero } from '../framework/status.js';
import type { Condition, Deployment, Pod, ReplicaSet } from '../framework/types.js';
import { rollout, scaleOnly, type RolloutOps } from './rollout.js';
import {
  activeRSs,
  annotationsNeedUpdate,
  maxSurge,
  setReplicasAnnotations,
  desired,
  findNewRS,
  HASH_LABEL,
  hasProgressDeadline,
  isComplete,
  isProgressing,
  isTimedOut,
  maxRevision,
  maxUnavailable,
  newRSReplicas,
  Reasons,
  REVISION,
  sameTemplate,
  setNewRSAnnotations,
  sumSpec,
  sumStatus,
  templateHash,
  type DeploymentStatus,
} from './util.js';

type DCondition = Condition & { lastUpdateTime?: string };

function condition(type: string, status: string, reason: string, message: string, now: number): DCondition {
  const t = nowRfc3339(now);
  return { type, status, lastUpdateTime: t, lastTransitionTime: t, reason, message };
}

/** SetDeploymentCondition: no change for the same status and reason; same status keeps lastTransitionTime. */
export function setDeploymentCondition(s: DeploymentStatus, c: DCondition): void {
  const list = (s.conditions ?? []) as DCondition[];
  const cur = list.find((x) => x.type === c.type);
  if (cur && cur.status === c.status && cur.reason === c.reason) return;
  if (cur && cur.status === c.status) c.lastTransitionTime = cur.lastTransitionTime;
  s.conditions = [...list.filter((x) => x.type !== c.type), c] as DeploymentStatus['conditions'];
}

const getCond = (s: DeploymentStatus | undefined, type: string) =>
  s?.conditions?.find((c) => c.type === type);

export class DeploymentController extends QueueController implements RolloutOps {
  private readonly deployments: Informer<Deployment>;
  private readonly rss: Informer<ReplicaSet>;
  private readonly pods: Informer<Pod>;
  readonly dc: ResourceClient<Deployment>;
  readonly rsc: ResourceClient<ReplicaSet>;

  constructor(ctx: ControllerContext) {
    super('deployment', ctx, 'deployment-controller');
    this.dc = ctx.client.resource<Deployment>('apps/v1', 'deployments');
    this.rsc = ctx.client.resource<ReplicaSet>('apps/v1', 'replicasets');
    this.deployments = ctx.informers.for<Deployment>('apps/v1', 'deployments');
    this.rss = ctx.informers.for<ReplicaSet>('apps/v1', 'replicasets');
    this.pods = ctx.informers.for<Pod>('v1', 'pods');
    this.deployments.on({
      add: (d) => this.enqueue(keyOf(d)),
      update: (_o, d) => this.enqueue(keyOf(d)),
      delete: (d) => this.enqueue(keyOf(d)),
    });
    this.rss.on({
      add: (rs) => this.rsChanged(rs),
      update: (old, rs) => {
        this.rsChanged(rs);
        const before = this.ownerKey(old);
        if (before && before !== this.ownerKey(rs)) this.enqueue(before);
      },
      delete: (rs) => this.rsChanged(rs),
    });
    // Recreate waits for the old pods to be gone.
    this.pods.on({
      delete: (p) => {
        const ref = controllerOf(p);
        if (ref?.kind !== 'ReplicaSet') return;
        const rs = this.rss.getIn(p.metadata?.namespace, ref.name);
        const key = rs && this.ownerKey(rs);
        if (key) this.enqueue(key);
      },
    });
  }

  protected initialKeys(): string[] {
    return this.deployments.list().map(keyOf);
  }

  private ownerKey(rs: ReplicaSet): string | undefined {
    const ref = controllerOf(rs);
    if (!ref || ref.kind !== 'Deployment') return undefined;
    const d = this.deployments.getIn(rs.metadata?.namespace, ref.name);
    return d?.metadata?.uid === ref.uid ? keyOf(d) : undefined;
  }

  private rsChanged(rs: ReplicaSet): void {
    const key = this.ownerKey(rs);
    if (key) return this.enqueue(key);
    if (controllerOf(rs)) return;
    for (const d of this.deployments.list(rs.metadata?.namespace ?? ''))
      if (matchesLabels(fromStructured(d.spec?.selector as never), rs.metadata?.labels))
        this.enqueue(keyOf(d));
  }

  protected async sync(key: string): Promise<void> {
    const cached = this.deployments.get(key);
    if (!cached) return;
    const d = structuredClone(cached);
    const selector = fromStructured(d.spec?.selector as never);
    if (!selector.length) {
      this.recorder.event(
        d,
        'Warning',
        'SelectingAll',
        'This deployment is selecting all pods. A non-empty selector is required.',
      );
      if ((d.status?.observedGeneration ?? 0) < (d.metadata?.generation ?? 0))
        await this.writeStatus(d, { ...d.status, observedGeneration: d.metadata?.generation ?? 0 });
      return;
    }
    const ns = d.metadata?.namespace ?? '';
    const rsList = await claim(this.rss.list(ns), {
      owner: d,
      selector,
      rc: this.rsc,
      canAdopt: ownerStillThere(this.dc as unknown as ResourceClient<KubeObject>, d),
    });
    if (d.metadata?.deletionTimestamp) {
      const { newRS, oldRSs } = await this.replicaSets(d, rsList, false);
      return this.syncStatusOnly(d, [...oldRSs, newRS], newRS);
    }
    await this.checkPaused(d);
    if (d.spec?.paused || (await this.isScalingEvent(d, rsList))) return scaleOnly(this, d, rsList);
    return rollout(this, d, rsList, this.podsByRS(d, rsList));
  }

  private podsByRS(d: Deployment, rsList: ReplicaSet[]): Map<string, Pod[]> {
    const uids = new Set(rsList.map((r) => r.metadata?.uid));
    const sel = fromStructured(d.spec?.selector as never);
    const m = new Map<string, Pod[]>();
    for (const p of this.pods.list(d.metadata?.namespace ?? '')) {
      const ref = controllerOf(p);
      if (!ref || !uids.has(ref.uid) || !matchesLabels(sel, p.metadata?.labels)) continue;
      m.set(ref.uid, [...(m.get(ref.uid) ?? []), p]);
    }
    return m;
  }

  private async isScalingEvent(d: Deployment, rsList: ReplicaSet[]): Promise<boolean> {
    const { newRS, oldRSs } = await this.replicaSets(d, rsList, false);
    return activeRSs([...oldRSs, newRS]).some((rs) => {
      const want = rs.metadata?.annotations?.['deployment.kubernetes.io/desired-replicas'];
      return want !== undefined && Number(want) !== desired(d);
    });
  }

  /** checkPausedConditions: Progressing Unknown with DeploymentPaused / DeploymentResumed. */
  private async checkPaused(d: Deployment): Promise<void> {
    if (!hasProgressDeadline(d)) return;
    const cond = getCond(d.status, 'Progressing');
    const paused = !!d.spec?.paused;
    if ((cond?.reason === Reasons.TimedOut && !paused) || (paused && cond?.reason === Reasons.Paused)) return;
    const status = structuredClone(d.status ?? {});
    if (paused && cond?.reason !== Reasons.Paused)
      setDeploymentCondition(
        status,
        condition('Progressing', 'Unknown', Reasons.Paused, 'Deployment is paused', this.now()),
      );
    else if (!paused && cond?.reason === Reasons.Paused)
      setDeploymentCondition(
        status,
        condition('Progressing', 'Unknown', Reasons.Resumed, 'Deployment is resumed', this.now()),
      );
    else return;
    await this.writeStatus(d, status);
  }

  /**
   * getAllReplicaSetsAndSyncRevision: the new ReplicaSet (created when asked and missing) with its revision
   * annotations synced, and the others.
   */
  async replicaSets(
    d: Deployment,
    rsList: ReplicaSet[],
    create: boolean,
  ): Promise<{ newRS: ReplicaSet | undefined; oldRSs: ReplicaSet[] }> {
    const existing = findNewRS(d, rsList);
    const oldRSs = rsList.filter((r) => r !== existing);
    const newRevision = maxRevision(oldRSs) + 1;
    if (existing) {
      const copy = structuredClone(existing);
      const changed = setNewRSAnnotations(d, copy, newRevision, true);
      const minReady = d.spec?.minReadySeconds ?? 0;
      if (changed || (copy.spec?.minReadySeconds ?? 0) !== minReady) {
        copy.spec = { ...copy.spec!, minReadySeconds: minReady };
        return { newRS: await this.rsc.update(copy), oldRSs };
      }
      await this.syncRevision(d, copy.metadata?.annotations?.[REVISION], () => {
        if (!hasProgressDeadline(d) || getCond(d.status, 'Progressing')) return undefined;
        return condition(
          'Progressing',
          'True',
          Reasons.FoundNewReplicaSet,
          `Found new replica set "${copy.metadata?.name}"`,
          this.now(),
        );
      });
      return { newRS: copy, oldRSs };
    }
    if (!create) return { newRS: undefined, oldRSs };
    return { newRS: await this.createNewRS(d, oldRSs, newRevision), oldRSs };
  }

  private async createNewRS(d: Deployment, oldRSs: ReplicaSet[], newRevision: number): Promise<ReplicaSet> {
    const template = structuredClone(d.spec?.template ?? {});
    const hash = templateHash(d.spec?.template, d.status?.collisionCount);
    template.metadata = {
      ...template.metadata,
      labels: { ...template.metadata?.labels, [HASH_LABEL]: hash },
    };
    const sel = structuredClone(d.spec?.selector ?? {});
    sel.matchLabels = { ...sel.matchLabels, [HASH_LABEL]: hash };
    const ns = d.metadata?.namespace ?? '';
    const rs: ReplicaSet = {
      apiVersion: 'apps/v1',
      kind: 'ReplicaSet',
      metadata: {
        name: `${d.metadata?.name}-${hash}`,
        namespace: ns,
        ownerReferences: [controllerRef(d)],
        labels: template.metadata.labels,
      },
      spec: { replicas: 0, minReadySeconds: d.spec?.minReadySeconds ?? 0, selector: sel, template },
    };
    rs.spec!.replicas = newRSReplicas(d, [...oldRSs, rs], rs);
    setNewRSAnnotations(d, rs, newRevision, false);
    let created: ReplicaSet;
    let existed = false;
    try {
      created = await this.rsc.create(rs);
    } catch (e) {
      if (isKubeError(e, 'AlreadyExists')) {
        const other = await this.rsc.get(rs.metadata!.name!, { namespace: ns });
        if (
          controllerOf(other)?.uid === d.metadata?.uid &&
          sameTemplate(other.spec?.template, d.spec?.template)
        ) {
          created = other;
          existed = true;
        } else {
          // A hash collision: count it, so the next name differs.
          await this.writeStatus(d, { ...d.status, collisionCount: (d.status?.collisionCount ?? 0) + 1 });
          throw new Error(
            `found a hash collision for deployment "${d.metadata?.name}" - bumping collisionCount`,
          );
        }
      } else {
        const msg = `Failed to create new replica set "${rs.metadata!.name}": ${(e as Error).message}`;
        if (hasProgressDeadline(d)) {
          const status = structuredClone(d.status ?? {});
          setDeploymentCondition(
            status,
            condition('Progressing', 'False', Reasons.FailedRSCreate, msg, this.now()),
          );
          await this.writeStatus(d, status);
        }
        this.recorder.event(d, 'Warning', 'FailedCreate', msg);
        throw e;
      }
    }
    if (!existed && replicasOfNew(created) > 0)
      this.recorder.event(
        d,
        'Normal',
        'ScalingReplicaSet',
        `Scaled up replica set ${created.metadata?.name} from 0 to ${replicasOfNew(created)}`,
      );
    await this.syncRevision(d, String(newRevision), () =>
      !existed && hasProgressDeadline(d)
        ? condition(
            'Progressing',
            'True',
            Reasons.NewReplicaSetCreated,
            `Created new replica set "${created.metadata?.name}"`,
            this.now(),
          )
        : undefined,
    );
    return created;
  }

  /** The Deployment's revision annotation follows its new ReplicaSet's; a condition may come with it. */
  private async syncRevision(
    d: Deployment,
    revision: string | undefined,
    cond: () => DCondition | undefined,
  ): Promise<void> {
    if (revision !== undefined && d.metadata?.annotations?.[REVISION] !== revision) {
      const updated = await this.dc.patch(
        d.metadata?.name ?? '',
        'merge',
        { metadata: { annotations: { [REVISION]: revision }, resourceVersion: d.metadata?.resourceVersion } },
        { namespace: d.metadata?.namespace ?? '' },
      );
      d.metadata = updated.metadata;
    }
    const c = cond();
    if (c) {
      const status = structuredClone(d.status ?? {});
      setDeploymentCondition(status, c);
      await this.writeStatus(d, status);
    }
  }

  /** scaleReplicaSetAndRecordEvent: spec.replicas and the replica annotations, and the ScalingReplicaSet event. */
  async scaleRS(rs: ReplicaSet, to: number, d: Deployment, operation?: 'up' | 'down'): Promise<ReplicaSet> {
    const max = desired(d) + maxSurge(d);
    const from = rs.spec?.replicas ?? 0;
    if (from === to && !annotationsNeedUpdate(rs, desired(d), max)) return rs;
    const copy = structuredClone(rs);
    copy.spec = { ...copy.spec!, replicas: to };
    setReplicasAnnotations(copy, desired(d), max);
    const updated = await this.rsc.update(copy);
    if (from !== to)
      this.recorder.event(
        d,
        'Normal',
        'ScalingReplicaSet',
        `Scaled ${operation ?? (to > from ? 'up' : 'down')} replica set ${rs.metadata?.name} from ${from} to ${to}`,
      );
    return updated;
  }

  async deleteRS(rs: ReplicaSet): Promise<void> {
    try {
      await this.rsc.delete(rs.metadata?.name ?? '', {
        namespace: rs.metadata?.namespace ?? '',
        preconditions: { uid: rs.metadata?.uid ?? '' },
      });
    } catch (e) {
      if (!isKubeError(e, 'NotFound') && !isKubeError(e, 'Conflict')) throw e;
    }
  }

  /** calculateStatus. */
  calculateStatus(all: ReplicaSet[], newRS: ReplicaSet | undefined, d: Deployment): DeploymentStatus {
    const available = sumStatus(all, 'availableReplicas');
    const unavailable = Math.max(0, sumSpec(all) - available);
    const status: DeploymentStatus = omitZero({
      observedGeneration: d.metadata?.generation ?? 0,
      replicas: sumStatus(all, 'replicas'),
      updatedReplicas: sumStatus([newRS], 'replicas'),
      readyReplicas: sumStatus(all, 'readyReplicas'),
      availableReplicas: available,
      unavailableReplicas: unavailable,
      ...(d.status?.collisionCount !== undefined ? { collisionCount: d.status.collisionCount } : {}),
      ...(d.status?.conditions?.length ? { conditions: structuredClone(d.status.conditions) } : {}),
    });
    if (d.status?.collisionCount !== undefined) status.collisionCount = d.status.collisionCount;
    if (available >= desired(d) - maxUnavailable(d))
      setDeploymentCondition(
        status,
        condition(
          'Available',
          'True',
          Reasons.MinimumReplicasAvailable,
          'Deployment has minimum availability.',
          this.now(),
        ),
      );
    else
      setDeploymentCondition(
        status,
        condition(
          'Available',
          'False',
          Reasons.MinimumReplicasUnavailable,
          'Deployment does not have minimum availability.',
          this.now(),
        ),
      );
    return status;
  }

  async syncStatusOnly(
    d: Deployment,
    all: Array<ReplicaSet | undefined>,
    newRS: ReplicaSet | undefined,
  ): Promise<void> {
    const status = this.calculateStatus(
      all.filter((r): r is ReplicaSet => !!r),
      newRS,
      d,
    );
    if (!deepEqual(d.status ?? {}, status)) await this.writeStatus(d, status);
  }

  /** syncRolloutStatus: status plus the Progressing condition (and a timer for the progress deadline). */
  async syncRolloutStatus(all: ReplicaSet[], newRS: ReplicaSet | undefined, d: Deployment): Promise<void> {
    const status = this.calculateStatus(all, newRS, d);
    const now = this.now();
    if (!hasProgressDeadline(d))
      status.conditions = status.conditions?.filter((c) => c.type !== 'Progressing');
    const cur = getCond(d.status, 'Progressing');
    const complete =
      status.replicas === status.updatedReplicas && cur?.reason === Reasons.NewReplicaSetAvailable;
    const rsName = newRS?.metadata?.name;
    if (hasProgressDeadline(d) && !complete) {
      if (isComplete(d, status)) {
        const msg = rsName
          ? `ReplicaSet "${rsName}" has successfully progressed.`
          : `Deployment "${d.metadata?.name}" has successfully progressed.`;
        setDeploymentCondition(
          status,
          condition('Progressing', 'True', Reasons.NewReplicaSetAvailable, msg, now),
        );
      } else if (isProgressing(d, status)) {
        const msg = rsName
          ? `ReplicaSet "${rsName}" is progressing.`
          : `Deployment "${d.metadata?.name}" is progressing.`;
        const c = condition('Progressing', 'True', Reasons.ReplicaSetUpdated, msg, now);
        const existing = getCond(status, 'Progressing');
        if (existing?.status === 'True') c.lastTransitionTime = existing.lastTransitionTime;
        status.conditions = [
          ...(status.conditions ?? []).filter((x) => x.type !== 'Progressing'),
          c,
        ] as DeploymentStatus['conditions'];
      } else if (isTimedOut(d, status, now)) {
        const msg = rsName
          ? `ReplicaSet "${rsName}" has timed out progressing.`
          : `Deployment "${d.metadata?.name}" has timed out progressing.`;
        setDeploymentCondition(status, condition('Progressing', 'False', Reasons.TimedOut, msg, now));
      }
    }
    const failure = all
      .flatMap((rs) => (rs.status?.conditions ?? []) as Condition[])
      .find((c) => c.type === 'ReplicaFailure');
    if (failure)
      setDeploymentCondition(status, {
        ...failure,
        lastUpdateTime: failure.lastTransitionTime ?? nowRfc3339(now),
      });
    else status.conditions = status.conditions?.filter((c) => c.type !== 'ReplicaFailure');
    if (!status.conditions?.length) delete status.conditions;
    if (deepEqual(d.status ?? {}, status)) return this.requeueStuck(d, status);
    await this.writeStatus(d, status);
  }

  /** requeueStuckDeployment: look again when the progress deadline would pass. */
  private requeueStuck(d: Deployment, status: DeploymentStatus): void {
    const cur = getCond(d.status, 'Progressing');
    if (!hasProgressDeadline(d) || !cur) return;
    if (isComplete(d, status) || cur.reason === Reasons.TimedOut) return;
    const after =
      (Date.parse(cur.lastUpdateTime ?? '') || 0) +
      (d.spec?.progressDeadlineSeconds ?? 0) * 1000 -
      this.now();
    this.enqueueAfter(keyOf(d), Math.max(after, 0) + 1000);
  }

  async writeStatus(d: Deployment, status: DeploymentStatus): Promise<void> {
    try {
      const updated = await this.dc.updateStatus({ ...d, status });
      d.metadata = updated.metadata;
      d.status = updated.status;
    } catch (e) {
      if (!isKubeError(e, 'NotFound')) throw e;
    }
  }
}

const replicasOfNew = (rs: ReplicaSet): number => rs.spec?.replicas ?? 0;
