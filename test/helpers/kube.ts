/**
 * Starts a real berth-kube (bin/berth-kube) on its own data dir and a free port for one test file, with a
 * kubectl bound to its kubeconfig and a fresh cache dir and HOME; stops it afterwards.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, promises as fsp, readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { BIN, REPO } from './paths.js';
import { run, type RunResult } from './exec.js';

export const KUBECTL_132 = '/usr/lib/google-cloud-sdk/bin/kubectl.1.32';
export const KUBECTL_DISPATCHER = '/usr/bin/kubectl';

export interface TestKube {
  dir: string;
  dataDir: string;
  kubeconfig: string;
  server: string;
  proc: ChildProcess;
  logs(): string;
  kubectl(
    args: string[],
    opts?: { input?: string; timeoutMs?: number; kubeconfig?: string; binary?: string },
  ): Promise<RunResult>;
  file(name: string, text: string): Promise<string>;
  stop(signal?: NodeJS.Signals): Promise<number | null>;
  destroy(): Promise<void>;
}

/** The embedded store when the store workspace provides one, else a throwaway memory store. */
function defaultDatastore(): string[] {
  return existsSync(path.join(REPO, 'kube/dist/src/store/index.js'))
    ? []
    : ['--datastore-endpoint', 'memory://'];
}

export async function startKube(opts: { args?: string[]; dir?: string } = {}): Promise<TestKube> {
  const dir = opts.dir ?? mkdtempSync(path.join(os.tmpdir(), 'berth-kube-'));
  const dataDir = path.join(dir, 'data');
  const kubeconfig = path.join(dir, 'kubeconfig');
  await fsp.rm(kubeconfig, { force: true });
  let out = '';
  const proc = spawn(
    path.join(BIN, 'berth-kube'),
    [
      '--data-dir',
      dataDir,
      '--kubeconfig',
      kubeconfig,
      '--listen',
      '127.0.0.1:0',
      ...defaultDatastore(),
      ...(opts.args ?? []),
    ],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  proc.stdout.on('data', (d: Buffer) => (out += d.toString()));
  proc.stderr.on('data', (d: Buffer) => (out += d.toString()));
  const deadline = performance.now() + 20_000;
  while (!out.includes('"API server ready"')) {
    if (proc.exitCode !== null) throw new Error(`berth-kube exited ${proc.exitCode}:\n${out}`);
    if (performance.now() > deadline) throw new Error(`berth-kube did not get ready:\n${out}`);
    await new Promise((r) => setTimeout(r, 20));
  }
  const server = /server: (\S+)/.exec(readFileSync(kubeconfig, 'utf8'))![1];
  const kubectl: TestKube['kubectl'] = (args, o = {}) =>
    run(
      o.binary ?? KUBECTL_132,
      ['--kubeconfig', o.kubeconfig ?? kubeconfig, '--cache-dir', path.join(dir, 'cache'), ...args],
      {
        env: { ...process.env, HOME: dir, KUBECONFIG: '' },
        ...(o.input !== undefined ? { input: o.input } : {}),
        timeoutMs: o.timeoutMs ?? 60_000,
      },
    );
  const stop = async (signal: NodeJS.Signals = 'SIGTERM') => {
    if (proc.exitCode !== null) return proc.exitCode;
    const done = new Promise<number | null>((resolve) => proc.once('exit', (code) => resolve(code)));
    proc.kill(signal);
    return done;
  };
  return {
    dir,
    dataDir,
    kubeconfig,
    server,
    proc,
    logs: () => out,
    kubectl,
    file: async (name, text) => {
      const f = path.join(dir, name);
      await fsp.writeFile(f, text);
      return f;
    },
    stop,
    destroy: async () => {
      await stop();
      await fsp.rm(dir, { recursive: true, force: true });
    },
  };
}
