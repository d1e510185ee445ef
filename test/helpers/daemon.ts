/** Starts a real berthd on its own data root and socket for one test file; stops it afterwards. */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, promises as fsp } from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { BIN } from './paths.js';
import { run, type RunResult } from './exec.js';

export interface TestDaemon {
  dataRoot: string;
  socket: string;
  proc: ChildProcess;
  logs(): string;
  /** Runs the real docker CLI against this daemon. */
  docker(
    args: string[],
    opts?: { input?: string | Buffer; timeoutMs?: number; env?: NodeJS.ProcessEnv },
  ): Promise<RunResult>;
  /** Raw HTTP against the engine socket. */
  request(
    method: string,
    urlPath: string,
    body?: unknown,
    headers?: Record<string, string>,
  ): Promise<{ status: number; headers: http.IncomingHttpHeaders; body: string }>;
  stop(signal?: NodeJS.Signals): Promise<number | null>;
  /** Stops and deletes the data root. */
  destroy(): Promise<void>;
}

export interface DaemonOptions {
  args?: string[];
  dataRoot?: string;
  socket?: string;
}

export function httpOverSocket(
  socket: string,
  method: string,
  urlPath: string,
  body?: unknown,
  headers: Record<string, string> = {},
): Promise<{ status: number; headers: http.IncomingHttpHeaders; body: string }> {
  return new Promise((resolve, reject) => {
    const payload =
      body === undefined
        ? undefined
        : typeof body === 'string' || Buffer.isBuffer(body)
          ? body
          : JSON.stringify(body);
    const req = http.request(
      {
        socketPath: socket,
        method,
        path: urlPath,
        headers: {
          ...(payload !== undefined && !headers['Content-Type']
            ? { 'Content-Type': 'application/json' }
            : {}),
          ...headers,
        },
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (d: Buffer) => chunks.push(d));
        res.on('end', () =>
          resolve({
            status: res.statusCode ?? 0,
            headers: res.headers,
            body: Buffer.concat(chunks).toString('utf8'),
          }),
        );
        res.on('error', reject);
      },
    );
    req.on('error', reject);
    req.end(payload);
  });
}

async function waitForPing(socket: string, proc: ChildProcess, timeoutMs: number): Promise<void> {
  const deadline = performance.now() + timeoutMs;
  while (performance.now() < deadline) {
    if (proc.exitCode !== null) throw new Error(`berthd exited with ${proc.exitCode}`);
    try {
      const r = await httpOverSocket(socket, 'GET', '/_ping');
      // /_ping answers while berthd still loads its state; /info waits until it has (api/server.ts), so tests
      // that look at the kernel or the data root right away see a daemon that finished starting.
      if (r.status === 200) {
        const info = await httpOverSocket(socket, 'GET', '/info');
        if (info.status !== 200)
          throw new Error(`berthd did not start: GET /info answered ${info.status} ${info.body}`);
        return;
      }
    } catch {
      /* not up yet */
    }
    await new Promise((r) => setTimeout(r, 25));
  }
  throw new Error('berthd did not answer /_ping in time');
}

export async function startTestDaemon(opts: DaemonOptions = {}): Promise<TestDaemon> {
  const dataRoot = opts.dataRoot ?? mkdtempSync(path.join(os.tmpdir(), 'berth-data-'));
  const socket = opts.socket ?? path.join(dataRoot + '-run', 'docker.sock');
  let logText = '';
  const proc = spawn(
    path.join(BIN, 'berthd'),
    ['--data-root', dataRoot, '-H', `unix://${socket}`, '--log-level', 'debug', ...(opts.args ?? [])],
    {
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  proc.stdout.on('data', (d: Buffer) => (logText += d.toString()));
  proc.stderr.on('data', (d: Buffer) => (logText += d.toString()));
  try {
    await waitForPing(socket, proc, 15_000);
  } catch (err) {
    proc.kill('SIGKILL');
    throw new Error(`${(err as Error).message}\n${logText}`);
  }
  const exited = new Promise<number | null>((resolve) => proc.once('exit', (code) => resolve(code)));
  const d: TestDaemon = {
    dataRoot,
    socket,
    proc,
    logs: () => logText,
    docker: (args, o = {}) =>
      run('docker', ['-H', `unix://${socket}`, ...args], {
        env: { ...process.env, DOCKER_CONFIG: path.join(dataRoot + '-run', 'docker-config'), ...o.env },
        ...(o.input !== undefined ? { input: o.input } : {}),
        ...(o.timeoutMs !== undefined ? { timeoutMs: o.timeoutMs } : {}),
      }),
    request: (m, p, b, h) => httpOverSocket(socket, m, p, b, h),
    async stop(signal = 'SIGTERM') {
      if (proc.exitCode !== null || proc.signalCode !== null) return proc.exitCode;
      proc.kill(signal);
      const t = setTimeout(() => proc.kill('SIGKILL'), 20_000);
      const code = await exited;
      clearTimeout(t);
      return code;
    },
    async destroy() {
      await d.stop();
      await fsp.rm(dataRoot, { recursive: true, force: true });
      await fsp.rm(dataRoot + '-run', { recursive: true, force: true });
    },
  };
  return d;
}
