/** `/engine/*` → the engine socket: method, body and response streamed both ways (pull, logs, build). */
import http, { type IncomingMessage, type ServerResponse } from 'node:http';
import { explainEngineError } from '../engine/connection.js';
import type { EngineEndpoint } from '../engine/endpoint.js';

/** Request headers worth passing to the engine; cookies and the bridge's auth never reach it. */
const FORWARD = [
  'content-type',
  'content-length',
  'x-registry-auth',
  'x-registry-config',
  'transfer-encoding',
];

export function engineTarget(url: string): string | undefined {
  if (!url.startsWith('/engine/')) return undefined;
  const rest = url.slice('/engine'.length);
  return /^\/(v\d+\.\d+\/|_ping)/.test(rest) ? rest : undefined;
}

/**
 * Connections to the engine are kept alive between requests. With one connection per request the engine
 * closes right after answering, and the request's final (empty) write could land on the closed socket: EPIPE
 * before the answer was read, so a request the engine had carried out (an exec created) came back as a 502.
 */
export function engineAgent(): http.Agent {
  return new http.Agent({ keepAlive: true, maxFreeSockets: 8 });
}

export interface ProxyOptions {
  agent?: http.Agent;
}

const IDEMPOTENT = new Set(['GET', 'HEAD', 'OPTIONS']);

export function proxyToEngine(
  ep: EngineEndpoint,
  target: string,
  req: IncomingMessage,
  res: ServerResponse,
  opts: ProxyOptions = {},
): void {
  const headers: Record<string, string> = {};
  for (const h of FORWARD) {
    const v = req.headers[h];
    if (typeof v === 'string') headers[h] = v;
  }
  const base = ep.kind === 'unix' ? { socketPath: ep.socketPath } : { host: ep.host, port: ep.port };
  const length = headers['content-length'] === undefined ? undefined : Number(headers['content-length']);
  const bodiless = length === 0 || (length === undefined && headers['transfer-encoding'] === undefined);
  const send = (retry: boolean): void => {
    const up = http.request(
      { ...base, method: req.method, path: target, headers, agent: opts.agent ?? false },
      (ur) => {
        const out: Record<string, string | string[]> = {};
        for (const [k, v] of Object.entries(ur.headers))
          if (v !== undefined && k !== 'connection' && k !== 'keep-alive') out[k] = v;
        out['cache-control'] = 'no-store';
        res.writeHead(ur.statusCode ?? 502, out);
        res.flushHeaders();
        ur.pipe(res);
      },
    );
    up.on('error', (err) => {
      // A kept-alive connection the engine closed meanwhile (it restarted): a read goes again, once.
      if (retry && up.reusedSocket && !res.headersSent && bodiless && IDEMPOTENT.has(req.method ?? ''))
        return send(false);
      if (!res.headersSent) {
        res.writeHead(502, { 'Content-Type': 'application/json' });
        res.end(JSON.stringify({ message: explainEngineError(ep, err) }));
      } else res.destroy();
    });
    // The browser went away: stop the engine-side stream too (logs follow, events).
    res.on('close', () => up.destroy());
    if (bodiless) return void up.end();
    pipeBody(req, up, length);
  };
  send(true);
}

/** Like pipe, but the body's last chunk goes with end(): no separate empty write after the engine answered. */
function pipeBody(from: IncomingMessage, to: http.ClientRequest, length: number | undefined): void {
  let left = length ?? Infinity;
  from.on('data', (chunk: Buffer) => {
    left -= chunk.length;
    if (left <= 0) return void to.end(chunk);
    if (!to.write(chunk)) {
      from.pause();
      to.once('drain', () => from.resume());
    }
  });
  from.on('end', () => {
    if (!to.writableEnded) to.end();
  });
  from.on('error', () => to.destroy());
}
