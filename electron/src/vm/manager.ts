/**
 * VM lifecycle as the CLI and the app see it: driver start/stop plus the host side (the tunnel process for
 * SSH drivers, the docker context), and one status that says whether the engine really answers.
 */
import { spawn } from 'node:child_process';
import { closeSync, existsSync, openSync, promises as fsp } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { EngineState } from '@berth/common';
import type { Logger } from '@berth/common/log';
import { pingSocket } from '../engine/control.js';
import { topicFile, topicLogger, type LogTopic } from '../log/topics.js';
import { ensureDockerContext } from '../tunnel/context.js';
import type { TunnelConfig } from '../tunnel/service.js';
import { kubeFiles } from '../kube/native.js';
import type { VmConfig } from './config.js';
import {
  offersPortControl,
  reportsDiskUsage,
  type GuestEndpoint,
  type PortControlSpec,
  type Progress,
  type VmDriver,
  type VmResources,
} from './driver.js';
import type { BerthPaths } from './paths.js';
import { livePid, tailFile, terminate } from './process.js';

type VmEndpoint = Extract<GuestEndpoint, { kind: 'vm' }>;

const TUNNEL_MAIN = path.join(path.dirname(fileURLToPath(import.meta.url)), '../tunnel/main.js');

export interface VmStatusReport {
  driver: string;
  /** berthd runs in a VM (the sizes in `resources` apply), not on the host. */
  runsVm: boolean;
  state: EngineState;
  /** unix:// address of the engine socket on the host. */
  host: string;
  pid?: number;
  tunnelPid?: number;
  accel?: string;
  warning?: string;
  message?: string;
  resources: VmResources;
  /** Bytes the data disk occupies on the host (drivers with a disk image). */
  diskBytes?: number;
}

export class VmManager {
  /** The `vm` topic (~/.berth/logs/vm.log): every step and failure of start, stop, reset, compact. */
  private readonly log: Logger;

  constructor(
    readonly paths: BerthPaths,
    readonly driver: VmDriver,
    readonly config: VmConfig,
    readonly resources: VmResources,
    private readonly env: NodeJS.ProcessEnv = process.env,
    log?: Logger,
  ) {
    this.log = log ?? topicLogger(paths.logs, 'vm', { driver: driver.kind });
  }

  /** Reports a step to the caller and logs it. */
  private logged(progress: Progress): Progress {
    return (step) => {
      if (step.startsWith('warning:')) this.log.warn(step.slice('warning:'.length).trim());
      else this.log.info(step);
      progress(step);
    };
  }

  /** Runs one lifecycle operation with its start, end and failure in the log. */
  private async op<T>(name: string, f: () => Promise<T>): Promise<T> {
    const t0 = Date.now();
    this.log.info(`${name} begins`);
    try {
      const r = await f();
      this.log.info(`${name} done`, { ms: Date.now() - t0 });
      return r;
    } catch (err) {
      this.log.error(`${name} failed`, { ms: Date.now() - t0, err: (err as Error).message });
      throw err;
    }
  }

  private tunnelPid(): number | undefined {
    return livePid(this.paths.tunnelPid, 'tunnel/main.js');
  }

  start(progress: Progress): Promise<VmStatusReport> {
    return this.op('start', () => this.startSteps(this.logged(progress)));
  }

  private async startSteps(progress: Progress): Promise<VmStatusReport> {
    // Neither needs the engine, so both overlap the guest's boot instead of following it: the docker context,
    // and the host tunnel (a Node process), started as soon as the VM's ports are known.
    const ctx = ensureDockerContext(this.paths.socket, this.env);
    let booting = true;
    const started = this.driver.start(progress).finally(() => (booting = false));
    // A failure here is not the start's: start() forwards (or replaces) the tunnel again once booted.
    const early = this.tunnelWhileBooting(() => booting, progress).catch((err: Error) =>
      this.log.warn('early tunnel start failed; retried after boot', { err: err.message }),
    );
    let ds;
    try {
      ds = await started;
    } catch (err) {
      await early;
      await this.stopTunnel();
      throw err;
    }
    await early;
    if (ds.state !== 'running') throw new Error(ds.message ?? `the ${this.driver.kind} VM did not start`);
    await this.ensureTunnel(await this.driver.forward(), progress);
    const deadline = Date.now() + 30_000;
    while (!(await pingSocket(this.paths.socket))) {
      if (Date.now() > deadline)
        throw new Error(
          `the engine does not answer on ${this.paths.socket}:\n${await tailFile(this.paths.tunnelLog, 10)}`,
        );
      await new Promise((r) => setTimeout(r, 20));
    }
    progress((await ctx).message);
    return this.status(true);
  }

  private async tunnelWhileBooting(booting: () => boolean, progress: Progress): Promise<void> {
    while (booting()) {
      const ep = await this.driver.forward().catch(() => undefined);
      if (ep) return this.ensureTunnel(ep, progress);
      await new Promise((r) => setTimeout(r, 25));
    }
  }

  private async ensureTunnel(ep: GuestEndpoint, progress: Progress): Promise<void> {
    if (ep.kind !== 'vm') return;
    const ports = offersPortControl(this.driver) ? await this.driver.portControl() : undefined;
    if (await this.tunnelServes(ep, ports)) return;
    // A tunnel left from an earlier boot (the VM was killed) points at stale ports: replace it.
    await this.stopTunnel();
    progress('Forwarding the engine socket to the host');
    await this.startTunnel(ep, ports);
  }

  private tunnelConfigFile(): string {
    return path.join(this.paths.run, 'tunnel.json');
  }

  /** Whether a live tunnel process already serves this boot's endpoint. */
  private async tunnelServes(ep: VmEndpoint, ports: PortControlSpec | undefined): Promise<boolean> {
    if (!this.tunnelPid()) return false;
    try {
      const cfg = JSON.parse(await fsp.readFile(this.tunnelConfigFile(), 'utf8')) as Partial<TunnelConfig>;
      return (
        JSON.stringify(cfg.endpoint) === JSON.stringify(ep) &&
        JSON.stringify(cfg.portControl) === JSON.stringify(ports) &&
        cfg.socketPath === this.paths.socket
      );
    } catch {
      return false;
    }
  }

  private async startTunnel(endpoint: VmEndpoint, portControl: PortControlSpec | undefined): Promise<void> {
    await fsp.mkdir(this.paths.run, { recursive: true, mode: 0o700 });
    await fsp.mkdir(this.paths.logs, { recursive: true, mode: 0o700 });
    const cfg: TunnelConfig = {
      endpoint,
      ...(portControl ? { portControl } : {}),
      socketPath: this.paths.socket,
      forwards: this.config.forwards,
      followPorts: true,
      kubeconfig: kubeFiles(this.paths).kubeconfig,
      logs: this.paths.logs,
    };
    const cfgFile = this.tunnelConfigFile();
    await fsp.writeFile(cfgFile, JSON.stringify(cfg, null, 1), { mode: 0o600 });
    await fsp.rm(this.paths.tunnelPid, { force: true });
    const fd = openSync(this.paths.tunnelLog, 'a');
    const child = spawn(process.execPath, [TUNNEL_MAIN, cfgFile, this.paths.tunnelPid], {
      detached: true,
      stdio: ['ignore', fd, fd],
      windowsHide: true,
    });
    closeSync(fd);
    let exited: number | null | undefined;
    child.on('exit', (code) => (exited = code));
    child.unref();
    // The tunnel writes its pid file once the socket listens.
    const deadline = Date.now() + 60_000;
    while (!existsSync(this.paths.tunnelPid)) {
      if (exited !== undefined || Date.now() > deadline) {
        if (exited === undefined) child.kill('SIGKILL');
        throw new Error(`the host tunnel did not start:\n${await tailFile(this.paths.tunnelLog, 10)}`);
      }
      await new Promise((r) => setTimeout(r, 50));
    }
  }

  private async stopTunnel(): Promise<void> {
    const pid = this.tunnelPid();
    if (pid) {
      this.log.info('stopping the host tunnel', { pid });
      await terminate(pid, 5000);
    }
    await fsp.rm(this.paths.tunnelPid, { force: true });
  }

  /** Graceful stop of containers and guest; the VM is stopped hard after `timeoutMs`. */
  stop(progress: Progress, timeoutMs = 30_000): Promise<VmStatusReport> {
    return this.op('stop', async () => {
      await this.stopTunnel();
      await this.driver.stop(timeoutMs, this.logged(progress));
      if (this.driver.hostSocket === 'tunnel') await fsp.rm(this.paths.socket, { force: true });
      return this.status();
    });
  }

  async restart(progress: Progress, timeoutMs?: number): Promise<VmStatusReport> {
    await this.stop(progress, timeoutMs);
    return this.start(progress);
  }

  /** `answered`: the engine just answered /_ping on the host socket (start), so it is not asked again. */
  async status(answered = false): Promise<VmStatusReport> {
    const ds = await this.driver.status();
    const tunnelPid = this.tunnelPid();
    let state: EngineState = ds.state;
    let message = ds.message;
    if (ds.state === 'running' && !answered && !(await pingSocket(this.paths.socket))) {
      state = 'error';
      message = `the VM runs but the engine does not answer on ${this.paths.socket}${this.driver.hostSocket === 'tunnel' && !tunnelPid ? ' (the host tunnel is not running: `berth start` restarts it)' : ''}`;
    }
    const diskBytes = reportsDiskUsage(this.driver) ? await this.driver.diskBytes() : undefined;
    return {
      driver: this.driver.kind,
      runsVm: this.driver.runsVm,
      state,
      host: `unix://${this.paths.socket}`,
      resources: this.resources,
      ...(ds.pid ? { pid: ds.pid } : {}),
      ...(tunnelPid ? { tunnelPid } : {}),
      ...(ds.accel ? { accel: ds.accel } : {}),
      ...(ds.warning ? { warning: ds.warning } : {}),
      ...(message ? { message } : {}),
      ...(diskBytes !== undefined ? { diskBytes } : {}),
    };
  }

  /** Factory reset: stops everything and deletes the VM, its data disk and the host socket. */
  async reset(progress: Progress): Promise<void> {
    await this.stop(progress);
    await this.op('reset', async () => {
      this.logged(progress)(`Deleting the ${this.driver.kind} VM and its data`);
      await this.driver.reset();
      await fsp.rm(this.paths.socket, { force: true });
      await fsp.rm(this.paths.tunnelLog, { force: true });
    });
  }

  compact(progress: Progress): Promise<string> {
    return this.op('compact', () => this.driver.compact(this.logged(progress)));
  }

  /** The last lines of a log: the VM console, the engine, or one of Berth's own topics (~/.berth/logs). */
  async logs(which: 'console' | 'engine' | LogTopic, lines = 200): Promise<{ file?: string; text: string }> {
    const files = this.driver.logFiles();
    const file = which === 'console' || which === 'engine' ? files[which] : topicFile(this.paths.logs, which);
    if (!file) return { text: '' };
    return { file, text: await tailFile(file, lines) };
  }
}
