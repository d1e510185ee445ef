/**
 * The TTL-after-finished controller (pkg/controller/ttlafterfinished): a finished Job with
 * `ttlSecondsAfterFinished` is deleted (foreground, so its pods go first) that many seconds after its Complete or
 * Failed condition's transition; the Job is read again before the delete, so a TTL raised meanwhile holds.
 */
import { isKubeError } from '../../errors.js';
import type { ResourceClient } from '../../client/index.js';
import { QueueController, type ControllerContext } from '../framework/controller.js';
import { keyOf, splitKey, type Informer } from '../framework/informer.js';
import type { Job } from '../framework/types.js';
import { finishedCondition } from './util.js';

/** Milliseconds until the Job expires (<= 0: expired); undefined when it has no TTL or is not finished. */
export function timeLeft(job: Job, now: number): number | undefined {
  const ttl = job.spec?.ttlSecondsAfterFinished;
  if (ttl === undefined || ttl === null || job.metadata?.deletionTimestamp) return undefined;
  const c = finishedCondition(job);
  if (!c) return undefined;
  const at = Date.parse(c.lastTransitionTime ?? '') || now;
  return at + ttl * 1000 - now;
}

export class TTLAfterFinishedController extends QueueController {
  private readonly jobs: Informer<Job>;
  private readonly rc: ResourceClient<Job>;

  constructor(ctx: ControllerContext) {
    super('ttl-after-finished', ctx, 'ttl-after-finished-controller');
    this.rc = ctx.client.resource<Job>('batch/v1', 'jobs');
    this.jobs = ctx.informers.for<Job>('batch/v1', 'jobs');
    const consider = (j: Job) => {
      if (timeLeft(j, this.now()) !== undefined) this.enqueue(keyOf(j));
    };
    this.jobs.on({ add: consider, update: (_old, j) => consider(j) });
  }

  protected initialKeys(): string[] {
    return this.jobs
      .list()
      .filter((j) => timeLeft(j, this.now()) !== undefined)
      .map(keyOf);
  }

  protected async sync(key: string): Promise<void> {
    const cached = this.jobs.get(key);
    if (!cached) return;
    const left = timeLeft(cached, this.now());
    if (left === undefined) return;
    if (left > 0) {
      this.enqueueAfter(key, left + 50);
      return;
    }
    const { namespace, name } = splitKey(key);
    let fresh: Job;
    try {
      fresh = await this.rc.get(name, { namespace });
    } catch (e) {
      if (isKubeError(e, 'NotFound')) return;
      throw e;
    }
    const freshLeft = timeLeft(fresh, this.now());
    if (freshLeft === undefined) return;
    if (freshLeft > 0) {
      this.enqueueAfter(key, freshLeft + 50);
      return;
    }
    try {
      await this.rc.delete(name, {
        namespace,
        propagationPolicy: 'Foreground',
        preconditions: {
          uid: fresh.metadata?.uid ?? '',
          resourceVersion: fresh.metadata?.resourceVersion ?? '',
        },
      });
      this.log.info('deleted a finished Job past its TTL', { job: key });
    } catch (e) {
      if (isKubeError(e, 'NotFound')) return;
      throw e;
    }
  }
}
