/** `berth shell [-- CMD…]`: a shell inside the VM (SSH with a terminal when interactive), or run CMD there. */
import { spawn } from 'node:child_process';
import type { ClientChannel } from 'ssh2';
import { connectOnce } from '../tunnel/ssh.js';
import type { CliCommand } from './command.js';
import { flags, openManager } from './vm-common.js';

export const command: CliCommand = {
  summary: 'Open a shell in the VM, or run a command there',
  async run(argv) {
    const { values, positionals } = flags(argv, {}, true);
    if (values.help) {
      process.stdout.write('Usage: berth shell [-- COMMAND [ARG…]]\n');
      return 0;
    }
    const target = await (await openManager()).driver.shell();
    if (target.kind === 'command') {
      const child = spawn(target.cmd, [...target.args, ...positionals], { stdio: 'inherit' });
      return new Promise((resolve) => child.on('close', (code) => resolve(code ?? 1)));
    }
    const c = await connectOnce(target.endpoint);
    const tty = process.stdin.isTTY && process.stdout.isTTY;
    return new Promise<number>((resolve, reject) => {
      const onChannel = (err: Error | undefined, ch: ClientChannel) => {
        if (err) return reject(err);
        if (tty) process.stdin.setRawMode(true);
        process.stdin.pipe(ch);
        ch.pipe(process.stdout);
        ch.stderr.pipe(process.stderr);
        const resize = () => ch.setWindow(process.stdout.rows, process.stdout.columns, 0, 0);
        if (tty) process.stdout.on('resize', resize);
        ch.on('close', (code: number | null) => {
          if (tty) process.stdin.setRawMode(false);
          process.stdin.unpipe(ch);
          process.stdin.pause();
          c.end();
          resolve(code ?? 0);
        });
      };
      const pty = {
        term: process.env.TERM ?? 'xterm-256color',
        rows: process.stdout.rows ?? 24,
        cols: process.stdout.columns ?? 80,
      };
      // Like ssh(1): the words are joined with spaces and the guest's shell parses them.
      if (positionals.length) c.exec(positionals.join(' '), tty ? { pty } : {}, onChannel);
      else if (tty) c.shell(pty, onChannel);
      else c.exec('sh', onChannel);
    });
  },
};
