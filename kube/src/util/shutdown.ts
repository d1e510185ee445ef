/**
 * Ordered shutdown with a bound per step: each step is logged, and one that has not finished in `stepMs` is
 * reported by name and left behind, so a stuck peer or a pending promise can never keep berth-kube alive after
 * SIGTERM (the state that matters is already on disk: every store write is synchronous).
 */
import type { Logger } from '../log.js';

export interface ShutdownStep {
  name: string;
  run(): Promise<void> | void;
}

export async function runShutdown(steps: ShutdownStep[], log: Logger, stepMs = 10_000): Promise<boolean> {
  let clean = true;
  for (const step of steps) {
    const started = Date.now();
    let timer: NodeJS.Timeout | undefined;
    const late = new Promise<'late'>((resolve) => {
      timer = setTimeout(() => resolve('late'), stepMs);
    });
    try {
      const r = await Promise.race([Promise.resolve(step.run()).then(() => 'done' as const), late]);
      if (r === 'late') {
        clean = false;
        log.warn('shutdown step did not finish; going on without it', { step: step.name, waitedMs: stepMs });
      } else log.debug('stopped', { step: step.name, ms: Date.now() - started });
    } catch (e) {
      clean = false;
      log.warn('shutdown step failed', { step: step.name, error: (e as Error).message });
    } finally {
      clearTimeout(timer);
    }
  }
  return clean;
}
