/**
 * Watches each run of a container for its exit (runtime.wait) and lets operations wait until that exit has
 * been recorded. A run is a generation: an exit reported for an older run than the current one is ignored.
 */
import type { ExitStatus, Runtime } from '../runtime/types.js';

interface Deferred {
  promise: Promise<void>;
  resolve(): void;
}

function deferred(): Deferred {
  let resolve!: () => void;
  const promise = new Promise<void>((r) => (resolve = r));
  return { promise, resolve };
}

const sleep = (ms: number) => new Promise<'timeout'>((r) => setTimeout(() => r('timeout'), ms).unref());

export class ExitMonitor {
  private generation = new Map<string, number>();
  private recordedRun = new Map<string, Deferred>();

  constructor(
    private readonly runtime: Runtime,
    /** Records the exit; the run counts as recorded once it settles. */
    private readonly onExit: (id: string, st: ExitStatus) => Promise<void>,
  ) {}

  /** Starts watching a new run of `id` (after start, or a live container adopted at boot). */
  watch(id: string): void {
    const gen = (this.generation.get(id) ?? 0) + 1;
    this.generation.set(id, gen);
    const done = deferred();
    this.recordedRun.set(id, done);
    const record = async (st: ExitStatus) => {
      try {
        if (this.generation.get(id) === gen) await this.onExit(id, st);
      } finally {
        done.resolve();
      }
    };
    this.runtime.wait(id).then(record, (err: Error) =>
      record({
        exitCode: 255,
        oomKilled: false,
        finishedAt: new Date(),
        error: `lost track of the container: ${err.message}`,
      }),
    );
  }

  /** Waits until the current run's exit is recorded, at most `ms` (Infinity: no limit); false on timeout. */
  async recorded(id: string, ms: number): Promise<boolean> {
    const d = this.recordedRun.get(id);
    if (!d) return true;
    if (ms === Infinity) {
      await d.promise;
      return true;
    }
    return (await Promise.race([d.promise.then(() => 'done' as const), sleep(ms)])) === 'done';
  }

  forget(id: string): void {
    this.generation.delete(id);
    this.recordedRun.get(id)?.resolve();
    this.recordedRun.delete(id);
  }
}
