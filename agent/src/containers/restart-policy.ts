/** Restart policies as dockerd's restartmanager: decision plus exponential backoff. */
import type { RestartPolicy } from '@berth/common';

const BACKOFF_START_MS = 100;
const BACKOFF_MAX_MS = 60_000;
/** A run this long resets the backoff, as dockerd. */
const STABLE_RUN_MS = 10_000;

export interface RestartInput {
  policy: RestartPolicy | undefined;
  exitCode: number;
  manuallyStopped: boolean;
  restartCount: number;
}

export function shouldRestart(i: RestartInput): boolean {
  if (i.manuallyStopped) return false;
  switch (i.policy?.Name) {
    case 'always':
    case 'unless-stopped':
      return true;
    case 'on-failure': {
      const max = i.policy.MaximumRetryCount ?? 0;
      return i.exitCode !== 0 && (max === 0 || i.restartCount < max);
    }
    default:
      return false;
  }
}

/** On daemon start: `always` comes back even after docker stop; unless-stopped only if not stopped by hand. */
export function shouldRestartOnBoot(i: RestartInput): boolean {
  if (i.policy?.Name === 'always') return true;
  return shouldRestart(i);
}

export class Backoff {
  private delays = new Map<string, number>();

  next(id: string, ranMs: number): number {
    const prev = this.delays.get(id);
    const d =
      prev === undefined || ranMs >= STABLE_RUN_MS ? BACKOFF_START_MS : Math.min(prev * 2, BACKOFF_MAX_MS);
    this.delays.set(id, d);
    return d;
  }

  reset(id: string): void {
    this.delays.delete(id);
  }
}

/** Pending policy restarts: one timer per container, delayed by the backoff. */
export class RestartScheduler {
  private timers = new Map<string, NodeJS.Timeout>();
  private backoff = new Backoff();

  /** Calls `fire` after the backoff for a run that lasted `ranMs`. */
  schedule(id: string, ranMs: number, fire: () => void): void {
    this.cancel(id);
    const t = setTimeout(
      () => {
        this.timers.delete(id);
        fire();
      },
      this.backoff.next(id, ranMs),
    );
    this.timers.set(id, t);
  }

  /** True when a restart was pending. */
  cancel(id: string): boolean {
    const t = this.timers.get(id);
    if (t) clearTimeout(t);
    return this.timers.delete(id);
  }

  cancelAll(): void {
    for (const t of this.timers.values()) clearTimeout(t);
    this.timers.clear();
  }

  forget(id: string): void {
    this.cancel(id);
    this.backoff.reset(id);
  }
}
