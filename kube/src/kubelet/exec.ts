/** Running a command in a container through the Engine API's exec: collected output and exit code, with a timeout. */
import type { EngineClient } from './engine/client.js';
import { FrameDecoder } from './engine/frames.js';

export interface ExecResult {
  exitCode: number;
  stdout: string;
  stderr: string;
  timedOut: boolean;
}

/** Output kept per stream (probe and hook output is for messages, not data). */
const KEEP = 10 * 1024;

export async function execCollect(
  engine: EngineClient,
  containerId: string,
  cmd: string[],
  timeoutMs: number,
): Promise<ExecResult> {
  const execId = await engine.execCreate(containerId, {
    Cmd: cmd,
    AttachStdout: true,
    AttachStderr: true,
    AttachStdin: false,
    Tty: false,
  });
  const sock = await engine.execStart(execId, false);
  const dec = new FrameDecoder();
  let stdout = '';
  let stderr = '';
  let timedOut = false;
  await new Promise<void>((resolve) => {
    const timer = setTimeout(() => {
      timedOut = true;
      sock.destroy();
      resolve();
    }, timeoutMs);
    sock.on('data', (c: Buffer) => {
      for (const f of dec.push(c)) {
        if (f.stream === 2) stderr = (stderr + f.payload.toString('utf8')).slice(-KEEP);
        else stdout = (stdout + f.payload.toString('utf8')).slice(-KEEP);
      }
    });
    const done = () => {
      clearTimeout(timer);
      resolve();
    };
    sock.on('end', done);
    sock.on('close', done);
    sock.on('error', done);
  });
  if (timedOut) return { exitCode: -1, stdout, stderr, timedOut };
  // The stream ends a moment before the engine records the exit code.
  for (let i = 0; i < 100; i++) {
    const info = await engine.execInspect(execId);
    if (!info.Running && info.ExitCode !== null) return { exitCode: info.ExitCode, stdout, stderr, timedOut };
    await new Promise((r) => setTimeout(r, 10));
  }
  return { exitCode: -1, stdout, stderr, timedOut: true };
}
