/**
 * Requests to the engine over its socket, shared by the IPC handlers (Electron) and the web bridge
 * (`berth serve`): one-shot requests, streamed responses and hijacked (attach/exec) connections.
 */
import http from 'node:http';
import type { Duplex } from 'node:stream';
import type { EngineRequest, EngineResponse, StreamRequest } from '@berth/common';
import { formatEndpoint, type EngineEndpoint } from './endpoint.js';

export interface StreamSink {
  onHead(status: number, headers: Record<string, string>): void;
  onData(chunk: Buffer): void;
  onEnd(err?: Error): void;
}

/** A stream's last message, over the web bridges and IPC alike: an error travels as its name and message only. */
export function endMessage(err?: Error): { kind: 'end'; error?: { name: string; message: string } } {
  return err ? { kind: 'end', error: { name: err.name, message: err.message } } : { kind: 'end' };
}

export interface OpenStream {
  /**
   * Writes to the engine: the rest of the request body while `bodyLength` bytes are still due, then stdin of
   * a hijacked connection (ignored for plain streams). False: wait for `drained()` before writing more.
   */
  write(data: Buffer): boolean;
  drained(): Promise<void>;
  /** Ends the request and the connection; onEnd follows. */
  close(): void;
}

/**
 * What a failed connection to the engine means for the person looking at it: the socket errno alone
 * ("connect ENOENT /x") says neither what is wrong nor what to do.
 */
export function explainEngineError(ep: EngineEndpoint, err: Error): string {
  const at = formatEndpoint(ep);
  const start = 'Start it with `berth start` (or `npm start` on a Linux host)';
  switch ((err as NodeJS.ErrnoException).code) {
    case 'ENOENT':
      return `no engine at ${at}: the socket does not exist. ${start}, or point Berth at your engine (-H or DOCKER_HOST).`;
    case 'ECONNREFUSED':
      return `the engine at ${at} is not running: nothing accepts connections there. ${start}.`;
    case 'EACCES':
    case 'EPERM':
      return `no permission to open ${at}: run Berth as a user who may use the engine socket.`;
    case 'ECONNRESET':
    case 'EPIPE':
      return `the engine at ${at} closed the connection (${err.message}); it may be restarting: try again.`;
    default:
      return `cannot reach the engine at ${at}: ${err.message}`;
  }
}

/** The error a caller sees when the engine cannot be reached: its message explained, its code kept. */
export function engineUnreachable(ep: EngineEndpoint, err: Error): Error {
  const e = new Error(explainEngineError(ep, err)) as NodeJS.ErrnoException;
  e.name = 'EngineUnreachable';
  const code = (err as NodeJS.ErrnoException).code;
  if (code) e.code = code;
  return e;
}

function streamCut(ep: EngineEndpoint, err: Error): Error {
  const e = new Error(
    `the engine at ${formatEndpoint(ep)} closed the stream (${err.message}): it stopped or restarted`,
  ) as NodeJS.ErrnoException;
  e.name = 'EngineUnreachable';
  e.code = (err as NodeJS.ErrnoException).code ?? 'ECONNRESET';
  return e;
}

export function flatHeaders(h: http.IncomingHttpHeaders): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(h)) if (v !== undefined) out[k] = Array.isArray(v) ? v.join(', ') : v;
  return out;
}

function requestOptions(
  ep: EngineEndpoint,
  req: StreamRequest,
  extra: Record<string, string> = {},
): http.RequestOptions {
  const body = req.body;
  const headers: Record<string, string> = { ...(req.headers ?? {}), ...extra };
  const length =
    body !== undefined
      ? typeof body === 'string'
        ? Buffer.byteLength(body)
        : body.byteLength
      : req.bodyLength;
  if (length !== undefined && !Object.keys(headers).some((k) => k.toLowerCase() === 'content-type'))
    headers['Content-Type'] = 'application/json';
  for (const k of Object.keys(headers)) if (k.toLowerCase() === 'content-length') delete headers[k];
  if (length !== undefined) headers['Content-Length'] = String(length);
  const base = ep.kind === 'unix' ? { socketPath: ep.socketPath } : { host: ep.host, port: ep.port };
  // One connection per request: streams are long-lived and hijacks take the socket over.
  return { ...base, method: req.method, path: req.path, headers, agent: false };
}

function bodyBuffer(body: EngineRequest['body']): Buffer | undefined {
  if (body === undefined) return undefined;
  return typeof body === 'string'
    ? Buffer.from(body)
    : Buffer.from(body.buffer, body.byteOffset, body.byteLength);
}

/** A whole response, as the renderer's transports take it (the engine's and the API servers' alike). */
export function collectResponse(res: http.IncomingMessage): Promise<EngineResponse> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    res.on('data', (d: Buffer) => chunks.push(d));
    res.on('end', () => {
      const buf = Buffer.concat(chunks);
      resolve({
        status: res.statusCode ?? 0,
        headers: flatHeaders(res.headers),
        body: new Uint8Array(buf.buffer, buf.byteOffset, buf.byteLength),
      });
    });
    res.on('error', reject);
  });
}

/** A one-shot request; the whole body is collected. */
export function engineRequest(
  ep: EngineEndpoint,
  req: EngineRequest,
  timeoutMs = 120_000,
): Promise<EngineResponse> {
  return new Promise((resolve, reject) => {
    const r = http.request(requestOptions(ep, req), (res) => void collectResponse(res).then(resolve, reject));
    r.setTimeout(timeoutMs, () =>
      r.destroy(new Error(`engine did not answer ${req.method} ${req.path} within ${timeoutMs} ms`)),
    );
    r.on('error', (e) => reject(engineUnreachable(ep, e)));
    r.end(bodyBuffer(req.body));
  });
}

/**
 * A streamed response, or with `hijack` the raw connection after `101 UPGRADED`. With `bodyLength` the
 * request body arrives through `write()` and is streamed to the engine as it comes.
 */
export function openEngineStream(ep: EngineEndpoint, req: StreamRequest, sink: StreamSink): OpenStream {
  let ended = false;
  let socket: Duplex | undefined;
  let res: http.IncomingMessage | undefined;
  /** Body bytes still due (streamed bodies); the request ends with the last of them, in the same write. */
  let due = req.body === undefined ? (req.bodyLength ?? 0) : 0;
  /** stdin that arrived before the upgrade answered. */
  const early: Buffer[] = [];
  const finish = (err?: Error) => {
    if (ended) return;
    ended = true;
    sink.onEnd(err);
  };
  const extra: Record<string, string> = req.hijack ? { Connection: 'Upgrade', Upgrade: 'tcp' } : {};
  const r = http.request(requestOptions(ep, req, extra));
  r.on('response', (response) => {
    res = response;
    sink.onHead(response.statusCode ?? 0, flatHeaders(response.headers));
    response.on('data', (d: Buffer) => sink.onData(d));
    response.on('end', () => finish());
    // Node's "aborted": the engine went away mid-stream (stopped, restarted, crashed).
    response.on('error', (e) => finish(streamCut(ep, e)));
    response.on('close', () => finish());
  });
  r.on('upgrade', (response, s, head) => {
    socket = s;
    sink.onHead(response.statusCode ?? 101, flatHeaders(response.headers));
    if (head.length) sink.onData(head);
    s.on('data', (d: Buffer) => sink.onData(d));
    s.on('end', () => finish());
    s.on('close', () => finish());
    s.on('error', (e) => finish(e));
    for (const b of early.splice(0)) s.write(b);
  });
  r.on('error', (e) => finish(res || socket ? e : engineUnreachable(ep, e)));
  if (due === 0) r.end(bodyBuffer(req.body));
  return {
    write(data) {
      if (ended) return true;
      if (due > 0) {
        const part = data.subarray(0, due);
        due -= part.length;
        const ok = due === 0 ? (r.end(part), true) : r.write(part);
        const rest = data.subarray(part.length);
        return rest.length ? this.write(rest) : ok;
      }
      if (socket) return socket.write(data);
      if (req.hijack) early.push(data);
      return true;
    },
    drained() {
      const w: { writableNeedDrain: boolean; once(ev: string, f: () => void): unknown } =
        due > 0 || !socket ? r : socket;
      return new Promise((resolve) => {
        if (ended || !w.writableNeedDrain) return resolve();
        w.once('drain', () => resolve());
        w.once('close', () => resolve());
      });
    },
    close() {
      socket?.destroy();
      res?.destroy();
      r.destroy();
      finish();
    },
  };
}
