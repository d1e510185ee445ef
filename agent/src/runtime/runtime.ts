/**
 * The Runtime (types.ts) on Linux: one detached berth-shim per container, cgroups through a CgroupDriver,
 * kernel access through Sys. Holds no per-container memory state: everything is re-read from the state dir,
 * so a restarted berthd re-adopts running containers just by constructing a new LinuxRuntime. A pid read from
 * that state is never signalled: the container's init is signalled by its shim through a pidfd, everything else
 * through its cgroup (cgroup.kill where the kernel has it), and exits are awaited on cgroup.events or the
 * shim's socket rather than by polling pids that may have been reused.
 */
import { spawn } from 'node:child_process';
import os from 'node:os';
import { promises as fsp } from 'node:fs';
import path from 'node:path';
import { compileDeviceFilter } from '../cgroups/device-bpf.js';
import {
  checkCgroupRef,
  DEFAULT_DEVICE_RULES,
  type CgroupDriver,
  type CgroupRef,
  type DeviceRule,
} from '../cgroups/types.js';
import type { Logger } from '../log.js';
import type { Sys } from '../sys/sys.js';
import { ociError, parseErrorReply, startExec } from './exec.js';
import { clampOomScore, oomScorePolicy, type OomScorePolicy } from './oom-score.js';
import { compileCreateOps } from './ops.js';
import { shimAttach, shimCommand, shimWait, ShimUnavailableError } from './shim-client.js';
import { parseExit, parseNetDev, StateStore, type SavedState } from './state.js';
import {
  NoSuchContainerError,
  RuntimeError,
  type AttachOptions,
  type AttachSession,
  type CgroupInfo,
  type CgroupResources,
  type ContainerId,
  type CreateResult,
  type ExecHandle,
  type ExecProcessSpec,
  type ExitStatus,
  type ReconcileReport,
  type Runtime,
  type RuntimeSpec,
  type RuntimeState,
  type RuntimeStats,
  type StartResult,
} from './types.js';

/** Docker's default rules plus one rwm rule per --device, read from the host node. */
async function deviceRules(spec: RuntimeSpec): Promise<DeviceRule[]> {
  const rules = [...DEFAULT_DEVICE_RULES];
  for (const d of spec.devices) {
    const st = await fsp.stat(d.hostPath).catch(() => undefined);
    if (!st || !(st.isCharacterDevice() || st.isBlockDevice())) {
      throw new RuntimeError(
        `error gathering device information while adding custom device "${d.hostPath}": not a device node`,
        125,
      );
    }
    // Linux dev_t: major in bits 8-19 (+32-63), minor in bits 0-7 and 20-31
    const major = ((st.rdev >> 8) & 0xfff) | (Math.floor(st.rdev / 2 ** 32) & ~0xfff);
    const minor = (st.rdev & 0xff) | ((st.rdev >> 12) & 0xfff00);
    const access = d.permissions.replace(/[^rwm]/g, '') || 'rwm';
    rules.push({ type: st.isCharacterDevice() ? 'c' : 'b', major, minor, access });
  }
  return rules;
}

export interface LinuxRuntimeDeps {
  sys: Sys;
  cgroups: CgroupDriver;
  shimPath: string;
  stateRoot: string;
  cgroupParent: string;
  log: Logger;
  /** What oom_score_adj berthd can give (oom-score.ts); read from /proc/self by default. */
  oomScores?: OomScorePolicy;
}

export class LinuxRuntime implements Runtime {
  readonly cgroups: CgroupInfo;
  private readonly store: StateStore;
  private readonly oomScores: OomScorePolicy;

  constructor(private readonly d: LinuxRuntimeDeps) {
    this.cgroups = d.cgroups.info();
    this.store = new StateStore(d.stateRoot);
    this.oomScores = d.oomScores ?? oomScorePolicy();
  }

  /** The container's oom_score_adj as the kernel will take it from berthd (raised to berthd's floor). */
  private oomScoreFor(spec: RuntimeSpec): number {
    const requested = spec.process.oomScoreAdj ?? 0;
    const given = clampOomScore(requested, this.oomScores.floor());
    if (given !== requested) {
      this.d.log.info('oom_score_adj raised to the lowest berthd can give (it lacks CAP_SYS_RESOURCE)', {
        container: spec.id,
        requested,
        given,
      });
    }
    return given;
  }

  private async saved(id: ContainerId): Promise<SavedState> {
    const s = await this.store.load(id);
    if (!s) throw new NoSuchContainerError(id);
    return s;
  }

  async create(spec: RuntimeSpec): Promise<CreateResult> {
    const dir = this.store.dir(spec.id);
    if (await this.store.load(spec.id))
      throw new RuntimeError(`container ${spec.id} already exists in the runtime`, 125);
    let ref: CgroupRef;
    try {
      ref = checkCgroupRef({
        parent: spec.cgroup.parent || this.d.cgroupParent,
        name: spec.cgroup.name ?? spec.id,
      });
    } catch (err) {
      throw new RuntimeError((err as Error).message, 125);
    }
    await fsp.mkdir(dir, { recursive: true, mode: 0o700 });
    let spawned: CreateResult | undefined;
    try {
      const devices = spec.privileged ? 'all' : await deviceRules(spec);
      await this.d.cgroups.create(ref, spec.cgroup.resources, devices);
      const filterDir = this.d.cgroups.deviceFilterDir(ref);
      if (spec.log.path) await fsp.mkdir(path.dirname(spec.log.path), { recursive: true });
      const oomScoreAdj = this.oomScoreFor(spec);
      const ops = compileCreateOps(
        { ...spec, process: { ...spec.process, oomScoreAdj } },
        {
          shimPath: this.d.shimPath,
          cgroupProcs: this.d.cgroups.procsFiles(ref),
          oomFile: this.d.cgroups.oomEventsFile(ref),
          cgroupVersion: this.d.cgroups.version,
          cgroupV1Mounts: this.d.cgroups.containerMounts(),
          ...(filterDir && devices !== 'all'
            ? { deviceFilter: { dir: filterDir, program: compileDeviceFilter(devices) } }
            : {}),
        },
      );
      await fsp.writeFile(path.join(dir, 'config'), ops, { mode: 0o600 });
      const { pid, shimPid } = await this.spawnShim(dir);
      spawned = { pid, shimPid };
      await this.store.save({
        id: spec.id,
        pid,
        shimPid,
        createdAt: new Date().toISOString(),
        cgroup: ref,
        ownNetns: spec.namespaces.net.mode !== 'host',
        oomScoreAdj,
        annotations: spec.annotations ?? {},
      });
      return { pid, shimPid };
    } catch (err) {
      if (spawned) await this.destroy(spec.id, ref).catch(() => undefined);
      else await this.d.cgroups.remove(ref).catch(() => undefined);
      await this.store.remove(spec.id);
      throw err;
    }
  }

  private spawnShim(dir: string): Promise<{ pid: number; shimPid: number }> {
    return new Promise((resolve, reject) => {
      // detached: own session, so the container outlives berthd (kill -9 included)
      const child = spawn(this.d.shimPath, ['create', dir], {
        detached: true,
        stdio: ['ignore', 'pipe', 'ignore'],
      });
      let out = '';
      child.stdout.on('data', (d: Buffer) => {
        out += d.toString('utf8');
        const nl = out.indexOf('\n');
        if (nl < 0) return;
        const line = out.slice(0, nl);
        child.stdout.destroy();
        child.unref();
        if (line.startsWith('created ')) resolve({ pid: Number(line.slice(8)), shimPid: child.pid ?? 0 });
        else {
          const e = parseErrorReply(line);
          reject(ociError('create', e.code, e.msg));
        }
      });
      child.once('error', (err) => reject(new RuntimeError(`cannot run berth-shim: ${err.message}`, 125)));
      child.once('exit', (code, sig) => {
        if (!out.includes('\n'))
          reject(new RuntimeError(`berth-shim exited (${code ?? sig}) before creating the container`, 125));
      });
    });
  }

  async start(id: ContainerId): Promise<StartResult> {
    const s = await this.saved(id);
    let reply: string;
    try {
      reply = await shimCommand(this.store.socket(id), 'start');
    } catch (err) {
      if (err instanceof ShimUnavailableError) throw new RuntimeError(`container ${id} is not running`, 125);
      throw err;
    }
    if (!reply.startsWith('ok ')) {
      const e = parseErrorReply(reply);
      throw ociError('create', e.code, e.msg);
    }
    const startedAt = new Date();
    await this.store.save({ ...s, startedAt: startedAt.toISOString() });
    return { pid: s.pid, startedAt };
  }

  async attach(id: ContainerId, opts: AttachOptions): Promise<AttachSession> {
    await this.saved(id);
    try {
      return await shimAttach(this.store.socket(id), opts);
    } catch (err) {
      if (err instanceof ShimUnavailableError) throw new RuntimeError(`container ${id} is not running`, 125);
      throw err;
    }
  }

  async resize(id: ContainerId, size: { rows: number; cols: number }): Promise<void> {
    await this.saved(id);
    await shimCommand(
      this.store.socket(id),
      `resize ${Math.floor(size.rows)} ${Math.floor(size.cols)}`,
    ).catch((err) => {
      if (!(err instanceof ShimUnavailableError)) throw err;
    });
  }

  /** What the shim says of its init (its parent, so the pid cannot have been reused); undefined when the
   *  shim is gone. */
  private async shimState(id: ContainerId): Promise<{ started: boolean; pid: number } | undefined> {
    try {
      const m = /^(created|running) (\d+)$/.exec(await shimCommand(this.store.socket(id), 'state'));
      return m ? { started: m[1] === 'running', pid: Number(m[2]) } : undefined;
    } catch (err) {
      if (err instanceof ShimUnavailableError) return undefined;
      throw err;
    }
  }

  async exec(id: ContainerId, proc: ExecProcessSpec): Promise<ExecHandle> {
    const s = await this.saved(id);
    if (!s.startedAt || (await this.store.exit(id)) || (await this.shimState(id))?.pid !== s.pid) {
      throw new RuntimeError(`container ${id} is not running`, 125);
    }
    // a process joining a frozen cgroup freezes too: the exec would hang until unpause
    if (await this.d.cgroups.isFrozen(s.cgroup).catch(() => false)) {
      throw new RuntimeError(`container ${id} is paused, unpause the container before exec`, 125);
    }
    // As runc: an exec'd process gets the container's oom_score_adj, not berthd's.
    return startExec(
      this.d.shimPath,
      this.store.dir(id),
      s.pid,
      proc,
      this.d.cgroups.procsFiles(s.cgroup),
      s.oomScoreAdj,
    );
  }

  async kill(id: ContainerId, signal: NodeJS.Signals | number, opts?: { all?: boolean }): Promise<void> {
    const s = await this.saved(id);
    if (await this.store.exit(id)) return;
    if (opts?.all) await this.d.cgroups.kill(s.cgroup, signal);
    const signo = typeof signal === 'number' ? signal : os.constants.signals[signal];
    let reply: string;
    try {
      reply = await shimCommand(this.store.socket(id), `kill ${signo}`);
    } catch (err) {
      if (!(err instanceof ShimUnavailableError)) throw err;
      // No supervisor (it was killed): the init is reached only as a current member of the cgroup.
      if ((await this.d.cgroups.pids(s.cgroup)).includes(s.pid)) this.d.sys.kill(s.pid, signal);
      return;
    }
    const m = /^error (\d+) (.*)$/.exec(reply);
    // ESRCH: it exited meanwhile, as a plain kill would have found.
    if (m && Number(m[1]) !== os.constants.errno.ESRCH) throw new RuntimeError(`kill: ${m[2]}`, 125);
  }

  async wait(id: ContainerId): Promise<ExitStatus> {
    await this.saved(id);
    // The shim's socket answers with the exit; a refused connection means it is gone or just exiting (it
    // unlinks the socket right after writing exit.json): a few short retries tell the two apart.
    for (let tries = 0; ; tries++) {
      const done = await this.store.exit(id);
      if (done) return done;
      try {
        return parseExit(await shimWait(this.store.socket(id)));
      } catch (err) {
        if (!(err instanceof ShimUnavailableError)) throw err;
      }
      const after = await this.store.exit(id);
      if (after) return after;
      if (tries >= 10) {
        return {
          exitCode: 255,
          oomKilled: false,
          finishedAt: new Date(),
          error: 'container supervisor died without an exit status',
        };
      }
      await new Promise((r) => setTimeout(r, 20));
    }
  }

  async pause(id: ContainerId): Promise<void> {
    await this.d.cgroups.freeze((await this.saved(id)).cgroup);
  }

  async resume(id: ContainerId): Promise<void> {
    await this.d.cgroups.thaw((await this.saved(id)).cgroup);
  }

  async update(id: ContainerId, resources: CgroupResources): Promise<void> {
    await this.d.cgroups.update((await this.saved(id)).cgroup, resources);
  }

  async stats(id: ContainerId): Promise<RuntimeStats> {
    const s = await this.saved(id);
    const stats: RuntimeStats = { read: new Date(), ...(await this.d.cgroups.stats(s.cgroup)) };
    if (s.ownNetns && !(await this.store.exit(id))) {
      const dev = await this.d.sys.readFile(`/proc/${s.pid}/net/dev`).catch(() => undefined);
      if (dev !== undefined) stats.networks = parseNetDev(dev);
    }
    return stats;
  }

  async top(id: ContainerId): Promise<number[]> {
    return this.d.cgroups.pids((await this.saved(id)).cgroup);
  }

  async state(id: ContainerId): Promise<RuntimeState | undefined> {
    const s = await this.store.load(id);
    if (!s) return undefined;
    const exit = await this.store.exit(id);
    const base = { id, pid: s.pid, shimPid: s.shimPid, annotations: s.annotations };
    const started = s.startedAt ? { startedAt: new Date(s.startedAt) } : {};
    if (exit) return { ...base, ...started, status: 'stopped', exit };
    if (!(await this.shimState(id)) && !(await this.d.cgroups.pids(s.cgroup)).length) {
      const lost: ExitStatus = {
        exitCode: 255,
        oomKilled: false,
        finishedAt: new Date(),
        error: 'container supervisor died without an exit status',
      };
      return { ...base, ...started, status: 'stopped', exit: lost };
    }
    if (!s.startedAt) return { ...base, status: 'created' };
    const paused = await this.d.cgroups.isFrozen(s.cgroup).catch(() => false);
    return { ...base, ...started, status: paused ? 'paused' : 'running' };
  }

  async delete(id: ContainerId): Promise<void> {
    const s = await this.store.load(id);
    if (s) await this.destroy(id, s.cgroup);
    await this.store.remove(id);
  }

  /** Kills whatever is left in the cgroup, lets the shim record the exit, removes the cgroup. */
  private async destroy(id: ContainerId, ref: CgroupRef): Promise<void> {
    await this.d.cgroups.thaw(ref).catch(() => undefined); // frozen tasks cannot act on SIGKILL
    await this.d.cgroups.kill(ref, 'SIGKILL');
    if (!(await this.d.cgroups.waitEmpty(ref, 5000)))
      this.d.log.warn('cgroup still has processes after SIGKILL', { id, cgroup: ref });
    // The shim writes exit.json once it reaped the init; its socket answers `wait` then (or is gone).
    if (!(await this.store.exit(id))) {
      const waited = shimWait(this.store.socket(id)).catch(() => undefined);
      await Promise.race([waited, new Promise((r) => setTimeout(r, 5000).unref())]);
    }
    await this.d.cgroups.remove(ref);
  }

  async list(): Promise<RuntimeState[]> {
    const out: RuntimeState[] = [];
    for (const id of await this.store.ids()) {
      const st = await this.state(id);
      if (st) out.push(st);
    }
    return out;
  }

  async close(): Promise<void> {
    if ((await this.store.ids()).length) return;
    await this.d.cgroups
      .removeParent(this.d.cgroupParent)
      .catch((err) => this.d.log.warn('cgroup parent kept', { err }));
    await fsp.rmdir(this.d.stateRoot).catch(() => undefined);
  }

  async reconcile(known: ReadonlySet<ContainerId>): Promise<ReconcileReport> {
    const report: ReconcileReport = { running: [], exited: [], cleaned: [] };
    const owned = new Set<string>();
    for (const id of await this.store.ids()) {
      const s = await this.store.load(id);
      if (!known.has(id) || !s) {
        if (s)
          await this.destroy(id, s.cgroup).catch((err) =>
            this.d.log.warn('reconcile: destroy failed', { id, err }),
          );
        await this.store.remove(id);
        report.cleaned.push(`state:${id}`);
        continue;
      }
      owned.add(s.cgroup.name);
      const st = await this.state(id);
      if (!st) continue;
      if (st.status === 'stopped') report.exited.push(st);
      else report.running.push(st);
    }
    // cgroups under our parent that no state accounts for: leftovers of a crash between mkdir and state save
    for (const name of await this.d.cgroups.children(this.d.cgroupParent)) {
      if (owned.has(name)) continue;
      const ref = { parent: this.d.cgroupParent, name };
      await this.d.cgroups.thaw(ref).catch(() => undefined);
      await this.d.cgroups.kill(ref, 'SIGKILL');
      await this.d.cgroups.waitEmpty(ref, 1000);
      await this.d.cgroups
        .remove(ref)
        .catch((err) => this.d.log.warn('reconcile: cgroup not removed', { name, err }));
      report.cleaned.push(`cgroup:${name}`);
    }
    return report;
  }
}
