/** `berth serve`: the built dashboard + a token-guarded bridge to the engine, on 127.0.0.1 only. */
import http, { type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import type { Duplex } from 'node:stream';
import type { EngineEndpoint } from '../engine/endpoint.js';
import { handleHost, isHostPath, type HostBackend } from './host-api.js';
import { ClusterAccess } from '../cluster/access.js';
import { PortForwards } from '../cluster/port-forward.js';
import { createClusterWsBridge, handleClusterHttp, isClusterUrl, statusBody } from './cluster-bridge.js';
import { checkToken, hostAllowed, isAuthorized, originAllowed, tokenCookie } from './auth.js';
import { engineAgent, engineTarget, proxyToEngine } from './proxy.js';
import { serveStatic } from './static.js';
import { createWsBridge } from './ws-bridge.js';

export interface WebServerOptions {
  engine: EngineEndpoint;
  uiDir: string;
  token: string;
  port?: number;
  /** Settings and engine lifecycle for `/host/*`, when the engine is Berth's own. */
  host?: HostBackend;
  /** The kubeconfig's clusters (default: the files kubectl would read). */
  cluster?: ClusterAccess;
}

export interface WebServer {
  server: http.Server;
  port: number;
  url: string;
  close(): Promise<void>;
}

function deny(res: ServerResponse, status: number, message: string): void {
  res.writeHead(status, { 'Content-Type': 'application/json', 'Cache-Control': 'no-store' });
  res.end(JSON.stringify({ message }));
}

function denyUpgrade(socket: Duplex, status: number, message: string): void {
  const body = JSON.stringify({ message });
  socket.end(
    `HTTP/1.1 ${status} ${http.STATUS_CODES[status]}\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`,
  );
}

export async function startWebServer(opts: WebServerOptions): Promise<WebServer> {
  const uiDir = path.resolve(opts.uiDir);
  const bridge = createWsBridge(opts.engine);
  const cluster = opts.cluster ?? new ClusterAccess();
  const clusterBridge = createClusterWsBridge(cluster);
  const forwards = new PortForwards(cluster);
  const agent = engineAgent();
  let port = opts.port ?? 0;

  const server = http.createServer({ requestTimeout: 0 }, (req: IncomingMessage, res: ServerResponse) => {
    if (!hostAllowed(req.headers.host, port) || !originAllowed(req.headers.origin, port))
      return deny(res, 403, 'this address is not allowed; open the URL printed by berth serve');
    const url = new URL(req.url ?? '/', 'http://berth');
    // The printed URL carries the token once: trade it for a cookie, and drop it from the address bar.
    const offered = url.searchParams.get('token');
    if (offered !== null && req.method === 'GET') {
      if (!checkToken(offered, opts.token))
        return deny(res, 401, 'wrong token; use the URL berth serve printed');
      url.searchParams.delete('token');
      res.writeHead(302, {
        'Set-Cookie': tokenCookie(opts.token),
        Location: url.pathname + url.search,
        'Cache-Control': 'no-store',
      });
      return void res.end();
    }
    if (!isAuthorized(req, opts.token))
      return deny(
        res,
        401,
        'unauthorized: open the URL printed by berth serve (it carries the access token)',
      );
    const target = engineTarget(req.url ?? '/');
    if (target !== undefined) return proxyToEngine(opts.engine, target, req, res, { agent });
    if (isHostPath(req.url ?? '/'))
      return void handleHost(opts.host, req, res).catch((e: unknown) => deny(res, 500, (e as Error).message));
    if (isClusterUrl(req.url ?? '/'))
      return void handleClusterHttp(cluster, forwards, req, res).catch((e: unknown) => {
        if (res.headersSent) return void res.destroy();
        res.writeHead(502, { 'Content-Type': 'application/json' });
        res.end(statusBody(502, 'ServiceUnavailable', (e as Error).message));
      });
    if (req.method !== 'GET' && req.method !== 'HEAD')
      return deny(res, 405, `method ${req.method} not allowed`);
    serveStatic(uiDir, req, res).catch((e: unknown) => deny(res, 500, (e as Error).message));
  });
  // Browsers keep idle connections for a while; closing them sooner races with a request sent on one.
  server.keepAliveTimeout = 120_000;
  server.headersTimeout = 125_000;
  server.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) => {
    if (!hostAllowed(req.headers.host, port) || !originAllowed(req.headers.origin, port))
      return denyUpgrade(socket, 403, 'this address is not allowed');
    if (!isAuthorized(req, opts.token)) return denyUpgrade(socket, 401, 'unauthorized');
    const pathname = new URL(req.url ?? '/', 'http://berth').pathname;
    if (pathname === '/ws/cluster') return clusterBridge.handleUpgrade(req, socket, head);
    if (pathname !== '/ws') return denyUpgrade(socket, 404, 'no such endpoint');
    bridge.handleUpgrade(req, socket, head);
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, '127.0.0.1', () => resolve());
  });
  port = (server.address() as AddressInfo).port;
  return {
    server,
    port,
    url: `http://127.0.0.1:${port}/`,
    close: () =>
      new Promise<void>((resolve) => {
        bridge.close();
        clusterBridge.close();
        forwards.stopAll();
        agent.destroy();
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
