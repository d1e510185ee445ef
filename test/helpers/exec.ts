/** Runs a command and collects its output; never throws on a non-zero exit (tests assert on it). */
import { spawn, type SpawnOptions } from 'node:child_process';

export interface RunResult {
  code: number;
  stdout: string;
  stderr: string;
}

export interface RunOptions extends SpawnOptions {
  input?: string | Buffer;
  timeoutMs?: number;
  /** Sees stdout as it arrives (a nested test run shows its progress in the CI log, not only at its end). */
  onStdout?: (chunk: string) => void;
}

/** How long the pipes may stay open after the command exited before a leftover descendant is blamed and killed. */
const PIPE_GRACE_MS = 5_000;

export function run(cmd: string, args: string[], opts: RunOptions = {}): Promise<RunResult> {
  return new Promise((resolve, reject) => {
    // Its own process group, so a timeout ends what the command started too: killing only the command left its
    // children holding the pipes, and 'close' (and so the test, and CI) waited for ever.
    const child = spawn(cmd, args, { ...opts, stdio: ['pipe', 'pipe', 'pipe'], detached: true });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    const notes: string[] = [];
    child.stdout.on('data', (d: Buffer) => {
      out.push(d);
      opts.onStdout?.(d.toString('utf8'));
    });
    child.stderr.on('data', (d: Buffer) => err.push(d));
    const killGroup = () => {
      try {
        if (child.pid !== undefined) process.kill(-child.pid, 'SIGKILL');
      } catch {
        // the group is gone already
      }
    };
    let exitCode: number | null = null;
    let exitSignal: NodeJS.Signals | null = null;
    let grace: NodeJS.Timeout | undefined;
    const timer = setTimeout(() => {
      notes.push(`(killed after ${opts.timeoutMs ?? 120_000} ms)`);
      killGroup();
    }, opts.timeoutMs ?? 120_000);
    const finish = (code: number | null, signal: NodeJS.Signals | null) => {
      clearTimeout(timer);
      clearTimeout(grace);
      resolve({
        code: code ?? (signal ? 128 + 9 : 1),
        stdout: Buffer.concat(out).toString('utf8'),
        stderr: Buffer.concat(err).toString('utf8') + (notes.length ? `\n${notes.join('\n')}` : ''),
      });
    };
    child.on('error', (e) => {
      clearTimeout(timer);
      reject(e);
    });
    child.on('exit', (code, signal) => {
      exitCode = code;
      exitSignal = signal;
      grace = setTimeout(() => {
        notes.push('(a process the command left behind held its output open; it was killed)');
        killGroup();
        child.stdout.destroy();
        child.stderr.destroy();
        finish(exitCode, exitSignal);
      }, PIPE_GRACE_MS);
    });
    child.on('close', (code, signal) => finish(code, signal));
    if (opts.input !== undefined) child.stdin.end(opts.input);
    else child.stdin.end();
  });
}

/** An onStdout that logs a nested test run's result lines (✔ ✖ ﹣) as they come, under `prefix`. */
export function testProgress(prefix: string): (chunk: string) => void {
  let pending = '';
  return (chunk) => {
    const lines = (pending + chunk).split('\n');
    pending = lines.pop() ?? '';
    for (const line of lines) if (/^\s*[✔✖﹣]/.test(line)) console.log(`# ${prefix} | ${line.trim()}`);
  };
}
