/** `exec`: spawns `berth-shim exec` (a short-lived child of berthd, not detached) and wraps its stdio and
 *  control socket (fd 3) as an ExecHandle. */
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { promises as fsp } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Duplex, Readable, Writable } from 'node:stream';
import { compileExecOps } from './ops.js';
import { RuntimeError, type ExecHandle, type ExecProcessSpec, type ExitStatus } from './types.js';

export function ociError(kind: 'create' | 'exec', code: number, msg: string): RuntimeError {
  const exitCode = code === 126 || code === 127 ? code : 125;
  const text =
    kind === 'create'
      ? `failed to create task for container: OCI runtime create failed: unable to start container process: error during container init: ${msg}: unknown`
      : `OCI runtime exec failed: exec failed: unable to start container process: ${msg}: unknown`;
  return new RuntimeError(text, exitCode);
}

/** Splits "error <code> <msg>" replies. */
export function parseErrorReply(line: string): { code: number; msg: string } {
  const m = /^error (\d+) ([\s\S]*)$/.exec(line.trim());
  return m ? { code: Number(m[1]), msg: m[2] } : { code: 125, msg: line };
}

export async function startExec(
  shim: string,
  stateDir: string,
  pid: number,
  proc: ExecProcessSpec,
  cgroupProcs: string[],
  oomScoreAdj: number | undefined,
): Promise<ExecHandle> {
  const specFile = path.join(stateDir, `exec-${randomBytes(6).toString('hex')}.spec`);
  await fsp.writeFile(specFile, compileExecOps(pid, proc, cgroupProcs, oomScoreAdj), { mode: 0o600 });
  const child = spawn(shim, ['exec', specFile], {
    stdio: ['pipe', 'pipe', proc.terminal ? 'ignore' : 'pipe', 'pipe'],
  });
  const ctl = child.stdio[3] as Duplex;
  // stdin of a process that already exited: EPIPE must not become an uncaught error in berthd
  child.stdin?.on('error', () => undefined);
  const stdout = child.stdout as Readable;
  const stderr = proc.terminal ? undefined : (child.stderr as Readable);
  let buf = '';
  let resolveExit!: (s: ExitStatus) => void;
  const exitLine = new Promise<ExitStatus>((r) => (resolveExit = r));
  const started = new Promise<number>((resolve, reject) => {
    ctl.on('data', (d: Buffer) => {
      buf += d.toString('utf8');
      let i;
      while ((i = buf.indexOf('\n')) >= 0) {
        const line = buf.slice(0, i);
        buf = buf.slice(i + 1);
        if (line.startsWith('pid ')) resolve(Number(line.slice(4)));
        else if (line.startsWith('error ')) {
          const e = parseErrorReply(line);
          reject(ociError('exec', e.code, e.msg));
        } else if (line.startsWith('exit ')) {
          const [, code, sig] = line.split(' ');
          const st: ExitStatus = { exitCode: Number(code), oomKilled: false, finishedAt: new Date() };
          if (Number(sig)) st.signal = Number(sig);
          resolveExit(st);
        }
      }
    });
    ctl.on('error', () => undefined);
    child.once('exit', (code) => {
      reject(new RuntimeError(`exec helper exited (${code}) before starting the process`, 125));
      resolveExit({ exitCode: 255, oomKilled: false, finishedAt: new Date(), error: 'exec helper died' });
    });
    child.once('error', (err) => reject(new RuntimeError(`exec helper: ${err.message}`, 125)));
  });
  const ended = (s: Readable | undefined): Promise<void> =>
    s
      ? new Promise((r) => (s.readableEnded || s.destroyed ? r() : (s.once('end', r), s.once('close', r))))
      : Promise.resolve();
  let hostPid: number;
  try {
    hostPid = await started;
  } finally {
    void fsp.rm(specFile, { force: true });
  }
  const exit = (async () => {
    const st = await exitLine;
    await Promise.all([ended(stdout), ended(stderr)]);
    return st;
  })();
  return {
    pid: hostPid,
    stdin: child.stdin as Writable,
    stdout,
    stderr,
    resize: async ({ rows, cols }) => {
      if (!ctl.destroyed) ctl.write(`resize ${rows} ${cols}\n`);
    },
    hangup: () => {
      if (proc.terminal && !ctl.destroyed) ctl.write('hangup\n');
    },
    // The helper signals the process through its pidfd (it is the parent): never a pid that was reused.
    kill: (signal) => {
      const n = typeof signal === 'number' ? signal : os.constants.signals[signal];
      if (!ctl.destroyed) ctl.write(`kill ${n}\n`);
    },
    exit,
  };
}
