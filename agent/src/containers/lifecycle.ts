/**
 * Running containers: start (spec → runtime create → attachers → runtime start), stop (signal, timeout,
 * SIGKILL), kill, pause, the exit monitor with restart policies, and recovery after a berthd restart.
 */
import { promises as fsp } from 'node:fs';
import path from 'node:path';
import { badParameter, conflict, internal } from '../errors.js';
import {
  RuntimeError,
  type AttachOptions,
  type AttachSession,
  type ExitStatus,
  type RuntimeState,
} from '../runtime/types.js';
import type { ContainerDeps } from './deps.js';
import { writeEtcFiles } from './etc-files.js';
import { KeyedLock } from './keyed-lock.js';
import type { ContainerRecord } from './record.js';
import { Backoff, shouldRestart, shouldRestartOnBoot } from './restart-policy.js';
import { buildRuntimeSpec } from './spec.js';
import { canKill, canPause, canStart, canStop, canUnpause, isRunning, Status } from './state.js';
import { parseSignal } from './units.js';
import { resolveUser } from './user.js';
import { primeVolume } from './volume-prime.js';
import { Waiters } from './waiters.js';

/** An attach request that arrived before start (docker run attaches, then starts). */
export interface PendingAttach {
  opts: AttachOptions;
  deliver(s: AttachSession): void;
  fail(err: Error): void;
}

export interface LifecycleHooks {
  autoRemove(rec: ContainerRecord): Promise<void>;
  healthStart(rec: ContainerRecord): void;
  healthStop(id: string): void;
}

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

export class Lifecycle {
  readonly waiters = new Waiters();
  readonly lock = new KeyedLock();
  private backoff = new Backoff();
  private restartTimers = new Map<string, NodeJS.Timeout>();
  private pending = new Map<string, PendingAttach[]>();
  /** Resolved once the current run's exit has been recorded. */
  private exitDone = new Map<string, Deferred>();
  private generation = new Map<string, number>();
  private shuttingDown = false;

  constructor(
    private readonly d: ContainerDeps,
    private readonly hooks: LifecycleHooks,
  ) {}

  addPendingAttach(id: string, p: PendingAttach): () => void {
    const list = this.pending.get(id) ?? [];
    list.push(p);
    this.pending.set(id, list);
    return () => {
      const l = this.pending.get(id);
      if (l)
        this.pending.set(
          id,
          l.filter((x) => x !== p),
        );
    };
  }

  private async prepareVolumes(rec: ContainerRecord, layers: string[]): Promise<void> {
    for (const m of rec.mounts) {
      if (m.type === 'bind' && !(await fsp.stat(m.source).catch(() => null))) {
        await fsp.mkdir(m.source, { recursive: true });
      }
      if (m.type !== 'volume' || m.noCopy || rec.volumesPrimed) continue;
      if (await this.d.volumes.isEmpty(m.name!))
        await primeVolume(layers, m.destination, this.d.volumes.mountpoint(m.name!));
    }
    if (!rec.volumesPrimed) rec.volumesPrimed = true;
  }

  private lookupPid = (ref: string): number => {
    const other = this.d.store.get(ref);
    if (!isRunning(other.state))
      throw conflict(`cannot join namespaces of container ${ref}: it is not running`);
    return other.state.pid;
  };

  async start(ref: string): Promise<'started' | 'noop'> {
    const rec = this.d.store.get(ref);
    return this.lock.run(rec.id, () => this.startLocked(rec));
  }

  private async startLocked(rec: ContainerRecord): Promise<'started' | 'noop'> {
    if (canStart(rec.state, rec.name) === 'noop') return 'noop';
    const timer = this.restartTimers.get(rec.id);
    if (timer) clearTimeout(timer);
    this.restartTimers.delete(rec.id);
    const attachers = this.pending.get(rec.id) ?? [];
    this.pending.delete(rec.id);
    let acquired = false;
    try {
      const image = await this.d.images.resolve(rec.image);
      if (!image) throw internal(`image ${rec.image} of container ${rec.name.slice(1)} is missing`);
      const dir = this.d.store.dir(rec.id);
      await fsp.mkdir(path.join(dir, 'upper'), { recursive: true });
      await fsp.mkdir(path.join(dir, 'work'), { recursive: true });
      await fsp.mkdir(path.join(dir, 'merged'), { recursive: true });
      for (const m of rec.mounts) if (m.type === 'volume') await this.d.volumes.acquire(m.name!);
      acquired = true;
      await this.prepareVolumes(rec, image.layerDirs);
      const user = await resolveUser(
        [path.join(dir, 'upper'), ...image.layerDirs],
        rec.config.User ?? '',
        rec.hostConfig.GroupAdd ?? [],
      );
      const sandbox = await this.d.network.setUp(rec.id);
      const etc = await writeEtcFiles(dir, rec.config.Hostname ?? rec.id.slice(0, 12), sandbox.etc);
      const spec = buildRuntimeSpec({
        rec,
        layerDirs: image.layerDirs,
        containerDir: dir,
        user,
        etc,
        logPath: this.d.store.logPath(rec.id),
        cgroupParent: this.d.cgroupParent,
        volumePath: (n) => this.d.volumes.mountpoint(n),
        lookupPid: this.lookupPid,
        net: sandbox.net,
      });
      // A previous run leaves runtime state (cgroup, shim dir) until the next start or rm.
      if (await this.d.runtime.state(rec.id)) await this.d.runtime.delete(rec.id);
      await this.d.runtime.create(spec);
      for (const a of attachers) {
        try {
          a.deliver(await this.d.runtime.attach(rec.id, a.opts));
        } catch (err) {
          a.fail(err as Error);
        }
      }
      const started = await this.d.runtime.start(rec.id);
      const gen = (this.generation.get(rec.id) ?? 0) + 1;
      this.generation.set(rec.id, gen);
      this.exitDone.set(rec.id, deferred());
      rec.state = {
        ...rec.state,
        status: Status.Running,
        pid: started.pid,
        startedAt: started.startedAt.toISOString(),
        exitCode: 0,
        error: '',
        oomKilled: false,
        hasBeenStarted: true,
        manuallyStopped: false,
      };
      await this.d.store.save(rec);
      this.d.events.publish('container', 'start', rec.id, this.attrs(rec));
      this.hooks.healthStart(rec);
      this.monitor(rec.id, gen);
      return 'started';
    } catch (err) {
      for (const a of attachers) a.fail(err as Error);
      await this.d.runtime.delete(rec.id).catch(() => undefined);
      await this.d.network.tearDown(rec.id).catch(() => undefined);
      if (acquired) await this.releaseVolumes(rec);
      const e = err as Error;
      const code = err instanceof RuntimeError ? err.exitCode : 125;
      rec.state = {
        ...rec.state,
        status: rec.state.hasBeenStarted ? Status.Exited : Status.Created,
        exitCode: code,
        error: e.message,
        pid: 0,
      };
      await this.d.store.save(rec);
      this.waiters.exited(rec.id, { StatusCode: code, Error: null });
      // As dockerd: a --rm container that fails to start is removed (`docker run --rm` waits for that).
      if (rec.hostConfig.AutoRemove) void this.hooks.autoRemove(rec).catch(() => undefined);
      if (err instanceof RuntimeError) throw code === 125 ? internal(e.message) : badParameter(e.message);
      throw err;
    }
  }

  private async releaseVolumes(rec: ContainerRecord): Promise<void> {
    for (const m of rec.mounts) {
      if (m.type === 'volume')
        await this.d.volumes
          .release(m.name!)
          .catch((err: Error) =>
            this.d.log.warn('volume release failed', { name: m.name, err: err.message }),
          );
    }
  }

  attrs(rec: ContainerRecord, extra: Record<string, string> = {}): Record<string, string> {
    return {
      ...(rec.config.Labels ?? {}),
      image: rec.config.Image ?? rec.image,
      name: rec.name.slice(1),
      ...extra,
    };
  }

  private monitor(id: string, gen: number): void {
    this.d.runtime.wait(id).then(
      (st) => this.onExit(id, gen, st),
      (err: Error) =>
        this.onExit(id, gen, {
          exitCode: 255,
          oomKilled: false,
          finishedAt: new Date(),
          error: `lost track of the container: ${err.message}`,
        }),
    );
  }

  private async onExit(id: string, gen: number, st: ExitStatus): Promise<void> {
    const rec = this.d.store.find(id);
    const done = this.exitDone.get(id);
    if (!rec || this.generation.get(id) !== gen || rec.state.status === Status.Removing) {
      done?.resolve();
      return;
    }
    try {
      this.hooks.healthStop(id);
      await this.d.network
        .tearDown(id)
        .catch((err: Error) => this.d.log.warn('network teardown failed', { id, err: err.message }));
      await this.releaseVolumes(rec);
      const ranMs = st.finishedAt.getTime() - Date.parse(rec.state.startedAt);
      rec.state = {
        ...rec.state,
        status: Status.Exited,
        pid: 0,
        exitCode: st.exitCode,
        oomKilled: st.oomKilled,
        finishedAt: st.finishedAt.toISOString(),
        error: st.error ?? '',
      };
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
      const restart =
        !this.shuttingDown &&
        shouldRestart({
          policy: rec.hostConfig.RestartPolicy,
          exitCode: st.exitCode,
          manuallyStopped: rec.state.manuallyStopped,
          restartCount: rec.restartCount,
        });
      if (restart) {
        rec.state.status = Status.Restarting;
        this.scheduleRestart(rec, this.backoff.next(id, ranMs));
      }
      await this.d.store.save(rec);
      // The exit is recorded here: the runtime's cgroup and shim state are no longer needed.
      await this.d.runtime
        .delete(id)
        .catch((err: Error) => this.d.log.warn('runtime delete after exit failed', { id, err: err.message }));
      this.waiters.exited(id, { StatusCode: st.exitCode, Error: st.error ? { Message: st.error } : null });
      if (!restart && rec.hostConfig.AutoRemove) await this.hooks.autoRemove(rec);
    } catch (err) {
      this.d.log.error('recording container exit failed', { id, err: (err as Error).message });
    } finally {
      done?.resolve();
    }
  }

  private scheduleRestart(rec: ContainerRecord, delayMs: number): void {
    const t = setTimeout(() => {
      this.restartTimers.delete(rec.id);
      const cur = this.d.store.find(rec.id);
      if (!cur || cur.state.status !== Status.Restarting) return;
      cur.restartCount++;
      // Restarting → startable: canStart accepts anything but running/paused/removing/dead.
      this.start(cur.id).catch((err: Error) => {
        this.d.log.warn('restart policy start failed', { id: rec.id, err: err.message });
        void this.lock.run(cur.id, async () => {
          if (cur.state.status === Status.Restarting || cur.state.status === Status.Created) {
            cur.state.status = Status.Exited;
            await this.d.store.save(cur);
          }
        });
      });
    }, delayMs);
    this.restartTimers.set(rec.id, t);
  }

  /** Cancels a pending policy restart; true if one was pending. */
  private cancelRestart(rec: ContainerRecord): boolean {
    const t = this.restartTimers.get(rec.id);
    if (t) clearTimeout(t);
    this.restartTimers.delete(rec.id);
    if (rec.state.status !== Status.Restarting) return false;
    rec.state.status = Status.Exited;
    return true;
  }

  /** Waits until the current run's exit is recorded, at most `ms` (Infinity to wait forever). */
  private async exitRecorded(id: string, ms: number): Promise<boolean> {
    const d = this.exitDone.get(id);
    if (!d) return true;
    if (ms === Infinity) {
      await d.promise;
      return true;
    }
    return (await Promise.race([d.promise.then(() => 'done' as const), sleep(ms)])) === 'done';
  }

  async stop(ref: string, opts: { signal?: string; timeout?: number } = {}): Promise<'stopped' | 'noop'> {
    const rec = this.d.store.get(ref);
    return this.lock.run(rec.id, () => this.stopLocked(rec, opts));
  }

  async stopLocked(
    rec: ContainerRecord,
    opts: { signal?: string; timeout?: number } = {},
  ): Promise<'stopped' | 'noop'> {
    if (this.cancelRestart(rec)) {
      rec.state.manuallyStopped = true;
      await this.d.store.save(rec);
      return 'stopped';
    }
    if (canStop(rec.state) === 'noop') return 'noop';
    rec.state.manuallyStopped = true;
    await this.d.store.save(rec);
    const sig = parseSignal(opts.signal || rec.config.StopSignal || 'SIGTERM');
    const timeout = opts.timeout ?? rec.config.StopTimeout ?? 10;
    await this.d.runtime.kill(rec.id, sig).catch(() => undefined);
    this.d.events.publish('container', 'kill', rec.id, this.attrs(rec, { signal: String(sig) }));
    // A frozen process gets its signal only once thawed.
    if (rec.state.status === Status.Paused) await this.d.runtime.resume(rec.id).catch(() => undefined);
    const graceful = await this.exitRecorded(rec.id, timeout < 0 ? Infinity : timeout * 1000);
    if (!graceful) {
      this.d.log.info('stop timeout reached, killing', { id: rec.id, timeout });
      await this.d.runtime.kill(rec.id, 'SIGKILL', { all: true }).catch(() => undefined);
      if (!(await this.exitRecorded(rec.id, 30_000)))
        throw internal(`container ${rec.id} did not exit after SIGKILL`);
    }
    this.d.events.publish('container', 'stop', rec.id, this.attrs(rec));
    return 'stopped';
  }

  async kill(ref: string, signal = 'SIGKILL'): Promise<void> {
    const rec = this.d.store.get(ref);
    const sig = parseSignal(signal);
    await this.lock.run(rec.id, async () => {
      if (this.cancelRestart(rec)) {
        rec.state.manuallyStopped = true;
        await this.d.store.save(rec);
        return;
      }
      canKill(rec.state, rec.id);
      const stopSig = parseSignal(rec.config.StopSignal || 'SIGTERM');
      if (sig === 9 || sig === stopSig) {
        rec.state.manuallyStopped = true;
        await this.d.store.save(rec);
      }
      await this.d.runtime.kill(rec.id, sig);
      this.d.events.publish('container', 'kill', rec.id, this.attrs(rec, { signal: String(sig) }));
      if (sig === 9) {
        if (rec.state.status === Status.Paused) await this.d.runtime.resume(rec.id).catch(() => undefined);
        await this.exitRecorded(rec.id, 10_000);
      }
    });
  }

  async restart(ref: string, opts: { signal?: string; timeout?: number } = {}): Promise<void> {
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
      rec.state.status = Status.Paused;
      await this.d.store.save(rec);
      this.d.events.publish('container', 'pause', rec.id, this.attrs(rec));
    });
  }

  async unpause(ref: string): Promise<void> {
    const rec = this.d.store.get(ref);
    await this.lock.run(rec.id, async () => {
      canUnpause(rec.state, rec.id);
      await this.d.runtime.resume(rec.id);
      rec.state.status = Status.Running;
      await this.d.store.save(rec);
      this.d.events.publish('container', 'unpause', rec.id, this.attrs(rec));
    });
  }

  /**
   * Graceful daemon shutdown (no live-restore, as dockerd's default): stop every running container with its
   * stop signal and timeout, without marking it manually stopped, so restart policies bring it back on boot.
   */
  async shutdown(): Promise<void> {
    this.shuttingDown = true;
    for (const t of this.restartTimers.values()) clearTimeout(t);
    this.restartTimers.clear();
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
            if (!(await this.exitRecorded(rec.id, (rec.config.StopTimeout ?? 10) * 1000))) {
              await this.d.runtime.kill(rec.id, 'SIGKILL', { all: true }).catch(() => undefined);
              await this.exitRecorded(rec.id, 10_000);
            }
          }),
        ),
    );
    await this.d.runtime
      .close()
      .catch((err: Error) => this.d.log.warn('runtime close failed', { err: err.message }));
  }

  /** Force removal: kill whatever runs, wait for the exit to be recorded, cancel policy restarts. */
  async killForRemoval(rec: ContainerRecord): Promise<void> {
    this.cancelRestart(rec);
    if (!isRunning(rec.state)) return;
    rec.state.manuallyStopped = true;
    await this.d.runtime.kill(rec.id, 'SIGKILL', { all: true }).catch(() => undefined);
    if (rec.state.status === Status.Paused) await this.d.runtime.resume(rec.id).catch(() => undefined);
    await this.exitRecorded(rec.id, 15_000);
  }

  forget(id: string): void {
    this.generation.delete(id);
    this.exitDone.delete(id);
    this.backoff.reset(id);
    for (const p of this.pending.get(id) ?? []) p.fail(new Error('container removed'));
    this.pending.delete(id);
  }

  /**
   * After a berthd restart: live shims are re-adopted (the container keeps running, attach/logs/exec work),
   * containers that died meanwhile get their recorded exit, and those the runtime no longer knows (host
   * reboot, lost state) are marked exited with 255. Then restart policies and AutoRemove apply.
   */
  async recover(): Promise<void> {
    const recs = this.d.store.all();
    const report = await this.d.runtime.reconcile(new Set(recs.map((r) => r.id)));
    const live = new Map<string, RuntimeState>(report.running.map((s) => [s.id, s]));
    const dead = new Map<string, RuntimeState>(report.exited.map((s) => [s.id, s]));
    if (report.cleaned.length) this.d.log.info('reconcile removed leftovers', { cleaned: report.cleaned });
    for (const rec of recs) {
      const l = live.get(rec.id);
      if (l) {
        const gen = 1;
        this.generation.set(rec.id, gen);
        this.exitDone.set(rec.id, deferred());
        rec.state.status = l.status === 'paused' ? Status.Paused : Status.Running;
        rec.state.pid = l.pid;
        for (const m of rec.mounts) if (m.type === 'volume') this.d.volumes.adopt(m.name!);
        await this.d.store.save(rec);
        this.hooks.healthStart(rec);
        this.monitor(rec.id, gen);
        continue;
      }
      const wasActive = isRunning(rec.state) || rec.state.status === Status.Restarting;
      if (!wasActive) continue;
      const ex = dead.get(rec.id)?.exit;
      rec.state = {
        ...rec.state,
        status: Status.Exited,
        pid: 0,
        exitCode: ex?.exitCode ?? 255,
        oomKilled: ex?.oomKilled ?? false,
        finishedAt: (ex?.finishedAt ?? new Date()).toISOString(),
        error: ex ? (ex.error ?? '') : 'the container was lost while berthd was down',
      };
      await this.d.store.save(rec);
      await this.d.runtime.delete(rec.id).catch(() => undefined);
      await this.d.network.tearDown(rec.id).catch(() => undefined);
      this.d.events.publish(
        'container',
        'die',
        rec.id,
        this.attrs(rec, { exitCode: String(rec.state.exitCode) }),
      );
    }
    await this.d.network.reconcile(new Set(recs.map((r) => r.id)), new Set(live.keys()));
    for (const rec of this.d.store.all()) {
      if (rec.state.status !== Status.Exited) continue;
      if (rec.hostConfig.AutoRemove && rec.state.hasBeenStarted) {
        await this.hooks
          .autoRemove(rec)
          .catch((err: Error) =>
            this.d.log.warn('auto-remove after restart failed', { id: rec.id, err: err.message }),
          );
        continue;
      }
      if (
        shouldRestartOnBoot({
          policy: rec.hostConfig.RestartPolicy,
          exitCode: rec.state.exitCode,
          manuallyStopped: rec.state.manuallyStopped,
          restartCount: rec.restartCount,
        })
      ) {
        this.start(rec.id).catch((err: Error) =>
          this.d.log.warn('restart on boot failed', { id: rec.id, err: err.message }),
        );
      }
    }
  }
}
