/**
 * `EngineControl` (what Electron main and the dashboard use) backed by the VM manager: the app starts,
 * stops and watches the engine exactly as `berth start|stop|status` do.
 */
import type { EngineStatus } from '@berth/common';
import type { EngineControl } from '../engine/control.js';
import type { VmManager, VmStatusReport } from './manager.js';

function toEngineStatus(s: VmStatusReport): EngineStatus {
  const message = [s.message, s.warning].filter(Boolean).join('; ');
  return { state: s.state, host: s.host, ...(message ? { message } : {}) };
}

export class VmEngineControl implements EngineControl {
  private readonly listeners = new Set<(s: EngineStatus) => void>();
  private last: string | undefined;
  /** One lifecycle operation at a time: a second click waits for the first instead of racing it. */
  private busy: Promise<unknown> = Promise.resolve();

  /**
   * `reopen` builds the manager again from the settings on disk: a start or restart then applies what changed
   * since (registries, sizes), as `berth start` in a new process would.
   */
  constructor(
    private vm: VmManager,
    private readonly log: (step: string) => void = () => {},
    private readonly reopen?: () => Promise<VmManager>,
  ) {}

  private async fresh(): Promise<VmManager> {
    if (this.reopen) this.vm = await this.reopen();
    return this.vm;
  }

  private emit(s: EngineStatus): EngineStatus {
    const key = JSON.stringify(s);
    if (key !== this.last) {
      this.last = key;
      for (const l of this.listeners) l(s);
    }
    return s;
  }

  private run(
    transitional: 'starting' | 'stopping',
    op: () => Promise<VmStatusReport>,
  ): Promise<EngineStatus> {
    const next = this.busy.then(async () => {
      this.emit({ state: transitional, host: `unix://${this.vm.paths.socket}` });
      try {
        return this.emit(toEngineStatus(await op()));
      } catch (err) {
        this.emit({
          state: 'error',
          host: `unix://${this.vm.paths.socket}`,
          message: (err as Error).message,
        });
        throw err;
      }
    });
    this.busy = next.catch(() => undefined);
    return next;
  }

  async status(): Promise<EngineStatus> {
    return this.emit(toEngineStatus(await this.vm.status()));
  }
  start(): Promise<EngineStatus> {
    return this.run('starting', async () => (await this.fresh()).start(this.log));
  }
  stop(): Promise<EngineStatus> {
    return this.run('stopping', () => this.vm.stop(this.log));
  }
  restart(): Promise<EngineStatus> {
    return this.run('starting', async () => {
      await this.vm.stop(this.log);
      return (await this.fresh()).start(this.log);
    });
  }
  async logs(): Promise<string> {
    const which = this.vm.driver.runsVm ? 'console' : 'engine';
    return (await this.vm.logs(which, 500)).text;
  }
  onStatus(listener: (s: EngineStatus) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }
}
