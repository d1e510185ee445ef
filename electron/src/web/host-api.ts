/**
 * Web mode's counterpart of the app's settings and engine IPC channels: when `berth serve` serves Berth's own
 * engine ($BERTH_HOME), the dashboard reads and changes settings and starts, stops and restarts the engine
 * through `/host/*`, as the app does over IPC. Serving an engine Berth does not manage, these answer 404.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { AppSettings } from '@berth/common';
import type { EngineControl } from '../engine/control.js';
import type { KubeOperations } from '../kube/operations.js';
import { handleHostKube, isKubePath } from './host-kube.js';

export const HOST_PREFIX = '/host/';

/** What the host API needs: the settings file (the CLI's and the app's) and the engine's lifecycle. */
export interface HostBackend {
  settings: {
    get(): Promise<AppSettings>;
    update(patch: unknown): Promise<AppSettings>;
    reset(): Promise<AppSettings>;
  };
  control: EngineControl;
  /** Berth's own cluster beside the engine (Settings → Kubernetes). */
  kube?: KubeOperations;
}

const MAX_BODY = 64 * 1024;

function send(res: ServerResponse, status: number, body: unknown, type = 'application/json'): void {
  const text = type === 'application/json' ? JSON.stringify(body) : String(body);
  res.writeHead(status, { 'Content-Type': type, 'Cache-Control': 'no-store' });
  res.end(text);
}

const fail = (res: ServerResponse, status: number, message: string) => send(res, status, { message });

async function readJson(req: IncomingMessage): Promise<unknown> {
  const chunks: Buffer[] = [];
  let n = 0;
  for await (const c of req) {
    n += (c as Buffer).length;
    if (n > MAX_BODY) throw new RangeError(`request body larger than ${MAX_BODY} bytes`);
    chunks.push(c as Buffer);
  }
  try {
    return JSON.parse(Buffer.concat(chunks).toString('utf8'));
  } catch (e) {
    throw new SyntaxError(`invalid JSON: ${(e as Error).message}`);
  }
}

export function isHostPath(url: string): boolean {
  return new URL(url, 'http://berth').pathname.startsWith(HOST_PREFIX);
}

export async function handleHost(
  backend: HostBackend | undefined,
  req: IncomingMessage,
  res: ServerResponse,
): Promise<void> {
  if (!backend)
    return fail(
      res,
      404,
      'this dashboard serves an engine Berth does not manage: its settings and lifecycle are where it runs',
    );
  const pathname = new URL(req.url ?? '/', 'http://berth').pathname;
  if (isKubePath(pathname))
    return handleHostKube(backend.kube, req, res, pathname).catch((e: unknown) =>
      fail(res, 500, (e as Error).message),
    );
  const route = `${req.method ?? 'GET'} ${pathname}`;
  const { settings, control } = backend;
  try {
    switch (route) {
      case 'GET /host/settings':
        return send(res, 200, await settings.get());
      case 'PATCH /host/settings': {
        let patch: unknown;
        try {
          patch = await readJson(req);
        } catch (e) {
          return fail(res, 400, (e as Error).message);
        }
        try {
          return send(res, 200, await settings.update(patch));
        } catch (e) {
          if (e instanceof TypeError || e instanceof RangeError) return fail(res, 400, e.message);
          throw e;
        }
      }
      case 'POST /host/settings/reset':
        return send(res, 200, await settings.reset());
      case 'GET /host/engine':
        return send(res, 200, await control.status());
      case 'POST /host/engine/start':
        return send(res, 200, await control.start());
      case 'POST /host/engine/stop':
        return send(res, 200, await control.stop());
      case 'POST /host/engine/restart':
        return send(res, 200, await control.restart());
      case 'GET /host/engine/logs':
        return send(res, 200, await control.logs(), 'text/plain; charset=utf-8');
    }
  } catch (e) {
    return fail(res, 500, (e as Error).message);
  }
  const known = ['/host/settings', '/host/settings/reset', '/host/engine', '/host/engine/logs'];
  const path = route.slice(route.indexOf(' ') + 1);
  if (known.includes(path) || /^\/host\/engine\/(start|stop|restart)$/.test(path))
    return fail(res, 405, `method ${req.method} not allowed on ${path}`);
  return fail(res, 404, `no such endpoint: ${path}`);
}
