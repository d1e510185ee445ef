/**
 * What a request to a context's API server carries: TLS material and an Authorization header, from the
 * kubeconfig's user (client certificate, token, token file, basic auth) or from an exec credential plugin
 * (client.authentication.k8s.io ExecCredential), cached until the plugin's expirationTimestamp.
 */
import { spawn } from 'node:child_process';
import { promises as fsp } from 'node:fs';
import path from 'node:path';
import type { ResolvedContext } from './kubeconfig.js';
import { KubeconfigError } from './kubeconfig.js';

export interface Credentials {
  ca?: Buffer;
  cert?: Buffer;
  key?: Buffer;
  rejectUnauthorized: boolean;
  servername?: string;
  authorization?: string;
  /** When the credentials should be fetched again (exec plugins); undefined: until the kubeconfig changes. */
  expires?: number;
}

interface ExecStatus {
  token?: string;
  clientCertificateData?: string;
  clientKeyData?: string;
  expirationTimestamp?: string;
}

const EXEC_TIMEOUT_MS = 60_000;

/** Runs an exec credential plugin as client-go does: not interactive, the ExecCredential spec in its env. */
export async function runExecPlugin(r: ResolvedContext): Promise<ExecStatus> {
  const e = r.user.exec!;
  // A command with a separator is a path relative to the kubeconfig; a bare name is looked up on PATH.
  const command =
    e.command.includes('/') || e.command.includes('\\') ? path.resolve(e.baseDir, e.command) : e.command;
  const spec: Record<string, unknown> = { interactive: false };
  if (e.provideClusterInfo)
    spec.cluster = {
      server: r.cluster.server,
      ...(r.cluster.certificateAuthority
        ? { 'certificate-authority-data': r.cluster.certificateAuthority.toString('base64') }
        : {}),
      ...(r.cluster.insecureSkipTlsVerify ? { 'insecure-skip-tls-verify': true } : {}),
    };
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    ...Object.fromEntries(e.env.map((x) => [x.name, x.value])),
    KUBERNETES_EXEC_INFO: JSON.stringify({ apiVersion: e.apiVersion, kind: 'ExecCredential', spec }),
  };
  const { code, stdout, stderr } = await new Promise<{ code: number | null; stdout: string; stderr: string }>(
    (resolve, reject) => {
      const p = spawn(command, e.args, { env, stdio: ['ignore', 'pipe', 'pipe'], timeout: EXEC_TIMEOUT_MS });
      let out = '';
      let err = '';
      p.stdout.on('data', (d: Buffer) => (out += d.toString()));
      p.stderr.on('data', (d: Buffer) => (err += d.toString()));
      p.on('error', (x) =>
        reject(new KubeconfigError(`exec credential plugin "${e.command}" could not run: ${x.message}`)),
      );
      p.on('close', (c) => resolve({ code: c, stdout: out, stderr: err }));
    },
  );
  if (code !== 0)
    throw new KubeconfigError(
      `exec credential plugin "${e.command}" failed (exit ${code}): ${stderr.trim() || stdout.trim()}`,
    );
  let cred: { kind?: string; status?: ExecStatus };
  try {
    cred = JSON.parse(stdout) as typeof cred;
  } catch {
    throw new KubeconfigError(
      `exec credential plugin "${e.command}" did not print an ExecCredential as JSON`,
    );
  }
  if (cred.kind !== 'ExecCredential' || typeof cred.status !== 'object' || cred.status === null)
    throw new KubeconfigError(`exec credential plugin "${e.command}" printed no ExecCredential status`);
  const s = cred.status;
  if (!s.token && !(s.clientCertificateData && s.clientKeyData))
    throw new KubeconfigError(
      `exec credential plugin "${e.command}" gave neither a token nor a client certificate and key`,
    );
  return s;
}

export async function credentialsFor(r: ResolvedContext): Promise<Credentials> {
  const c: Credentials = { rejectUnauthorized: !r.cluster.insecureSkipTlsVerify };
  if (r.cluster.certificateAuthority) c.ca = r.cluster.certificateAuthority;
  if (r.cluster.tlsServerName) c.servername = r.cluster.tlsServerName;
  const u = r.user;
  if (u.authProvider)
    throw new KubeconfigError(
      `the "${u.authProvider}" auth provider was removed from kubectl (1.26); use its exec credential plugin instead`,
    );
  if (u.clientCertificate && u.clientKey) {
    c.cert = u.clientCertificate;
    c.key = u.clientKey;
  }
  if (u.token) c.authorization = `Bearer ${u.token}`;
  else if (u.tokenFile) {
    try {
      c.authorization = `Bearer ${(await fsp.readFile(u.tokenFile, 'utf8')).trim()}`;
    } catch (e) {
      throw new KubeconfigError(`cannot read tokenFile ${u.tokenFile}: ${(e as Error).message}`);
    }
  } else if (u.username !== undefined)
    c.authorization = `Basic ${Buffer.from(`${u.username}:${u.password ?? ''}`).toString('base64')}`;
  if (u.exec && !c.authorization && !c.cert) {
    const s = await runExecPlugin(r);
    if (s.token) c.authorization = `Bearer ${s.token}`;
    if (s.clientCertificateData && s.clientKeyData) {
      c.cert = Buffer.from(s.clientCertificateData);
      c.key = Buffer.from(s.clientKeyData);
    }
    // Refetch a little before it expires; a plugin without an expiry is asked again after a 401 only.
    if (s.expirationTimestamp) c.expires = Date.parse(s.expirationTimestamp) - 30_000;
  }
  return c;
}
