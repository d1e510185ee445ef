/** Runs host commands (qemu-img, dpkg-deb, mksquashfs…) with output captured; a failure names the command and its stderr. */
import { spawn } from 'node:child_process';

export interface Command {
  cmd: string;
  args: string[];
  cwd?: string;
}

export async function runCommand(
  c: Command,
  opts: { env?: NodeJS.ProcessEnv; quiet?: boolean } = {},
): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn(c.cmd, c.args, {
      cwd: c.cwd,
      env: opts.env ?? process.env,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout.on('data', (d: Buffer) => out.push(d));
    child.stderr.on('data', (d: Buffer) => err.push(d));
    child.on('error', (e) => reject(new Error(`${c.cmd}: ${e.message}`)));
    child.on('close', (code) => {
      if (code === 0) resolve(Buffer.concat(out).toString('utf8'));
      else
        reject(
          new Error(
            `${c.cmd} ${c.args.join(' ')} exited ${code}: ${Buffer.concat(err).toString('utf8').trim().slice(-2000)}`,
          ),
        );
    });
  });
}
