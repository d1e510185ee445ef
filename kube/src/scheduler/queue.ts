/**
 * The scheduling queue, as kube-scheduler's PriorityQueue: an active queue popped highest priority first (then
 * oldest), a back-off for pods that just failed (1 s doubling to 10 s), and the unschedulable pods, which wait
 * until something in the cluster changes (a node, a pod leaving, a volume) or 5 minutes pass. A change that
 * happens while a pod is being scheduled sends that pod back to the active queue if its attempt fails, so no
 * event is missed between a snapshot and the failure.
 */
const BACKOFF_INITIAL_MS = 1000;
const BACKOFF_MAX_MS = 10_000;
const UNSCHEDULABLE_MAX_MS = 5 * 60_000;
const FLUSH_MS = 30_000;

interface Entry {
  key: string;
  priority: number;
  added: number;
  attempts: number;
  /** When its back-off ends (ms since epoch). */
  backoffUntil: number;
  /** The move counter when it was popped. */
  cycle: number;
}

export class SchedulingQueue {
  private readonly active = new Map<string, Entry>();
  private readonly unschedulable = new Map<string, Entry & { since: number }>();
  private readonly backoff = new Map<string, { e: Entry; timer: NodeJS.Timeout }>();
  private readonly known = new Map<string, Entry>();
  private readonly inFlight = new Map<string, Entry>();
  private waiter?: () => void;
  private moveCycle = 0;
  private closed = false;
  private readonly flusher: NodeJS.Timeout;

  constructor(
    private readonly now: () => number = Date.now,
    private readonly backoffInitialMs = BACKOFF_INITIAL_MS,
  ) {
    this.flusher = setInterval(() => this.flushUnschedulable(), FLUSH_MS);
    this.flusher.unref();
  }

  /** A new or changed pod that needs a node: to the active queue at once. */
  add(key: string, priority: number): void {
    if (this.closed) return;
    let e = this.known.get(key);
    if (!e) {
      e = { key, priority, added: this.now(), attempts: 0, backoffUntil: 0, cycle: 0 };
      this.known.set(key, e);
    }
    e.priority = priority;
    if (this.inFlight.has(key)) return;
    this.unschedulable.delete(key);
    const b = this.backoff.get(key);
    if (b) {
      clearTimeout(b.timer);
      this.backoff.delete(key);
    }
    this.active.set(key, e);
    this.wake();
  }

  /** Forget the pod (bound, deleted, handed to another scheduler). */
  remove(key: string): void {
    this.known.delete(key);
    this.active.delete(key);
    this.unschedulable.delete(key);
    const b = this.backoff.get(key);
    if (b) clearTimeout(b.timer);
    this.backoff.delete(key);
  }

  has(key: string): boolean {
    return this.known.has(key);
  }

  /** The next pod to schedule; resolves undefined once closed. */
  async pop(): Promise<string | undefined> {
    for (;;) {
      if (this.closed) return undefined;
      let best: Entry | undefined;
      for (const e of this.active.values())
        if (!best || e.priority > best.priority || (e.priority === best.priority && e.added < best.added))
          best = e;
      if (best) {
        this.active.delete(best.key);
        best.cycle = this.moveCycle;
        best.attempts++;
        this.inFlight.set(best.key, best);
        return best.key;
      }
      await new Promise<void>((r) => (this.waiter = r));
    }
  }

  /** The attempt ended with the pod bound (or gone). */
  done(key: string): void {
    this.inFlight.delete(key);
    this.remove(key);
  }

  /** The attempt failed: unschedulable until a change, or (after a change during the attempt) back-off. */
  failed(key: string, unschedulable: boolean): void {
    const e = this.inFlight.get(key);
    this.inFlight.delete(key);
    if (!e || !this.known.has(key) || this.closed) return;
    const delay = Math.min(this.backoffInitialMs * 2 ** (e.attempts - 1), BACKOFF_MAX_MS);
    e.backoffUntil = this.now() + delay;
    if (unschedulable && e.cycle === this.moveCycle) this.unschedulable.set(key, { ...e, since: this.now() });
    else this.toBackoff(e);
  }

  private toBackoff(e: Entry): void {
    const wait = e.backoffUntil - this.now();
    if (wait <= 0) {
      this.active.set(e.key, e);
      this.wake();
      return;
    }
    const timer = setTimeout(() => {
      this.backoff.delete(e.key);
      if (!this.known.has(e.key)) return;
      this.active.set(e.key, e);
      this.wake();
    }, wait);
    timer.unref();
    this.backoff.set(e.key, { e, timer });
  }

  /** Something changed that may let unschedulable pods fit. */
  moveAll(): void {
    this.moveCycle++;
    const entries = [...this.unschedulable.values()];
    this.unschedulable.clear();
    for (const e of entries) this.toBackoff(e);
  }

  private flushUnschedulable(): void {
    const now = this.now();
    for (const [k, e] of this.unschedulable)
      if (now - e.since > UNSCHEDULABLE_MAX_MS) {
        this.unschedulable.delete(k);
        this.toBackoff(e);
      }
  }

  /** Pods waiting in any state (tests). */
  pending(): { active: number; backoff: number; unschedulable: number; inFlight: number } {
    return {
      active: this.active.size,
      backoff: this.backoff.size,
      unschedulable: this.unschedulable.size,
      inFlight: this.inFlight.size,
    };
  }

  private wake(): void {
    const w = this.waiter;
    this.waiter = undefined;
    w?.();
  }

  close(): void {
    this.closed = true;
    clearInterval(this.flusher);
    for (const b of this.backoff.values()) clearTimeout(b.timer);
    this.backoff.clear();
    this.wake();
  }
}
