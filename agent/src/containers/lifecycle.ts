/**
 * Running containers: start, stop (signal, timeout, SIGKILL), kill, restart, pause, remove, wait and attach.
 * Each operation takes the container's lock, asks its guard (state.ts), acts through the runtime and records
 * the transition through the StateKeeper. Exits are recorded by onExit (ExitMonitor calls it), which applies
 * restart policies and AutoRemove. Recovery after a berthd restart is recovery.ts.
 */
import { PassThrough } from 'node:stream';
import type { ContainerWaitResponse } from '@berth/common';
import { badParameter, conflict, internal } from '../errors.js';
import {
  NoSuchContainerError,
  RuntimeError,
  type AttachOptions,
  type AttachSession,
  type ExitStatus,
} from '../runtime/types.js';
import { AttachHandoff } from './attach-handoff.js';
import type { ContainerDeps } from './deps.js';
import { ExitMonitor } from './exit-monitor.js';
import { KeyedLock } from './keyed-lock.js';
import { Launcher } from './launch.js';
import type { ContainerRecord } from './record.js';
import { RestartScheduler, shouldRestart } from './restart-policy.js';
import { StateKeeper } from './state-keeper.js';
import {
  canAttach,
  canKill,
  canPause,
  canRemove,
  canStart,
  canStop,
  canUnpause,
  isRunning,
  Status,
} from './state.js';
import { parseSignal } from './units.js';
import { Waiters, type WaitCondition } from './waiters.js';

export interface LifecycleHooks {
  /** A run began: healthchecks start. */
  started(rec: ContainerRecord): void;
  /** A run ended (or the container goes away): healthchecks stop, its execs are forgotten. */
  ended(id: string): void;
}

export interface StopOptions {
  signal?: string;
  timeout?: number;
}

/** A client attached to a container: live output now (running) or from its next start. */
export interface Attachment {
  /** Log replay bound: entries written up to the moment the live stream took over (ns since the epoch). */
  replayUntilNs: number;
  session: Promise<AttachSession>;
  /** The client went away before the session arrived. */
  cancel(): void;
}

/** The session of a run that already ended: no input, output that ends at once. */
function endedSession(): AttachSession {
  const output = new PassThrough();
  output.end();
  return { stdin: undefined, output, detach: () => undefined };
}

export class Lifecycle {
  readonly lock = new KeyedLock();
  readonly states: StateKeeper;
  readonly exits: ExitMonitor;
  readonly launcher: Launcher;
  private readonly waiters = new Waiters();
  private readonly restarts = new RestartScheduler();
  private readonly attachers = new AttachHandoff();
  private shuttingDown = false;

  constructor(
    private readonly d: ContainerDeps,
    private readonly hooks: LifecycleHooks,
  ) {
    this.states = new StateKeeper(d.store);
    this.launcher = new Launcher(d);
    this.exits = new ExitMonitor(d.runtime, (id, st) => this.onExit(id, st));
  }

  attrs(rec: ContainerRecord, extra: Record<string, string> = {}): Record<string, string> {
    return {
      ...(rec.config.Labels ?? {}),
      image: rec.config.Image ?? rec.image,
      name: rec.name.slice(1),
      ...extra,
    };
  }

  async start(ref: string): Promise<'started' | 'noop'> {
    const rec = this.d.store.get(ref);
    return this.lock.run(rec.id, () => this.startLocked(rec));
  }

  private async startLocked(rec: ContainerRecord): Promise<'started' | 'noop'> {
    if (canStart(rec.state, rec.name) === 'noop') return 'noop';
    this.restarts.cancel(rec.id);
    try {
      const started = await this.launcher.launch(rec, this.attachers.take(rec.id));
      await this.states.move(rec, Status.Running, {
        pid: started.pid,
        startedAt: started.startedAt.toISOString(),
        exitCode: 0,
        error: '',
        oomKilled: false,
        hasBeenStarted: true,
        manuallyStopped: false,
      });
    } catch (err) {
      const code = err instanceof RuntimeError ? err.exitCode : 125;
      await this.states.move(rec, rec.state.hasBeenStarted ? Status.Exited : Status.Created, {
        exitCode: code,
        error: (err as Error).message,
        pid: 0,
      });
      this.waiters.exited(rec.id, { StatusCode: code, Error: null });
      // As dockerd: a --rm container that fails to start is removed (`docker run --rm` waits for that).
      if (rec.hostConfig.AutoRemove) void this.autoRemove(rec);
      // 125: the engine failed; 126/127: the command cannot run (the user's error, as dockerd answers 400).
      if (err instanceof RuntimeError) throw code === 125 ? internal(err.message) : badParameter(err.message);
      throw err;
    }
    this.d.events.publish('container', 'start', rec.id, this.attrs(rec));
    this.hooks.started(rec);
    this.exits.watch(rec.id);
    return 'started';
  }

  /** Records a run's exit (called by the ExitMonitor for the current run only). */
  private async onExit(id: string, st: ExitStatus): Promise<void> {
    const rec = this.d.store.find(id);
    if (!rec || rec.state.status === Status.Removing) return;
    try {
      this.hooks.ended(id);
      await this.d.network
        .tearDown(id)
        .catch((err: Error) => this.d.log.warn('network teardown failed', { id, err: err.message }));
      await this.launcher.releaseVolumes(rec);
      const ranMs = st.finishedAt.getTime() - Date.parse(rec.state.startedAt);
      const restart =
        !this.shuttingDown &&
        shouldRestart({
          policy: rec.hostConfig.RestartPolicy,
          exitCode: st.exitCode,
          manuallyStopped: rec.state.manuallyStopped,
          restartCount: rec.restartCount,
        });
      await this.states.move(rec, restart ? Status.Restarting : Status.Exited, {
        pid: 0,
        exitCode: st.exitCode,
        oomKilled: st.oomKilled,
        finishedAt: st.finishedAt.toISOString(),
        error: st.error ?? '',
      });
      if (st.oomKilled) this.d.events.publish('container', 'oom', id, this.attrs(rec));
      this.d.events.publish(
        'container',
        'die',
        id,
        this.attrs(rec, {
          exitCode: String(st.exitCode),
          execDuration: String(Math.max(0, Math.round(ranMs / 1000))),
        }),
      );
      if (restart) this.restarts.schedule(id, ranMs, () => this.policyRestart(id));
      // The exit is recorded: the runtime's cgroup and shim state are no longer needed.
      await this.d.runtime
        .delete(id)
        .catch((err: Error) => this.d.log.warn('runtime delete after exit failed', { id, err: err.message }));
      this.waiters.exited(id, { StatusCode: st.exitCode, Error: st.error ? { Message: st.error } : null });
      if (!restart && rec.hostConfig.AutoRemove) await this.autoRemove(rec);
    } catch (err) {
      this.d.log.error('recording container exit failed', { id, err: (err as Error).message });
    }
  }

  private policyRestart(id: string): void {
    const cur = this.d.store.find(id);
    if (!cur || cur.state.status !== Status.Restarting) return;
    cur.restartCount++;
    this.start(cur.id).catch((err: Error) => {
      this.d.log.warn('restart policy start failed', { id, err: err.message });
      void this.lock.run(cur.id, async () => {
        if (cur.state.status === Status.Restarting) await this.states.move(cur, Status.Exited);
      });
    });
  }

  /** Cancels a pending policy restart (the container stays exited); true if one was pending. */
  private async cancelRestart(rec: ContainerRecord, manuallyStopped: boolean): Promise<boolean> {
    this.restarts.cancel(rec.id);
    if (rec.state.status !== Status.Restarting) return false;
    await this.states.move(rec, Status.Exited, manuallyStopped ? { manuallyStopped: true } : {});
    return true;
  }

  async stop(ref: string, opts: StopOptions = {}): Promise<'stopped' | 'noop'> {
    const rec = this.d.store.get(ref);
    return this.lock.run(rec.id, () => this.stopLocked(rec, opts));
  }

  private async stopLocked(rec: ContainerRecord, opts: StopOptions): Promise<'stopped' | 'noop'> {
    if (await this.cancelRestart(rec, true)) return 'stopped';
    if (canStop(rec.state) === 'noop') return 'noop';
    await this.states.note(rec, { manuallyStopped: true });
    const sig = parseSignal(opts.signal || rec.config.StopSignal || 'SIGTERM');
    const timeout = opts.timeout ?? rec.config.StopTimeout ?? 10;
    await this.signal(rec, sig);
    const graceful = await this.exits.recorded(rec.id, timeout < 0 ? Infinity : timeout * 1000);
    if (!graceful) {
      this.d.log.info('stop timeout reached, killing', { id: rec.id, timeout });
      await this.d.runtime.kill(rec.id, 'SIGKILL', { all: true }).catch(() => undefined);
      if (!(await this.exits.recorded(rec.id, 30_000)))
        throw internal(`container ${rec.id} did not exit after SIGKILL`);
    }
    this.d.events.publish('container', 'stop', rec.id, this.attrs(rec));
    return 'stopped';
  }

  /** Sends the stop signal; a frozen process gets it only once thawed. */
  private async signal(rec: ContainerRecord, sig: number): Promise<void> {
    await this.d.runtime.kill(rec.id, sig).catch(() => undefined);
    this.d.events.publish('container', 'kill', rec.id, this.attrs(rec, { signal: String(sig) }));
    if (rec.state.status === Status.Paused) await this.d.runtime.resume(rec.id).catch(() => undefined);
  }

  async kill(ref: string, signal = 'SIGKILL'): Promise<void> {
    const rec = this.d.store.get(ref);
    const sig = parseSignal(signal);
    await this.lock.run(rec.id, async () => {
      if (await this.cancelRestart(rec, true)) return;
      canKill(rec.state, rec.id);
      const stopSig = parseSignal(rec.config.StopSignal || 'SIGTERM');
      if (sig === 9 || sig === stopSig) await this.states.note(rec, { manuallyStopped: true });
      await this.d.runtime.kill(rec.id, sig);
      this.d.events.publish('container', 'kill', rec.id, this.attrs(rec, { signal: String(sig) }));
      if (sig === 9) {
        if (rec.state.status === Status.Paused) await this.d.runtime.resume(rec.id).catch(() => undefined);
        await this.exits.recorded(rec.id, 10_000);
      }
    });
  }

  async restart(ref: string, opts: StopOptions = {}): Promise<void> {
    const rec = this.d.store.get(ref);
    await this.lock.run(rec.id, async () => {
      await this.stopLocked(rec, opts);
      await this.startLocked(rec);
    });
    this.d.events.publish('container', 'restart', rec.id, this.attrs(rec));
  }

  async pause(ref: string): Promise<void> {
    const rec = this.d.store.get(ref);
    await this.lock.run(rec.id, async () => {
      canPause(rec.state, rec.id);
      await this.d.runtime.pause(rec.id);
      await this.states.move(rec, Status.Paused);
      this.d.events.publish('container', 'pause', rec.id, this.attrs(rec));
    });
  }

  async unpause(ref: string): Promise<void> {
    const rec = this.d.store.get(ref);
    await this.lock.run(rec.id, async () => {
      canUnpause(rec.state, rec.id);
      await this.d.runtime.resume(rec.id);
      await this.states.move(rec, Status.Running);
      this.d.events.publish('container', 'unpause', rec.id, this.attrs(rec));
    });
  }

  async remove(ref: string, opts: { force: boolean; volumes: boolean }): Promise<void> {
    const rec = this.d.store.get(ref);
    await this.lock.run(rec.id, async () => {
      if (!this.d.store.find(rec.id)) return;
      canRemove(rec.state, rec.name, opts.force);
      await this.killForRemoval(rec);
      if (rec.state.status === Status.Removing)
        throw conflict(`removal of container ${rec.id} is already in progress`);
      this.states.beginRemoval(rec);
      this.hooks.ended(rec.id);
      await this.d.runtime.delete(rec.id).catch((err: Error) => {
        if (!(err instanceof NoSuchContainerError)) throw err;
      });
      await this.d.network
        .unregister(rec.id)
        .catch((err: Error) =>
          this.d.log.warn('network unregister failed', { id: rec.id, err: err.message }),
        );
      await this.d.store.delete(rec);
      this.exits.forget(rec.id);
      this.restarts.forget(rec.id);
      this.attachers.failAll(rec.id, new Error('container removed'));
      if (opts.volumes) {
        for (const m of rec.mounts) {
          if (m.type !== 'volume' || !m.anonymous) continue;
          await this.d.volumes
            .remove(m.name!, true)
            .catch((err: Error) =>
              this.d.log.warn('keeping anonymous volume', { name: m.name, err: err.message }),
            );
        }
      }
      this.d.events.publish('container', 'destroy', rec.id, this.attrs(rec));
      this.waiters.removed(rec.id);
    });
  }

  /** Force removal: kill whatever runs, wait for the exit to be recorded, cancel policy restarts. */
  private async killForRemoval(rec: ContainerRecord): Promise<void> {
    await this.cancelRestart(rec, false);
    if (!isRunning(rec.state)) return;
    await this.states.note(rec, { manuallyStopped: true });
    await this.d.runtime.kill(rec.id, 'SIGKILL', { all: true }).catch(() => undefined);
    if (rec.state.status === Status.Paused) await this.d.runtime.resume(rec.id).catch(() => undefined);
    await this.exits.recorded(rec.id, 15_000);
  }

  /** `--rm`: removal after the exit, with anonymous volumes. */
  autoRemove(rec: ContainerRecord): Promise<void> {
    return this.remove(rec.id, { force: true, volumes: true }).catch((err: Error) =>
      this.d.log.warn('auto-remove failed', { id: rec.id, err: err.message }),
    );
  }

  /**
   * `POST /containers/{id}/wait`: resolves with the exit (or removal) the condition names. Validates first, so
   * the caller can answer bad input before it commits to a streamed 200.
   */
  wait(ref: string, condition: string, signal: AbortSignal): Promise<ContainerWaitResponse> {
    const cond = (condition || 'not-running') as WaitCondition;
    if (cond !== 'not-running' && cond !== 'next-exit' && cond !== 'removed')
      throw badParameter(`invalid condition: "${condition}"`);
    const rec = this.d.store.get(ref);
    const running = ['running', 'paused', 'restarting'].includes(rec.state.status);
    if (cond === 'not-running' && !running)
      return Promise.resolve({ StatusCode: rec.state.exitCode, Error: null });
    return this.waiters.next(rec.id, cond === 'removed' ? 'removed' : 'exit', signal);
  }

  /** Resolves when the container's current (or next) run exits; used by log followers. */
  nextExit(id: string, signal?: AbortSignal): Promise<ContainerWaitResponse> {
    return this.waiters.next(id, 'exit', signal);
  }

  /**
   * Opens the live side of an attach under the container's lock, so a concurrent start cannot slip between
   * the decision and the registration: a running container is attached now; any other gets its session at
   * its next start (and the stream ends when that run does).
   */
  async attach(ref: string, opts: AttachOptions): Promise<Attachment> {
    const rec = this.d.store.get(ref);
    canAttach(rec.state);
    return this.lock.run(rec.id, async () => {
      canAttach(rec.state);
      if (isRunning(rec.state)) {
        let session: AttachSession;
        try {
          session = await this.d.runtime.attach(rec.id, opts);
        } catch (err) {
          // It exited as we asked its supervisor: once the exit is recorded, all its output is in the log,
          // and the stream of that run has ended (as attaching to dockerd's just-closed streams).
          if (!(await this.exits.recorded(rec.id, 5000)) || isRunning(rec.state)) throw err;
          return {
            replayUntilNs: (Date.now() + 1) * 1e6,
            session: Promise.resolve(endedSession()),
            cancel: () => undefined,
          };
        }
        // The live stream has everything from here on; the replay takes what came before (ns clock).
        return {
          replayUntilNs: (Date.now() + 1) * 1e6,
          session: Promise.resolve(session),
          cancel: () => undefined,
        };
      }
      let cancel: () => void = () => undefined;
      const session = new Promise<AttachSession>((resolve, reject) => {
        cancel = this.attachers.add(rec.id, { opts, deliver: resolve, fail: reject });
      });
      session.catch(() => undefined);
      return { replayUntilNs: Date.now() * 1e6, session, cancel };
    });
  }

  /** For the image builder's RUN steps: a session that starts with the run, then start. */
  async attachAndStart(id: string, opts: AttachOptions): Promise<AttachSession> {
    const a = await this.attach(id, opts);
    try {
      await this.start(id);
    } catch (err) {
      a.cancel();
      throw err;
    }
    return a.session;
  }

  /** Recovery: a container the runtime reports alive is watched again, as if it had just started. */
  async adoptLive(rec: ContainerRecord, paused: boolean, pid: number): Promise<void> {
    await this.states.adopt(rec, paused ? Status.Paused : Status.Running, { pid });
    this.hooks.started(rec);
    this.exits.watch(rec.id);
  }

  /**
   * Graceful daemon shutdown (no live-restore, as dockerd's default): stop every running container with its
   * stop signal and timeout, without marking it manually stopped, so restart policies bring it back on boot.
   */
  async shutdown(): Promise<void> {
    this.shuttingDown = true;
    this.restarts.cancelAll();
    await Promise.all(
      this.d.store
        .all()
        .filter((r) => isRunning(r.state))
        .map((rec) =>
          this.lock.run(rec.id, async () => {
            if (!isRunning(rec.state)) return;
            await this.d.runtime
              .kill(rec.id, parseSignal(rec.config.StopSignal || 'SIGTERM'))
              .catch(() => undefined);
            if (rec.state.status === Status.Paused)
              await this.d.runtime.resume(rec.id).catch(() => undefined);
            if (!(await this.exits.recorded(rec.id, (rec.config.StopTimeout ?? 10) * 1000))) {
              await this.d.runtime.kill(rec.id, 'SIGKILL', { all: true }).catch(() => undefined);
              await this.exits.recorded(rec.id, 10_000);
            }
          }),
        ),
    );
    await this.d.runtime
      .close()
      .catch((err: Error) => this.d.log.warn('runtime close failed', { err: err.message }));
  }
}
