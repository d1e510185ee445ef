#!/usr/bin/env node
/** `berthd`: parse flags, start the engine, stop cleanly on SIGTERM/SIGINT. */
import { parseArgs, UsageError } from './config.js';
import { startDaemon, type RunningDaemon } from './daemon.js';
import { LockHeldError } from './util/lock.js';
import { VERSION } from './version.js';

async function main(): Promise<number> {
  let parsed;
  try {
    parsed = parseArgs(process.argv.slice(2));
  } catch (err) {
    if (err instanceof UsageError) {
      process.stderr.write(`berthd: ${err.message}\n`);
      return 125;
    }
    throw err;
  }
  if (parsed.kind === 'help') {
    process.stdout.write(parsed.text);
    return 0;
  }
  if (parsed.kind === 'version') {
    process.stdout.write(`Berth engine version ${VERSION}\n`);
    return 0;
  }
  // Handlers go in before the socket answers: a SIGTERM that arrives while starting still shuts down cleanly.
  let daemon: RunningDaemon | undefined;
  let pendingSignal: string | undefined;
  let stopping = false;
  const stop = (signal: string) => {
    if (!daemon) {
      pendingSignal ??= signal;
      return;
    }
    if (stopping) return;
    stopping = true;
    daemon.engine.log.info('signal received', { signal });
    daemon
      .close()
      .then(() => process.exit(0))
      .catch((err: unknown) => {
        process.stderr.write(`berthd: shutdown failed: ${(err as Error).message}\n`);
        process.exit(1);
      });
  };
  process.on('SIGTERM', () => stop('SIGTERM'));
  process.on('SIGINT', () => stop('SIGINT'));
  try {
    daemon = await startDaemon(parsed.config);
  } catch (err) {
    if (err instanceof LockHeldError) {
      process.stderr.write(`berthd: ${err.message}\n`);
      return 1;
    }
    process.stderr.write(`berthd: failed to start: ${(err as Error).message}\n`);
    return 1;
  }
  if (pendingSignal) stop(pendingSignal);
  return -1;
}

main().then(
  (code) => {
    if (code >= 0) process.exit(code);
  },
  (err: unknown) => {
    process.stderr.write(`berthd: ${(err as Error).stack ?? String(err)}\n`);
    process.exit(1);
  },
);
