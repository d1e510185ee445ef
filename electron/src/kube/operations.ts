/**
 * The dashboard's side of Berth's cluster: one action at a time (enable, disable, reset) run by the same
 * functions as `berth kube`, its steps kept so a page polls them (and finds them after a reload), and the status.
 * Shared by the app's IPC handlers and `berth serve`'s /host/kube/*.
 */
import {
  kubeEnableProblem,
  type BerthKubeStatus,
  type KubeAction,
  type KubeActionKind,
  type KubeEnableOptions,
  type KubeEnableResult,
  type KubeProgress,
} from '@berth/common';
import type { BerthPaths } from '../vm/paths.js';
import { disableKube, enableKube, kubeStatus, resetKube } from './actions.js';

export class KubeBusyError extends Error {
  override name = 'KubeBusyError';
}

/** The actions, injectable so a test can drive the bookkeeping without a cluster. */
export interface KubeActionFns {
  enable(p: BerthPaths, o: KubeEnableOptions, progress: KubeProgress): Promise<KubeEnableResult>;
  disable(p: BerthPaths, progress: KubeProgress): Promise<unknown>;
  reset(p: BerthPaths, progress: KubeProgress): Promise<unknown>;
  status(p: BerthPaths): Promise<BerthKubeStatus>;
}

const REAL: KubeActionFns = {
  enable: (p, o, progress) => enableKube(p, o, progress),
  disable: (p, progress) => disableKube(p, progress),
  reset: (p, progress) => resetKube(p, progress),
  status: (p) => kubeStatus(p),
};

export class KubeOperations {
  private last: KubeAction | undefined;
  private nextId = 1;

  constructor(
    private readonly paths: BerthPaths,
    private readonly fns: KubeActionFns = REAL,
  ) {}

  status(): Promise<BerthKubeStatus> {
    return this.fns.status(this.paths);
  }

  /** The running action, else the last one (null before any). */
  action(): KubeAction | null {
    return this.last ? { ...this.last, steps: [...this.last.steps] } : null;
  }

  /** Starts `kind` and answers at once; its steps and end are read with `action()`. */
  start(kind: KubeActionKind, o: KubeEnableOptions = {}): KubeAction {
    if (this.last?.state === 'running')
      throw new KubeBusyError(
        `the cluster is busy: ${this.last.kind} is under way (${this.last.steps.at(-1) ?? 'starting'})`,
      );
    const a: KubeAction = {
      id: this.nextId++,
      kind,
      state: 'running',
      steps: [],
      startedAt: new Date().toISOString(),
    };
    this.last = a;
    const progress: KubeProgress = (step) => void a.steps.push(step);
    const run =
      kind === 'enable'
        ? this.fns.enable(this.paths, o, progress).then((r) => void (a.result = r))
        : kind === 'disable'
          ? this.fns.disable(this.paths, progress)
          : this.fns.reset(this.paths, progress);
    run.then(
      () => {
        a.state = 'done';
        a.endedAt = new Date().toISOString();
      },
      (e: unknown) => {
        a.state = 'failed';
        a.error = (e as Error).message;
        a.endedAt = new Date().toISOString();
      },
    );
    return this.action()!;
  }
}

/** IPC's entry: what the renderer sent is checked as the web API checks it. */
export function kubeStartChecked(ops: KubeOperations, kind: unknown, options: unknown): KubeAction {
  if (kind !== 'enable' && kind !== 'disable' && kind !== 'reset')
    throw new TypeError(`no such cluster action: ${String(kind)} (enable, disable or reset)`);
  if (kind !== 'enable' && options !== undefined) throw new TypeError(`${kind} takes no options`);
  const problem = kubeEnableProblem(options);
  if (problem) throw new TypeError(problem);
  return ops.start(kind, options ?? {});
}
