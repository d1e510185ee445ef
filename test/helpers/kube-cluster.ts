/**
 * A real berth-kube process (bin/berth-kube) with its kubelet over a test berthd: its own data dir, port, node name,
 * pod network and subnet; the real kubectl 1.32 against it (a fresh discovery cache per cluster); SIGKILL and
 * restart on the same data dir; stopped and deleted at the end.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, promises as fsp } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { BIN } from './paths.js';
import { run, type RunResult } from './exec.js';

export const KUBECTL = '/usr/lib/google-cloud-sdk/bin/kubectl.1.32';
export const haveKubectl = (): boolean => existsSync(KUBECTL);

export interface KubeClusterOptions {
  engineSocket: string;
  port: number;
  nodeName: string;
  podCIDR: string;
  podNetwork: string;
  extraArgs?: string[];
}

export interface KubeCluster {
  dataDir: string;
  kubeconfig: string;
  proc(): ChildProcess;
  logs(): string;
  kubectl(args: string[], o?: { input?: string; timeoutMs?: number }): Promise<RunResult>;
  /** kubectl that must succeed: its stdout. */
  k(args: string[], o?: { input?: string; timeoutMs?: number }): Promise<string>;
  /** kubectl … -o json, parsed. */
  json<T = Record<string, unknown>>(args: string[]): Promise<T>;
  kill9(): Promise<void>;
  start(): Promise<void>;
  stop(): Promise<void>;
  destroy(): Promise<void>;
}

export async function startKubeCluster(o: KubeClusterOptions): Promise<KubeCluster> {
  const dataDir = mkdtempSync(path.join(os.tmpdir(), 'berth-kube-'));
  const kubeconfig = path.join(dataDir, 'kubeconfig');
  const home = path.join(dataDir, 'home');
  await fsp.mkdir(home, { recursive: true });
  let proc: ChildProcess | undefined;
  let logText = '';
  const args = [
    '--data-dir',
    path.join(dataDir, 'data'),
    '--kubeconfig',
    kubeconfig,
    '--listen',
    `127.0.0.1:${o.port}`,
    '--engine',
    `unix://${o.engineSocket}`,
    '--node-name',
    o.nodeName,
    '--node-ip',
    '127.0.0.1',
    '--pod-cidr',
    o.podCIDR,
    '--pod-network',
    o.podNetwork,
    '--log-level',
    'debug',
    ...(o.extraArgs ?? []),
  ];
  const kubectl = (a: string[], x: { input?: string; timeoutMs?: number } = {}) =>
    run(KUBECTL, ['--kubeconfig', kubeconfig, '--cache-dir', path.join(home, 'cache'), ...a], {
      env: { ...process.env, HOME: home },
      ...(x.input !== undefined ? { input: x.input } : {}),
      timeoutMs: x.timeoutMs ?? 60_000,
    });
  const c: KubeCluster = {
    dataDir,
    kubeconfig,
    proc: () => proc!,
    logs: () => logText,
    kubectl,
    async k(a, x) {
      const r = await kubectl(a, x);
      if (r.code !== 0) throw new Error(`kubectl ${a.join(' ')} failed (${r.code}): ${r.stderr}`);
      return r.stdout;
    },
    async json<T>(a: string[]) {
      return JSON.parse(await c.k([...a, '-o', 'json'])) as T;
    },
    async start() {
      const p = spawn(path.join(BIN, 'berth-kube'), args, { stdio: ['ignore', 'ignore', 'pipe'] });
      proc = p;
      p.stderr?.on('data', (d: Buffer) => {
        logText = (logText + d.toString()).slice(-2_000_000);
      });
      const deadline = Date.now() + 30_000;
      while (Date.now() < deadline) {
        if (p.exitCode !== null) throw new Error(`berth-kube exited ${p.exitCode}:\n${logText.slice(-4000)}`);
        if (logText.includes('"msg":"kubelet started"') && existsSync(kubeconfig)) return;
        await new Promise((r) => setTimeout(r, 50));
      }
      throw new Error(`berth-kube did not start in 30 s:\n${logText.slice(-4000)}`);
    },
    async kill9() {
      const p = proc;
      if (!p || p.exitCode !== null || p.signalCode !== null) return;
      const gone = new Promise((r) => p.once('exit', r));
      p.kill('SIGKILL');
      await gone;
      // The kubelet started by the next start() must not see the old one's log line.
      logText = '';
    },
    async stop() {
      const p = proc;
      if (!p || p.exitCode !== null || p.signalCode !== null) return;
      const gone = new Promise((r) => p.once('exit', r));
      p.kill('SIGTERM');
      const t = setTimeout(() => p.kill('SIGKILL'), 15_000);
      await gone;
      clearTimeout(t);
      logText = '';
    },
    async destroy() {
      await c.stop();
      await fsp.rm(dataDir, { recursive: true, force: true });
    },
  };
  await c.start();
  return c;
}

/** Polls `fn` until it yields a truthy value; the last error explains a timeout. */
export async function until<T>(
  what: string,
  fn: () => Promise<T | undefined | false | null>,
  ms = 30_000,
): Promise<T> {
  const deadline = Date.now() + ms;
  let last: unknown;
  while (Date.now() < deadline) {
    try {
      const v = await fn();
      if (v) return v;
    } catch (err) {
      last = err;
    }
    await new Promise((r) => setTimeout(r, 150));
  }
  throw new Error(`timed out waiting for ${what}${last ? `: ${(last as Error).message}` : ''}`);
}
