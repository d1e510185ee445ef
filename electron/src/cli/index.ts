#!/usr/bin/env node
/**
 * `berth`: one module per subcommand under cli/, loaded lazily so each pulls in only what it needs.
 * To add a command, add one line to COMMANDS.
 */
import type { Logger } from '@berth/common/log';
import { topicLogger } from '../log/topics.js';
import { berthPaths } from '../vm/paths.js';
import type { CliCommand } from './command.js';
import { CliUsageError } from './command.js';

export const COMMANDS: Record<string, () => Promise<{ command: CliCommand }>> = {
  up: () => import('./up.js'),
  serve: () => import('./serve.js'),
  start: () => import('./start.js'),
  stop: () => import('./stop.js'),
  restart: () => import('./restart.js'),
  status: () => import('./status.js'),
  shell: () => import('./shell.js'),
  logs: () => import('./logs.js'),
  reset: () => import('./reset.js'),
  context: () => import('./context.js'),
  compact: () => import('./compact.js'),
  kube: () => import('./kube.js'),
};

async function usage(): Promise<string> {
  const lines = ['Usage: berth COMMAND [OPTIONS]', '', 'Commands:'];
  for (const [name, load] of Object.entries(COMMANDS))
    lines.push(`  ${name.padEnd(10)} ${(await load()).command.summary}`);
  lines.push('', "Run `berth COMMAND --help` for a command's options.");
  return lines.join('\n') + '\n';
}

export async function main(argv: string[]): Promise<number> {
  const [name, ...rest] = argv;
  if (name === undefined || name === '--help' || name === '-h' || name === 'help') {
    process.stdout.write(await usage());
    return name === undefined ? 2 : 0;
  }
  const load = COMMANDS[name];
  if (!load) {
    process.stderr.write(`berth: unknown command "${name}"\n\n${await usage()}`);
    return 2;
  }
  const log = cliLog.child({ command: name });
  const t0 = Date.now();
  try {
    const code = await (await load()).command.run(rest);
    if (name !== 'status' && name !== 'logs' && !(name === 'kube' && rest[0] === 'status'))
      log.info('done', { code, ms: Date.now() - t0 });
    return code;
  } catch (err) {
    if (err instanceof CliUsageError) {
      process.stderr.write(`berth ${name}: ${err.message}\n`);
      return 2;
    }
    log.error('failed', { ms: Date.now() - t0, err: (err as Error).message });
    process.stderr.write(`berth ${name}: ${(err as Error).message}\n`);
    return 1;
  }
}

/** The `cli` topic (~/.berth/logs/cli.log): what each command did and why it failed. */
const cliLog: Logger = topicLogger(berthPaths().logs, 'cli', { pid: process.pid });

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (err: unknown) => {
    cliLog.error('crashed', { err: (err as Error).stack ?? String(err) });
    process.stderr.write(`berth: ${(err as Error).stack ?? String(err)}\n`);
    process.exitCode = 1;
  },
);
