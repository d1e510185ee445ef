/**
 * Probe and hook executors as the kubelet's prober: exec (exit code 0), httpGet (2xx/3xx, with the kubelet's
 * User-Agent and the probe's headers and scheme), tcpSocket (a connection), grpc (grpc.health.v1 SERVING), sleep.
 * Network probes reach the pod IP from this host (the pod bridge is local to berthd and berth-kube).
 */
import http from 'node:http';
import http2 from 'node:http2';
import https from 'node:https';
import net from 'node:net';
import type { EngineClient } from './engine/client.js';
import { execCollect } from './exec.js';
import type { Container } from './types.js';

export type ProbeResult = { result: 'success' | 'failure'; output: string };

/** What probes and hooks have in common (V1Probe and V1LifecycleHandler). */
export interface Handler {
  exec?: { command?: string[] };
  httpGet?: {
    host?: string;
    path?: string;
    port: number | string;
    scheme?: string;
    httpHeaders?: { name: string; value: string }[];
  };
  tcpSocket?: { host?: string; port: number | string };
  grpc?: { port: number; service?: string };
  sleep?: { seconds: number };
}

export interface ProbeTarget {
  engine: EngineClient;
  containerId: string;
  container: Container;
  podIP: string;
}

/** A named port of the container, or the number itself. */
export function resolvePort(port: number | string, c: Container): number {
  if (typeof port === 'number') return port;
  if (/^\d+$/.test(port)) return Number(port);
  const p = c.ports?.find((x) => x.name === port);
  if (!p) throw new Error(`couldn't find port ${port} in ${c.name}`);
  return p.containerPort;
}

const fail = (output: string): ProbeResult => ({ result: 'failure', output });
const ok = (output = ''): ProbeResult => ({ result: 'success', output });

function httpProbe(
  h: NonNullable<Handler['httpGet']>,
  t: ProbeTarget,
  timeoutMs: number,
): Promise<ProbeResult> {
  const port = resolvePort(h.port, t.container);
  const scheme = (h.scheme ?? 'HTTP').toLowerCase();
  const host = h.host || t.podIP || '127.0.0.1';
  const headers: Record<string, string> = { 'User-Agent': 'kube-probe/1.32', Accept: '*/*' };
  for (const x of h.httpHeaders ?? []) headers[x.name] = x.value;
  const url = `${scheme}://${host.includes(':') ? `[${host}]` : host}:${port}${h.path?.startsWith('/') ? h.path : `/${h.path ?? ''}`}`;
  return new Promise((resolve) => {
    const mod = scheme === 'https' ? https : http;
    const req = mod.get(
      url,
      { headers, timeout: timeoutMs, ...(scheme === 'https' ? { rejectUnauthorized: false } : {}) },
      (res) => {
        let body = '';
        res.on('data', (d: Buffer) => {
          if (body.length < 10240) body += d.toString('utf8');
        });
        res.on('end', () => {
          const code = res.statusCode ?? 0;
          if (code >= 200 && code < 400) resolve(ok(body));
          else resolve(fail(`HTTP probe failed with statuscode: ${code}`));
        });
        res.on('error', (e) => resolve(fail(e.message)));
      },
    );
    req.on('timeout', () => {
      req.destroy();
      resolve(
        fail(`Get "${url}": context deadline exceeded (Client.Timeout exceeded while awaiting headers)`),
      );
    });
    req.on('error', (e) => resolve(fail(`Get "${url}": ${e.message}`)));
  });
}

function tcpProbe(
  h: NonNullable<Handler['tcpSocket']>,
  t: ProbeTarget,
  timeoutMs: number,
): Promise<ProbeResult> {
  const port = resolvePort(h.port, t.container);
  const host = h.host || t.podIP || '127.0.0.1';
  return new Promise((resolve) => {
    const s = net.connect({ host, port, timeout: timeoutMs });
    s.once('connect', () => {
      s.destroy();
      resolve(ok());
    });
    s.once('timeout', () => {
      s.destroy();
      resolve(fail(`dial tcp ${host}:${port}: i/o timeout`));
    });
    s.once('error', (e) => resolve(fail(`dial tcp ${host}:${port}: ${e.message}`)));
  });
}

/** grpc.health.v1.Health/Check with a hand-encoded HealthCheckRequest{service}; SERVING is status 1. */
function grpcProbe(g: NonNullable<Handler['grpc']>, t: ProbeTarget, timeoutMs: number): Promise<ProbeResult> {
  const host = t.podIP || '127.0.0.1';
  const target = `${host}:${g.port}`;
  return new Promise((resolve) => {
    let settled = false;
    const done = (r: ProbeResult) => {
      if (settled) return;
      settled = true;
      client.close();
      resolve(r);
    };
    const client = http2.connect(`http://${host.includes(':') ? `[${host}]` : host}:${g.port}`);
    client.on('error', (e: Error) =>
      done(fail(`failed to connect service "${target}" within ${timeoutMs / 1000}s: ${e.message}`)),
    );
    const timer = setTimeout(
      () => done(fail(`timeout: health rpc did not complete within ${timeoutMs / 1000}s`)),
      timeoutMs,
    );
    const svc = Buffer.from(g.service ?? '');
    const msg = svc.length ? Buffer.concat([Buffer.from([0x0a, svc.length]), svc]) : Buffer.alloc(0);
    const frame = Buffer.alloc(5 + msg.length);
    frame.writeUInt32BE(msg.length, 1);
    msg.copy(frame, 5);
    const req = client.request({
      ':method': 'POST',
      ':path': '/grpc.health.v1.Health/Check',
      'content-type': 'application/grpc',
      te: 'trailers',
      'user-agent': 'kube-probe/1.32',
    });
    const chunks: Buffer[] = [];
    let grpcStatus: string | undefined;
    let grpcMessage = '';
    req.on('response', (h) => {
      if (h['grpc-status'] !== undefined) grpcStatus = String(h['grpc-status']);
    });
    req.on('trailers', (h: http2.IncomingHttpHeaders) => {
      grpcStatus = String(h['grpc-status'] ?? grpcStatus);
      grpcMessage = String(h['grpc-message'] ?? '');
    });
    req.on('data', (d: Buffer) => chunks.push(d));
    req.on('end', () => {
      clearTimeout(timer);
      if (grpcStatus !== '0')
        return done(
          fail(`rpc error: code = ${grpcStatus ?? 'Unknown'} desc = ${decodeURIComponent(grpcMessage)}`),
        );
      const body = Buffer.concat(chunks).subarray(5);
      // HealthCheckResponse: field 1 varint status.
      const status = body.length >= 2 && body[0] === 0x08 ? body[1] : 0;
      if (status === 1) done(ok());
      else
        done(
          fail(
            `service unhealthy (responded with "${['UNKNOWN', 'SERVING', 'NOT_SERVING', 'SERVICE_UNKNOWN'][status ?? 0] ?? status}")`,
          ),
        );
    });
    req.on('error', (e: Error) => {
      clearTimeout(timer);
      done(fail(e.message));
    });
    req.end(frame);
  });
}

/** Runs one probe or hook handler once. */
export async function runHandler(h: Handler, t: ProbeTarget, timeoutSeconds = 1): Promise<ProbeResult> {
  const timeoutMs = Math.max(1, timeoutSeconds) * 1000;
  try {
    if (h.exec) {
      const r = await execCollect(t.engine, t.containerId, h.exec.command ?? [], timeoutMs);
      const output = r.stdout + r.stderr;
      if (r.timedOut)
        return fail(
          `command timed out: "${(h.exec.command ?? []).join(' ')}" timed out after ${timeoutSeconds}s`,
        );
      return r.exitCode === 0 ? ok(output) : fail(output || `command exited with ${r.exitCode}`);
    }
    if (h.httpGet) return await httpProbe(h.httpGet, t, timeoutMs);
    if (h.tcpSocket) return await tcpProbe(h.tcpSocket, t, timeoutMs);
    if (h.grpc) return await grpcProbe(h.grpc, t, timeoutMs);
    if (h.sleep) {
      await new Promise((r) => setTimeout(r, h.sleep!.seconds * 1000));
      return ok();
    }
  } catch (err) {
    return fail((err as Error).message);
  }
  return fail('missing probe handler');
}
