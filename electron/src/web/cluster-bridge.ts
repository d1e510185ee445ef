/**
 * The web bridge's cluster side, behind the same token as the engine: `GET /cluster/contexts` (names,
 * servers, namespaces: no credentials), `/cluster/ctx/<context>/<API path>` (one request, answered as the API
 * server answered, streamed), and `/ws/cluster` for watches, log follows and exec WebSockets (the protocol
 * of the engine's `/ws`: a JSON ClusterStreamRequest first, then head, data and end; binary messages from
 * the page go to the API server one message each).
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { clusterPathAllowed, type ClusterStreamRequest, type PortForwardRequest } from '@berth/common';
import type { ClusterAccess } from '../cluster/access.js';
import { PortForwardError, type PortForwards } from '../cluster/port-forward.js';
import { createWsRelay, type WsBridge } from './ws-relay.js';

const PREFIX = '/cluster/ctx/';

/** A Kubernetes Status, so the renderer reads bridge failures as it reads the API server's. */
export function statusBody(code: number, reason: string, message: string): string {
  return JSON.stringify({
    kind: 'Status',
    apiVersion: 'v1',
    metadata: {},
    status: 'Failure',
    message,
    reason,
    code,
  });
}

function fail(res: ServerResponse, code: number, reason: string, message: string): void {
  if (res.headersSent) return void res.destroy();
  res.writeHead(code, { 'Content-Type': 'application/json', 'Cache-Control': 'no-store' });
  res.end(statusBody(code, reason, message));
}

const FORWARDS = '/cluster/port-forwards';

export function isClusterUrl(url: string): boolean {
  return (
    url === '/cluster/contexts' ||
    url.startsWith(PREFIX) ||
    url === FORWARDS ||
    url.startsWith(`${FORWARDS}/`)
  );
}

function sendJson(res: ServerResponse, status: number, body: unknown): void {
  res.writeHead(status, { 'Content-Type': 'application/json', 'Cache-Control': 'no-store' });
  res.end(JSON.stringify(body));
}

/** `GET|POST /cluster/port-forwards` (list, start with a PortForwardRequest), `DELETE .../<id>` (stop). */
async function handlePortForwards(
  forwards: PortForwards,
  req: IncomingMessage,
  res: ServerResponse,
  url: string,
): Promise<void> {
  if (url === FORWARDS) {
    if (req.method === 'GET') return sendJson(res, 200, forwards.list());
    if (req.method !== 'POST') return fail(res, 405, 'MethodNotAllowed', `method ${req.method} not allowed`);
    let body: unknown;
    try {
      body = JSON.parse(await readBody(req, 64 * 1024));
    } catch (e) {
      return fail(res, 400, 'BadRequest', `a JSON port-forward request is expected: ${(e as Error).message}`);
    }
    if (typeof body !== 'object' || body === null)
      return fail(res, 400, 'BadRequest', 'a JSON port-forward request is expected');
    try {
      return sendJson(res, 201, await forwards.start(body as PortForwardRequest));
    } catch (e) {
      if (e instanceof PortForwardError) return fail(res, e.status, 'Invalid', e.message);
      return fail(res, 502, 'ServiceUnavailable', (e as Error).message);
    }
  }
  const id = decodeURIComponent(url.slice(FORWARDS.length + 1));
  if (req.method !== 'DELETE') return fail(res, 405, 'MethodNotAllowed', `method ${req.method} not allowed`);
  if (!forwards.stop(id)) return fail(res, 404, 'NotFound', `no port forward "${id}"`);
  res.writeHead(204, { 'Cache-Control': 'no-store' });
  res.end();
}

function readBody(req: IncomingMessage, limit: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let n = 0;
    req.on('data', (d: Buffer) => {
      n += d.length;
      if (n > limit) {
        reject(new Error(`Request entity too large: limit is ${limit}`));
        req.destroy();
      } else chunks.push(d);
    });
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    req.on('error', reject);
  });
}

export async function handleClusterHttp(
  access: ClusterAccess,
  forwards: PortForwards,
  req: IncomingMessage,
  res: ServerResponse,
): Promise<void> {
  const url = req.url ?? '/';
  if (url === FORWARDS || url.startsWith(`${FORWARDS}/`)) return handlePortForwards(forwards, req, res, url);
  if (url === '/cluster/contexts') {
    if (req.method !== 'GET') return fail(res, 405, 'MethodNotAllowed', `method ${req.method} not allowed`);
    const body = JSON.stringify(await access.contexts());
    res.writeHead(200, { 'Content-Type': 'application/json', 'Cache-Control': 'no-store' });
    return void res.end(body);
  }
  const rest = url.slice(PREFIX.length);
  const slash = rest.indexOf('/');
  if (slash <= 0) return fail(res, 404, 'NotFound', 'no context in the path');
  const context = decodeURIComponent(rest.slice(0, slash));
  const path = rest.slice(slash);
  if (!clusterPathAllowed(path)) return fail(res, 404, 'NotFound', `not a Kubernetes API path: ${path}`);
  let body: string | undefined;
  if (req.method !== 'GET' && req.method !== 'HEAD') {
    try {
      // kube-apiserver's own limit: anything larger it would refuse anyway.
      body = await readBody(req, 3 * 1024 * 1024);
    } catch (e) {
      return fail(res, 413, 'RequestEntityTooLarge', (e as Error).message);
    }
  }
  const headers: Record<string, string> = {};
  for (const h of ['accept', 'content-type']) {
    const v = req.headers[h];
    if (typeof v === 'string') headers[h] = v;
  }
  const stream = access.stream(
    { context, method: req.method ?? 'GET', path, headers, ...(body !== undefined ? { body } : {}) },
    {
      onHead: (status, h) => {
        const out: Record<string, string> = { 'Cache-Control': 'no-store' };
        for (const k of ['content-type', 'warning', 'audit-id']) if (h[k]) out[k] = h[k];
        res.writeHead(status, out);
        res.flushHeaders();
      },
      onData: (d) => res.write(d),
      onEnd: (err) => {
        if (err) fail(res, 502, 'ServiceUnavailable', err.message);
        else res.end();
      },
    },
  );
  res.on('close', () => stream.close());
}

export function parseClusterStreamRequest(text: string): ClusterStreamRequest {
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch {
    throw new Error('first message must be a JSON cluster stream request');
  }
  const o = v as Partial<ClusterStreamRequest>;
  if (typeof o !== 'object' || o === null || typeof o.context !== 'string' || typeof o.path !== 'string')
    throw new Error('cluster stream request needs context and path');
  if (!clusterPathAllowed(o.path)) throw new Error(`not a Kubernetes API path: ${o.path}`);
  const req: ClusterStreamRequest = {
    context: o.context,
    method: (o.method ?? 'GET').toUpperCase(),
    path: o.path,
  };
  if (o.headers && typeof o.headers === 'object')
    req.headers = Object.fromEntries(Object.entries(o.headers).filter(([, x]) => typeof x === 'string'));
  if (typeof o.body === 'string') req.body = o.body;
  if (Array.isArray(o.subprotocols)) req.subprotocols = o.subprotocols.filter((p) => typeof p === 'string');
  return req;
}

export function createClusterWsBridge(access: ClusterAccess): WsBridge {
  return createWsRelay(parseClusterStreamRequest, (req, sink) => access.stream(req, sink));
}
