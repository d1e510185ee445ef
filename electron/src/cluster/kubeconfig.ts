/**
 * Reads the kubeconfig as kubectl does (client-go's clientcmd loading rules): the files of $KUBECONFIG (the
 * platform's path-list separator; missing files skipped, duplicates once), else ~/.kube/config. Merged so that
 * the first file to name a cluster, user or context wins, as does the first current-context. Relative file
 * paths inside a file are relative to that file.
 */
import { promises as fsp } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parse } from 'yaml';
import type { ClusterContext, ClusterContexts } from '@berth/common';

export interface KubeCluster {
  server: string;
  certificateAuthority?: Buffer;
  insecureSkipTlsVerify?: boolean;
  tlsServerName?: string;
}

export interface ExecConfig {
  command: string;
  args: string[];
  env: { name: string; value: string }[];
  apiVersion: string;
  provideClusterInfo: boolean;
  /** The folder of the kubeconfig that named it: a relative command runs from there, as client-go does. */
  baseDir: string;
}

export interface KubeUser {
  clientCertificate?: Buffer;
  clientKey?: Buffer;
  token?: string;
  tokenFile?: string;
  username?: string;
  password?: string;
  exec?: ExecConfig;
  /** Legacy auth providers (gcp, oidc, azure) left client-go in 1.26; we say so instead of failing oddly. */
  authProvider?: string;
}

export interface ResolvedContext {
  context: ClusterContext;
  cluster: KubeCluster;
  user: KubeUser;
}

export interface LoadedKubeconfig {
  summary: ClusterContexts;
  /** The context with its certificate and key files read (relative to the kubeconfig that named them). */
  resolve(name: string): Promise<ResolvedContext>;
}

export class KubeconfigError extends Error {
  override name = 'KubeconfigError';
}

/** The files kubectl would read, in order. */
export function kubeconfigFiles(env: NodeJS.ProcessEnv = process.env, home = os.homedir()): string[] {
  const list = env.KUBECONFIG;
  if (list) {
    const seen = new Set<string>();
    const out: string[] = [];
    for (const p of list.split(path.delimiter)) {
      if (!p || seen.has(p)) continue;
      seen.add(p);
      out.push(p);
    }
    if (out.length) return out;
  }
  return [path.join(home, '.kube', 'config')];
}

type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);
const str = (v: unknown): string | undefined => (typeof v === 'string' && v !== '' ? v : undefined);

interface Named {
  value: Obj;
  dir: string;
}

interface Merged {
  clusters: Map<string, Named>;
  users: Map<string, Named>;
  contexts: Map<string, Named>;
  current?: string;
}

function addNamed(into: Map<string, Named>, list: unknown, field: string, dir: string): void {
  if (!Array.isArray(list)) return;
  for (const item of list) {
    if (!isObj(item)) continue;
    const name = str(item.name);
    const value = item[field];
    if (name && isObj(value) && !into.has(name)) into.set(name, { value, dir });
  }
}

async function readBytes(dir: string, file: string): Promise<Buffer> {
  const p = path.resolve(dir, file);
  try {
    return await fsp.readFile(p);
  } catch (e) {
    throw new KubeconfigError(`cannot read ${p}: ${(e as Error).message}`);
  }
}

/** `x-data` (base64) wins over `x` (a file), as client-go does. */
async function bytesField(o: Obj, field: string, dir: string): Promise<Buffer | undefined> {
  const data = str(o[`${field}-data`]);
  if (data) return Buffer.from(data, 'base64');
  const file = str(o[field]);
  return file ? readBytes(dir, file) : undefined;
}

function authKind(u: Obj): ClusterContext['auth'] {
  if (isObj(u.exec)) return 'exec';
  if (u['client-certificate'] || u['client-certificate-data']) return 'client-certificate';
  if (u.token || u.tokenFile) return 'token';
  if (u.username) return 'basic';
  return 'none';
}

function execConfig(e: Obj, dir: string): ExecConfig {
  const command = str(e.command);
  if (!command) throw new KubeconfigError('exec credential plugin without a command');
  return {
    command,
    args: Array.isArray(e.args) ? e.args.map(String) : [],
    env: Array.isArray(e.env)
      ? e.env
          .filter(isObj)
          .map((x) => ({ name: str(x.name) ?? '', value: typeof x.value === 'string' ? x.value : '' }))
      : [],
    apiVersion: str(e.apiVersion) ?? 'client.authentication.k8s.io/v1',
    provideClusterInfo: e.provideClusterInfo === true,
    baseDir: dir,
  };
}

/** Berth's own context first (when enabled it is there), then the others by name. */
function order(a: ClusterContext, b: ClusterContext): number {
  if (a.name === 'berth') return -1;
  if (b.name === 'berth') return 1;
  return a.name.localeCompare(b.name);
}

export async function loadKubeconfig(files: string[]): Promise<LoadedKubeconfig> {
  const merged: Merged = { clusters: new Map(), users: new Map(), contexts: new Map() };
  const problems: string[] = [];
  const read: string[] = [];
  for (const f of files) {
    let text: string;
    try {
      text = await fsp.readFile(f, 'utf8');
    } catch (e) {
      // kubectl skips a missing file silently; an unreadable one is worth saying.
      if ((e as NodeJS.ErrnoException).code !== 'ENOENT') problems.push(`${f}: ${(e as Error).message}`);
      continue;
    }
    let doc: unknown;
    try {
      doc = parse(text);
    } catch (e) {
      problems.push(`${f}: not valid YAML: ${(e as Error).message}`);
      continue;
    }
    read.push(f);
    if (doc === null || doc === undefined) continue;
    if (!isObj(doc)) {
      problems.push(`${f}: not a kubeconfig (a mapping with clusters, users and contexts)`);
      continue;
    }
    const dir = path.dirname(path.resolve(f));
    addNamed(merged.clusters, doc.clusters, 'cluster', dir);
    addNamed(merged.users, doc.users, 'user', dir);
    addNamed(merged.contexts, doc.contexts, 'context', dir);
    merged.current ??= str(doc['current-context']);
  }
  const contexts: ClusterContext[] = [];
  for (const [name, { value }] of merged.contexts) {
    const cluster = str(value.cluster) ?? '';
    const user = str(value.user) ?? '';
    contexts.push({
      name,
      cluster,
      user,
      server: str(merged.clusters.get(cluster)?.value.server) ?? '',
      namespace: str(value.namespace) ?? 'default',
      auth: authKind(merged.users.get(user)?.value ?? {}),
    });
  }
  contexts.sort(order);
  const summary: ClusterContexts = { contexts, files: read, problems };
  if (merged.current && merged.contexts.has(merged.current)) summary.current = merged.current;
  return {
    summary,
    resolve: async (name) => {
      const context = contexts.find((c) => c.name === name);
      if (!context) throw new KubeconfigError(`no context "${name}" in the kubeconfig`);
      const c = merged.clusters.get(context.cluster);
      if (!c)
        throw new KubeconfigError(
          `context "${name}" names cluster "${context.cluster}", which the kubeconfig does not define`,
        );
      if (!context.server) throw new KubeconfigError(`cluster "${context.cluster}" has no server`);
      return {
        context,
        cluster: await clusterOf(context.server, c),
        user: await userOf(merged.users.get(context.user)),
      };
    },
  };
}

async function clusterOf(server: string, { value, dir }: Named): Promise<KubeCluster> {
  const cluster: KubeCluster = { server };
  if (value['insecure-skip-tls-verify'] === true) cluster.insecureSkipTlsVerify = true;
  const sni = str(value['tls-server-name']);
  if (sni) cluster.tlsServerName = sni;
  const ca = await bytesField(value, 'certificate-authority', dir);
  if (ca) cluster.certificateAuthority = ca;
  return cluster;
}

/** A context without a user (or naming an undefined one) connects anonymously, as kubectl does. */
async function userOf(named: Named | undefined): Promise<KubeUser> {
  const user: KubeUser = {};
  if (!named) return user;
  const { value: u, dir } = named;
  const cert = await bytesField(u, 'client-certificate', dir);
  const key = await bytesField(u, 'client-key', dir);
  if (cert) user.clientCertificate = cert;
  if (key) user.clientKey = key;
  const token = str(u.token);
  if (token) user.token = token;
  const tokenFile = str(u.tokenFile);
  if (tokenFile) user.tokenFile = path.resolve(dir, tokenFile);
  const username = str(u.username);
  if (username) user.username = username;
  const password = str(u.password);
  if (password) user.password = password;
  if (isObj(u.exec)) user.exec = execConfig(u.exec, dir);
  if (isObj(u['auth-provider'])) user.authProvider = str(u['auth-provider'].name) ?? 'unknown';
  return user;
}
