/**
 * An exec or attach session between a client's channels (WebSocket or SPDY, any protocol version) and the
 * runtime's StreamSession: stdin in (its end closes the process's stdin), stdout/stderr out with back-pressure,
 * terminal resizes, and at the end the status on the error channel as the kubelet writes it (v4 and later: a
 * metav1.Status, NonZeroExitCode with an ExitCode cause; before v4: the message as text, nothing on success).
 */
import type { Readable, Writable } from 'node:stream';
import { drainedOrClosed } from '@berth/common/streams';
import type { StreamSession } from '../../kubelet/provider.js';

export interface CommandChannels {
  stdin?: Readable;
  stdout?: Writable;
  stderr?: Writable;
  sizes?: TerminalSizes;
  /** Sends the final status on the error channel. */
  status(s: RemoteStatus): Promise<void>;
  /** Ends the connection once everything queued has gone. */
  close(): void;
  onClose(f: () => void): void;
}

export type RemoteStatus =
  { kind: 'success' } | { kind: 'exit'; code: number; cmd: string[] } | { kind: 'error'; message: string };

/** The Status JSON (as Go marshals metav1.Status: no kind/apiVersion, empty metadata). */
export function statusJson(s: RemoteStatus): string {
  if (s.kind === 'success') return JSON.stringify({ metadata: {}, status: 'Success' });
  if (s.kind === 'exit')
    return JSON.stringify({
      metadata: {},
      status: 'Failure',
      message: `command terminated with non-zero exit code: ${exitText(s)}`,
      reason: 'NonZeroExitCode',
      details: { causes: [{ reason: 'ExitCode', message: String(s.code) }] },
    });
  return JSON.stringify({
    metadata: {},
    status: 'Failure',
    message: `Internal error occurred: ${s.message}`,
    reason: 'InternalError',
    details: { causes: [{ message: s.message }] },
    code: 500,
  });
}

/** What the container runtime's streaming server says about a non-zero exit (Go's %v of the command). */
function exitText(s: { code: number; cmd: string[] }): string {
  return `error executing command [${s.cmd.join(' ')}], exit code ${s.code}`;
}

/** v1-v3 error channel: the Status message as text; success says nothing. */
export function statusText(s: RemoteStatus): string {
  if (s.kind === 'success') return '';
  if (s.kind === 'exit') return `command terminated with non-zero exit code: ${exitText(s)}`;
  return `Internal error occurred: ${s.message}`;
}

/** Copies src into dst without ending dst; resolves once every chunk has been handed to dst's transport. */
async function pump(src: Readable, dst: Writable): Promise<void> {
  let last: Promise<void> = Promise.resolve();
  try {
    for await (const chunk of src) {
      if (dst.destroyed || dst.writableEnded) continue;
      last = new Promise((resolve) => dst.write(chunk as Buffer, () => resolve()));
      if (dst.writableNeedDrain) await drainedOrClosed(dst);
    }
  } catch {
    // The runtime's stream failed (engine gone): the status reports the end.
  }
  await last;
}

/** Terminal sizes arrive as a stream of JSON objects ({"Width":80,"Height":24}), possibly split or joined. */
export function resizeEvents(src: Readable, onSize: (w: number, h: number) => void): void {
  let text = '';
  src.setEncoding('utf8');
  src.on('data', (c: string) => {
    text += c;
    for (;;) {
      const end = objectEnd(text);
      if (end < 0) break;
      const piece = text.slice(0, end);
      text = text.slice(end);
      try {
        const v = JSON.parse(piece) as { Width?: unknown; Height?: unknown };
        if (typeof v.Width === 'number' && typeof v.Height === 'number') onSize(v.Width, v.Height);
      } catch {
        // A malformed event ends nothing; the kubelet's decoder would stop resizing, we skip it.
      }
    }
    if (text.length > 64 * 1024) text = '';
  });
  src.on('error', () => undefined);
}

export interface TerminalSize {
  width: number;
  height: number;
}

/**
 * The client's terminal sizes: the first can be awaited (a terminal exec starts at that size, as docker's
 * ConsoleSize; a resize after the start races the process's first look at its terminal), later ones followed.
 */
export class TerminalSizes {
  private latest?: TerminalSize;
  private follower?: (s: TerminalSize) => void;
  private readonly waiters: Array<(s: TerminalSize) => void> = [];

  constructor(src: Readable) {
    resizeEvents(src, (width, height) => {
      const s = { width, height };
      this.latest = s;
      for (const f of this.waiters.splice(0)) f(s);
      this.follower?.(s);
    });
  }

  /** The size the client sent, waiting up to `ms` for one (undefined if none came). */
  first(ms: number): Promise<TerminalSize | undefined> {
    if (this.latest) return Promise.resolve(this.latest);
    return new Promise((resolve) => {
      const timer = setTimeout(() => resolve(undefined), ms);
      this.waiters.push((s) => {
        clearTimeout(timer);
        resolve(s);
      });
    });
  }

  /** Every size from now on, and the latest one now if the process did not start with it. */
  follow(f: (s: TerminalSize) => void, startedWith?: TerminalSize): void {
    this.follower = f;
    if (this.latest && this.latest !== startedWith) f(this.latest);
  }
}

/** The index just past the first complete top-level JSON object in s, or -1. */
function objectEnd(s: string): number {
  let depth = 0;
  let inString = false;
  let started = false;
  for (let i = 0; i < s.length; i++) {
    const c = s[i];
    if (inString) {
      if (c === '\\') i++;
      else if (c === '"') inString = false;
      continue;
    }
    if (c === '"') inString = true;
    else if (c === '{') {
      depth++;
      started = true;
    } else if (c === '}') {
      depth--;
      if (started && depth === 0) return i + 1;
    } else if (!started && !/\s/.test(c)) return i + 1; // junk before an object: drop it
  }
  return -1;
}

/**
 * Runs the session to its end: for exec, the process's exit (its code in the status); for attach, the end of the
 * container's output. A client that goes away closes the session.
 */
export async function runCommand(
  session: StreamSession,
  ch: CommandChannels,
  o: { kind: 'exec' | 'attach'; cmd: string[]; startedWith?: TerminalSize },
): Promise<void> {
  let clientGone = false;
  ch.onClose(() => {
    clientGone = true;
    session.close();
  });
  if (ch.stdin) {
    const sink = session.stdin;
    if (sink) {
      ch.stdin.on('data', (c: Buffer) => {
        if (!sink.write(c)) {
          ch.stdin!.pause();
          sink.once('drain', () => ch.stdin!.resume());
        }
      });
      ch.stdin.once('end', () => sink.end());
    } else ch.stdin.resume();
  }
  // One resize at a time, in the client's order: kubectl attach sends size+1 then the size (to force a redraw),
  // and two engine calls in flight may land the other way round, leaving the terminal a row and column too big.
  let resizing = Promise.resolve();
  ch.sizes?.follow((s) => {
    resizing = resizing.then(() => session.resize(s.width, s.height)).catch(() => undefined);
  }, o.startedWith);
  const outputs: Promise<void>[] = [];
  if (ch.stdout) outputs.push(pump(session.stdout, ch.stdout));
  else session.stdout.resume();
  if (session.stderr) {
    if (ch.stderr) outputs.push(pump(session.stderr, ch.stderr));
    else session.stderr.resume();
  }
  let status: RemoteStatus;
  try {
    const [code] = await Promise.all([session.exitCode, ...outputs]);
    status = o.kind === 'exec' && code !== 0 ? { kind: 'exit', code, cmd: o.cmd } : { kind: 'success' };
  } catch (e) {
    status = {
      kind: 'error',
      message: `error ${o.kind === 'exec' ? 'executing command in' : 'attaching to'} container: ${(e as Error).message}`,
    };
  }
  if (!clientGone) await ch.status(status).catch(() => undefined);
  ch.close();
}
