/**
 * Talks to a container's berth-shim over <statedir>/shim.sock: one command per connection (see
 * agent/native/shim.c for the protocol). Every call is short-lived except attach and wait.
 */
import net from 'node:net';
import { PassThrough, Writable } from 'node:stream';
import type { AttachOptions, AttachSession } from './types.js';

export class ShimUnavailableError extends Error {
  constructor(readonly code: string | undefined) {
    super(`container supervisor not reachable (${code ?? 'closed'})`);
  }
}

function connect(sock: string): Promise<net.Socket> {
  return new Promise((resolve, reject) => {
    const s = net.connect({ path: sock, allowHalfOpen: true });
    s.once('connect', () => {
      s.off('error', onErr);
      resolve(s);
    });
    const onErr = (err: NodeJS.ErrnoException): void => reject(new ShimUnavailableError(err.code));
    s.once('error', onErr);
  });
}

/** Reads one '\n'-terminated line; `rest` gets whatever arrived after it. */
function readLine(s: net.Socket): Promise<{ line: string; rest: Buffer }> {
  return new Promise((resolve, reject) => {
    let buf = Buffer.alloc(0);
    const onData = (d: Buffer): void => {
      buf = Buffer.concat([buf, d]);
      const i = buf.indexOf(10);
      if (i < 0) return;
      cleanup();
      s.pause();
      resolve({ line: buf.subarray(0, i).toString('utf8'), rest: buf.subarray(i + 1) });
    };
    const onEnd = (): void => {
      cleanup();
      reject(new ShimUnavailableError(undefined));
    };
    const onErr = (err: NodeJS.ErrnoException): void => {
      cleanup();
      reject(new ShimUnavailableError(err.code));
    };
    const cleanup = (): void => {
      s.off('data', onData);
      s.off('end', onEnd);
      s.off('error', onErr);
    };
    s.on('data', onData);
    s.once('end', onEnd);
    s.once('error', onErr);
  });
}

/** Sends one command and returns the reply line. */
export async function shimCommand(sock: string, command: string): Promise<string> {
  const s = await connect(sock);
  try {
    s.write(command + '\n');
    return (await readLine(s)).line;
  } finally {
    s.destroy();
  }
}

/** Resolves with the exit status line (JSON) once the container exits; the socket stays open until then. */
export async function shimWait(sock: string): Promise<string> {
  const s = await connect(sock);
  s.write('wait\n');
  try {
    return (await readLine(s)).line;
  } finally {
    s.destroy();
  }
}

export async function shimAttach(sock: string, opts: AttachOptions): Promise<AttachSession> {
  const s = await connect(sock);
  s.write(`attach ${opts.stdin ? 1 : 0} ${opts.stdout ? 1 : 0} ${opts.stderr ? 1 : 0}\n`);
  const { line, rest } = await readLine(s);
  if (line !== 'ok') {
    s.destroy();
    throw new Error(`attach refused: ${line}`);
  }
  const output = new PassThrough();
  if (rest.length) output.write(rest);
  s.pipe(output);
  // the container's stdio closed: nothing more can be delivered, so let the shim finish now
  s.once('end', () => s.end());
  s.resume();
  s.on('error', (err: NodeJS.ErrnoException) => {
    // the shim exits right after the container; a reset then only means our unsent stdin was dropped
    if (err.code === 'ECONNRESET' || err.code === 'EPIPE') output.end();
    else output.destroy(err);
  });
  const stdin = opts.stdin
    ? new Writable({
        write(chunk: Buffer, _enc, cb) {
          if (s.destroyed) return cb();
          s.write(chunk, () => cb());
        },
        final(cb) {
          if (!s.destroyed) s.end();
          cb();
        },
      })
    : undefined;
  return {
    stdin,
    output,
    detach: () => {
      s.destroy();
      output.end();
    },
  };
}
