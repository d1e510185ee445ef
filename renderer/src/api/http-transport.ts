/**
 * Web mode: one-shot requests through `berth serve`'s `/engine` proxy (fetch), long-lived streams and
 * hijacked connections through its `/ws` bridge (browsers allow only six HTTP connections per host).
 * Auth rides on the bridge's cookie in a browser; tools and tests may pass the token instead.
 */
import type { EngineRequest, StreamRequest } from '@berth/common';
import { concatBytes } from './streams.js';
import {
  encoder,
  type RawResponse,
  type StreamHandle,
  type StreamHandlers,
  type Transport,
} from './transport.js';

/** The part of the WebSocket API we use (the browser's, or `ws` in Node tests). */
export interface SocketLike {
  binaryType: string;
  readonly readyState: number;
  onopen: ((ev: unknown) => void) | null;
  onmessage: ((ev: { data: unknown }) => void) | null;
  onclose: ((ev: { code: number; reason: string }) => void) | null;
  onerror: ((ev: unknown) => void) | null;
  send(data: string | Uint8Array): void;
  close(code?: number, reason?: string): void;
}

export interface HttpTransportOptions {
  /** e.g. http://127.0.0.1:7070 (default: the page's origin). */
  baseUrl?: string;
  /** Bearer token (tools, tests); a browser uses the cookie set by the printed URL. */
  token?: string;
  fetch?: typeof fetch;
  openSocket?: (url: string, token?: string) => SocketLike;
}

/** Binary request bodies cross the bridge in frames of this size (the bridge accepts up to 16 MiB). */
const BODY_FRAME = 1 << 20;

function headersToRecord(h: Headers): Record<string, string> {
  const out: Record<string, string> = {};
  h.forEach((v, k) => (out[k] = v));
  return out;
}

function dataToBytes(data: unknown): Uint8Array {
  if (data instanceof Uint8Array) return data;
  if (data instanceof ArrayBuffer) return new Uint8Array(data);
  if (ArrayBuffer.isView(data)) return new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
  if (Array.isArray(data)) {
    // `ws` may hand fragments as an array of Buffers.
    return concatBytes(data as Uint8Array[]);
  }
  return encoder.encode(String(data));
}

export class HttpTransport implements Transport {
  readonly kind = 'web' as const;
  private readonly base: string;
  private readonly fetchFn: typeof fetch;
  private readonly openSocket: (url: string, token?: string) => SocketLike;

  constructor(private readonly opts: HttpTransportOptions = {}) {
    this.base = (opts.baseUrl ?? globalThis.location?.origin ?? '').replace(/\/$/, '');
    this.fetchFn = opts.fetch ?? globalThis.fetch.bind(globalThis);
    this.openSocket = opts.openSocket ?? ((url) => new WebSocket(url) as unknown as SocketLike);
  }

  private authHeaders(): Record<string, string> {
    return this.opts.token ? { Authorization: `Bearer ${this.opts.token}` } : {};
  }

  async request(req: EngineRequest): Promise<RawResponse> {
    const body =
      req.body === undefined
        ? undefined
        : typeof req.body === 'string'
          ? req.body
          : (req.body as Uint8Array<ArrayBuffer>);
    const init: RequestInit = {
      method: req.method,
      headers: {
        ...(req.body !== undefined ? { 'Content-Type': 'application/json' } : {}),
        ...req.headers,
        ...this.authHeaders(),
      },
      ...(body !== undefined ? { body } : {}),
      credentials: 'same-origin',
    };
    const url = `${this.base}/engine${req.path}`;
    let res: Response;
    try {
      res = await this.fetchFn(url, init);
    } catch (e) {
      // EngineClient sends a read again; a write is not repeated (the engine may have done it).
      throw new Error(`cannot reach the Berth bridge: ${(e as Error).message}`);
    }
    return {
      status: res.status,
      headers: headersToRecord(res.headers),
      body: new Uint8Array(await res.arrayBuffer()),
    };
  }

  stream(req: StreamRequest, h: StreamHandlers): StreamHandle {
    const wsUrl = `${this.base.replace(/^http/, 'ws')}/ws`;
    const ws = this.openSocket(wsUrl, this.opts.token);
    ws.binaryType = 'arraybuffer';
    let ended = false;
    const pending: Uint8Array[] = [];
    let open = false;
    const end = (err?: Error) => {
      if (ended) return;
      ended = true;
      h.onEnd(err);
    };
    ws.onopen = () => {
      open = true;
      // JSON cannot carry bytes: a binary body (build context, archive) follows as binary frames.
      if (req.body instanceof Uint8Array) {
        const { body, ...head } = req;
        ws.send(JSON.stringify({ ...head, bodyLength: body.byteLength }));
        for (let o = 0; o < body.byteLength; o += BODY_FRAME)
          ws.send(body.subarray(o, Math.min(o + BODY_FRAME, body.byteLength)));
      } else ws.send(JSON.stringify(req));
      for (const p of pending.splice(0)) ws.send(p);
    };
    ws.onmessage = (ev) => {
      if (typeof ev.data === 'string') {
        const msg = JSON.parse(ev.data) as {
          kind: string;
          status?: number;
          headers?: Record<string, string>;
          error?: { message: string };
        };
        if (msg.kind === 'head') h.onHead?.(msg.status ?? 0, msg.headers ?? {});
        else if (msg.kind === 'end') end(msg.error ? new Error(msg.error.message) : undefined);
        return;
      }
      h.onData(dataToBytes(ev.data));
    };
    ws.onclose = (ev) =>
      end(
        ev.code === 1000 || ev.code === 1005
          ? undefined
          : new Error(
              `connection to the engine bridge closed (${ev.code}${ev.reason ? ': ' + ev.reason : ''})`,
            ),
      );
    ws.onerror = () => end(new Error('cannot connect to the engine bridge'));
    return {
      write(data) {
        const bytes = typeof data === 'string' ? encoder.encode(data) : data;
        if (open) ws.send(bytes);
        else pending.push(bytes);
      },
      close() {
        ws.close(1000);
        end();
      },
    };
  }
}
