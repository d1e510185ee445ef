/** `/engine/*` → the engine socket: method, body and response streamed both ways (pull, logs, build). */
import http, { type IncomingMessage, type ServerResponse } from 'node:http';
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

export function proxyToEngine(
  ep: EngineEndpoint,
  target: string,
  req: IncomingMessage,
  res: ServerResponse,
): void {
  const headers: Record<string, string> = {};
  for (const h of FORWARD) {
    const v = req.headers[h];
    if (typeof v === 'string') headers[h] = v;
  }
  const base = ep.kind === 'unix' ? { socketPath: ep.socketPath } : { host: ep.host, port: ep.port };
  const up = http.request({ ...base, method: req.method, path: target, headers, agent: false }, (ur) => {
    const out: Record<string, string | string[]> = {};
    for (const [k, v] of Object.entries(ur.headers))
      if (v !== undefined && k !== 'connection' && k !== 'keep-alive') out[k] = v;
    out['cache-control'] = 'no-store';
    res.writeHead(ur.statusCode ?? 502, out);
    res.flushHeaders();
    ur.pipe(res);
  });
  up.on('error', (err) => {
    if (!res.headersSent) {
      res.writeHead(502, { 'Content-Type': 'application/json' });
      res.end(JSON.stringify({ message: `cannot reach the engine: ${err.message}` }));
    } else res.destroy();
  });
  // The browser went away: stop the engine-side stream too (logs follow, events).
  res.on('close', () => up.destroy());
  req.pipe(up);
}
