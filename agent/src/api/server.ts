/** The Engine API HTTP server: version prefixes, routing, Docker-style errors, connection upgrades. */
import http, { type IncomingMessage, type ServerResponse } from 'node:http';
import type { Duplex } from 'node:stream';
import { API_VERSION, MIN_API_VERSION } from '@berth/common';
import type { Logger } from '../log.js';
import { ApiError, statusOf } from './errors.js';
import type { Router } from './router.js';

const VERSION_PREFIX = /^\/v(\d+\.\d+)(\/.*)$/;

function cmpVersion(a: string, b: string): number {
  const [a1, a2] = a.split('.').map(Number) as [number, number];
  const [b1, b2] = b.split('.').map(Number) as [number, number];
  return a1 - b1 || a2 - b2;
}

export function commonHeaders(version: string): Record<string, string> {
  return {
    'Api-Version': API_VERSION,
    'Docker-Experimental': 'false',
    Ostype: 'linux',
    Server: `Berth/${version} (linux)`,
  };
}

/** Splits `/v1.44/images/json?x` into the API version, the bare path and the query. */
export function resolvePath(rawUrl: string): { apiVersion: string; path: string; query: URLSearchParams } {
  const url = new URL(rawUrl, 'http://berth');
  let path = url.pathname;
  let apiVersion = API_VERSION;
  const m = VERSION_PREFIX.exec(path);
  if (m) {
    apiVersion = m[1]!;
    path = m[2]!;
    if (cmpVersion(apiVersion, MIN_API_VERSION) < 0)
      throw new ApiError(
        400,
        `client version ${apiVersion} is too old. Minimum supported API version is ${MIN_API_VERSION}, please upgrade your client to a newer version`,
      );
    if (cmpVersion(apiVersion, API_VERSION) > 0)
      throw new ApiError(
        400,
        `client version ${apiVersion} is too new. Maximum supported API version is ${API_VERSION}`,
      );
  }
  if (path.length > 1 && path.endsWith('/')) path = path.slice(0, -1);
  return { apiVersion, path, query: url.searchParams };
}

function writeError(res: ServerResponse, err: unknown, log: Logger, method: string, url: string): void {
  const status = statusOf(err);
  const message = err instanceof Error ? err.message : String(err);
  if (status >= 500)
    log.error('request failed', { method, url, status, err: message, stack: (err as Error)?.stack });
  else log.debug('request rejected', { method, url, status, err: message });
  if (res.headersSent) {
    // A stream already started: dockerd reports the error in-band and closes.
    if (!res.writableEnded) res.end(JSON.stringify({ errorDetail: { message }, error: message }) + '\n');
    return;
  }
  const body = JSON.stringify({ message });
  res.writeHead(status, { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(body) });
  res.end(body);
}

function writeUpgradeError(socket: Duplex, err: unknown): void {
  const status = statusOf(err);
  const body = JSON.stringify({ message: err instanceof Error ? err.message : String(err) });
  socket.end(
    `HTTP/1.1 ${status} ${http.STATUS_CODES[status] ?? 'Error'}\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`,
  );
}

/** Paths that need none of the engine's state: they answer while it is still loading (daemon.ts). */
const STATELESS_PATHS = new Set(['/_ping', '/version']);

/**
 * `ready`: settles when the engine's state is loaded and every route is registered. Until then only /_ping and
 * /version answer; other requests wait for it, so none is ever served from half-loaded state. When loading
 * fails, waiting requests get a 503 and the daemon exits.
 */
export function createApiServer(
  router: Router,
  log: Logger,
  version: string,
  ready: Promise<void> = Promise.resolve(),
  /** A client must send a request's headers within this (dockerd: 5 minutes); then it gets 408 and is closed. */
  headerTimeoutMs = 300_000,
): http.Server {
  const headers = commonHeaders(version);
  const loaded = ready.catch((err: unknown) => {
    throw new ApiError(503, `the engine failed to start: ${(err as Error).message}`);
  });
  loaded.catch(() => undefined); // no request may be waiting: not an unhandled rejection
  const dispatch = async (
    req: IncomingMessage,
    res: ServerResponse,
    upgrade?: { socket: Duplex; head: Buffer },
  ) => {
    const method = req.method ?? 'GET';
    const { apiVersion, path, query } = resolvePath(req.url ?? '/');
    if (!STATELESS_PATHS.has(path)) await loaded;
    const m = router.match(method, path);
    if (m === undefined) throw new ApiError(404, 'page not found');
    if (m === 'method') throw new ApiError(405, `method ${method} not allowed for ${path}`);
    const ctx = { req, res, params: m.params, query, apiVersion, ...(upgrade ? { upgrade } : {}) };
    await m.handler(ctx);
  };

  const server = http.createServer(
    {
      keepAliveTimeout: 0,
      requestTimeout: 0,
      headersTimeout: headerTimeoutMs,
      // How often Node looks for connections past their header deadline (its default is 30 s).
      connectionsCheckingInterval: Math.min(30_000, Math.max(100, headerTimeoutMs / 4)),
    },
    (req, res) => {
      for (const [k, v] of Object.entries(headers)) res.setHeader(k, v);
      log.debug('request', { method: req.method, url: req.url });
      dispatch(req, res).catch((err: unknown) => writeError(res, err, log, req.method ?? '', req.url ?? ''));
    },
  );
  // Attach and exec start ask for `Upgrade: tcp`; the route hijacks the socket.
  server.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) => {
    const res = new http.ServerResponse(req);
    dispatch(req, res, { socket, head }).catch((err: unknown) => {
      log.debug('upgrade rejected', { url: req.url, err: (err as Error).message });
      writeUpgradeError(socket, err);
    });
  });
  return server;
}
