/**
 * A small work queue for controllers: keys are deduplicated while waiting, one key is never processed twice at
 * once, failures come back after an exponential back-off (5 ms doubling to 30 s, as client-go's default rate
 * limiter), and `addAfter` schedules a later look.
 */
import type { Logger } from '../log.js';

export class WorkQueue {
  private readonly queued = new Set<string>();
  private readonly order: string[] = [];
  private readonly active = new Set<string>();
  private readonly dirty = new Set<string>();
  private readonly failures = new Map<string, number>();
  private readonly timers = new Set<NodeJS.Timeout>();
  private running = 0;
  private stopped = false;

  constructor(
    private readonly handler: (key: string) => Promise<void>,
    private readonly log: Logger,
    private readonly workers = 2,
  ) {}

  add(key: string): void {
    if (this.stopped) return;
    if (this.active.has(key)) {
      this.dirty.add(key);
      return;
    }
    if (this.queued.has(key)) return;
    this.queued.add(key);
    this.order.push(key);
    this.pump();
  }

  addAfter(key: string, ms: number): void {
    const t = setTimeout(() => {
      this.timers.delete(t);
      this.add(key);
    }, ms);
    t.unref();
    this.timers.add(t);
  }

  private pump(): void {
    while (this.running < this.workers && this.order.length) {
      const key = this.order.shift()!;
      this.queued.delete(key);
      this.active.add(key);
      this.running++;
      void this.handler(key)
        .then(
          () => this.failures.delete(key),
          (e: unknown) => {
            const n = (this.failures.get(key) ?? 0) + 1;
            this.failures.set(key, n);
            this.log.debug('controller retry', {
              key,
              attempt: n,
              error: e instanceof Error ? e.message : String(e),
            });
            this.addAfter(key, Math.min(5 * 2 ** n, 30_000));
          },
        )
        .finally(() => {
          this.active.delete(key);
          this.running--;
          if (this.dirty.delete(key)) this.add(key);
          this.pump();
        });
    }
  }

  /** Resolves when nothing is queued or running (tests). */
  async idle(): Promise<void> {
    while (this.running || this.order.length) await new Promise((r) => setTimeout(r, 5));
  }

  stop(): void {
    this.stopped = true;
    for (const t of this.timers) clearTimeout(t);
    this.order.length = 0;
    this.queued.clear();
  }
}
