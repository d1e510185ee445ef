/**
 * HTTP to berthd's Engine API socket: JSON calls, response streams and hijacked (upgraded) connections. The only
 * transport the kubelet has to containers; errors keep the engine's status and `{message}` so callers can branch
 * on 404/409 and show the registry's own words (ErrImagePull).
 */
import http, { type IncomingMessage } from 'node:http';
import type { Duplex, Readable } from 'node:stream';

export const API_VERSION = 'v1.44';

/** An Engine API answer that was not 2xx: `status` is the HTTP code, `message` dockerd's `{message}`. */
export class EngineError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
    this.name = 'EngineError';
  }
}

export const isEngineError = (e: unknown, status?: number): e is EngineError =>
  e instanceof EngineError && (status === undefined || e.status === status);

export type Query = Record<string, string | number | boolean | undefined | string[]>;

export interface RequestOptions {
  query?: Query;
  /** JSON-encoded unless a Buffer, string or stream. */
  body?: unknown;
  headers?: Record<string, string>;
  signal?: AbortSignal;
}

/** `unix:///run/berth/docker.sock` or a bare path. */
export function socketPath(endpoint: string): string {
  if (endpoint.startsWith('unix://')) return endpoint.slice('unix://'.length);
  if (endpoint.startsWith('/')) return endpoint;
  throw new Error(`engine endpoint must be unix:///path/to/socket, not ${endpoint}`);
}

export function encodeQuery(q: Query | undefined): string {
  if (!q) return '';
  const p = new URLSearchParams();
  for (const [k, v] of Object.entries(q)) {
    if (v === undefined) continue;
    if (Array.isArray(v)) for (const x of v) p.append(k, x);
    else p.set(k, String(v));
  }
  const s = p.toString();
  return s ? `?${s}` : '';
}

function isReadable(b: unknown): b is Readable {
  return typeof b === 'object' && b !== null && typeof (b as Readable).pipe === 'function';
}

async function readAll(res: Readable): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const c of res) chunks.push(c as Buffer);
  return Buffer.concat(chunks);
}

/** dockerd's `{message}` (or the raw text when the body is not JSON). */
export function errorMessage(status: number, body: Buffer): string {
  const text = body.toString('utf8').trim();
  try {
    const j = JSON.parse(text) as { message?: unknown };
    if (typeof j.message === 'string') return j.message;
  } catch {
    /* not JSON */
  }
  return text || `engine answered HTTP ${status}`;
}

export class EngineHttp {
  readonly socket: string;

  constructor(endpoint: string) {
    this.socket = socketPath(endpoint);
  }

  private open(method: string, p: string, o: RequestOptions, upgrade: boolean): http.ClientRequest {
    const headers: Record<string, string> = { ...(o.headers ?? {}) };
    let payload: Buffer | string | Readable | undefined;
    if (o.body !== undefined) {
      if (Buffer.isBuffer(o.body) || typeof o.body === 'string' || isReadable(o.body)) payload = o.body;
      else {
        payload = JSON.stringify(o.body);
        headers['Content-Type'] ??= 'application/json';
      }
    }
    if (upgrade) Object.assign(headers, { Connection: 'Upgrade', Upgrade: 'tcp' });
    const req = http.request({
      socketPath: this.socket,
      method,
      path: `/${API_VERSION}${p}${encodeQuery(o.query)}`,
      headers,
      ...(o.signal ? { signal: o.signal } : {}),
    });
    if (isReadable(payload)) payload.pipe(req);
    else req.end(payload);
    return req;
  }

  /** The response stream of a 2xx answer; a non-2xx becomes an EngineError carrying dockerd's message. */
  async stream(method: string, p: string, o: RequestOptions = {}): Promise<IncomingMessage> {
    const req = this.open(method, p, o, false);
    const res = await new Promise<IncomingMessage>((resolve, reject) => {
      req.once('response', resolve);
      req.once('error', reject);
    });
    const status = res.statusCode ?? 0;
    if (status < 200 || status >= 300)
      throw new EngineError(status, errorMessage(status, await readAll(res)));
    return res;
  }

  async buffer(method: string, p: string, o: RequestOptions = {}): Promise<Buffer> {
    return readAll(await this.stream(method, p, o));
  }

  async json<T>(method: string, p: string, o: RequestOptions = {}): Promise<T> {
    const b = await this.buffer(method, p, o);
    return (b.length ? JSON.parse(b.toString('utf8')) : undefined) as T;
  }

  /** Sends the request and ignores a successful body. */
  async call(method: string, p: string, o: RequestOptions = {}): Promise<void> {
    await this.buffer(method, p, o);
  }

  /**
   * Attach and exec start: `Upgrade: tcp`; berthd answers 101 and the socket becomes the raw stream (multiplexed
   * frames without a TTY). `head` is what arrived with the response head.
   */
  async hijack(method: string, p: string, o: RequestOptions = {}): Promise<Duplex> {
    const req = this.open(method, p, o, true);
    return new Promise<Duplex>((resolve, reject) => {
      req.once('upgrade', (_res, socket, head) => {
        if (head.length) socket.unshift(head);
        resolve(socket);
      });
      req.once('response', (res: IncomingMessage) => {
        const status = res.statusCode ?? 0;
        void readAll(res).then(
          (b) => reject(new EngineError(status, errorMessage(status, b))),
          (err: unknown) => reject(err instanceof Error ? err : new Error(String(err))),
        );
      });
      req.once('error', reject);
    });
  }
}
