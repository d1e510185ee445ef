/**
 * Structured logs: one JSON object per line, filtered by level (berthd, berth-kube, electron main). Lines go
 * to stderr unless a logger is given its own sink (electron main writes one file per topic: log/topics.ts).
 */
// common builds without Node's types (the renderer shares it); this module is only loaded in Node processes.
declare const process: { stderr: { write(line: string): unknown } };

export type LogLevel = 'debug' | 'info' | 'warn' | 'error' | 'fatal';
const ORDER: Record<LogLevel, number> = { debug: 10, info: 20, warn: 30, error: 40, fatal: 50 };

export interface Logger {
  debug(msg: string, fields?: Record<string, unknown>): void;
  info(msg: string, fields?: Record<string, unknown>): void;
  warn(msg: string, fields?: Record<string, unknown>): void;
  error(msg: string, fields?: Record<string, unknown>): void;
  child(fields: Record<string, unknown>): Logger;
}

/** Where a logger's lines go (each line is one JSON object, newline included). */
export type LogSink = (line: string) => void;

const stderrSink: LogSink = (line) => process.stderr.write(line);

let threshold = ORDER.info;

export function setLogLevel(level: LogLevel): void {
  threshold = ORDER[level];
}

export function isLogLevel(s: string): s is LogLevel {
  return s in ORDER;
}

function emit(
  sink: LogSink,
  level: LogLevel,
  base: Record<string, unknown>,
  msg: string,
  fields?: Record<string, unknown>,
): void {
  if (ORDER[level] < threshold) return;
  const rec: Record<string, unknown> = { time: new Date().toISOString(), level, msg, ...base, ...fields };
  for (const [k, v] of Object.entries(rec)) if (v instanceof Error) rec[k] = v.message;
  sink(JSON.stringify(rec) + '\n');
}

export function createLogger(base: Record<string, unknown> = {}, sink: LogSink = stderrSink): Logger {
  return {
    debug: (m, f) => emit(sink, 'debug', base, m, f),
    info: (m, f) => emit(sink, 'info', base, m, f),
    warn: (m, f) => emit(sink, 'warn', base, m, f),
    error: (m, f) => emit(sink, 'error', base, m, f),
    child: (f) => createLogger({ ...base, ...f }, sink),
  };
}

export const log = createLogger();
