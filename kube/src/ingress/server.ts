/**
 * The Ingress listeners on the host: HTTP and HTTPS (the certificate picked by SNI), each request routed by the
 * table, sent to the next ready endpoint of its backend with `X-Forwarded-*` headers, bodies streamed both ways
 * (no buffering), protocol upgrades (WebSocket) relayed as raw bytes after the backend's answer. 404 when no rule
 * matches, 503 when the backend has no ready endpoint, 502 when the endpoint cannot be reached, each with a body
 * that says which. A listen address that cannot be bound (taken, or < 1024 without the right) falls back to
 * another port, which `bound` reports.
 */
import http from 'node:http';
import https from 'node:https';
import net from 'node:net';
import type tls from 'node:tls';
import type { Logger } from '../log.js';
import type { Target } from './backends.js';
import type { RouteMatch } from './routes.js';

export interface ListenAddress {
  host: string;
  port: number;
}

export interface Bound extends ListenAddress {
  /** Why this is not the port asked for. */
  note?: string;
}

export interface IngressServerOptions {
  http?: ListenAddress;
  https?: ListenAddress;
  route(host: string | undefined, path: string): RouteMatch | undefined;
  pick(backend: NonNullable<RouteMatch['backend']>): Target;
  secureContext(serverName: string): tls.SecureContext;
  defaultCert: { certPem: string; keyPem: string };
  log: Logger;
}

type Scheme = 'http' | 'https';

/** RFC 9110 hop-by-hop headers: never forwarded (an upgrade keeps Connection and Upgrade). */
const HOP = new Set([
  'connection',
  'keep-alive',
  'proxy-connection',
  'te',
  'trailer',
  'transfer-encoding',
  'upgrade',
]);

function text(res: http.ServerResponse, code: number, body: string): void {
  if (res.headersSent) return void res.destroy();
  res.writeHead(code, {
    'content-type': 'text/plain; charset=utf-8',
    'content-length': Buffer.byteLength(body),
  });
  res.end(body);
}

function rawText(socket: net.Socket, code: number, reason: string, body: string): void {
  socket.end(
    `HTTP/1.1 ${code} ${reason}\r\ncontent-type: text/plain; charset=utf-8\r\ncontent-length: ${Buffer.byteLength(body)}\r\nconnection: close\r\n\r\n${body}`,
  );
}

/** The request's headers for the backend: hop-by-hop ones dropped (unless upgrading), X-Forwarded-* set. */
function forwardHeaders(
  req: http.IncomingMessage,
  scheme: Scheme,
  port: number,
  upgrade: boolean,
): string[][] {
  const named = new Set(
    String(req.headers.connection ?? '')
      .split(',')
      .map((s) => s.trim().toLowerCase())
      .filter(Boolean),
  );
  const out: string[][] = [];
  let xff = '';
  for (let i = 0; i < req.rawHeaders.length; i += 2) {
    const name = req.rawHeaders[i];
    const lower = name.toLowerCase();
    if (lower === 'x-forwarded-for') {
      xff = xff ? `${xff}, ${req.rawHeaders[i + 1]}` : req.rawHeaders[i + 1];
      continue;
    }
    if (lower.startsWith('x-forwarded-') || lower === 'x-real-ip') continue;
    if (!upgrade && (HOP.has(lower) || named.has(lower))) continue;
    out.push([name, req.rawHeaders[i + 1]]);
  }
  const client = (req.socket.remoteAddress ?? '').replace(/^::ffff:/, '');
  out.push(
    ['X-Forwarded-For', xff ? `${xff}, ${client}` : client],
    ['X-Forwarded-Host', req.headers.host ?? ''],
    ['X-Forwarded-Port', String(port)],
    ['X-Forwarded-Proto', scheme],
    ['X-Real-IP', client],
  );
  return out;
}

export class IngressServer {
  readonly bound: { http?: Bound; https?: Bound } = {};
  private readonly servers: net.Server[] = [];
  private readonly upgraded = new Set<net.Socket>();
  private readonly agent = new http.Agent({ keepAlive: true, maxFreeSockets: 64 });

  constructor(private readonly o: IngressServerOptions) {}

  async start(): Promise<void> {
    if (this.o.http) {
      const s = http.createServer();
      this.bound.http = await this.listen(s, this.o.http, 'http');
      this.wire(s, 'http', this.bound.http.port);
    }
    if (this.o.https) {
      const s = https.createServer({
        cert: this.o.defaultCert.certPem,
        key: this.o.defaultCert.keyPem,
        SNICallback: (name, cb) => cb(null, this.o.secureContext(name)),
      });
      this.bound.https = await this.listen(s, this.o.https, 'https');
      this.wire(s, 'https', this.bound.https.port);
    }
  }

  async close(): Promise<void> {
    for (const s of this.upgraded) s.destroy();
    this.agent.destroy();
    await Promise.all(
      this.servers.map(
        (s) =>
          new Promise<void>((resolve) => {
            s.close(() => resolve());
            (s as http.Server).closeAllConnections?.();
          }),
      ),
    );
    this.servers.length = 0;
  }

  /** The asked port; if it cannot be had, port+8000 for a privileged one (80 → 8080), then any free port. */
  private async listen(s: net.Server, want: ListenAddress, what: Scheme): Promise<Bound> {
    const tries = [want.port, ...(want.port > 0 && want.port < 1024 ? [want.port + 8000] : []), 0];
    let first: Error | undefined;
    for (const port of tries) {
      try {
        await new Promise<void>((resolve, reject) => {
          s.once('error', reject);
          s.listen({ host: want.host, port }, () => {
            s.off('error', reject);
            resolve();
          });
        });
        this.servers.push(s);
        const actual = (s.address() as net.AddressInfo).port;
        if (!first) return { host: want.host, port: actual };
        const code = (first as NodeJS.ErrnoException).code;
        const note = `${want.host}:${want.port} ${code === 'EADDRINUSE' ? 'is in use' : code === 'EACCES' ? 'is not permitted' : `failed (${first.message})`}; serving ${what} on ${want.host}:${actual}`;
        this.o.log.warn('ingress port fallback', {
          scheme: what,
          wanted: want.port,
          port: actual,
          reason: note,
        });
        return { host: want.host, port: actual, note };
      } catch (e) {
        first ??= e as Error;
        const code = (e as NodeJS.ErrnoException).code;
        if (code !== 'EADDRINUSE' && code !== 'EACCES') throw e;
      }
    }
    throw first ?? new Error(`cannot listen on ${want.host}:${want.port}`);
  }

  private wire(s: http.Server, scheme: Scheme, port: number): void {
    s.on('request', (req: http.IncomingMessage, res: http.ServerResponse) =>
      this.request(req, res, scheme, port),
    );
    s.on('upgrade', (req: http.IncomingMessage, socket: net.Socket, head: Buffer) =>
      this.upgrade(req, socket, head, scheme, port),
    );
    s.on('clientError', (_e, socket: net.Socket) => socket.destroy());
  }

  /** Route and pick, or the text of the error answer. */
  private resolve(
    req: http.IncomingMessage,
  ): { target: { host: string; port: number } } | { code: number; body: string } {
    const path = req.url ?? '/';
    const m = this.o.route(req.headers.host, path);
    if (!m)
      return {
        code: 404,
        body: `404 page not found: no Ingress rule matches host "${req.headers.host ?? ''}" path "${path.split('?')[0]}"\n`,
      };
    if (!m.backend)
      return {
        code: 503,
        body: `503 Service Unavailable: Ingress ${m.ingress} has a resource backend, which the berth Ingress controller does not serve\n`,
      };
    const t = this.o.pick(m.backend);
    if ('error' in t)
      return { code: 503, body: `503 Service Unavailable: ${t.error} (Ingress ${m.ingress})\n` };
    return { target: t };
  }

  private request(req: http.IncomingMessage, res: http.ServerResponse, scheme: Scheme, port: number): void {
    const r = this.resolve(req);
    if ('code' in r) {
      req.resume();
      return text(res, r.code, r.body);
    }
    const { host, port: tport } = r.target;
    const up = http.request({
      host,
      port: tport,
      method: req.method,
      path: req.url,
      headers: forwardHeaders(req, scheme, port, false).flat(),
      agent: this.agent,
    });
    up.on('response', (ur) => {
      const headers: http.OutgoingHttpHeaders = {};
      const named = new Set(
        String(ur.headers.connection ?? '')
          .split(',')
          .map((x) => x.trim().toLowerCase()),
      );
      for (const [k, v] of Object.entries(ur.headers))
        if (v !== undefined && !HOP.has(k) && !named.has(k)) headers[k] = v;
      res.writeHead(ur.statusCode ?? 502, ur.statusMessage, headers);
      // Each chunk goes out as it comes: server-sent events and long polls stream through.
      res.flushHeaders();
      ur.pipe(res);
      ur.on('error', () => res.destroy());
    });
    up.on('error', (e) => text(res, 502, `502 Bad Gateway: ${host}:${tport}: ${e.message}\n`));
    res.on('close', () => {
      if (!res.writableFinished) up.destroy();
    });
    req.pipe(up);
  }

  private upgrade(
    req: http.IncomingMessage,
    socket: net.Socket,
    head: Buffer,
    scheme: Scheme,
    port: number,
  ): void {
    const r = this.resolve(req);
    if ('code' in r)
      return rawText(socket, r.code, r.code === 404 ? 'Not Found' : 'Service Unavailable', r.body);
    const { host, port: tport } = r.target;
    const up = net.connect({ host, port: tport });
    let connected = false;
    for (const s of [socket, up]) {
      this.upgraded.add(s);
      s.on('close', () => this.upgraded.delete(s));
    }
    up.on('connect', () => {
      connected = true;
      const lines = forwardHeaders(req, scheme, port, true).map(([k, v]) => `${k}: ${v}\r\n`);
      up.write(`${req.method} ${req.url} HTTP/1.1\r\n${lines.join('')}\r\n`);
      if (head.length) up.write(head);
      up.pipe(socket);
      socket.pipe(up);
    });
    up.on('error', (e) => {
      if (!connected)
        rawText(socket, 502, 'Bad Gateway', `502 Bad Gateway: ${host}:${tport}: ${e.message}\n`);
      else socket.destroy();
    });
    socket.on('error', () => up.destroy());
    socket.on('close', () => up.destroy());
    up.on('close', () => socket.destroy());
  }
}
