/**
 * The StatefulSet controller, as pkg/controller/statefulset: pods with stable names `<set>-<ordinal>` and their
 * claims, created in ordinal order and removed in reverse (OrderedReady waits for each pod to be Running and
 * Ready before the next step; Parallel does not), updated from the highest ordinal down to the partition
 * (RollingUpdate, at most maxUnavailable at once) or only when deleted (OnDelete), with ControllerRevisions for
 * currentRevision/updateRevision and `kubectl rollout undo`. Claims are kept when pods go (Retain) unless the
 * retention policy says Delete, which makes the claims owned by the set (whenDeleted) or by the pod being
 * condemned (whenScaled), so the garbage collector removes them.
 */
import { isKubeError } from '../../errors.js';
import type { ResourceClient } from '../../client/index.js';
import { deepEqual } from '../../registry/generic/metadata.js';
import type { KubeObject } from '../../registry/types.js';
import { fromStructured, type LabelSelector } from '../../selectors/labels.js';
import { claim, controllingOwnerKey, matchingOwnerKeys, ownerStillThere } from '../framework/claim.js';
import { QueueController, type ControllerContext } from '../framework/controller.js';
import { keyOf, type Informer } from '../framework/informer.js';
import { controllerOf, controllerRef, untilAvailable } from '../framework/pods.js';
import { compact, omitZero } from '../framework/status.js';
import type { ControllerRevision, PersistentVolumeClaim, Pod, StatefulSet } from '../framework/types.js';
import { scaled } from '../deployment/util.js';
import { RevisionHistory, revisionNumber } from '../history/revisions.js';
import {
  claimsFor,
  isCreated,
  isFinished,
  isHealthy,
  isRunningAndAvailable,
  isRunningAndReady,
  isTerminating,
  newPod,
  ordinalOf,
  podRevision,
  revisionTemplate,
  startOrdinal,
} from './identity.js';

type SetStatus = NonNullable<StatefulSet['status']>;

export class StatefulSetController extends QueueController {
  private readonly sets: Informer<StatefulSet>;
  private readonly pods: Informer<Pod>;
  private readonly rc: ResourceClient<StatefulSet>;
  private readonly podClient: ResourceClient<Pod>;
  private readonly claimClient: ResourceClient<PersistentVolumeClaim>;
  private readonly history: RevisionHistory;

  constructor(ctx: ControllerContext) {
    super('statefulset', ctx, 'statefulset-controller');
    this.rc = ctx.client.resource<StatefulSet>('apps/v1', 'statefulsets');
    this.podClient = ctx.client.resource<Pod>('v1', 'pods');
    this.claimClient = ctx.client.resource<PersistentVolumeClaim>('v1', 'persistentvolumeclaims');
    this.sets = ctx.informers.for<StatefulSet>('apps/v1', 'statefulsets');
    this.pods = ctx.informers.for<Pod>('v1', 'pods');
    const revisions = ctx.informers.for<ControllerRevision>('apps/v1', 'controllerrevisions');
    this.history = new RevisionHistory(
      ctx.client.resource<ControllerRevision>('apps/v1', 'controllerrevisions'),
      revisions,
      this.rc,
    );
    this.sets.on({
      add: (s) => this.enqueue(keyOf(s)),
      update: (_o, s) => this.enqueue(keyOf(s)),
      delete: (s) => this.enqueue(keyOf(s)),
    });
    const podChanged = (p: Pod) => {
      const key = this.ownerKey(p);
      if (key) this.enqueue(key);
      else if (!controllerOf(p)) for (const k of this.matching(p)) this.enqueue(k);
    };
    this.pods.on({
      add: podChanged,
      update: (old, p) => {
        const before = this.ownerKey(old);
        if (before && before !== this.ownerKey(p)) this.enqueue(before);
        podChanged(p);
      },
      delete: podChanged,
    });
  }

  protected initialKeys(): string[] {
    return this.sets.list().map(keyOf);
  }

  private ownerKey(p: Pod): string | undefined {
    return controllingOwnerKey(p, 'StatefulSet', this.sets);
  }

  private matching(p: Pod): string[] {
    return matchingOwnerKeys(p, this.sets, selectorOf);
  }

  protected async sync(key: string): Promise<void> {
    const set = this.sets.get(key);
    if (!set) return;
    const selector = selectorOf(set);
    // An empty selector would take every pod of the namespace: kube-controller-manager refuses it too.
    if (!selector.length) return;
    const ns = set.metadata?.namespace ?? '';
    const pods = await claim(this.pods.list(ns), {
      owner: set,
      selector,
      rc: this.podClient,
      canAdopt: ownerStillThere(this.rc as unknown as ResourceClient<KubeObject>, set),
      // Only pods named for the set belong to it (isMemberOf).
      adoptable: (p) => ordinalOf(set, p) >= 0,
    });
    if (set.metadata?.deletionTimestamp) return;
    const { all, update, collisionCount } = await this.history.ensure(set, selector);
    const current = all.find((r) => r.metadata?.name === set.status?.currentRevision) ?? update;
    const status = await this.reconcile(set, pods, current, update);
    status.collisionCount = collisionCount;
    status.observedGeneration = set.metadata?.generation ?? 0;
    completeRollingUpdate(set, status);
    await this.writeStatus(set, status);
    // Revisions in use: the current and update ones and every live pod's.
    const keep = new Set([
      status.currentRevision ?? '',
      status.updateRevision ?? '',
      ...pods.map(podRevision),
    ]);
    await this.history.truncate(
      all.filter((r) => revisionNumber(r) > 0),
      set.spec?.revisionHistoryLimit ?? 10,
      keep,
    );
  }

  /** One pass of the ordered steps (updateStatefulSet); returns the status it saw. */
  private async reconcile(
    set: StatefulSet,
    pods: Pod[],
    current: ControllerRevision,
    update: ControllerRevision,
  ): Promise<SetStatus> {
    const now = this.now();
    const minReady = set.spec?.minReadySeconds ?? 0;
    const want = set.spec?.replicas ?? 1;
    const start = startOrdinal(set);
    const monotonic = set.spec?.podManagementPolicy !== 'Parallel';
    const status: SetStatus = {
      replicas: 0,
      currentRevision: current.metadata?.name ?? '',
      updateRevision: update.metadata?.name ?? '',
    };
    for (const p of pods) {
      if (isCreated(p)) status.replicas++;
      if (isRunningAndReady(p)) {
        status.readyReplicas = (status.readyReplicas ?? 0) + 1;
        if (isRunningAndAvailable(p, minReady, now))
          status.availableReplicas = (status.availableReplicas ?? 0) + 1;
        const wait = untilAvailable(p, minReady, now);
        if (wait !== undefined) this.enqueueAfter(keyOf(set), wait + 50);
      }
      if (isCreated(p) && !isTerminating(p)) {
        if (podRevision(p) === status.currentRevision)
          status.currentReplicas = (status.currentReplicas ?? 0) + 1;
        if (podRevision(p) === status.updateRevision)
          status.updatedReplicas = (status.updatedReplicas ?? 0) + 1;
      }
    }
    const replicas: Array<Pod | undefined> = Array.from({ length: want });
    const condemned: Pod[] = [];
    for (const p of pods) {
      const ord = ordinalOf(set, p);
      if (ord >= start && ord < start + want) replicas[ord - start] = p;
      else if (ord >= 0) condemned.push(p);
    }
    condemned.sort((a, b) => ordinalOf(set, b) - ordinalOf(set, a));
    const healthy = (p: Pod | undefined) =>
      isHealthy(p) && (!minReady || isRunningAndAvailable(p!, minReady, now));

    // Create (and recreate finished pods) in ordinal order.
    const partition = set.spec?.updateStrategy?.rollingUpdate?.partition ?? 0;
    const rolling = (set.spec?.updateStrategy?.type ?? 'RollingUpdate') === 'RollingUpdate';
    for (let i = 0; i < want; i++) {
      const ord = start + i;
      const pod = replicas[i];
      if (pod && isFinished(pod) && !isTerminating(pod)) {
        await this.deletePod(set, pod);
        if (monotonic) return status;
        continue;
      }
      if (!pod) {
        // Below the partition a new pod keeps the current revision (newVersionedStatefulSetPod).
        const rev = rolling && ord < partition ? current : update;
        await this.createPod(set, ord, rev);
        if (monotonic) return status;
        continue;
      }
      if (monotonic && !healthy(pod)) return status;
    }
    // Condemned pods go from the highest ordinal down, one at a time when ordered.
    for (const p of condemned) {
      if (isTerminating(p)) {
        if (monotonic) return status;
        continue;
      }
      await this.condemn(set, p);
      if (monotonic) return status;
    }
    if (!rolling) return status;
    // Rolling update from the top down to the partition, at most maxUnavailable pods unhealthy at once.
    const maxUnavailable = Math.max(
      1,
      scaled(set.spec?.updateStrategy?.rollingUpdate?.maxUnavailable, want, false, '1'),
    );
    const updateMin = Math.min(partition, want);
    let unavailable = replicas.slice(updateMin).filter((p) => !healthy(p)).length;
    for (let i = want - 1; i >= updateMin; i--) {
      const pod = replicas[i];
      if (!pod || isTerminating(pod) || podRevision(pod) === status.updateRevision) continue;
      if (unavailable >= maxUnavailable) break;
      const wasHealthy = healthy(pod);
      await this.deletePod(set, pod);
      status.currentReplicas = Math.max(0, (status.currentReplicas ?? 0) - 1);
      if (wasHealthy) unavailable++;
    }
    return status;
  }

  private async createPod(set: StatefulSet, ordinal: number, rev: ControllerRevision): Promise<void> {
    const pod = newPod(set, ordinal, revisionTemplate(rev), rev.metadata?.name ?? '');
    const name = pod.metadata?.name ?? '';
    const setName = set.metadata?.name ?? '';
    try {
      await this.createClaims(set, ordinal, name);
      await this.podClient.create(pod);
      this.recorder.event(
        set,
        'Normal',
        'SuccessfulCreate',
        `create Pod ${name} in StatefulSet ${setName} successful`,
      );
    } catch (e) {
      // The cache has not seen our earlier create yet.
      if (isKubeError(e, 'AlreadyExists')) return;
      if (!isKubeError(e, 'Forbidden') || !/being terminated/.test((e as Error).message))
        this.recorder.event(
          set,
          'Warning',
          'FailedCreate',
          `create Pod ${name} in StatefulSet ${setName} failed error: ${(e as Error).message}`,
        );
      throw e;
    }
  }

  /** The pod's claims, created when missing (an existing claim is reused: that is the set's stable storage). */
  private async createClaims(set: StatefulSet, ordinal: number, podName: string): Promise<void> {
    const setName = set.metadata?.name ?? '';
    const whenDeleted = set.spec?.persistentVolumeClaimRetentionPolicy?.whenDeleted ?? 'Retain';
    for (const c of claimsFor(set, ordinal)) {
      const name = c.metadata?.name ?? '';
      try {
        await this.claimClient.get(name, { namespace: c.metadata?.namespace ?? '' });
        continue;
      } catch (e) {
        if (!isKubeError(e, 'NotFound')) throw e;
      }
      if (whenDeleted === 'Delete')
        c.metadata!.ownerReferences = [{ ...controllerRef(set), controller: true }];
      try {
        await this.claimClient.create(c);
        this.recorder.event(
          set,
          'Normal',
          'SuccessfulCreate',
          `create Claim ${name} Pod ${podName} in StatefulSet ${setName} success`,
        );
      } catch (e) {
        if (isKubeError(e, 'AlreadyExists')) continue;
        this.recorder.event(
          set,
          'Warning',
          'FailedCreate',
          `create Claim ${name} for Pod ${podName} in StatefulSet ${setName} failed error: ${(e as Error).message}`,
        );
        throw e;
      }
    }
  }

  /** Scale-down: with whenScaled Delete the pod's claims become the pod's, so they go with it. */
  private async condemn(set: StatefulSet, pod: Pod): Promise<void> {
    if (set.spec?.persistentVolumeClaimRetentionPolicy?.whenScaled === 'Delete') {
      const ord = ordinalOf(set, pod);
      for (const c of claimsFor(set, ord)) {
        const ref = {
          apiVersion: 'v1',
          kind: 'Pod',
          name: pod.metadata?.name ?? '',
          uid: pod.metadata?.uid ?? '',
          controller: false,
          blockOwnerDeletion: true,
        };
        try {
          await this.claimClient.patch(
            c.metadata?.name ?? '',
            'strategic',
            { metadata: { ownerReferences: [ref] } },
            { namespace: c.metadata?.namespace ?? '' },
          );
        } catch (e) {
          if (!isKubeError(e, 'NotFound')) throw e;
        }
      }
    }
    await this.deletePod(set, pod);
  }

  private async deletePod(set: StatefulSet, pod: Pod): Promise<void> {
    const name = pod.metadata?.name ?? '';
    const setName = set.metadata?.name ?? '';
    try {
      await this.podClient.delete(name, {
        namespace: pod.metadata?.namespace ?? '',
        preconditions: { uid: pod.metadata?.uid ?? '' },
      });
      this.recorder.event(
        set,
        'Normal',
        'SuccessfulDelete',
        `delete Pod ${name} in StatefulSet ${setName} successful`,
      );
    } catch (e) {
      if (isKubeError(e, 'NotFound') || isKubeError(e, 'Conflict')) return;
      this.recorder.event(
        set,
        'Warning',
        'FailedDelete',
        `delete Pod ${name} in StatefulSet ${setName} failed error: ${(e as Error).message}`,
      );
      throw e;
    }
  }

  private async writeStatus(set: StatefulSet, status: SetStatus): Promise<void> {
    const next = omitZero(status, ['replicas']);
    if (deepEqual(compact(set.status), compact(next))) return;
    try {
      await this.rc.updateStatus({ ...set, status: next });
    } catch (e) {
      // A newer set is on its way through the informer: its sync writes the status.
      if (isKubeError(e, 'NotFound') || isKubeError(e, 'Conflict')) return;
      throw e;
    }
  }
}

function selectorOf(s: StatefulSet): LabelSelector {
  return fromStructured(s.spec?.selector as Parameters<typeof fromStructured>[0]);
}

/** A finished RollingUpdate makes the update revision current (completeRollingUpdate). */
function completeRollingUpdate(set: StatefulSet, status: SetStatus): void {
  const rolling = (set.spec?.updateStrategy?.type ?? 'RollingUpdate') === 'RollingUpdate';
  if (
    rolling &&
    (status.updatedReplicas ?? 0) === status.replicas &&
    (status.readyReplicas ?? 0) === status.replicas
  ) {
    status.currentReplicas = status.updatedReplicas;
    status.currentRevision = status.updateRevision;
  }
}
