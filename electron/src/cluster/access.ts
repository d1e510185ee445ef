/**
 * The host side of the ClusterClient: reads the kubeconfig on each context list (it changes under us:
 * `berth kube enable` adds a context), and sends the renderer's requests to a context's API server with
 * that context's credentials. Shared by the IPC handlers (Electron) and the web bridge (`berth serve`).
 */
import http from 'node:http';
import https from 'node:https';
import WebSocket from 'ws';
import {
  clusterPathAllowed,
  type ClusterContexts,
  type ClusterRequest,
  type ClusterStreamRequest,
  type EngineResponse,
} from '@berth/common';
import { collectResponse, flatHeaders, type OpenStream, type StreamSink } from '../engine/connection.js';
import { credentialsFor, type Credentials } from './credentials.js';
import { kubeconfigFiles, KubeconfigError, loadKubeconfig } from './kubeconfig.js';

export class ClusterUnreachable extends Error {
  override name = 'ClusterUnreachable';
  constructor(
    message: string,
    readonly code?: string,
  ) {
    super(message);
  }
}

interface Connection {
  url: URL;
  creds: Credentials;
}

/** Request headers the renderer may set; the Authorization is the host's alone. */
const FORWARD = ['accept', 'content-type'];

export class ClusterAccess {
  private cache = new Map<string, { conn: Promise<Connection>; at: number }>();

  constructor(private readonly files: () => string[] = () => kubeconfigFiles()) {}

  async contexts(): Promise<ClusterContexts> {
    return (await loadKubeconfig(this.files())).summary;
  }

  /** Credentials are kept for a minute (exec plugins: until they expire), so a watch-heavy view is cheap. */
  private connection(context: string): Promise<Connection> {
    const hit = this.cache.get(context);
    if (hit && Date.now() - hit.at < 60_000) return hit.conn;
    const conn = (async () => {
      const k = await loadKubeconfig(this.files());
      const r = await k.resolve(context);
      let url: URL;
      try {
        url = new URL(r.context.server);
      } catch {
        throw new KubeconfigError(
          `cluster "${r.context.cluster}" has an invalid server URL: ${r.context.server}`,
        );
      }
      if (url.protocol !== 'https:' && url.protocol !== 'http:')
        throw new KubeconfigError(
          `cluster "${r.context.cluster}": unsupported server scheme ${url.protocol}`,
        );
      return { url, creds: await credentialsFor(r) };
    })();
    this.cache.set(context, { conn, at: Date.now() });
    conn.then(
      (c) => {
        if (c.creds.expires !== undefined) this.cache.set(context, { conn, at: c.creds.expires - 60_000 });
      },
      () => this.cache.delete(context),
    );
    return conn;
  }

  /** After a 401: the token may have expired or the kubeconfig changed; fetch credentials anew next time. */
  forget(context: string): void {
    this.cache.delete(context);
  }

  private options(c: Connection, req: ClusterRequest): http.RequestOptions & https.RequestOptions {
    if (!clusterPathAllowed(req.path)) throw new KubeconfigError(`not a Kubernetes API path: ${req.path}`);
    const headers: Record<string, string> = { 'User-Agent': 'berth-dashboard' };
    for (const [k, v] of Object.entries(req.headers ?? {}))
      if (FORWARD.includes(k.toLowerCase())) headers[k] = v;
    if (c.creds.authorization) headers.Authorization = c.creds.authorization;
    if (req.body !== undefined) headers['Content-Length'] = String(Buffer.byteLength(req.body));
    const base = c.url.pathname.replace(/\/$/, '');
    return {
      protocol: c.url.protocol,
      host: c.url.hostname.replace(/^\[|\]$/g, ''),
      port: c.url.port || (c.url.protocol === 'https:' ? 443 : 80),
      method: req.method.toUpperCase(),
      path: base + req.path,
      headers,
      agent: false,
      ...(c.creds.ca ? { ca: c.creds.ca } : {}),
      ...(c.creds.cert ? { cert: c.creds.cert, key: c.creds.key } : {}),
      ...(c.creds.servername ? { servername: c.creds.servername } : {}),
      rejectUnauthorized: c.creds.rejectUnauthorized,
    };
  }

  private unreachable(req: ClusterRequest, c: Connection, err: Error): ClusterUnreachable {
    const code = (err as NodeJS.ErrnoException).code;
    const why =
      code === 'ECONNREFUSED'
        ? 'nothing accepts connections there (is the cluster running?)'
        : code === 'ENOTFOUND'
          ? 'the host name does not resolve'
          : code === 'ETIMEDOUT'
            ? 'the connection timed out'
            : err.message;
    return new ClusterUnreachable(`cannot reach context "${req.context}" at ${c.url.origin}: ${why}`, code);
  }

  private send(c: Connection, req: ClusterRequest): http.ClientRequest {
    const opts = this.options(c, req);
    return (c.url.protocol === 'https:' ? https : http).request(opts);
  }

  async request(req: ClusterRequest, timeoutMs = 60_000): Promise<EngineResponse> {
    const c = await this.connection(req.context);
    const res = await new Promise<EngineResponse>((resolve, reject) => {
      const r = this.send(c, req);
      r.on('response', (res) => void collectResponse(res).then(resolve, reject));
      r.setTimeout(timeoutMs, () => r.destroy(Object.assign(new Error('timed out'), { code: 'ETIMEDOUT' })));
      r.on('error', (e) => reject(this.unreachable(req, c, e)));
      r.end(req.body);
    });
    if (res.status === 401) this.forget(req.context);
    return res;
  }

  /**
   * A watch or log follow (chunked HTTP), or with `subprotocols` a WebSocket to the API server (exec,
   * attach, port-forward): its binary messages go to `onData` unchanged and `write` sends one message.
   */
  stream(req: ClusterStreamRequest, sink: StreamSink): OpenStream {
    let ended = false;
    let closed = false;
    let detach: (() => void) | undefined;
    let writeFn: ((d: Buffer) => boolean) | undefined;
    const early: Buffer[] = [];
    const finish = (err?: Error) => {
      if (ended) return;
      ended = true;
      sink.onEnd(err);
    };
    this.connection(req.context).then(
      (c) => {
        if (closed) return;
        try {
          if (req.subprotocols?.length) {
            const ws = this.socket(c, req, sink, finish);
            writeFn = (d) =>
              ws.readyState === WebSocket.OPEN ? (ws.send(d, { binary: true }), true) : (early.push(d), true);
            ws.on('open', () => early.splice(0).forEach((d) => ws.send(d, { binary: true })));
            detach = () => ws.terminate();
          } else {
            const r = this.send(c, req);
            r.on('response', (res) => {
              sink.onHead(res.statusCode ?? 0, flatHeaders(res.headers));
              if (res.statusCode === 401) this.forget(req.context);
              res.on('data', (d: Buffer) => sink.onData(d));
              res.on('end', () => finish());
              res.on('close', () => finish());
              res.on('error', (e) => finish(e));
            });
            r.on('error', (e) => finish(this.unreachable(req, c, e)));
            r.end(req.body);
            detach = () => r.destroy();
          }
        } catch (e) {
          finish(e as Error);
        }
      },
      (e: Error) => finish(e),
    );
    return {
      write: (d) => (writeFn ? writeFn(d) : (early.push(d), true)),
      drained: () => Promise.resolve(),
      close: () => {
        closed = true;
        detach?.();
        finish();
      },
    };
  }

  private socket(
    c: Connection,
    req: ClusterStreamRequest,
    sink: StreamSink,
    finish: (e?: Error) => void,
  ): WebSocket {
    const o = this.options(c, { ...req, method: 'GET' });
    const url = `${c.url.protocol === 'https:' ? 'wss' : 'ws'}://${c.url.host}${o.path}`;
    const ws = new WebSocket(url, req.subprotocols, {
      headers: o.headers as Record<string, string>,
      ...(o.ca ? { ca: o.ca } : {}),
      ...(o.cert ? { cert: o.cert, key: o.key } : {}),
      ...(o.servername ? { servername: o.servername } : {}),
      rejectUnauthorized: o.rejectUnauthorized ?? true,
      maxPayload: 16 * 1024 * 1024,
    });
    ws.on('upgrade', (res) =>
      sink.onHead(101, { ...flatHeaders(res.headers), 'x-subprotocol': ws.protocol }),
    );
    ws.on('message', (d: Buffer) => sink.onData(d));
    // The API server refused the upgrade: its Status is the error worth showing.
    ws.on('unexpected-response', (_r, res) => {
      const chunks: Buffer[] = [];
      res.on('data', (d: Buffer) => chunks.push(d));
      res.on('end', () => {
        sink.onHead(res.statusCode ?? 0, flatHeaders(res.headers));
        sink.onData(Buffer.concat(chunks));
        finish();
      });
    });
    ws.on('close', () => finish());
    ws.on('error', (e) => finish(this.unreachable(req, c, e)));
    return ws;
  }
}
