/**
 * The app's view of its cluster (tray item, enable/disable from there) and the cluster coming back with the
 * engine: when the engine is running and settings say `kube.enabled`, the cluster is started, as `berth start`
 * does. Each action is the same function the CLI calls (actions.ts).
 */
import type { BerthKubeStatus } from '@berth/common';
import type { TrayKube } from '../tray/menu.js';
import type { BerthPaths } from '../vm/paths.js';
import { disableKube, enableKube, kubeStatus } from './actions.js';

/** How an action runs: by default directly; the app passes its KubeOperations (one action at a time, shown in Settings). */
export interface AppKubeActions {
  enable(): Promise<unknown>;
  disable(): Promise<unknown>;
}

export class AppKube {
  private status: BerthKubeStatus | undefined;
  private busy: 'starting' | 'stopping' | undefined;

  constructor(
    private readonly paths: BerthPaths,
    /** Called whenever what the tray shows may have changed. */
    private readonly changed: () => void,
    private readonly failed: (what: string) => (err: unknown) => void,
    private readonly actions: AppKubeActions = {
      enable: () => enableKube(paths),
      disable: () => disableKube(paths),
    },
  ) {}

  tray(): TrayKube {
    const problem = this.status?.problem;
    return {
      state: this.busy ?? this.status?.state ?? 'stopped',
      ...(problem ? { problem } : {}),
    };
  }

  get kubeconfig(): string | undefined {
    return this.status?.kubeconfig;
  }

  async refresh(): Promise<BerthKubeStatus> {
    this.status = await kubeStatus(this.paths);
    this.changed();
    return this.status;
  }

  private async run(kind: 'starting' | 'stopping', f: () => Promise<unknown>, what: string): Promise<void> {
    if (this.busy) return;
    this.busy = kind;
    this.changed();
    try {
      await f();
    } catch (err) {
      this.failed(what)(err);
    } finally {
      this.busy = undefined;
      await this.refresh().catch(this.failed('cluster status'));
    }
  }

  enable(): Promise<void> {
    return this.run('starting', () => this.actions.enable(), 'cluster enable (tray)');
  }

  disable(): Promise<void> {
    return this.run('stopping', () => this.actions.disable(), 'cluster disable (tray)');
  }

  /** The engine is running: bring the cluster back when it is enabled and not running. */
  async engineRunning(): Promise<void> {
    const s = await this.refresh();
    if (s.enabled && s.state === 'stopped' && !this.busy)
      await this.run('starting', () => this.actions.enable(), 'cluster start with the engine');
  }
}
