/** The `berth` docker context, so `docker --context berth …` (or `docker context use berth`) reaches Berth. */
import { spawn } from 'node:child_process';

export const CONTEXT_NAME = 'berth';

function docker(args: string[], env: NodeJS.ProcessEnv): Promise<{ code: number; out: string }> {
  return new Promise((resolve) => {
    const c = spawn('docker', args, { env, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    c.stdout.on('data', (d: Buffer) => (out += d.toString()));
    c.stderr.on('data', (d: Buffer) => (out += d.toString()));
    c.on('error', (e) => resolve({ code: 127, out: e.message }));
    c.on('close', (code) => resolve({ code: code ?? 1, out }));
  });
}

export function contextArgs(exists: boolean, socketPath: string): string[] {
  return [
    'context',
    exists ? 'update' : 'create',
    CONTEXT_NAME,
    '--description',
    'Berth',
    '--docker',
    `host=unix://${socketPath}`,
  ];
}

/** Creates or updates the context; returns a message saying what happened (never throws: docker may be absent). */
export async function ensureDockerContext(
  socketPath: string,
  env: NodeJS.ProcessEnv = process.env,
): Promise<{ ok: boolean; message: string }> {
  const inspect = await docker(['context', 'inspect', CONTEXT_NAME], env);
  if (inspect.code === 127)
    return { ok: false, message: `docker CLI not found; use DOCKER_HOST=unix://${socketPath}` };
  const r = await docker(contextArgs(inspect.code === 0, socketPath), env);
  if (r.code !== 0) return { ok: false, message: `docker context ${CONTEXT_NAME}: ${r.out.trim()}` };
  return {
    ok: true,
    message: `docker context "${CONTEXT_NAME}" → unix://${socketPath} (docker --context ${CONTEXT_NAME} …, or docker context use ${CONTEXT_NAME})`,
  };
}
