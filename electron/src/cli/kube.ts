/** `berth kube enable|disable|status|kubeconfig|reset`: the single-node cluster beside the engine (native driver). */
import { promises as fsp } from 'node:fs';
import { createInterface } from 'node:readline/promises';
import { hasContext, mergeContext, readKubeconfigDoc } from '../cluster/kubeconfig-merge.js';
import { kubeconfigFiles, loadKubeconfig } from '../cluster/kubeconfig.js';
import { pingSocket } from '../engine/control.js';
import {
  anyFreePort,
  apiServerUrl,
  DEFAULT_PORT,
  kubeFiles,
  kubePid,
  loadKubeState,
  nodesReady,
  portFree,
  saveKubeState,
  startNativeKube,
  stopNativeKube,
} from '../kube/native.js';
import { loadVmConfig } from '../vm/config.js';
import { berthPaths, type BerthPaths } from '../vm/paths.js';
import { CliUsageError, type CliCommand } from './command.js';
import { flags, positiveInt, progress } from './vm-common.js';

const HELP = `Usage: berth kube COMMAND [OPTIONS]

A single-node Kubernetes (API 1.32) beside the engine; kubectl reaches it through the context "berth".

Commands:
  enable [--use] [--port N] [--pod-cidr CIDR]
              Start the cluster, wait for its node, and merge the context "berth" into your kubeconfig
              ($KUBECONFIG's first file, else ~/.kube/config; the old file is kept as <file>.berth-backup).
              The current context switches to "berth" only when there was none, or with --use.
              The API server listens on 127.0.0.1:6443 (--port, else another free port when 6443 is taken).
              Remembered: \`berth start\` brings the cluster back.
  disable     Stop the cluster and remove its pods' containers (the context stays in your kubeconfig)
  status [--json]
              Running or stopped, the API URL, whether the node is Ready, the kubeconfig path
  kubeconfig  Print the cluster's own admin kubeconfig
  reset [--force]
              Disable, then delete the cluster's state (objects, certificates); the engine's images stay
`;

const CONTEXT = 'berth';

function userKubeconfig(): string {
  return kubeconfigFiles()[0];
}

async function requireNativeEngine(p: BerthPaths): Promise<void> {
  const { driver } = await loadVmConfig(p);
  if (driver !== 'native')
    throw new Error(
      `berth kube runs with the native driver for now (this engine uses "${driver}"): \`berth start --driver native\``,
    );
  if (!(await pingSocket(p.socket)))
    throw new Error(
      'the engine is not running: start it with `berth start`, then run `berth kube enable` again',
    );
}

/** The cluster's context taken from berth-kube's admin kubeconfig into the user's. */
async function mergeInto(p: BerthPaths, use: boolean) {
  const { doc } = await readKubeconfigDoc(kubeFiles(p).kubeconfig);
  const own = doc as {
    clusters: { cluster: Record<string, unknown> }[];
    users: { user: Record<string, unknown> }[];
  };
  return mergeContext(
    userKubeconfig(),
    { name: CONTEXT, cluster: own.clusters[0].cluster, user: own.users[0].user },
    use,
  );
}

async function waitNodeReady(p: BerthPaths, timeoutMs: number): Promise<string> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const n = (await nodesReady(p).catch(() => [])).find((x) => x.ready);
    if (n) return n.name;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`the node did not become Ready in ${timeoutMs / 1000} s: \`berth logs kube\` shows why`);
}

/** Starts the cluster with the remembered options (also `berth start`'s way back). */
export async function enableKube(
  p: BerthPaths,
  o: { port?: number; podCIDR?: string; use: boolean },
  say: (s: string) => void,
): Promise<void> {
  await requireNativeEngine(p);
  const saved = await loadKubeState(p);
  const podCIDR = o.podCIDR ?? saved.podCIDR;
  const t0 = Date.now();
  if (!kubePid(p)) {
    let port = o.port ?? saved.port ?? DEFAULT_PORT;
    if (!(await portFree(port))) {
      if (o.port !== undefined || saved.port !== undefined)
        throw new Error(
          `port ${port} on 127.0.0.1 is taken by another program: free it, or choose another with \`berth kube enable --port N\``,
        );
      const other = await anyFreePort();
      say(`warning: port ${port} on 127.0.0.1 is taken; the API server listens on ${other} instead`);
      port = other;
    }
    say(`Starting the cluster (API server on 127.0.0.1:${port})`);
    await startNativeKube(p, { port, ...(podCIDR ? { podCIDR } : {}) });
    // Only an explicit port is kept: the default one is tried again next time.
    await saveKubeState(p, {
      enabled: true,
      ...((o.port ?? saved.port) ? { port: o.port ?? saved.port } : {}),
      ...(podCIDR ? { podCIDR } : {}),
    });
  } else {
    await saveKubeState(p, { ...saved, enabled: true });
  }
  say('Waiting for the node to be Ready');
  const node = await waitNodeReady(p, 60_000);
  const m = await mergeInto(p, o.use);
  say(
    `Node ${node} is Ready (${((Date.now() - t0) / 1000).toFixed(1)} s); context "${CONTEXT}" is in ${m.file}` +
      (m.current === CONTEXT
        ? ' (current)'
        : ` (current stays "${m.current}"; kubectl --context berth, or --use)`),
  );
}

interface KubeStatus {
  state: 'running' | 'stopped';
  enabled: boolean;
  pid?: number;
  apiServer?: string;
  nodes: { name: string; ready: boolean }[];
  kubeconfig: string;
  context: boolean;
  problem?: string;
}

async function status(p: BerthPaths): Promise<KubeStatus> {
  const pid = kubePid(p);
  const s: KubeStatus = {
    state: pid ? 'running' : 'stopped',
    enabled: (await loadKubeState(p)).enabled,
    nodes: [],
    kubeconfig: userKubeconfig(),
    context: await hasContext(userKubeconfig(), CONTEXT),
  };
  if (pid) {
    s.pid = pid;
    const url = await apiServerUrl(p);
    if (url) s.apiServer = url;
    try {
      s.nodes = await nodesReady(p);
    } catch (e) {
      s.problem = `the API server does not answer (${(e as Error).message}): \`berth logs kube\` shows why`;
    }
  } else if (s.enabled && !(await pingSocket(p.socket))) {
    s.problem = 'the engine is not running: `berth start` starts it and the cluster';
  }
  return s;
}

function describe(s: KubeStatus): string {
  const lines = [
    `Cluster:    ${s.state}${s.pid ? `, pid ${s.pid}` : ''}${s.enabled ? '' : ' (not enabled)'}`,
  ];
  if (s.apiServer) lines.push(`API server: ${s.apiServer}`);
  for (const n of s.nodes) lines.push(`Node:       ${n.name} ${n.ready ? 'Ready' : 'NotReady'}`);
  lines.push(
    `Kubeconfig: ${s.kubeconfig}${s.context ? ` (context "${CONTEXT}")` : ` (no context "${CONTEXT}")`}`,
  );
  if (s.problem) lines.push(`Problem:    ${s.problem}`);
  if (s.state === 'stopped') lines.push('Next:       `berth kube enable` starts it');
  return lines.join('\n') + '\n';
}

async function confirm(question: string, word: string): Promise<boolean> {
  if (!process.stdin.isTTY) throw new CliUsageError("this deletes the cluster's state; confirm with --force");
  const rl = createInterface({ input: process.stdin, output: process.stderr });
  const answer = await rl.question(question);
  rl.close();
  return answer.trim() === word;
}

export const command: CliCommand = {
  summary: 'Kubernetes beside the engine: enable, disable, status, kubeconfig, reset',
  async run(argv) {
    const [sub, ...rest] = argv;
    if (sub === undefined || sub === '--help' || sub === '-h' || sub === 'help') {
      process.stdout.write(HELP);
      return sub === undefined ? 2 : 0;
    }
    if (rest.includes('--help') || rest.includes('-h')) {
      process.stdout.write(HELP);
      return 0;
    }
    const p = berthPaths();
    switch (sub) {
      case 'enable': {
        const { values } = flags(rest, {
          use: { type: 'boolean' },
          port: { type: 'string' },
          'pod-cidr': { type: 'string' },
        });
        const port = positiveInt('--port', values.port);
        if (port !== undefined && port > 65535) throw new CliUsageError('--port must be 1-65535');
        const podCIDR = typeof values['pod-cidr'] === 'string' ? values['pod-cidr'] : undefined;
        if (podCIDR !== undefined && !/^\d{1,3}(\.\d{1,3}){3}\/\d{1,2}$/.test(podCIDR))
          throw new CliUsageError(`--pod-cidr wants an IPv4 CIDR such as 10.42.0.0/16, got "${podCIDR}"`);
        await enableKube(
          p,
          { use: values.use === true, ...(port ? { port } : {}), ...(podCIDR ? { podCIDR } : {}) },
          progress,
        );
        return 0;
      }
      case 'disable': {
        flags(rest, {});
        await disable(p);
        process.stderr.write(`The cluster is stopped; context "${CONTEXT}" stays in ${userKubeconfig()}.\n`);
        return 0;
      }
      case 'status': {
        const { values } = flags(rest, { json: { type: 'boolean' } });
        const s = await status(p);
        process.stdout.write(values.json ? JSON.stringify(s, null, 2) + '\n' : describe(s));
        return s.state === 'running' ? 0 : 3;
      }
      case 'kubeconfig': {
        flags(rest, {});
        try {
          await loadKubeconfig([kubeFiles(p).kubeconfig]);
          process.stdout.write(await fsp.readFile(kubeFiles(p).kubeconfig, 'utf8'));
        } catch {
          throw new Error('the cluster has no kubeconfig yet: `berth kube enable` creates it');
        }
        return 0;
      }
      case 'reset': {
        const { values } = flags(rest, { force: { type: 'boolean', short: 'f' } });
        if (
          !values.force &&
          !(await confirm('This deletes every object in the cluster. Type "reset" to confirm: ', 'reset'))
        ) {
          process.stderr.write('Not reset.\n');
          return 1;
        }
        await disable(p);
        await fsp.rm(kubeFiles(p).dir, { recursive: true, force: true });
        process.stderr.write('The cluster was reset; `berth kube enable` creates a new one.\n');
        return 0;
      }
      default:
        throw new CliUsageError(
          `unknown subcommand "${sub}": use enable, disable, status, kubeconfig or reset`,
        );
    }
  },
};

async function disable(p: BerthPaths): Promise<void> {
  const saved = await loadKubeState(p);
  if (kubePid(p)) progress('Stopping the cluster');
  const { removed } = await stopNativeKube(p);
  if (removed) progress(`Removed ${removed} pod container${removed === 1 ? '' : 's'}`);
  await saveKubeState(p, { ...saved, enabled: false });
}
