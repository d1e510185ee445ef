/** Exec instances: create (validated, container must run), start through the runtime, inspect, resize. */
import { randomBytes } from 'node:crypto';
import type { ExecConfig, ExecInspect } from '@berth/common';
import { badParameter, conflict, notFound } from '../errors.js';
import type { ExecPort, ExecSession, ExecStartRequest } from './api-port.js';
import type { ExecHandle } from '../runtime/types.js';
import { mergeEnv } from './create-config.js';
import { linkedEnv } from './links.js';
import type { ContainerDeps } from './deps.js';
import { capabilities, securityOpts } from './spec.js';
import { canExec } from './state.js';
import { parseDetachKeys } from './stdio.js';
import { resolveUser } from './user.js';

interface ExecRecord {
  id: string;
  containerId: string;
  config: ExecConfig;
  running: boolean;
  exitCode: number | null;
  pid: number;
  started: boolean;
  handle?: ExecHandle;
}

/** Finished execs are kept this long for `docker exec` to read the exit code, then forgotten. */
const KEEP_MS = 5 * 60_000;

export class ExecStore implements ExecPort {
  private execs = new Map<string, ExecRecord>();

  constructor(private readonly d: ContainerDeps) {}

  create(containerRef: string, raw: unknown): string {
    if (typeof raw !== 'object' || raw === null || Array.isArray(raw))
      throw badParameter('invalid exec body: expected a JSON object');
    const cfg = raw as ExecConfig;
    if (!Array.isArray(cfg.Cmd) || cfg.Cmd.length === 0 || !cfg.Cmd.every((a) => typeof a === 'string'))
      throw badParameter('No exec command specified');
    if (cfg.Env != null && (!Array.isArray(cfg.Env) || !cfg.Env.every((e) => typeof e === 'string')))
      throw badParameter('invalid exec body: Env must be an array of strings');
    if (cfg.WorkingDir && !cfg.WorkingDir.startsWith('/'))
      throw badParameter(
        `the working directory '${cfg.WorkingDir}' is invalid, it needs to be an absolute path`,
      );
    const rec = this.d.store.get(containerRef);
    canExec(rec.state, rec.id);
    const id = randomBytes(32).toString('hex');
    this.execs.set(id, {
      id,
      containerId: rec.id,
      config: cfg,
      running: false,
      exitCode: null,
      pid: 0,
      started: false,
    });
    this.d.events.publish('container', `exec_create: ${cfg.Cmd.join(' ')}`, rec.id, {
      execID: id,
      name: rec.name.slice(1),
      image: rec.config.Image ?? '',
    });
    return id;
  }

  get(id: string): ExecRecord {
    const e = this.execs.get(id);
    if (!e) throw notFound(`No such exec instance: ${id}`);
    return e;
  }

  idsFor(containerId: string): string[] {
    return [...this.execs.values()].filter((e) => e.containerId === containerId).map((e) => e.id);
  }

  forgetContainer(containerId: string): void {
    for (const e of this.execs.values()) if (e.containerId === containerId) this.execs.delete(e.id);
  }

  async start(
    id: string,
    opts: { tty?: boolean; consoleSize?: [number, number] | null },
  ): Promise<ExecHandle> {
    const e = this.get(id);
    if (e.started) throw conflict(`Exec command ${id} has already run`);
    const rec = this.d.store.get(e.containerId);
    canExec(rec.state, rec.id);
    e.started = true;
    const image = await this.d.images.resolve(rec.image);
    const layers = [this.d.store.files(rec.id).upper, ...(image?.layerDirs ?? [])];
    const user = await resolveUser(
      layers,
      e.config.User || rec.config.User || '',
      e.config.User ? [] : (rec.hostConfig.GroupAdd ?? []),
    );
    // As dockerd's exec: the links' variables, the container's own, then the exec's.
    const linked = linkedEnv(rec, this.d.store, this.d.network);
    const own = (rec.config.Env ?? []).filter((x) => x.includes('='));
    const env = mergeEnv(mergeEnv(linked, own), e.config.Env ?? []);
    if (!env.some((x) => x.startsWith('HOME='))) env.push(`HOME=${user.home}`);
    if (!env.some((x) => x.startsWith('HOSTNAME='))) env.push(`HOSTNAME=${rec.config.Hostname}`);
    const tty = opts.tty ?? e.config.Tty ?? false;
    if (tty && !env.some((x) => x.startsWith('TERM='))) env.push('TERM=xterm');
    const privileged = e.config.Privileged === true || rec.hostConfig.Privileged === true;
    const sec = securityOpts(rec.hostConfig);
    const size = opts.consoleSize ?? e.config.ConsoleSize;
    let handle: ExecHandle;
    try {
      handle = await this.d.runtime.exec(rec.id, {
        args: e.config.Cmd,
        env,
        cwd: e.config.WorkingDir || rec.config.WorkingDir || '/',
        user: { uid: user.uid, gid: user.gid, additionalGids: user.additionalGids },
        terminal: tty,
        capabilities: capabilities({ ...rec.hostConfig, Privileged: privileged }),
        noNewPrivileges: sec.noNewPrivileges,
        privileged,
        seccomp: privileged ? 'unconfined' : sec.seccomp,
        ...(size && size[0] && size[1] ? { consoleSize: { rows: size[0], cols: size[1] } } : {}),
      });
    } catch (err) {
      e.exitCode = (err as { exitCode?: number }).exitCode ?? 126;
      this.expire(e);
      throw err;
    }
    e.handle = handle;
    e.running = true;
    e.pid = handle.pid;
    this.d.events.publish('container', `exec_start: ${e.config.Cmd.join(' ')}`, rec.id, {
      execID: id,
      name: rec.name.slice(1),
      image: rec.config.Image ?? '',
    });
    void handle.exit.then(
      (st) => {
        e.running = false;
        e.exitCode = st.exitCode;
        e.pid = 0;
        this.d.events.publish('container', 'exec_die', rec.id, {
          execID: id,
          exitCode: String(st.exitCode),
          name: rec.name.slice(1),
          image: rec.config.Image ?? '',
        });
        this.expire(e);
      },
      () => {
        e.running = false;
        e.exitCode = 126;
        this.expire(e);
      },
    );
    return handle;
  }

  private expire(e: ExecRecord): void {
    delete e.handle;
    setTimeout(() => this.execs.delete(e.id), KEEP_MS).unref();
  }

  async resize(id: string, rows: number, cols: number): Promise<void> {
    const e = this.get(id);
    if (!e.handle) throw conflict(`Exec ${id} is not running`);
    await e.handle.resize({ rows, cols });
  }

  inspect(id: string): ExecInspect {
    const e = this.get(id);
    const c = e.config;
    return {
      CanRemove: false,
      DetachKeys: c.DetachKeys ?? '',
      ID: e.id,
      Running: e.running,
      ExitCode: e.exitCode,
      ProcessConfig: {
        privileged: c.Privileged === true,
        user: c.User ?? '',
        tty: c.Tty === true,
        entrypoint: c.Cmd[0],
        arguments: c.Cmd.slice(1),
      },
      OpenStdin: c.AttachStdin === true,
      OpenStderr: c.AttachStderr === true,
      OpenStdout: c.AttachStdout === true,
      ContainerID: e.containerId,
      Pid: e.pid,
    };
  }

  createExec(ref: string, body: unknown): string {
    return this.create(ref, body);
  }

  private startBody(raw: unknown): ExecStartRequest {
    if (typeof raw !== 'object' || raw === null) throw badParameter('invalid exec start body');
    return raw;
  }

  /** The process gets a pty when exec create asked for one (dockerd ignores the start request's Tty here). */
  private pty(id: string): boolean {
    return this.get(id).config.Tty === true;
  }

  /** The stream is raw, not multiplexed, only when the start request says Tty (dockerd's exec router). */
  execStreamRaw(id: string, raw: unknown): boolean {
    const body = this.startBody(raw);
    parseDetachKeys(this.get(id).config.DetachKeys || null);
    return body.Tty === true;
  }

  async startExec(id: string, raw: unknown): Promise<ExecSession> {
    const body = this.startBody(raw);
    const e = this.get(id);
    const pty = this.pty(id);
    // Checked always, used only for a terminal: dockerd's CopyStreams scans a TTY's input alone (binary stdin passes).
    const keys = parseDetachKeys(e.config.DetachKeys || null);
    const handle = await this.start(id, { tty: pty, consoleSize: body.ConsoleSize ?? null });
    return {
      handle,
      pty,
      raw: body.Tty === true,
      keys: pty ? keys : [],
      openStdin: e.config.AttachStdin === true,
      openStdout: e.config.AttachStdout === true,
      openStderr: e.config.AttachStderr === true,
    };
  }

  async startExecDetached(id: string, raw: unknown): Promise<void> {
    const body = this.startBody(raw);
    const h = await this.start(id, { tty: this.pty(id), consoleSize: body.ConsoleSize ?? null });
    h.stdin.end();
    h.stdout.resume();
    h.stderr?.resume();
  }

  async resizeExec(id: string, height: number, width: number): Promise<void> {
    await this.resize(id, height, width);
  }

  inspectExec(id: string): ExecInspect {
    return this.inspect(id);
  }
}
