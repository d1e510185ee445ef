/**
 * The kubelet's line to berthd: /version to know it answers, then its /events stream filtered to pod containers
 * (the cri-dockerd labels), so a container that dies, is killed or is removed behind the kubelet's back
 * (`docker rm -f`) is noticed at once. When the stream breaks (berthd stopped, crashed or restarted) the runtime is
 * down until /version answers again; the kubelet then resyncs every pod.
 */
import type { Logger } from '../log.js';
import type { EngineClient } from './engine/client.js';
import { LABEL_POD_UID } from './naming.js';

export interface EngineWatchHandlers {
  up(version: string): void;
  down(reason: string): void;
  /** A pod container changed state behind the pod worker's back (or because of it). */
  container(podUid: string, action: string): void;
}

const ACTIONS = new Set(['die', 'destroy', 'oom', 'start']);

export const describeError = (err: unknown): string => {
  const e = err as NodeJS.ErrnoException;
  return e.code ? `${e.code} ${e.message}` : (e.message ?? String(err));
};

export class EngineWatch {
  private abort?: AbortController;
  private stopped = false;
  private wake?: () => void;

  constructor(
    private readonly engine: EngineClient,
    private readonly endpoint: string,
    private readonly h: EngineWatchHandlers,
    private readonly log: Logger,
  ) {}

  start(): void {
    void this.loop();
  }

  stop(): void {
    this.stopped = true;
    this.abort?.abort();
    this.wake?.();
  }

  private sleep(ms: number): Promise<void> {
    return new Promise((r) => {
      const t = setTimeout(r, ms);
      this.wake = () => {
        clearTimeout(t);
        r();
      };
    });
  }

  private async loop(): Promise<void> {
    let delay = 250;
    let wasUp: boolean | undefined;
    while (!this.stopped) {
      this.abort = new AbortController();
      try {
        const v = await this.engine.http.json<{ Version: string }>('GET', '/version');
        const events = this.engine.events({
          labels: { [LABEL_POD_UID]: undefined },
          type: ['container'],
          signal: this.abort.signal,
        });
        // The first step opens the stream; only then is the engine "up" (nothing is missed after it).
        const first = events.next();
        if (wasUp !== true) this.log.info('berthd answers', { engine: this.endpoint, version: v.Version });
        wasUp = true;
        delay = 250;
        this.h.up(v.Version);
        for (let r = await first; !r.done; r = await events.next()) {
          const e = r.value;
          const uid = e.Actor?.Attributes?.[LABEL_POD_UID];
          const action = (e.Action ?? e.status ?? '').split(':')[0];
          if (uid && ACTIONS.has(action)) this.h.container(uid, action);
        }
        if (!this.stopped) throw new Error('the event stream ended');
      } catch (err) {
        if (this.stopped) break;
        const why = describeError(err);
        if (wasUp !== false)
          this.log.warn('berthd is unreachable; pods keep running, the node is NotReady until it answers', {
            engine: this.endpoint,
            error: why,
          });
        wasUp = false;
        this.h.down(`berthd at ${this.endpoint} does not answer: ${why}`);
        await this.sleep(delay);
        delay = Math.min(delay * 2, 5000);
      }
    }
  }
}
