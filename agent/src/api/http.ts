/** Request/response helpers shared by every route module. */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { badParameter } from './errors.js';
import type { Filters } from '../util/filters.js';

export { checkFilters, matchLabels, type Filters } from '../util/filters.js';

export const MAX_JSON_BODY = 8 * 1024 * 1024;

export function sendJson(res: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(text) });
  res.end(text);
}

export function sendNoContent(res: ServerResponse, status = 204): void {
  res.writeHead(status);
  res.end();
}

export async function readBody(req: IncomingMessage, limit = MAX_JSON_BODY): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    if (size > limit) throw badParameter(`request body is larger than ${limit} bytes`);
    chunks.push(chunk as Buffer);
  }
  return Buffer.concat(chunks);
}

/** Parses a JSON request body. An empty body yields `fallback` (Docker clients often send none). */
export async function readJsonBody<T>(req: IncomingMessage, fallback: T): Promise<T> {
  const buf = await readBody(req);
  if (buf.length === 0) return fallback;
  try {
    return JSON.parse(buf.toString('utf8')) as T;
  } catch (err) {
    throw badParameter(`invalid JSON in request body: ${(err as Error).message}`);
  }
}

export function queryBool(q: URLSearchParams, name: string, dflt = false): boolean {
  const v = q.get(name);
  if (v === null) return dflt;
  if (v === '') return true;
  const l = v.toLowerCase();
  if (l === '1' || l === 'true' || l === 'yes') return true;
  if (l === '0' || l === 'false' || l === 'no') return false;
  throw badParameter(`invalid boolean value for ${name}: ${v}`);
}

export function queryInt(q: URLSearchParams, name: string, dflt?: number): number | undefined {
  const v = q.get(name);
  if (v === null || v === '') return dflt;
  const n = Number(v);
  if (!Number.isFinite(n) || !Number.isInteger(n))
    throw badParameter(`invalid integer value for ${name}: ${v}`);
  return n;
}

/**
 * Docker filters: `{"label":["a=b"]}`; older clients send `{"label":{"a=b":true}}`. Unknown keys are
 * rejected by `checkFilters` as dockerd does.
 */
export function parseFilters(q: URLSearchParams): Filters {
  const raw = q.get('filters');
  const out: Filters = new Map();
  if (!raw) return out;
  let v: unknown;
  try {
    v = JSON.parse(raw);
  } catch {
    throw badParameter(`invalid filter: ${raw}`);
  }
  if (typeof v !== 'object' || v === null || Array.isArray(v)) throw badParameter(`invalid filter: ${raw}`);
  for (const [k, val] of Object.entries(v as Record<string, unknown>)) {
    if (Array.isArray(val)) out.set(k, val.map(String));
    else if (typeof val === 'object' && val !== null)
      out.set(
        k,
        Object.keys(val).filter((x) => (val as Record<string, unknown>)[x]),
      );
    else throw badParameter(`invalid filter '${k}'`);
  }
  return out;
}

/** A newline-delimited JSON stream (pull/push/build progress, events). */
export interface JsonStream {
  write(obj: unknown): void;
  end(): void;
  readonly closed: boolean;
  readonly signal: AbortSignal;
}

export function openJsonStream(req: IncomingMessage, res: ServerResponse, status = 200): JsonStream {
  const ac = new AbortController();
  let closed = false;
  res.on('close', () => {
    closed = true;
    ac.abort();
  });
  void req;
  res.writeHead(status, { 'Content-Type': 'application/json' });
  res.flushHeaders();
  return {
    write(obj) {
      if (!closed) res.write(JSON.stringify(obj) + '\r\n');
    },
    end() {
      if (!closed) res.end();
    },
    get closed() {
      return closed;
    },
    signal: ac.signal,
  };
}
