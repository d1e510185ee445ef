/** The admin kubeconfig (context, cluster and user all named for Berth), written atomically with mode 0600. */
import { promises as fsp } from 'node:fs';
import path from 'node:path';
import { writeFileAtomic } from '../../util/files.js';

export interface KubeconfigSpec {
  server: string;
  caPem: string;
  certPem: string;
  keyPem: string;
  context?: string;
  cluster?: string;
  user?: string;
}

export function renderKubeconfig(s: KubeconfigSpec): string {
  const b64 = (pem: string) => Buffer.from(pem).toString('base64');
  const context = s.context ?? 'berth';
  const cluster = s.cluster ?? 'berth';
  const user = s.user ?? 'berth-admin';
  return [
    'apiVersion: v1',
    'kind: Config',
    'clusters:',
    '- cluster:',
    `    certificate-authority-data: ${b64(s.caPem)}`,
    `    server: ${s.server}`,
    `  name: ${cluster}`,
    'contexts:',
    '- context:',
    `    cluster: ${cluster}`,
    `    user: ${user}`,
    `  name: ${context}`,
    `current-context: ${context}`,
    'preferences: {}',
    'users:',
    `- name: ${user}`,
    '  user:',
    `    client-certificate-data: ${b64(s.certPem)}`,
    `    client-key-data: ${b64(s.keyPem)}`,
    '',
  ].join('\n');
}

export async function writeKubeconfig(file: string, spec: KubeconfigSpec): Promise<void> {
  await fsp.mkdir(path.dirname(path.resolve(file)), { recursive: true });
  await writeFileAtomic(file, renderKubeconfig(spec), 0o600);
}
