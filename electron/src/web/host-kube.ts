/**
 * `/host/kube/*` of `berth serve` (Berth's own engine): the cluster's status, and enable, disable and reset as
 * actions the page follows (POST answers 202 with the action; GET /host/kube/action reads its steps).
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { kubeEnableProblem, type KubeActionKind, type KubeEnableOptions } from '@berth/common';
import { KubeBusyError, type KubeOperations } from '../kube/operations.js';

const ACTIONS: Record<string, KubeActionKind> = {
  '/host/kube/enable': 'enable',
  '/host/kube/disable': 'disable',
  '/host/kube/reset': 'reset',
};
const MAX_BODY = 16 * 1024;

function send(res: ServerResponse, status: number, body: unknown): void {
  res.writeHead(status, { 'Content-Type': 'application/json', 'Cache-Control': 'no-store' });
  res.end(JSON.stringify(body));
}

async function readText(req: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  let n = 0;
  for await (const c of req) {
    n += (c as Buffer).length;
    if (n > MAX_BODY) throw new RangeError(`request body larger than ${MAX_BODY} bytes`);
    chunks.push(c as Buffer);
  }
  return Buffer.concat(chunks).toString('utf8');
}

export function isKubePath(pathname: string): boolean {
  return pathname === '/host/kube' || pathname.startsWith('/host/kube/');
}

export async function handleHostKube(
  kube: KubeOperations | undefined,
  req: IncomingMessage,
  res: ServerResponse,
  pathname: string,
): Promise<void> {
  if (!kube) return send(res, 404, { message: "this engine's host runs no cluster Berth manages" });
  const method = req.method ?? 'GET';
  if (pathname === '/host/kube' || pathname === '/host/kube/action') {
    if (method !== 'GET') return send(res, 405, { message: `method ${method} not allowed on ${pathname}` });
    return send(res, 200, pathname === '/host/kube' ? await kube.status() : kube.action());
  }
  const kind = ACTIONS[pathname];
  if (!kind) return send(res, 404, { message: `no such endpoint: ${pathname}` });
  if (method !== 'POST') return send(res, 405, { message: `method ${method} not allowed on ${pathname}` });
  let opts: KubeEnableOptions = {};
  try {
    const text = (await readText(req)).trim();
    if (text) {
      if (kind !== 'enable') return send(res, 400, { message: `${kind} takes no options` });
      const v = JSON.parse(text) as unknown;
      const problem = kubeEnableProblem(v);
      if (problem) return send(res, 400, { message: problem });
      opts = v as KubeEnableOptions;
    }
  } catch (e) {
    if (e instanceof RangeError) return send(res, 413, { message: e.message });
    return send(res, 400, { message: `invalid JSON: ${(e as Error).message}` });
  }
  try {
    return send(res, 202, kube.start(kind, opts));
  } catch (e) {
    if (e instanceof KubeBusyError) return send(res, 409, { message: e.message });
    throw e;
  }
}
