/**
 * Streams of running pods over the Engine API: logs as `kubectl logs` asks for them, exec and attach sessions as
 * abstract duplexes (the API server wraps them in its WebSocket/SPDY protocols), port-forward through the pause
 * binary's `forward` mode exec'd in the sandbox (so loopback-bound apps are reachable), and stats.
 */
import { Duplex, PassThrough, Writable, type Readable } from 'node:stream';
import type { ContainerInspect } from '@berth/common/api/containers';
import type { EngineClient } from './engine/client.js';
import { FrameDecoder } from './engine/frames.js';
import type { PodView } from './pod-view.js';
import type { LogOptions, PodStats, StreamOptions, StreamSession } from './provider.js';
import type { Pod } from './types.js';

/** The instance `kubectl logs [--previous]` reads, or the error kube-apiserver relays from the kubelet. */
export function logTarget(pod: Pod, view: PodView, o: LogOptions): ContainerInspect {
  const list = view.containers.get(o.container) ?? [];
  const podName = pod.metadata?.name;
  if (o.previous) {
    const prev = list[1];
    if (!prev)
      throw new Error(`previous terminated container "${o.container}" in pod "${podName}" not found`);
    return prev;
  }
  const cur = list[0];
  if (!cur)
    throw new Error(`container "${o.container}" in pod "${podName}" is waiting to start: ContainerCreating`);
  return cur;
}

export async function containerLogs(
  engine: EngineClient,
  pod: Pod,
  view: PodView,
  o: LogOptions,
  signal?: AbortSignal,
): Promise<Readable> {
  const info = logTarget(pod, view, o);
  let since: number | undefined;
  if (o.sinceSeconds !== undefined) since = Date.now() / 1000 - o.sinceSeconds;
  else if (o.sinceTime) since = Date.parse(o.sinceTime) / 1000;
  const res = await engine.containerLogs(
    info.Id,
    {
      follow: o.follow === true && info.State.Running,
      timestamps: o.timestamps === true,
      ...(since !== undefined ? { since } : {}),
      ...(o.tailLines !== undefined ? { tail: String(Math.max(0, o.tailLines)) } : {}),
    },
    signal,
  );
  const out = new PassThrough();
  const tty = info.Config.Tty === true;
  const dec = new FrameDecoder();
  let left = o.limitBytes ?? Infinity;
  const emit = (b: Buffer) => {
    if (left <= 0) return;
    const piece = b.length > left ? b.subarray(0, left) : b;
    left -= piece.length;
    out.write(piece);
    if (left <= 0) {
      out.end();
      res.destroy();
    }
  };
  res.on('data', (c: Buffer) => {
    if (tty) emit(c);
    else for (const f of dec.push(c)) emit(f.payload);
  });
  res.on('end', () => out.end());
  res.on('error', (e) => out.destroy(e));
  out.on('close', () => res.destroy());
  return out;
}

/** The last 80 lines (at most 2 KiB) of a container's logs: terminationMessagePolicy FallbackToLogsOnError. */
export async function lastLogLines(engine: EngineClient, id: string): Promise<string> {
  try {
    const res = await engine.containerLogs(id, { tail: '80' });
    const dec = new FrameDecoder();
    const parts: Buffer[] = [];
    for await (const c of res) for (const f of dec.push(c as Buffer)) parts.push(f.payload);
    const all = Buffer.concat(parts);
    return all.subarray(Math.max(0, all.length - 2048)).toString('utf8');
  } catch {
    return '';
  }
}

/** What a session buffers per output before the engine stream is paused (the client reads slower than we get). */
const OUTPUT_BUFFER = 256 * 1024;

/** Splits a hijacked engine stream into stdout/stderr (frames unless TTY), pausing it while a reader lags. */
function split(sock: Duplex, tty: boolean, wantStderr: boolean) {
  const stdout = new PassThrough({ highWaterMark: OUTPUT_BUFFER });
  const stderr = wantStderr && !tty ? new PassThrough({ highWaterMark: OUTPUT_BUFFER }) : undefined;
  const dec = new FrameDecoder();
  const full = () => stdout.writableNeedDrain || stderr?.writableNeedDrain === true;
  const resume = () => {
    if (!full()) sock.resume();
  };
  stdout.on('drain', resume);
  stderr?.on('drain', resume);
  sock.on('data', (c: Buffer) => {
    if (tty) stdout.write(c);
    else
      for (const f of dec.push(c)) {
        if (f.stream === 2) (stderr ?? stdout).write(f.payload);
        else stdout.write(f.payload);
      }
    if (full()) sock.pause();
  });
  const end = () => {
    stdout.end();
    stderr?.end();
  };
  sock.on('end', end);
  sock.on('close', end);
  sock.on('error', end);
  return { stdout, stderr };
}

function ended(sock: Duplex): Promise<void> {
  return new Promise((resolve) => {
    if (sock.destroyed) return resolve();
    sock.once('close', () => resolve());
  });
}

/** The process's stdin: writes wait for the engine stream to take them; the end half-closes it (stdin EOF). */
function stdinOf(sock: Duplex): NodeJS.WritableStream {
  return new Writable({
    write(chunk: Buffer, _enc, cb) {
      if (sock.destroyed || sock.writableEnded) return cb();
      if (sock.write(chunk)) return cb();
      const done = () => {
        sock.off('drain', done);
        sock.off('close', done);
        cb();
      };
      sock.on('drain', done);
      sock.on('close', done);
    },
    final(cb) {
      if (!sock.destroyed) sock.end();
      cb();
    },
  });
}

/**
 * A resize right after the start can reach the engine before the process exists (it answers "not running" then):
 * retried briefly, as the docker CLI retries its first resize.
 */
async function untilStarted(resize: () => Promise<void>): Promise<void> {
  for (let i = 0; ; i++) {
    try {
      return await resize();
    } catch (e) {
      if (i >= 20 || !/is not running/.test((e as Error).message)) throw e;
      await new Promise((r) => setTimeout(r, 50));
    }
  }
}

export async function execSession(
  engine: EngineClient,
  info: ContainerInspect,
  cmd: string[],
  o: StreamOptions,
): Promise<StreamSession> {
  if (!info.State.Running)
    throw new Error(`cannot exec in a stopped container: container ${o.container} is not running`);
  const execId = await engine.execCreate(info.Id, {
    Cmd: cmd,
    AttachStdin: o.stdin,
    AttachStdout: o.stdout,
    AttachStderr: o.stderr,
    Tty: o.tty,
  });
  const size: [number, number] | undefined = o.tty && o.size ? [o.size.height, o.size.width] : undefined;
  const sock = await engine.execStart(execId, o.tty, size);
  const { stdout, stderr } = split(sock, o.tty, o.stderr);
  const exitCode = ended(sock).then(async () => {
    for (let i = 0; i < 200; i++) {
      const x = await engine.execInspect(execId).catch(() => undefined);
      if (!x) return 1;
      if (!x.Running && x.ExitCode !== null) return x.ExitCode;
      await new Promise((r) => setTimeout(r, 10));
    }
    return 1;
  });
  return {
    stdin: o.stdin ? stdinOf(sock) : undefined,
    stdout,
    stderr,
    resize: (w, h) => untilStarted(() => engine.execResize(execId, h, w)),
    exitCode,
    close: () => sock.destroy(),
  };
}

export async function attachSession(
  engine: EngineClient,
  info: ContainerInspect,
  o: StreamOptions,
): Promise<StreamSession> {
  if (!info.State.Running)
    throw new Error(`cannot attach to a stopped container: container ${o.container} is not running`);
  const tty = info.Config.Tty === true;
  const sock = await engine.containerAttach(info.Id, { stdin: o.stdin, stdout: o.stdout, stderr: o.stderr });
  const { stdout, stderr } = split(sock, tty, o.stderr);
  const exitCode = ended(sock).then(async () => {
    const x = await engine.containerInspect(info.Id).catch(() => undefined);
    return x && !x.State.Running ? x.State.ExitCode : 0;
  });
  return {
    stdin: o.stdin ? stdinOf(sock) : undefined,
    stdout,
    stderr,
    resize: (w, h) => engine.containerResize(info.Id, h, w),
    exitCode,
    close: () => sock.destroy(),
  };
}

/**
 * A byte stream to 127.0.0.1:port inside the pod: `pause forward PORT` exec'd in the sandbox. Failure to connect
 * (nothing listening) destroys the duplex with the helper's message, which port-forward puts on its error stream.
 */
export async function portForward(
  engine: EngineClient,
  sandboxId: string,
  pausePath: string,
  port: number,
): Promise<Duplex> {
  if (!Number.isInteger(port) || port < 1 || port > 65535) throw new Error(`invalid port ${port}`);
  const execId = await engine.execCreate(sandboxId, {
    Cmd: [pausePath, 'forward', String(port)],
    AttachStdin: true,
    AttachStdout: true,
    AttachStderr: true,
    Tty: false,
  });
  const sock = await engine.execStart(execId, false);
  const dec = new FrameDecoder();
  let errText = '';
  const d = new Duplex({
    write(chunk: Buffer, _enc, cb) {
      sock.write(chunk, (e) => cb(e ?? null));
    },
    final(cb) {
      sock.end();
      cb();
    },
    read() {
      sock.resume();
    },
    destroy(err, cb) {
      sock.destroy();
      cb(err);
    },
  });
  sock.on('data', (c: Buffer) => {
    for (const f of dec.push(c)) {
      if (f.stream === 2) errText += f.payload.toString('utf8');
      else if (!d.push(f.payload)) sock.pause();
    }
  });
  const finish = () => {
    if (errText) d.destroy(new Error(errText.trim()));
    else d.push(null);
  };
  sock.once('end', finish);
  sock.once('close', finish);
  sock.once('error', (e) => d.destroy(e));
  return d;
}

export async function podStats(engine: EngineClient, view: PodView): Promise<PodStats> {
  const containers: PodStats['containers'] = [];
  for (const [name, list] of view.containers) {
    const info = list[0];
    if (!info?.State.Running) continue;
    const s = await engine.containerStats(info.Id).catch(() => undefined);
    if (!s) continue;
    const cpuDelta = s.cpu_stats.cpu_usage.total_usage - (s.precpu_stats.cpu_usage?.total_usage ?? 0);
    const secs =
      s.preread && !s.preread.startsWith('0001') ? (Date.parse(s.read) - Date.parse(s.preread)) / 1000 : 0;
    const mem = s.memory_stats;
    const inactive = mem.stats?.total_inactive_file ?? mem.stats?.inactive_file ?? 0;
    containers.push({
      name,
      cpuNanoCores: secs > 0 && cpuDelta > 0 ? Math.round(cpuDelta / secs) : 0,
      memoryWorkingSetBytes: Math.max(0, (mem.usage ?? 0) - inactive),
    });
  }
  return { timestamp: new Date().toISOString().replace(/\.\d+Z$/, 'Z'), window: '1s', containers };
}
