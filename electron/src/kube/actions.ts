/**
 * One function per action on Berth's cluster, called alike by `berth kube`, `berth start|restart`, the app
 * (tray, IPC) and `berth serve`'s /host/*: enable, disable, reset, status. Long ones report each step through
 * `progress`; failures are Errors whose message says what to do.
 */
import { promises as fsp } from 'node:fs';
import type {
  KubeEnableOptions,
  KubeEnableResult,
  KubeProblem,
  KubeProgress,
  BerthKubeStatus,
} from '@berth/common';
import { hasContext, mergeContext, readKubeconfigDoc } from '../cluster/kubeconfig-merge.js';
import { kubeconfigFiles, loadKubeconfig } from '../cluster/kubeconfig.js';
import { pingSocket } from '../engine/control.js';
import { loadVmConfig } from '../vm/config.js';
import type { BerthPaths } from '../vm/paths.js';
import { ENGINE_DOWN, exitedProblem, kubeconfigProblem, portHolder, portTakenProblem } from './checks.js';
import { anyFreePort, apiServerUrl, DEFAULT_PORT, kubeFiles, nodesReady, portFree } from './native.js';
import { openRunner, type KubeRunner } from './runner.js';
import { loadKubeSettings, saveKubeSettings } from './settings.js';

/** The context merged into the user's kubeconfig. */
export const CONTEXT = 'berth';

/** $KUBECONFIG's first file, else ~/.kube/config. */
export function userKubeconfig(): string {
  return kubeconfigFiles()[0];
}

const silent: KubeProgress = () => {};

async function requireEngine(p: BerthPaths): Promise<void> {
  if (!(await pingSocket(p.socket)))
    throw new Error(
      'the engine is not running: start it with `berth start`, then run `berth kube enable` again',
    );
}

/** The cluster's context taken from the host's admin kubeconfig into the user's. */
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

async function waitNodeReady(p: BerthPaths, r: KubeRunner, timeoutMs: number): Promise<string> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const n = (await nodesReady(p).catch(() => [])).find((x) => x.ready);
    if (n) return n.name;
    await new Promise((res) => setTimeout(res, 100));
  }
  const log = await r.logTail(10);
  throw new Error(
    `the node did not become Ready in ${timeoutMs / 1000} s: \`berth logs kube\` shows why${log ? `\n${log}` : ''}`,
  );
}

/** The API port to listen on: the chosen one (taken: an error), else 6443, else any free one. */
async function choosePort(explicit: number | undefined, progress: KubeProgress): Promise<number> {
  const port = explicit ?? DEFAULT_PORT;
  if (await portFree(port)) return port;
  const problem = portTakenProblem(port, await portHolder(port), explicit !== undefined);
  if (explicit !== undefined) throw new Error(problem.message);
  const other = await anyFreePort();
  progress(`warning: ${problem.message.split(':')[0]}; the API server listens on ${other} instead`);
  return other;
}

/**
 * Starts the cluster (when it does not run) with `o` or the remembered options, waits for its node, merges
 * the context "berth" into the user's kubeconfig, and remembers it as enabled (`berth start` brings it back).
 */
export async function enableKube(
  p: BerthPaths,
  o: KubeEnableOptions = {},
  progress: KubeProgress = silent,
): Promise<KubeEnableResult> {
  const t0 = Date.now();
  const runner = await openRunner(p);
  await requireEngine(p);
  const saved = await loadKubeSettings(p);
  const explicitPort = o.port ?? (saved.port || undefined);
  const podCIDR = o.podCIDR ?? (saved.podCIDR || undefined);
  if (!(await runner.pid())) {
    // What a berth-kube that died left behind (a pid file, the VM's forward of its port) goes first.
    await runner.stopProcess(1000);
    const port = await choosePort(explicitPort, progress);
    progress(`Starting the cluster (API server on 127.0.0.1:${port})`);
    await runner.start({ port, ...(podCIDR ? { podCIDR } : {}) }, progress);
    // Only an explicit port is kept: the default one is tried again next time.
    await saveKubeSettings(p, { enabled: true, port: explicitPort ?? 0, podCIDR: podCIDR ?? '' });
  } else {
    await saveKubeSettings(p, { enabled: true });
  }
  progress('Waiting for the node to be Ready');
  const node = await waitNodeReady(p, runner, 60_000);
  const m = await mergeInto(p, o.use === true);
  const readyMs = Date.now() - t0;
  progress(
    `Node ${node} is Ready (${(readyMs / 1000).toFixed(1)} s); context "${CONTEXT}" is in ${m.file}` +
      (m.current === CONTEXT
        ? ' (current)'
        : ` (current stays "${m.current}"; kubectl --context berth, or --use)`),
  );
  return {
    node,
    apiServer: (await apiServerUrl(p)) ?? '',
    kubeconfig: m.file,
    currentContext: m.current ?? '',
    readyMs,
  };
}

/** Stops the cluster and removes its pods' containers; remembered as disabled. The context stays. */
export async function disableKube(
  p: BerthPaths,
  progress: KubeProgress = silent,
  graceMs = 30_000,
): Promise<{ removed: number }> {
  const runner = await openRunner(p).catch(() => undefined);
  let removed = 0;
  if (runner) {
    if (await runner.pid()) progress('Stopping the cluster');
    await runner.stopProcess(graceMs);
    removed = await runner.removePods();
    if (removed) progress(`Removed ${removed} pod container${removed === 1 ? '' : 's'}`);
  }
  await saveKubeSettings(p, { enabled: false });
  return { removed };
}

/** Disables, then deletes the cluster's state (objects, certificates); the engine's images stay. */
export async function resetKube(p: BerthPaths, progress: KubeProgress = silent): Promise<void> {
  await disableKube(p, progress);
  progress("Deleting the cluster's state");
  const runner = await openRunner(p).catch(() => undefined);
  await runner?.wipe();
  await fsp.rm(kubeFiles(p).dir, { recursive: true, force: true });
}

/** Only the process (`berth stop`, `berth restart`: the engine then stops the pods with the rest); stays enabled. */
export async function stopKubeProcess(p: BerthPaths, graceMs: number, progress: KubeProgress = silent) {
  const runner = await openRunner(p).catch(() => undefined);
  if (!runner || !(await runner.pid().catch(() => undefined))) return;
  progress('Stopping the cluster');
  await runner.stopProcess(graceMs);
}

/** Running or stopped, the API URL, the node, the kubeconfig, and what is wrong (in the user's words). */
export async function kubeStatus(p: BerthPaths): Promise<BerthKubeStatus> {
  const settings = await loadKubeSettings(p);
  const { driver } = await loadVmConfig(p);
  const file = userKubeconfig();
  const problems: KubeProblem[] = [];
  const s: BerthKubeStatus = {
    state: 'stopped',
    enabled: settings.enabled,
    driver,
    nodes: [],
    kubeconfig: file,
    context: await hasContext(file, CONTEXT),
    problems,
  };
  const engineUp = await pingSocket(p.socket);
  let runner: KubeRunner | undefined;
  try {
    runner = await openRunner(p);
  } catch (e) {
    problems.push({ check: 'driver', message: (e as Error).message });
  }
  const pid = runner ? await runner.pid().catch(() => undefined) : undefined;
  if (pid) {
    s.state = 'running';
    s.pid = pid;
    const url = await apiServerUrl(p);
    if (url) s.apiServer = url;
    try {
      s.nodes = await nodesReady(p);
      if (!s.nodes.some((n) => n.ready))
        problems.push({
          check: 'node',
          message: 'the node is not Ready yet: `berth logs kube` shows why when it stays so',
        });
    } catch (e) {
      const log = (await runner?.logTail(10)) ?? '';
      problems.push({
        check: 'api',
        message: `the API server does not answer (${(e as Error).message}): \`berth logs kube\` shows why`,
        ...(log ? { log } : {}),
      });
    }
  } else {
    if (!engineUp) {
      if (settings.enabled) problems.push(ENGINE_DOWN);
    } else if (settings.enabled && runner) problems.push(exitedProblem(await runner.logTail(10)));
    const port = settings.port || DEFAULT_PORT;
    if (!(await portFree(port)))
      problems.push(portTakenProblem(port, await portHolder(port), settings.port !== 0));
  }
  const kc = await kubeconfigProblem(file);
  if (kc) problems.push(kc);
  if (problems.length) s.problem = problems[0].message;
  return s;
}

/** The cluster's own admin kubeconfig (server as the host reaches it). */
export async function kubeconfigText(p: BerthPaths): Promise<string> {
  try {
    await loadKubeconfig([kubeFiles(p).kubeconfig]);
    return await fsp.readFile(kubeFiles(p).kubeconfig, 'utf8');
  } catch {
    throw new Error('the cluster has no kubeconfig yet: `berth kube enable` creates it');
  }
}
