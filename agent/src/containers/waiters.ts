/** `POST /containers/{id}/wait` conditions: not-running, next-exit, removed. */
import { EventEmitter } from 'node:events';
import type { ContainerWaitResponse } from '@berth/common';

export type WaitCondition = 'not-running' | 'next-exit' | 'removed';

export class Waiters {
  private em = new EventEmitter();
  /** Last exit per container, kept so "removed" waiters learn the code of the run that was removed. */
  private lastExit = new Map<string, ContainerWaitResponse>();

  constructor() {
    this.em.setMaxListeners(0);
  }

  exited(id: string, res: ContainerWaitResponse): void {
    this.lastExit.set(id, res);
    this.em.emit(`exit:${id}`, res);
  }

  removed(id: string): void {
    const res = this.lastExit.get(id) ?? { StatusCode: 0, Error: null };
    this.lastExit.delete(id);
    this.em.emit(`removed:${id}`, res);
  }

  /** Waits for the next exit (or removal, for `removed`); `abort` stops waiting (client went away). */
  next(id: string, event: 'exit' | 'removed', signal?: AbortSignal): Promise<ContainerWaitResponse> {
    return new Promise((resolve, reject) => {
      const key = `${event}:${id}`;
      const done = (r: ContainerWaitResponse) => {
        signal?.removeEventListener('abort', onAbort);
        resolve(r);
      };
      const onAbort = () => {
        this.em.off(key, done);
        reject(new Error('aborted'));
      };
      this.em.once(key, done);
      signal?.addEventListener('abort', onAbort, { once: true });
    });
  }
}
