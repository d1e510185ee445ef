/** Minimal HTTP(S) client for registries: keep-alive agents, redirects, Go-style connection error text. */
import http, { type IncomingHttpHeaders, type IncomingMessage } from 'node:http';
import type { Readable } from 'node:stream';

const httpAgent = new http.Agent({ keepAlive: true, maxSockets: 16 });

interface Client {
  mod: Pick<typeof http, 'request'>;
  agent: http.Agent;
}

// node:https brings TLS: ~6 MiB of resident memory and ~20 ms of startup (10-20x that under TCG) that an engine
// which never talks to an https registry should not pay; loaded on first use.
let httpsClient: Promise<Client> | undefined;
const clientFor = (url: URL): Promise<Client> | Client =>
  url.protocol !== 'https:'
    ? { mod: http, agent: httpAgent }
    : (httpsClient ??= import('node:https').then(({ default: https }) => ({
        mod: https,
        agent: new https.Agent({ keepAlive: true, maxSockets: 16 }),
      })));

export interface RequestOptions {
  method?: string;
  headers?: Record<string, string>;
  body?: Buffer | string | (() => Readable);
  signal?: AbortSignal;
  /** Follow redirects (GET/HEAD only). */
  follow?: boolean;
  timeoutMs?: number;
}

export class ConnectError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ConnectError';
  }
}

function verb(method: string): string {
  return method[0] + method.slice(1).toLowerCase();
}

/** dockerd-like error text: `Get "http://127.0.0.1:1/v2/": dial tcp 127.0.0.1:1: connect: connection refused`. */
function describe(method: string, url: URL, err: NodeJS.ErrnoException): string {
  const hostPort = `${url.hostname}:${url.port || (url.protocol === 'https:' ? 443 : 80)}`;
  const why: Record<string, string> = {
    ECONNREFUSED: `dial tcp ${hostPort}: connect: connection refused`,
    ENOTFOUND: `dial tcp: lookup ${url.hostname}: no such host`,
    EAI_AGAIN: `dial tcp: lookup ${url.hostname}: temporary failure in name resolution`,
    ETIMEDOUT: `dial tcp ${hostPort}: i/o timeout`,
    ECONNRESET: 'connection reset by peer',
    EHOSTUNREACH: `dial tcp ${hostPort}: connect: no route to host`,
  };
  if (url.protocol === 'https:' && PLAIN_HTTP.test(err.message)) return plainHttp(method, url);
  return `${verb(method)} "${url.href}": ${why[err.code ?? ''] ?? err.message}`;
}

/**
 * What OpenSSL reports (EPROTO) when a TLS hello is answered with plain HTTP, a registry without TLS: "wrong
 * version number", or for some first bytes "packet length too long" / "http request".
 */
const PLAIN_HTTP = /wrong version number|packet length too long|ssl3_get_record:http request/;

/** Go's words for it (what dockerd prints), then what to do about it. */
function plainHttp(method: string, url: URL): string {
  const domain = url.host;
  return (
    `${verb(method)} "${url.href}": http: server gave HTTP response to HTTPS client ` +
    `(the registry answered plain HTTP: add it as an insecure registry, --insecure-registry ${domain}; ` +
    `with Berth's VM: berth start --insecure-registry ${domain}, or Settings > Registries)`
  );
}

export async function request(url: URL, o: RequestOptions = {}, redirects = 0): Promise<IncomingMessage> {
  const method = o.method ?? 'GET';
  const { mod, agent } = await clientFor(url);
  return new Promise((resolve, reject) => {
    const headers: Record<string, string> = { 'User-Agent': 'berth/0.1 (linux)', ...o.headers };
    const body = o.body;
    if (typeof body === 'string' || Buffer.isBuffer(body))
      headers['Content-Length'] = String(Buffer.byteLength(body));
    const req = mod.request(
      url,
      { method, headers, agent, ...(o.signal ? { signal: o.signal } : {}) },
      (res) => {
        const loc = res.headers.location;
        if (
          o.follow !== false &&
          loc &&
          [301, 302, 303, 307, 308].includes(res.statusCode ?? 0) &&
          (method === 'GET' || method === 'HEAD')
        ) {
          res.resume();
          if (redirects >= 10)
            return reject(new Error(`${verb(method)} "${url.href}": stopped after 10 redirects`));
          const next = new URL(loc, url);
          const h = { ...o.headers };
          // Credentials never follow a redirect to another host (blob storage backends sign their own URLs).
          if (next.host !== url.host) delete h.Authorization;
          request(next, { ...o, headers: h }, redirects + 1).then(resolve, reject);
          return;
        }
        resolve(res);
      },
    );
    req.setTimeout(o.timeoutMs ?? 60_000, () =>
      req.destroy(Object.assign(new Error('i/o timeout'), { code: 'ETIMEDOUT' })),
    );
    req.on('error', (err: NodeJS.ErrnoException) => {
      if (err.name === 'AbortError') reject(err);
      else reject(new ConnectError(describe(method, url, err)));
    });
    if (typeof body === 'function')
      body()
        .on('error', (e) => req.destroy(e))
        .pipe(req);
    else req.end(body);
  });
}

export async function readAll(res: IncomingMessage, limit = 16 << 20): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let n = 0;
  for await (const c of res) {
    n += (c as Buffer).length;
    if (n > limit) {
      res.destroy();
      throw new Error(`response from registry is larger than ${limit} bytes`);
    }
    chunks.push(c as Buffer);
  }
  return Buffer.concat(chunks);
}

export function header(h: IncomingHttpHeaders, name: string): string | undefined {
  const v = h[name.toLowerCase()];
  return Array.isArray(v) ? v[0] : v;
}
