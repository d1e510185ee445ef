/**
 * pods/proxy and services/proxy as kube-apiserver serves them: the id is `name`, `name:port` or
 * `scheme:name:port`; a pod is reached at its IP (the port named, else its first container port), a service at a
 * ready address of its Endpoints for the port asked. The path after `/proxy` goes to the backend (an empty one is
 * redirected to `/`), headers as Go's reverse proxy passes them plus X-Forwarded-Uri; redirects and HTML links
 * that point at the backend's root are rewritten under the proxy prefix (html-rewrite.ts); CORS headers are
 * dropped; WebSocket and other upgrades are tunnelled.
 */
import http, { type IncomingMessage, type ServerResponse } from 'node:http';
import https from 'node:https';
import net from 'node:net';
import { badRequest, internal, KubeError } from '../../errors.js';
import type { KubeObject } from '../../registry/types.js';
import type { ResourceRequest } from '../handlers/common.js';
import type { Connector } from '../handlers/dispatch.js';
import { writeError } from '../respond.js';
import { isUpgrade, takeUpgrade } from '../upgrade.js';
import { rewriteBody, rewriteLocation, type Rewriter } from './html-rewrite.js';

interface Target {
  scheme: 'http' | 'https';
  host: string;
  port: number;
}

const HOP_BY_HOP = [
  'connection',
  'proxy-connection',
  'keep-alive',
  'proxy-authenticate',
  'proxy-authorization',
  'te',
  'trailer',
  'transfer-encoding',
  'upgrade',
];
const CORS = [
  'access-control-allow-credentials',
  'access-control-allow-headers',
  'access-control-allow-methods',
  'access-control-allow-origin',
];

const unavailable = (message: string) => new KubeError('ServiceUnavailable', message);

/** utilnet.SplitSchemeNamePort. */
function splitId(id: string): { scheme: string; name: string; port: string } | undefined {
  const parts = id.split(':');
  let scheme = '';
  let name = '';
  let port = '';
  if (parts.length === 1) [name] = parts;
  else if (parts.length === 2) [name, port] = parts;
  else if (parts.length === 3) [scheme, name, port] = parts;
  else return undefined;
  if (!name || !['', 'http', 'https'].includes(scheme)) return undefined;
  return { scheme, name, port };
}

interface PodLike {
  spec?: { containers?: Array<{ ports?: Array<{ containerPort: number; name?: string }> }> };
  status?: { podIP?: string; podIPs?: Array<{ ip: string }> };
}

async function podTarget(r: ResourceRequest): Promise<Target> {
  const id = splitId(r.info.name);
  if (!id) throw badRequest(`invalid pod request "${r.info.name}"`);
  const pod = (await r.store.get(r.namespace, id.name)) as PodLike;
  const ports = (pod.spec?.containers ?? []).flatMap((c) => c.ports ?? []);
  let port = id.port;
  if (!port && ports[0]) port = String(ports[0].containerPort);
  // A named container port is resolved (kube-apiserver would dial the name literally and fail).
  if (port && !/^\d+$/.test(port)) {
    const named = ports.find((p) => p.name === port);
    if (!named) throw badRequest(`invalid pod request "${r.info.name}"`);
    port = String(named.containerPort);
  }
  const ip = pod.status?.podIPs?.[0]?.ip ?? pod.status?.podIP ?? '';
  if (!ip || net.isIP(ip) === 0 || ip.startsWith('127.') || ip === '::1' || ip.startsWith('0.'))
    throw badRequest('address not allowed');
  return { scheme: id.scheme === 'https' ? 'https' : 'http', host: ip, port: port ? Number(port) : 80 };
}

interface EndpointsLike {
  subsets?: Array<{
    addresses?: Array<{ ip: string; targetRef?: { kind?: string; name?: string; namespace?: string } }>;
    ports?: Array<{ name?: string; port: number }>;
  }>;
}

async function serviceTarget(r: ResourceRequest): Promise<Target> {
  const id = splitId(r.info.name);
  if (!id) throw badRequest(`invalid service request "${r.info.name}"`);
  let portName = id.port;
  if (/^\d+$/.test(portName)) {
    const svc = (await r.store.get(r.namespace, id.name)) as KubeObject & {
      spec?: { ports?: Array<{ name?: string; port: number }> };
    };
    const p = (svc.spec?.ports ?? []).find((x) => x.port === Number(portName));
    if (!p) throw unavailable(`no service port ${portName} found for service "${id.name}"`);
    portName = p.name ?? '';
  }
  const { registry, catalog } = r.env;
  const endpoints = registry.of(catalog.get('', 'v1', 'endpoints')!);
  const pods = registry.of(catalog.get('', 'v1', 'pods')!);
  const eps = (await endpoints.get(r.namespace, id.name)) as EndpointsLike;
  const subsets = eps.subsets ?? [];
  if (!subsets.length) throw unavailable(`no endpoints available for service "${id.name}"`);
  const seed = Math.floor(Math.random() * subsets.length);
  for (let i = 0; i < subsets.length; i++) {
    const ss = subsets[(seed + i) % subsets.length];
    const addrs = ss.addresses ?? [];
    const port = (ss.ports ?? []).find((p) => (p.name ?? '') === portName);
    if (!addrs.length || !port) continue;
    const start = Math.floor(Math.random() * addrs.length);
    for (let k = 0; k < addrs.length; k++) {
      const a = addrs[(start + k) % addrs.length];
      // isValidAddress: an address naming a pod must be that pod's IP.
      if (a.targetRef?.kind === 'Pod' && a.targetRef.name) {
        const pod = (await pods
          .get(a.targetRef.namespace ?? r.namespace, a.targetRef.name)
          .catch(() => undefined)) as PodLike | undefined;
        const ips = [pod?.status?.podIP, ...(pod?.status?.podIPs ?? []).map((x) => x.ip)];
        if (!ips.includes(a.ip)) continue;
      }
      return { scheme: id.scheme === 'https' ? 'https' : 'http', host: a.ip, port: port.port };
    }
  }
  throw unavailable(`no endpoints available for service "${r.info.name}"`);
}

/** The raw (still percent-encoded) path after `/proxy`, and the prefix before it. */
function splitPath(r: ResourceRequest): { prefix: string; rest: string } {
  const raw = r.url.pathname;
  const segs = raw.split('/');
  // ['', 'api', 'v1', 'namespaces', ns, resource, name, 'proxy', ...rest]
  const at = segs.indexOf('proxy', 7);
  const prefix = segs.slice(0, at + 1).join('/');
  return { prefix, rest: raw.slice(prefix.length) };
}

function headersFor(req: IncomingMessage, target: Target, forwardedUri: string, upgrade: boolean) {
  const out: http.OutgoingHttpHeaders = {};
  const connTokens = String(req.headers.connection ?? '')
    .toLowerCase()
    .split(',')
    .map((t) => t.trim());
  for (const [k, v] of Object.entries(req.headers)) {
    if (v === undefined || k === 'authorization') continue;
    if (!upgrade && (HOP_BY_HOP.includes(k) || connTokens.includes(k))) continue;
    out[k] = v;
  }
  const ip = req.socket.remoteAddress ?? '';
  const prior = req.headers['x-forwarded-for'];
  out['x-forwarded-for'] = prior ? `${String(prior)}, ${ip}` : ip;
  out['x-forwarded-uri'] = forwardedUri;
  if (!out.host) out.host = `${target.host}:${target.port}`;
  return out;
}

/** path.Join as Go cleans it, keeping a trailing slash. */
function joinPath(a: string, b: string): string {
  const parts: string[] = [];
  for (const seg of `${a}/${b}`.split('/')) {
    if (!seg || seg === '.') continue;
    if (seg === '..') parts.pop();
    else parts.push(seg);
  }
  return '/' + parts.join('/') + (b.endsWith('/') && parts.length ? '/' : '');
}

async function proxy(r: ResourceRequest, target: Target): Promise<void> {
  const { req, res } = r;
  const { prefix, rest } = splitPath(r);
  const method = req.method ?? 'GET';
  if (!rest && (method === 'GET' || method === 'HEAD') && !isUpgrade(req)) {
    res.writeHead(301, { Location: `${r.url.pathname}/${r.url.search}` });
    res.end();
    return;
  }
  const path = rest || '/';
  const rw: Rewriter = {
    prefix,
    backendHost: `${target.host}:${target.port}`,
    requestHost: req.headers.host ?? '',
  };
  const forwardedUri = joinPath(prefix, path);
  const upgrade = isUpgrade(req);
  const headers = headersFor(req, target, forwardedUri, upgrade);
  const mod = target.scheme === 'https' ? https : http;
  const out = mod.request({
    host: target.host,
    port: target.port,
    method,
    path: path + r.url.search,
    headers,
    agent: false,
    ...(target.scheme === 'https' ? { rejectUnauthorized: false } : {}),
  });
  await new Promise<void>((resolve) => {
    out.on('error', (e: NodeJS.ErrnoException) => {
      const text = `error trying to reach service: ${dialError(e, target)}`;
      if (upgrade && !isUpgrade(req)) return resolve(); // already switched: the tunnel's end says it all
      void writeError(res, unavailable(text)).then(resolve);
    });
    out.on('upgrade', (up, socket, head) => {
      const client = takeUpgrade(req);
      const lines = [`HTTP/1.1 ${up.statusCode} ${up.statusMessage}`];
      for (let i = 0; i < up.rawHeaders.length; i += 2)
        lines.push(`${up.rawHeaders[i]}: ${up.rawHeaders[i + 1]}`);
      client.socket.write(lines.join('\r\n') + '\r\n\r\n');
      if (head.length) client.socket.write(head);
      if (client.head.length) socket.write(client.head);
      socket.pipe(client.socket).pipe(socket);
      const end = () => {
        socket.destroy();
        client.socket.destroy();
      };
      socket.on('error', end);
      client.socket.on('error', end);
      socket.on('close', end);
      client.socket.on('close', end);
      resolve();
    });
    out.on('response', (up) => {
      void relay(up, res, rw).then(resolve, resolve);
    });
    if (upgrade) out.end();
    else req.pipe(out);
  });
}

async function relay(up: IncomingMessage, res: ServerResponse, rw: Rewriter): Promise<void> {
  const headers: http.OutgoingHttpHeaders = {};
  const connTokens = String(up.headers.connection ?? '')
    .toLowerCase()
    .split(',')
    .map((t) => t.trim());
  for (const [k, v] of Object.entries(up.headers)) {
    if (v === undefined || HOP_BY_HOP.includes(k) || CORS.includes(k) || connTokens.includes(k)) continue;
    headers[k] = v;
  }
  if (typeof headers.location === 'string') headers.location = rewriteLocation(headers.location, rw);
  const type = String(up.headers['content-type'] ?? '')
    .split(';')[0]
    .trim();
  if (type === 'text/html') {
    let body: Buffer | undefined;
    try {
      body = await rewriteBody(up, String(up.headers['content-encoding'] ?? ''), rw);
    } catch (e) {
      return writeError(res, internal(`error rewriting the backend's HTML: ${(e as Error).message}`));
    }
    if (body) {
      delete headers['content-length'];
      headers['content-length'] = body.length;
      res.writeHead(up.statusCode ?? 502, headers);
      res.end(body);
      return;
    }
  }
  res.writeHead(up.statusCode ?? 502, headers);
  res.flushHeaders();
  up.pipe(res);
  await new Promise<void>((resolve) => {
    res.on('close', () => {
      up.destroy();
      resolve();
    });
    up.on('error', () => res.destroy());
    res.on('finish', () => resolve());
  });
}

/** Go's net.Dial error text for the common failures. */
function dialError(e: NodeJS.ErrnoException, t: Target): string {
  const addr = `${t.host.includes(':') ? `[${t.host}]` : t.host}:${t.port}`;
  const why: Record<string, string> = {
    ECONNREFUSED: 'connect: connection refused',
    EHOSTUNREACH: 'connect: no route to host',
    ENETUNREACH: 'connect: network is unreachable',
    ETIMEDOUT: 'i/o timeout',
    ECONNRESET: 'read: connection reset by peer',
  };
  return e.code && why[e.code] ? `dial tcp ${addr}: ${why[e.code]}` : e.message;
}

export function podProxyConnector(): Connector {
  return async (r) => proxy(r, await podTarget(r));
}

export function serviceProxyConnector(): Connector {
  return async (r) => proxy(r, await serviceTarget(r));
}
