/**
 * The ReplicaSet controller (and, with another flavor, the ReplicationController one), as
 * pkg/controller/replicaset: claims the active pods its selector matches, creates the missing ones in slow-start
 * batches (1, 2, 4, ...) or deletes the surplus in deletion-rank order, with expectations so a sync that runs
 * before the watch caught up does not act twice, and writes status (replicas, fullyLabeledReplicas,
 * readyReplicas, availableReplicas, observedGeneration, the ReplicaFailure condition) and the events
 * SuccessfulCreate / SuccessfulDelete / FailedCreate / FailedDelete.
 */
import { isKubeError } from '../../errors.js';
import type { ResourceClient } from '../../client/index.js';
import { deepEqual } from '../../registry/generic/metadata.js';
import type { KubeObject } from '../../registry/types.js';
import { fromStructured, matchesLabels, type LabelSelector } from '../../selectors/labels.js';
import { claim, ownerStillThere } from '../framework/claim.js';
import { getCondition, nowRfc3339, removeCondition, setCondition } from '../framework/conditions.js';
import { QueueController, type ControllerContext } from '../framework/controller.js';
import { Expectations } from '../framework/expectations.js';
import { keyOf, type Informer } from '../framework/informer.js';
import {
  controllerOf,
  deletionOrder,
  isActive,
  isAvailable,
  isReady,
  podFromTemplate,
  podPrefix,
  untilAvailable,
} from '../framework/pods.js';
import { compact, omitZero } from '../framework/status.js';
import type { Condition, Pod, PodTemplateSpec } from '../framework/types.js';

/** The most pods one sync creates or deletes (kube-controller-manager's burstReplicas). */
const BURST = 500;

interface ReplicaOwner extends KubeObject {
  spec?: {
    replicas?: number;
    minReadySeconds?: number;
    selector?: unknown;
    template?: PodTemplateSpec;
  };
  status?: {
    replicas?: number;
    fullyLabeledReplicas?: number;
    readyReplicas?: number;
    availableReplicas?: number;
    observedGeneration?: number;
    conditions?: Condition[];
  };
}

export interface ReplicaFlavor {
  name: string;
  component: string;
  apiVersion: string;
  plural: string;
  kind: string;
  selector(o: ReplicaOwner): LabelSelector;
}

export const REPLICA_SET: ReplicaFlavor = {
  name: 'replicaset',
  component: 'replicaset-controller',
  apiVersion: 'apps/v1',
  plural: 'replicasets',
  kind: 'ReplicaSet',
  selector: (o) => fromStructured(o.spec?.selector as Parameters<typeof fromStructured>[0]),
};

/** A ReplicationController's selector is a plain map; absent, it is the template's labels. */
export const REPLICATION_CONTROLLER: ReplicaFlavor = {
  name: 'replicationcontroller',
  component: 'replication-controller',
  apiVersion: 'v1',
  plural: 'replicationcontrollers',
  kind: 'ReplicationController',
  selector: (o) =>
    fromStructured({
      matchLabels:
        (o.spec?.selector as Record<string, string> | undefined) ?? o.spec?.template?.metadata?.labels ?? {},
    }),
};

export class ReplicaSetController extends QueueController {
  private readonly owners: Informer<ReplicaOwner>;
  private readonly pods: Informer<Pod>;
  private readonly expectations: Expectations;
  private readonly rc: ResourceClient<ReplicaOwner>;
  private readonly podClient: ResourceClient<Pod>;

  constructor(
    ctx: ControllerContext,
    private readonly flavor: ReplicaFlavor = REPLICA_SET,
  ) {
    super(flavor.name, ctx, flavor.component);
    this.expectations = new Expectations(() => ctx.now());
    this.rc = ctx.client.resource<ReplicaOwner>(flavor.apiVersion, flavor.plural);
    this.podClient = ctx.client.resource<Pod>('v1', 'pods');
    this.owners = ctx.informers.for<ReplicaOwner>(flavor.apiVersion, flavor.plural);
    this.pods = ctx.informers.for<Pod>('v1', 'pods');
    this.owners.on({
      add: (o) => this.enqueue(keyOf(o)),
      update: (_old, o) => this.enqueue(keyOf(o)),
      delete: (o) => {
        this.expectations.forget(keyOf(o));
        this.enqueue(keyOf(o));
      },
    });
    this.pods.on({
      add: (p) => this.podAdded(p),
      update: (old, p) => this.podUpdated(old, p),
      delete: (p) => this.podDeleted(p),
    });
  }

  protected initialKeys(): string[] {
    return this.owners.list().map(keyOf);
  }

  private ownerKey(p: Pod): string | undefined {
    const ref = controllerOf(p);
    if (!ref || ref.kind !== this.flavor.kind) return undefined;
    const o = this.owners.getIn(p.metadata?.namespace, ref.name);
    return o?.metadata?.uid === ref.uid ? keyOf(o) : undefined;
  }

  /** Owners whose selector matches an orphan pod (they may adopt it). */
  private matchingOwners(p: Pod): string[] {
    return this.owners
      .list(p.metadata?.namespace ?? '')
      .filter((o) => {
        const sel = this.flavor.selector(o);
        return sel.length > 0 && matchesLabels(sel, p.metadata?.labels);
      })
      .map(keyOf);
  }

  private podAdded(p: Pod): void {
    if (p.metadata?.deletionTimestamp) return this.podDeleted(p);
    const key = this.ownerKey(p);
    if (key) {
      this.expectations.creationObserved(key);
      this.enqueue(key);
    } else if (!controllerOf(p)) for (const k of this.matchingOwners(p)) this.enqueue(k);
  }

  private podUpdated(old: Pod, p: Pod): void {
    if (old === p) {
      const key = this.ownerKey(p);
      if (key) this.enqueue(key);
      return;
    }
    if (p.metadata?.deletionTimestamp && !old.metadata?.deletionTimestamp) {
      // Graceful deletion started: for the owner the pod is gone already.
      this.podDeleted(p);
    }
    const before = this.ownerKey(old);
    const after = this.ownerKey(p);
    if (before && before !== after) this.enqueue(before);
    if (after) {
      this.enqueue(after);
      const owner = this.owners.get(after);
      const minReady = owner?.spec?.minReadySeconds ?? 0;
      if (minReady > 0 && !isReady(old) && isReady(p)) this.enqueueAfter(after, minReady * 1000 + 100);
    } else if (!controllerOf(p) && !deepEqual(old.metadata?.labels, p.metadata?.labels))
      for (const k of this.matchingOwners(p)) this.enqueue(k);
  }

  private podDeleted(p: Pod): void {
    const key = this.ownerKey(p);
    if (!key) return;
    this.expectations.deletionObserved(key, keyOf(p));
    this.enqueue(key);
  }

  protected async sync(key: string): Promise<void> {
    const owner = this.owners.get(key);
    if (!owner) {
      this.expectations.forget(key);
      return;
    }
    const selector = this.flavor.selector(owner);
    const needsSync = this.expectations.satisfied(key) && !owner.metadata?.deletionTimestamp;
    const ns = owner.metadata?.namespace ?? '';
    const active = this.pods.list(ns).filter(isActive);
    const pods = await claim(active, {
      owner,
      selector,
      rc: this.podClient,
      canAdopt: ownerStillThere(this.rc as unknown as ResourceClient<KubeObject>, owner),
    });
    let failure: Condition | undefined;
    if (needsSync) failure = await this.manage(key, owner, pods);
    await this.writeStatus(owner, pods, failure);
  }

  /** Creates or deletes pods toward spec.replicas; returns the ReplicaFailure condition when a write failed. */
  private async manage(key: string, owner: ReplicaOwner, pods: Pod[]): Promise<Condition | undefined> {
    const want = owner.spec?.replicas ?? 1;
    const diff = pods.length - want;
    const ns = owner.metadata?.namespace ?? '';
    if (diff < 0) {
      const n = Math.min(-diff, BURST);
      this.expectations.expectCreations(key, n);
      const { successes, error } = await slowStartBatch(n, async () => {
        const pod = podFromTemplate(owner.spec?.template, ns, owner, {
          generateName: podPrefix(owner.metadata?.name ?? ''),
        });
        try {
          const created = await this.podClient.create(pod);
          this.recorder.event(owner, 'Normal', 'SuccessfulCreate', `Created pod: ${created.metadata?.name}`);
        } catch (e) {
          // A namespace on its way out refuses creates: nothing to report.
          if (!isKubeError(e, 'Forbidden') || !/being terminated/.test((e as Error).message))
            this.recorder.event(owner, 'Warning', 'FailedCreate', `Error creating: ${(e as Error).message}`);
          throw e;
        }
      });
      if (successes < n) this.expectations.lowerCreations(key, n - successes);
      if (error)
        return {
          type: 'ReplicaFailure',
          status: 'True',
          reason: 'FailedCreate',
          message: error.message,
          lastTransitionTime: nowRfc3339(this.now()),
        };
      return undefined;
    }
    if (diff > 0) {
      const victims = [...pods].sort(deletionOrder).slice(0, Math.min(diff, BURST));
      this.expectations.expectDeletions(key, victims.map(keyOf));
      let error: Error | undefined;
      await Promise.all(
        victims.map(async (p) => {
          try {
            await this.podClient.delete(p.metadata?.name ?? '', {
              namespace: ns,
              preconditions: { uid: p.metadata?.uid ?? '' },
            });
            this.recorder.event(owner, 'Normal', 'SuccessfulDelete', `Deleted pod: ${p.metadata?.name}`);
          } catch (e) {
            this.expectations.deletionObserved(key, keyOf(p));
            if (isKubeError(e, 'NotFound')) return;
            error ??= e as Error;
            this.recorder.event(owner, 'Warning', 'FailedDelete', `Error deleting: ${(e as Error).message}`);
          }
        }),
      );
      if (error)
        return {
          type: 'ReplicaFailure',
          status: 'True',
          reason: 'FailedDelete',
          message: error.message,
          lastTransitionTime: nowRfc3339(this.now()),
        };
    }
    return undefined;
  }

  private async writeStatus(owner: ReplicaOwner, pods: Pod[], failure: Condition | undefined): Promise<void> {
    const minReady = owner.spec?.minReadySeconds ?? 0;
    const templateLabels = owner.spec?.template?.metadata?.labels ?? {};
    const now = this.now();
    const ready = pods.filter(isReady);
    let conditions = owner.status?.conditions;
    if (failure) conditions = setCondition(conditions, failure);
    else if (getCondition(conditions, 'ReplicaFailure'))
      conditions = removeCondition(conditions, 'ReplicaFailure');
    const status: NonNullable<ReplicaOwner['status']> = omitZero(
      {
        replicas: pods.length,
        fullyLabeledReplicas: pods.filter((p) =>
          Object.entries(templateLabels).every(([k, v]) => p.metadata?.labels?.[k] === v),
        ).length,
        readyReplicas: ready.length,
        availableReplicas: pods.filter((p) => isAvailable(p, minReady, now)).length,
        observedGeneration: owner.metadata?.generation ?? 0,
        ...(conditions?.length ? { conditions } : {}),
      },
      ['replicas'],
    );
    // A pod turns available minReadySeconds after it became ready: look again then.
    const waits = ready
      .map((p) => untilAvailable(p, minReady, now))
      .filter((x): x is number => x !== undefined);
    if (waits.length) this.enqueueAfter(keyOf(owner), Math.min(...waits) + 50);
    if (deepEqual(compact(owner.status), compact(status))) return;
    try {
      await this.rc.updateStatus({ ...owner, status });
    } catch (e) {
      if (isKubeError(e, 'NotFound')) return;
      throw e;
    }
  }
}

/** Runs `fn` count times in batches of 1, 2, 4, ..., stopping after the first batch with a failure. */
export async function slowStartBatch(
  count: number,
  fn: () => Promise<void>,
): Promise<{ successes: number; error?: Error }> {
  let remaining = count;
  let successes = 0;
  for (let batch = Math.min(remaining, 1); batch > 0; batch = Math.min(2 * batch, remaining)) {
    const results = await Promise.allSettled(Array.from({ length: batch }, () => fn()));
    const failed = results.filter((r): r is PromiseRejectedResult => r.status === 'rejected');
    successes += batch - failed.length;
    if (failed.length) return { successes, error: failed[0].reason as Error };
    remaining -= batch;
  }
  return { successes };
}
