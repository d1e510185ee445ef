/**
 * Electron main's structured logs, one file per topic under ~/.berth/logs (main.log, vm.log, tunnel.log,
 * ports.log, settings.log, cli.log): the same JSON lines as berthd (common/src/log.ts). Each line is one
 * append to a file opened once (O_APPEND), so lines from the app, the CLI and the tunnel process never
 * interleave within a line, and a CLI that exits right after logging loses nothing.
 */
import { closeSync, mkdirSync, openSync, renameSync, statSync, writeSync } from 'node:fs';
import path from 'node:path';
import { createLogger, type Logger, type LogSink } from '@berth/common/log';

// kube: berth-kube's own output (native driver), written by the process itself; in a VM it is read from the guest.
export const LOG_TOPICS = ['main', 'vm', 'tunnel', 'ports', 'settings', 'cli', 'kube'] as const;
export type LogTopic = (typeof LOG_TOPICS)[number];

/** A topic file above this size at open is moved to `<topic>.log.1` (one generation kept). */
export const ROTATE_BYTES = 4 << 20;

const fds = new Map<string, number>();

export function topicFile(dir: string, topic: LogTopic): string {
  return path.join(dir, `${topic}.log`);
}

function open(file: string): number {
  let fd = fds.get(file);
  if (fd !== undefined) return fd;
  mkdirSync(path.dirname(file), { recursive: true, mode: 0o700 });
  try {
    if (statSync(file).size > ROTATE_BYTES) renameSync(file, `${file}.1`);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
  }
  fd = openSync(file, 'a', 0o600);
  fds.set(file, fd);
  return fd;
}

function fileSink(file: string): LogSink {
  return (line) => {
    try {
      writeSync(open(file), line);
    } catch (err) {
      // The log itself cannot be written (disk full, no home): say so once on stderr, keep running.
      if (!fds.has(`${file}#failed`)) {
        fds.set(`${file}#failed`, -1);
        process.stderr.write(`berth: cannot write ${file}: ${(err as Error).message}\n${line}`);
      }
    }
  };
}

/** The logger of one topic; every line carries `topic`. */
export function topicLogger(dir: string, topic: LogTopic, fields: Record<string, unknown> = {}): Logger {
  return createLogger({ topic, ...fields }, fileSink(topicFile(dir, topic)));
}

/** Closes the open topic files (tests; a process that exits needs nothing). */
export function closeTopicLogs(): void {
  for (const fd of fds.values()) if (fd >= 0) closeSync(fd);
  fds.clear();
}

/** A `(msg, fields)` logging function over a topic logger (what the port and tunnel modules take): lines that
 *  say something went wrong are warnings, the rest info. */
export function lineLog(l: Logger): (msg: string, fields?: Record<string, unknown>) => void {
  return (msg, fields) => {
    if (/^warning:|failed|cannot|not available/i.test(msg)) l.warn(msg, fields);
    else l.info(msg, fields);
  };
}
