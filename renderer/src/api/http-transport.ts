/**
 * Web mode: one-shot requests through `berth serve`'s `/engine` proxy (fetch), long-lived streams and
 * hijacked connections through its `/ws` bridge (browsers allow only six HTTP connections per host).
 * Auth rides on the bridge's cookie in a browser; tools and tests may pass the token instead.
 */
import type { EngineRequest, StreamRequest } from '@berth/common';
import type { RawResponse, StreamHandle, StreamHandlers, Transport } from './transport.js';
import { relayStream, type SocketLike } from './ws-stream.js';

export type { SocketLike } from './ws-stream.js';

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
    const ws = this.openSocket(`${this.base.replace(/^http/, 'ws')}/ws`, this.opts.token);
    const send = (ws: SocketLike) => {
      // JSON cannot carry bytes: a binary body (build context, archive) follows as binary frames.
      if (req.body instanceof Uint8Array) {
        const { body, ...head } = req;
        ws.send(JSON.stringify({ ...head, bodyLength: body.byteLength }));
        for (let o = 0; o < body.byteLength; o += BODY_FRAME)
          ws.send(body.subarray(o, Math.min(o + BODY_FRAME, body.byteLength)));
      } else ws.send(JSON.stringify(req));
    };
    return relayStream(ws, send, h, 'the engine bridge');
  }
}
