/** The scheduler's entry: build it over shared informers and start its loop. */
import { Scheduler, type SchedulerOptions } from './scheduler.js';

export { Scheduler, SCHEDULER_NAME, type SchedulerOptions } from './scheduler.js';

export async function startScheduler(o: SchedulerOptions): Promise<Scheduler> {
  const s = new Scheduler({ ...o, log: o.log.child({ component: 'scheduler' }) });
  await s.start();
  return s;
}
