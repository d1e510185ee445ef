/**
 * berth-kube beside native berthd: a detached process with a pid file (as the native driver runs berthd), its
 * state under <BERTH_HOME>/kube, its log under the berth home's logs (its options are in settings: settings.ts).
 */
import { spawn } from 'node:child_process';
import { closeSync, openSync, promises as fsp } from 'node:fs';
import http from 'node:http';
import https from 'node:https';
import net from 'node:net';
import path from 'node:path';
import { loadKubeconfig } from '../cluster/kubeconfig.js';
import { writeFileAtomic } from '../settings/store.js';
import { REPO_ROOT, type BerthPaths } from '../vm/paths.js';
import { livePid, tailFile, terminate } from '../vm/process.js';

/**
 * Node flags for berth-kube (as bin/berth-kube): a 1 MiB young generation keeps it small after bursts, and V8's
 * lite mode (no optimizing compilers) brings an idle control plane under 60 MiB (measured ~58 vs ~66 MiB) at no
 * visible cost: its work is I/O, JSON and sqlite, and the stream relays measured the same.
 */
export const BERTH_KUBE_NODE_FLAGS = ['--max-semi-space-size=1', '--lite-mode'];

export const DEFAULT_PORT = 6443;
/** berth-kube's default --pod-network: the engine network pods join. */
const POD_NETWORK = 'berth-pods';

export function kubeFiles(p: BerthPaths) {
  const dir = path.join(p.home, 'kube');
  return {
    dir,
    pid: path.join(p.run, 'berth-kube.pid'),
    log: path.join(p.logs, 'kube.log'),
    /** The admin kubeconfig berth-kube writes; its context is merged into the user's. */
    kubeconfig: path.join(dir, 'admin.kubeconfig'),
  };
}

export function kubePid(p: BerthPaths): number | undefined {
  return livePid(kubeFiles(p).pid, kubeFiles(p).dir);
}

/** Whether 127.0.0.1:port can be bound now. */
export function portFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = net.createServer();
    s.once('error', () => resolve(false));
    s.listen(port, '127.0.0.1', () => s.close(() => resolve(true)));
  });
}

export function anyFreePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as net.AddressInfo).port;
      s.close(() => resolve(port));
    });
  });
}

export class KubeStartError extends Error {
  override name = 'KubeStartError';
}

/** Starts berth-kube detached; resolves once its kubeconfig exists and /readyz answers "ok". */
export async function startNativeKube(
  p: BerthPaths,
  o: { port: number; podCIDR?: string; timeoutMs?: number },
): Promise<number> {
  const f = kubeFiles(p);
  await fsp.mkdir(f.dir, { recursive: true, mode: 0o700 });
  await fsp.mkdir(p.logs, { recursive: true });
  await fsp.mkdir(p.run, { recursive: true, mode: 0o700 });
  const args = [
    path.join(REPO_ROOT, 'kube/dist/src/main.js'),
    '--engine',
    `unix://${p.socket}`,
    '--data-dir',
    f.dir,
    '--kubeconfig',
    f.kubeconfig,
    '--listen',
    `127.0.0.1:${o.port}`,
    ...(o.podCIDR ? ['--pod-cidr', o.podCIDR] : []),
  ];
  const fd = openSync(f.log, 'a');
  const child = spawn(process.execPath, [...BERTH_KUBE_NODE_FLAGS, ...args], {
    detached: true,
    stdio: ['ignore', fd, fd],
  });
  closeSync(fd);
  let exit: number | null | undefined;
  child.on('exit', (code) => (exit = code));
  child.unref();
  await writeFileAtomic(f.pid, `${child.pid}\n`);
  const deadline = Date.now() + (o.timeoutMs ?? 60_000);
  while (Date.now() < deadline) {
    if (exit !== undefined)
      throw new KubeStartError(`berth-kube exited with ${exit}:\n${await tailFile(f.log, 10)}`);
    if ((await apiGet(p, '/readyz').catch(() => undefined))?.body === 'ok') return child.pid!;
    await new Promise((r) => setTimeout(r, 100));
  }
  child.kill('SIGKILL');
  throw new KubeStartError(`berth-kube was not ready in time:\n${await tailFile(f.log, 10)}`);
}

/** A GET to the API server as berth-kube's admin (the credentials of its own kubeconfig). */
export async function apiGet(p: BerthPaths, urlPath: string): Promise<{ status: number; body: string }> {
  const r = await (await loadKubeconfig([kubeFiles(p).kubeconfig])).resolve('berth');
  const url = new URL(urlPath, r.context.server);
  return new Promise((resolve, reject) => {
    const req = https.get(
      url,
      {
        ca: r.cluster.certificateAuthority,
        cert: r.user.clientCertificate,
        key: r.user.clientKey,
        timeout: 3000,
      },
      (res) => {
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (c: string) => (body += c));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
      },
    );
    req.on('timeout', () => req.destroy(new Error('timed out')));
    req.on('error', reject);
  });
}

/** The API URL berth-kube wrote into its kubeconfig. */
export async function apiServerUrl(p: BerthPaths): Promise<string | undefined> {
  try {
    return (await loadKubeconfig([kubeFiles(p).kubeconfig])).summary.contexts[0]?.server;
  } catch {
    return undefined;
  }
}

/** Each node's name and whether its Ready condition is True. */
export async function nodesReady(p: BerthPaths): Promise<{ name: string; ready: boolean }[]> {
  const r = await apiGet(p, '/api/v1/nodes');
  if (r.status !== 200) throw new Error(`listing nodes: HTTP ${r.status}`);
  const list = JSON.parse(r.body) as {
    items: { metadata: { name: string }; status?: { conditions?: { type: string; status: string }[] } }[];
  };
  return list.items.map((n) => ({
    name: n.metadata.name,
    ready: n.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True') ?? false,
  }));
}

/** SIGTERM (SIGKILL after the grace), then the pods' containers removed through the engine API. */
export async function stopNativeKube(p: BerthPaths, graceMs = 30_000): Promise<{ removed: number }> {
  await endKubeProcess(p, graceMs);
  return { removed: await removePodContainers(p.socket) };
}

/** Only the process (`berth stop`: the engine then stops the pods' containers with the rest). */
export async function endKubeProcess(p: BerthPaths, graceMs = 30_000): Promise<void> {
  const pid = kubePid(p);
  if (pid) await terminate(pid, graceMs);
  await fsp.rm(kubeFiles(p).pid, { force: true });
}

function engine(
  socketPath: string,
  method: string,
  urlPath: string,
): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = http.request({ socketPath, method, path: urlPath, timeout: 30_000 }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => (body += c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.on('timeout', () => req.destroy(new Error('the engine did not answer in time')));
    req.on('error', reject);
    req.end();
  });
}

/** Every container the kubelet made (label io.kubernetes.pod.uid), forced out with its anonymous volumes. */
export async function removePodContainers(socketPath: string): Promise<number> {
  const filters = encodeURIComponent(JSON.stringify({ label: ['io.kubernetes.pod.uid'] }));
  let list;
  try {
    list = await engine(socketPath, 'GET', `/v1.44/containers/json?all=1&filters=${filters}`);
  } catch {
    return 0; // no engine: nothing of ours can run in it
  }
  if (list.status !== 200) throw new Error(`listing pod containers: HTTP ${list.status} ${list.body}`);
  const ids = (JSON.parse(list.body) as { Id: string }[]).map((c) => c.Id);
  await Promise.all(
    ids.map(async (id) => {
      const r = await engine(socketPath, 'DELETE', `/v1.44/containers/${id}?force=1&v=1`);
      if (r.status !== 204 && r.status !== 404)
        throw new Error(`removing pod container ${id.slice(0, 12)}: HTTP ${r.status} ${r.body}`);
    }),
  );
  // The pod network goes too (berth-kube makes it again, with the pod CIDR it is then given).
  const net = await engine(socketPath, 'DELETE', `/v1.44/networks/${POD_NETWORK}`);
  if (net.status !== 204 && net.status !== 404)
    throw new Error(`removing the pod network ${POD_NETWORK}: HTTP ${net.status} ${net.body}`);
  return ids.length;
}
