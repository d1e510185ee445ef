/**
 * Periodic compaction, the policy kube-apiserver applies to etcd (its --etcd-compaction-interval, 5 minutes) and
 * kine to SQLite: at each tick, compact to the revision seen at the previous tick, so history always covers at
 * least one interval. Like kine, never compact within the newest `minRetain` revisions: a burst of writes (a
 * Helm install, a rollout) must not push a watcher that is a few seconds behind into a 410 and a full relist.
 *
 * Window: 5 minutes and 1,000 revisions, kine's defaults. An informer that falls further behind than that relists
 * anyway (client-go's reflector treats 410 as routine), and the history costs little: 1,000 superseded rows of a
 * few KiB each is a few MiB in state.db, while a longer window only grows the file and slows lists at old
 * revisions.
 */
import type { Logger } from '@berth/common/log';
import type { Store } from './types.js';

export interface CompactionPolicy {
  intervalMs: number;
  minRetain: number;
}

export const DEFAULT_COMPACTION: CompactionPolicy = { intervalMs: 5 * 60_000, minRetain: 1000 };

export interface Compactor {
  /** One tick now (tests and the bench); resolves when its compaction is done. */
  tick(): Promise<void>;
  stop(): void;
}

export function startCompactor(
  store: Store,
  log: Logger,
  policy: CompactionPolicy = DEFAULT_COMPACTION,
): Compactor {
  let previous = 0;
  let running: Promise<void> = Promise.resolve();
  const tick = (): Promise<void> => {
    running = running.then(async () => {
      try {
        const current = await store.revision();
        const target = Math.min(previous, current - policy.minRetain);
        previous = current;
        if (target > (await store.compactedRevision())) await store.compact(target);
      } catch (err) {
        log.warn('store compaction failed', { err: err as Error });
      }
    });
    return running;
  };
  const timer = setInterval(() => void tick(), policy.intervalMs);
  timer.unref();
  return { tick, stop: () => clearInterval(timer) };
}
