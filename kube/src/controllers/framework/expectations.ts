/**
 * Controller expectations, as kube-controller-manager's ControllerExpectations with UID tracking: after a
 * controller asks for n creations or deletions it waits until its informer has seen them (or 5 minutes pass)
 * before it counts pods again, so a sync that runs before the watch caught up does not create twice.
 */
const TTL_MS = 5 * 60_000;

interface Expectation {
  add: number;
  del: number;
  at: number;
  /** Keys of pods whose deletion is expected; each is observed once. */
  deleting: Set<string>;
}

export class Expectations {
  private readonly m = new Map<string, Expectation>();

  constructor(private readonly now: () => number = Date.now) {}

  private entry(key: string): Expectation {
    let e = this.m.get(key);
    if (!e) this.m.set(key, (e = { add: 0, del: 0, at: this.now(), deleting: new Set() }));
    return e;
  }

  expectCreations(key: string, n: number): void {
    const e = this.entry(key);
    e.add = n;
    e.at = this.now();
  }

  /** Expects these objects (by key) to go. */
  expectDeletions(key: string, objectKeys: string[]): void {
    const e = this.entry(key);
    for (const k of objectKeys) e.deleting.add(k);
    e.del = e.deleting.size;
    e.at = this.now();
  }

  creationObserved(key: string): void {
    const e = this.m.get(key);
    if (e && e.add > 0) e.add--;
  }

  /** A create that failed will never be observed. */
  lowerCreations(key: string, n = 1): void {
    const e = this.m.get(key);
    if (e) e.add = Math.max(0, e.add - n);
  }

  deletionObserved(key: string, objectKey: string): void {
    const e = this.m.get(key);
    if (e?.deleting.delete(objectKey)) e.del = e.deleting.size;
  }

  satisfied(key: string): boolean {
    const e = this.m.get(key);
    if (!e) return true;
    if (e.add <= 0 && e.del <= 0) return true;
    return this.now() - e.at > TTL_MS;
  }

  forget(key: string): void {
    this.m.delete(key);
  }
}
