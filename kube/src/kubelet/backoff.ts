/**
 * The kubelet's flowcontrol.Backoff: per key, 10 s doubling to 5 min, measured from the event (a container's
 * finish, a failed pull); an entry untouched for twice the maximum starts over.
 */
export class Backoff {
  private entries = new Map<string, { delay: number; last: number }>();

  constructor(
    private readonly initialMs = 10_000,
    private readonly maxMs = 300_000,
    private readonly now: () => number = Date.now,
  ) {}

  private live(key: string, at: number) {
    const e = this.entries.get(key);
    if (e && at - e.last > 2 * this.maxMs) {
      this.entries.delete(key);
      return undefined;
    }
    return e;
  }

  /** Still backing off: less than the current delay has passed since `eventTime`. */
  inBackoffSince(key: string, eventTime: number): boolean {
    const e = this.live(key, eventTime);
    return e !== undefined && this.now() - eventTime < e.delay;
  }

  /** Milliseconds left of the back-off for an event at `eventTime` (0 when none). */
  remaining(key: string, eventTime: number): number {
    const e = this.live(key, eventTime);
    return e ? Math.max(0, e.delay - (this.now() - eventTime)) : 0;
  }

  /** Records an attempt at `eventTime`: the first waits the initial delay, each next one twice the last. */
  next(key: string, eventTime: number): void {
    const e = this.live(key, eventTime);
    const delay = e ? Math.min(e.delay * 2, this.maxMs) : this.initialMs;
    this.entries.set(key, { delay, last: eventTime });
  }

  delay(key: string): number {
    return this.entries.get(key)?.delay ?? 0;
  }

  forget(prefix: string): void {
    for (const k of this.entries.keys()) if (k.startsWith(prefix)) this.entries.delete(k);
  }
}
