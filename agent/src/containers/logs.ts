/**
 * Reads the json-file log the runtime's shim writes (one {"log","stream","time"} object per line, rotated to
 * <path>.1, <path>.2...): tail, since/until, stream selection and follow (polling the live file, surviving
 * rotation) until the container stops.
 */
import { promises as fsp, watch, type FSWatcher } from 'node:fs';

export interface LogEntry {
  stream: 'stdout' | 'stderr';
  log: string;
  /** RFC 3339 with nanoseconds, as written by the shim. */
  time: string;
}

export interface LogQuery {
  stdout: boolean;
  stderr: boolean;
  /** Nanoseconds since the epoch; 0 = no bound. */
  sinceNs: number;
  untilNs: number;
  /** -1 = all. */
  tail: number;
  follow: boolean;
}

/** Parses "1700000000", "1700000000.123456789" or an RFC 3339 time (docker logs --since/--until) into ns. */
export function parseLogTime(v: string | null): number {
  if (!v) return 0;
  if (/^\d+(\.\d+)?$/.test(v)) {
    const [s, frac = ''] = v.split('.');
    return Number(s) * 1e9 + Number((frac + '000000000').slice(0, 9));
  }
  const ms = Date.parse(v);
  return Number.isNaN(ms) ? NaN : ms * 1e6;
}

export function timeNs(rfc: string): number {
  const m = /\.(\d+)Z$/.exec(rfc);
  const ms = Date.parse(rfc);
  if (!m) return ms * 1e6;
  return Math.floor(ms / 1000) * 1e9 + Number((m[1] + '000000000').slice(0, 9));
}

function parseLine(line: string): LogEntry | undefined {
  if (!line) return undefined;
  try {
    const e = JSON.parse(line) as LogEntry;
    return typeof e.log === 'string' ? e : undefined;
  } catch {
    return undefined; // a line cut by a crash mid-write
  }
}

async function readAll(file: string): Promise<string> {
  try {
    return await fsp.readFile(file, 'utf8');
  } catch {
    return '';
  }
}

export interface FollowControl {
  /** True while the container can still produce output. */
  running(): boolean;
  /** Resolves when the container stops (or the reader should re-check). */
  stopped: Promise<unknown>;
  signal: AbortSignal;
}

export async function* readLogs(
  path: string,
  maxFile: number,
  q: LogQuery,
  follow?: FollowControl,
): AsyncGenerator<LogEntry> {
  const files: string[] = [];
  for (let i = maxFile - 1; i >= 1; i--) files.push(`${path}.${i}`);
  files.push(path);
  const want = (e: LogEntry) => {
    if (e.stream === 'stdout' ? !q.stdout : !q.stderr) return false;
    if (!q.sinceNs && !q.untilNs) return true;
    const t = timeNs(e.time);
    return (!q.sinceNs || t >= q.sinceNs) && (!q.untilNs || t <= q.untilNs);
  };
  let entries: LogEntry[] = [];
  let liveText = '';
  for (const f of files) {
    const text = await readAll(f);
    if (f === path) liveText = text;
    for (const line of text.split('\n')) {
      const e = parseLine(line);
      if (e && want(e)) entries.push(e);
    }
  }
  if (q.tail >= 0) entries = q.tail === 0 ? [] : entries.slice(-q.tail);
  for (const e of entries) yield e;
  if (!q.follow || !follow) return;
  if (q.untilNs && q.untilNs <= Date.now() * 1e6) return;

  // Follow: keep reading the live file from where we stopped (only complete lines).
  let offset = Buffer.byteLength(liveText.slice(0, liveText.lastIndexOf('\n') + 1));
  let ino = (await fsp.stat(path).catch(() => null))?.ino;
  let wake: (() => void) | undefined;
  let watcher: FSWatcher | undefined;
  try {
    watcher = watch(path, () => wake?.());
  } catch {
    /* file not there yet: polling covers it */
  }
  const onAbort = () => wake?.();
  follow.signal.addEventListener('abort', onAbort);
  void follow.stopped.then(() => wake?.());
  try {
    for (;;) {
      if (follow.signal.aborted) return;
      const st = await fsp.stat(path).catch(() => null);
      if (st && (st.ino !== ino || st.size < offset)) {
        // Rotated: the old live file became .1 (we had read it up to offset); start the new one at 0.
        ino = st.ino;
        offset = 0;
      }
      if (st && st.size > offset) {
        const fh = await fsp.open(path, 'r');
        try {
          const buf = Buffer.alloc(st.size - offset);
          const { bytesRead } = await fh.read(buf, 0, buf.length, offset);
          const chunk = buf.subarray(0, bytesRead);
          const end = chunk.lastIndexOf(0x0a);
          if (end >= 0) {
            offset += end + 1;
            for (const line of chunk.subarray(0, end).toString('utf8').split('\n')) {
              const e = parseLine(line);
              if (e && want(e)) yield e;
            }
          }
        } finally {
          await fh.close();
        }
        continue;
      }
      if (!follow.running()) return;
      await new Promise<void>((resolve) => {
        wake = resolve;
        setTimeout(resolve, 250).unref();
      });
      wake = undefined;
    }
  } finally {
    watcher?.close();
    follow.signal.removeEventListener('abort', onAbort);
  }
}
