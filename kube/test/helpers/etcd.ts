/**
 * A real etcd (Debian's etcd-server) for a test file: its own data dir and ports, started in the foreground of
 * a child process, killable with SIGKILL and restartable on the same data, stopped and deleted at the end.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, promises as fsp } from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';

export const ETCD_BIN = '/usr/bin/etcd';
export const haveEtcd = (): boolean => existsSync(ETCD_BIN);

export interface EtcdServer {
  endpoint: string;
  dataDir: string;
  /** SIGKILL, then start again on the same data and wait until it serves. */
  crashAndRestart(): Promise<void>;
  stop(): Promise<void>;
}

function healthy(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const req = http.request({ host: '127.0.0.1', port, path: '/v3/kv/range', method: 'POST' }, (res) => {
      res.resume();
      resolve(res.statusCode === 200);
    });
    req.on('error', () => resolve(false));
    req.end(JSON.stringify({ key: Buffer.from('health').toString('base64') }));
  });
}

export async function startEtcd(opts: {
  clientPort: number;
  peerPort: number;
  progressNotifyMs?: number;
}): Promise<EtcdServer> {
  const dataDir = await fsp.mkdtemp(path.join(os.tmpdir(), 'berth-etcd-'));
  const client = `http://127.0.0.1:${opts.clientPort}`;
  const peer = `http://127.0.0.1:${opts.peerPort}`;
  const args = [
    '--name=berth-test',
    `--data-dir=${path.join(dataDir, 'data')}`,
    `--listen-client-urls=${client}`,
    `--advertise-client-urls=${client}`,
    `--listen-peer-urls=${peer}`,
    `--initial-advertise-peer-urls=${peer}`,
    `--initial-cluster=berth-test=${peer}`,
    `--experimental-watch-progress-notify-interval=${opts.progressNotifyMs ?? 500}ms`,
    '--log-level=error',
  ];
  if (await healthy(opts.clientPort)) {
    throw new Error(`something already serves etcd on ${client} (a stale test etcd?); refusing to share it`);
  }
  let proc: ChildProcess | undefined;
  let log = '';
  const start = async (): Promise<void> => {
    const p = spawn(ETCD_BIN, args, { stdio: ['ignore', 'ignore', 'pipe'] });
    proc = p;
    p.stderr?.on('data', (d: Buffer) => (log = (log + d.toString()).slice(-4000)));
    const deadline = performance.now() + 20_000;
    while (performance.now() < deadline) {
      if (p.exitCode !== null) throw new Error(`etcd exited ${p.exitCode}: ${log}`);
      if (await healthy(opts.clientPort)) return;
      await new Promise((r) => setTimeout(r, 50));
    }
    throw new Error(`etcd did not serve on ${client} within 20 s: ${log}`);
  };
  const kill = async (signal: NodeJS.Signals): Promise<void> => {
    const p = proc;
    if (!p || p.exitCode !== null || p.signalCode !== null) return;
    const exited = new Promise((r) => p.once('exit', r));
    p.kill(signal);
    await exited;
  };
  await start();
  return {
    endpoint: client,
    dataDir,
    async crashAndRestart() {
      await kill('SIGKILL');
      await start();
    },
    async stop() {
      await kill('SIGTERM');
      await fsp.rm(dataDir, { recursive: true, force: true });
    },
  };
}
