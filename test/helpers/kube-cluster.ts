/**
 * berth-kube with its kubelet over a test berthd (test/helpers/kube.ts's process, plus --engine and the node's
 * flags): its own data dir, port, node name, pod network and subnet; the real kubectl 1.32; SIGKILL and restart on
 * the same data dir.
 */
import { existsSync, mkdtempSync, promises as fsp } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { RunResult } from './exec.js';
import { KUBECTL_132, startKube, type TestKube } from './kube.js';

export const KUBECTL = KUBECTL_132;
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
  current(): TestKube;
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
  const dir = mkdtempSync(path.join(os.tmpdir(), 'berth-kube-'));
  const args = [
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
    // Ingress on free ports, not the host's 80/443 (a user's cluster may want them); a test's own flags win.
    '--ingress-http',
    '127.0.0.1:0',
    '--ingress-https',
    '127.0.0.1:0',
    ...(o.extraArgs ?? []),
  ];
  let kube: TestKube | undefined;
  const kubectl: KubeCluster['kubectl'] = (a, x = {}) => {
    if (!kube) throw new Error('berth-kube is not running');
    return kube.kubectl(a, x);
  };
  const c: KubeCluster = {
    dataDir: dir,
    kubeconfig: path.join(dir, 'kubeconfig'),
    current: () => kube!,
    logs: () => kube?.logs() ?? '',
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
      // startKube's --listen 127.0.0.1:0 comes first; ours, later on the command line, wins.
      kube = await startKube({ args, dir });
      const k = kube;
      const deadline = performance.now() + 30_000;
      while (!k.logs().includes('"msg":"kubelet started"')) {
        if (k.proc.exitCode !== null) throw new Error(`berth-kube exited ${k.proc.exitCode}:\n${k.logs()}`);
        if (performance.now() > deadline)
          throw new Error(`the kubelet did not start in 30 s:\n${k.logs().slice(-4000)}`);
        await new Promise((r) => setTimeout(r, 50));
      }
    },
    async kill9() {
      await kube?.stop('SIGKILL');
    },
    async stop() {
      await kube?.stop('SIGTERM');
    },
    async destroy() {
      await c.stop();
      await fsp.rm(dir, { recursive: true, force: true });
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
  const deadline = performance.now() + ms;
  let last: unknown;
  while (performance.now() < deadline) {
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
