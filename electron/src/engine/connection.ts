/**
 * Requests to the engine over its socket, shared by the IPC handlers (Electron) and the web bridge
 * (`berth serve`): one-shot requests, streamed responses and hijacked (attach/exec) connections.
 */
import http from 'node:http';
import type { Duplex } from 'node:stream';
import type { EngineRequest, EngineResponse, StreamRequest } from '@berth/common';
import type { EngineEndpoint } from './endpoint.js';

export interface StreamSink {
  onHead(status: number, headers: Record<string, string>): void;
  onData(chunk: Buffer): void;
  onEnd(err?: Error): void;
}

export interface OpenStream {
  /** Writes to the engine: stdin of a hijacked connection (ignored for plain streams). */
  write(data: Buffer): void;
  /** Ends the request and the connection; onEnd follows. */
  close(): void;
}

function flatHeaders(h: http.IncomingHttpHeaders): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(h)) if (v !== undefined) out[k] = Array.isArray(v) ? v.join(', ') : v;
  return out;
}

function requestOptions(
  ep: EngineEndpoint,
  req: EngineRequest,
  extra: Record<string, string> = {},
): http.RequestOptions {
  const body = req.body;
  const headers: Record<string, string> = { ...(req.headers ?? {}), ...extra };
  if (body !== undefined && !Object.keys(headers).some((k) => k.toLowerCase() === 'content-type'))
    headers['Content-Type'] = 'application/json';
  if (body !== undefined)
    headers['Content-Length'] = String(typeof body === 'string' ? Buffer.byteLength(body) : body.byteLength);
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

/** A one-shot request; the whole body is collected. */
export function engineRequest(
  ep: EngineEndpoint,
  req: EngineRequest,
  timeoutMs = 120_000,
): Promise<EngineResponse> {
  return new Promise((resolve, reject) => {
    const r = http.request(requestOptions(ep, req), (res) => {
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
    r.setTimeout(timeoutMs, () =>
      r.destroy(new Error(`engine did not answer ${req.method} ${req.path} within ${timeoutMs} ms`)),
    );
    r.on('error', reject);
    r.end(bodyBuffer(req.body));
  });
}

/** A streamed response, or with `hijack` the raw connection after `101 UPGRADED`. */
export function openEngineStream(ep: EngineEndpoint, req: StreamRequest, sink: StreamSink): OpenStream {
  let ended = false;
  let socket: Duplex | undefined;
  let res: http.IncomingMessage | undefined;
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
    response.on('error', (e) => finish(e));
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
  });
  r.on('error', (e) => finish(e));
  r.end(bodyBuffer(req.body));
  return {
    write(data) {
      if (socket && !ended) socket.write(data);
    },
    close() {
      socket?.destroy();
      res?.destroy();
      r.destroy();
      finish();
    },
  };
}
