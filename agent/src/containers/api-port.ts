/**
 * The containers domain as the API routes see it: one narrow port per route module. A route parses the
 * request, calls one method here, and writes the answer; the domain does the work and throws error kinds.
 */
import type { Writable } from 'node:stream';
import type {
  ContainerCreateResponse,
  ContainerInspect,
  ContainerPruneResponse,
  ContainerSummary,
  ContainerTopResponse,
  ContainerWaitResponse,
  ExecInspect,
  FilesystemChange,
} from '@berth/common';
import type { AttachSession, ExecHandle } from '../runtime/types.js';
import type { Filters } from '../util/filters.js';
import type { CommitOptions } from './commit.js';
import type { StopOptions } from './lifecycle.js';
import type { LogEntry, LogQuery } from './logs.js';

/** /containers: create, list, inspect, lifecycle operations, wait, prune. */
export interface ContainerOpsPort {
  create(body: unknown, name: string | null): Promise<ContainerCreateResponse>;
  list(q: {
    filters: Filters;
    all: boolean;
    limit: number | undefined;
    size: boolean;
  }): Promise<ContainerSummary[]>;
  inspect(ref: string, size: boolean): Promise<ContainerInspect>;
  /** 'noop' when it already runs (dockerd answers 304). */
  start(ref: string, checkpoint: string | null): Promise<'started' | 'noop'>;
  stop(ref: string, opts: StopOptions): Promise<'stopped' | 'noop'>;
  restart(ref: string, opts: StopOptions): Promise<void>;
  kill(ref: string, signal: string | null): Promise<void>;
  pause(ref: string): Promise<void>;
  unpause(ref: string): Promise<void>;
  remove(ref: string, opts: { force: boolean; volumes: boolean; link: boolean }): Promise<void>;
  rename(ref: string, name: string | null): Promise<void>;
  update(ref: string, body: unknown): Promise<string[]>;
  /** Validates at once (throws before the caller commits to a 200), then resolves when the condition holds. */
  wait(ref: string, condition: string | null, signal: AbortSignal): Promise<ContainerWaitResponse>;
  prune(filters: Filters): Promise<ContainerPruneResponse>;
}

export interface AttachRequest {
  stdin: boolean;
  stdout: boolean;
  stderr: boolean;
  logs: boolean;
  stream: boolean;
  detachKeys: string | null;
}

/** An attach, ready to be wired to the client: the log replay first, then the live session. */
export interface AttachStream {
  tty: boolean;
  /** Detach sequence (bytes) the client's stdin is scanned for. */
  keys: number[];
  /** The container reads stdin and the client asked for it. */
  stdin: boolean;
  /** logs=1: what the log held up to the moment the live session took over. */
  replay: AsyncIterable<LogEntry> | undefined;
  /** stream=1: live output now (running) or from the next start; it ends when that run does. */
  session: Promise<AttachSession> | undefined;
  /** The client left before the session arrived. */
  cancel(): void;
  /** The client detached with its detach keys (publishes the event). */
  detached(): void;
}

/** Attach, logs, resize, stats and top. */
export interface ContainerIoPort {
  attach(ref: string, req: AttachRequest): Promise<AttachStream>;
  logs(
    ref: string,
    q: LogQuery,
    signal: AbortSignal,
  ): Promise<{ tty: boolean; entries: AsyncIterable<LogEntry> }>;
  resize(ref: string, height: number, width: number): Promise<void>;
  top(ref: string, psArgs: string | null): Promise<ContainerTopResponse>;
  /** One sample (with precpu from a second earlier unless oneShot), or empty stats when not running. */
  statsOnce(ref: string, oneShot: boolean): Promise<unknown>;
  /** A sample a second until the client goes away (or the container is removed). */
  statsStream(ref: string, signal: AbortSignal): Promise<AsyncIterable<unknown>>;
}

export interface ArchiveWriteOptions {
  noOverwriteDirNonDir: boolean;
  copyUidGid: boolean;
}

/** docker cp (archive HEAD/GET/PUT), export, diff, commit. */
export interface ContainerFilesPort {
  /** Stats `path`; `open` gets dockerd's X-Docker-Container-Path-Stat value and returns where the tar goes
   *  (undefined for HEAD: stat only). */
  readArchive(ref: string, path: string | null, open: (stat: string) => Writable | undefined): Promise<void>;
  writeArchive(
    ref: string,
    path: string | null,
    opts: ArchiveWriteOptions,
    body: AsyncIterable<unknown>,
  ): Promise<void>;
  exportRootfs(ref: string, open: () => Writable): Promise<void>;
  changes(ref: string): Promise<FilesystemChange[]>;
  commit(ref: string | null, req: CommitOptions): Promise<string>;
}

export interface ExecStartRequest {
  Detach?: boolean;
  Tty?: boolean;
  ConsoleSize?: [number, number] | null;
}

/** A started exec, ready to be wired to the client. */
export interface ExecSession {
  handle: ExecHandle;
  /** The process has a pty (from exec create's Tty). */
  pty: boolean;
  /** The stream is raw, not multiplexed (from the start request's Tty, as dockerd's router). */
  raw: boolean;
  keys: number[];
  openStdin: boolean;
  openStdout: boolean;
  openStderr: boolean;
}

/** /containers/{id}/exec and /exec/{id}/*. */
export interface ExecPort {
  createExec(ref: string, body: unknown): string;
  /** Validates the instance and reports whether the start request's stream is raw (before the hijack). */
  execStreamRaw(id: string, body: unknown): boolean;
  startExec(id: string, body: unknown): Promise<ExecSession>;
  /** Detach: starts it with no client attached. */
  startExecDetached(id: string, body: unknown): Promise<void>;
  resizeExec(id: string, height: number, width: number): Promise<void>;
  inspectExec(id: string): ExecInspect;
}
