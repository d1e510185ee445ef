/**
 * The cluster's certificates and keys under <data-dir>/pki, made at first start and reused after: the CA, the API
 * server's serving certificate, the admin client certificate (O=system:masters) and the service-account signing
 * key. A serving certificate close to expiry, or one whose SANs no longer cover the listen address, is renewed.
 */
import { promises as fsp } from 'node:fs';
import path from 'node:path';
import type { X509Certificate } from 'node:crypto';
import { readIfExists, writeFileAtomic } from '../../util/files.js';
import { createCertificate, keyPem, loadCert, loadKey, newKey } from './certs.js';

/** The `kubernetes` Service's cluster IP (first address of the service CIDR 10.43.0.0/16, as k3s). */
export const KUBERNETES_SERVICE_IP = '10.43.0.1';
export const SERVING_DNS = [
  'localhost',
  'kubernetes',
  'kubernetes.default',
  'kubernetes.default.svc',
  'kubernetes.default.svc.cluster.local',
];

export interface Pki {
  caPem: string;
  serving: { certPem: string; keyPem: string };
  admin: { certPem: string; keyPem: string };
  /** PKCS#8 PEM of the ES256 key that signs service-account tokens; its public half verifies them. */
  serviceAccountKeyPem: string;
  /** Issues a client certificate signed by the CA (CN = user, O = groups): kubelet, controllers, tests. */
  issueClient(user: string, groups: string[], days?: number): { certPem: string; keyPem: string };
}

const CA_DAYS = 3650;
const LEAF_DAYS = 365;
const RENEW_BEFORE_MS = 30 * 86_400_000;

function stillGood(cert: X509Certificate, ca: X509Certificate, ips: string[]): boolean {
  if (!cert.verify(ca.publicKey)) return false;
  if (Date.parse(cert.validTo) - Date.now() < RENEW_BEFORE_MS) return false;
  const sans = cert.subjectAltName ?? '';
  return ips.every((ip) => sans.includes(`IP Address:${ip}`));
}

export async function ensurePki(dataDir: string, extraIps: string[] = []): Promise<Pki> {
  const dir = path.join(dataDir, 'pki');
  await fsp.mkdir(dir, { recursive: true, mode: 0o700 });
  const file = (n: string) => path.join(dir, n);
  const write = (n: string, data: string, mode = 0o600) => writeFileAtomic(file(n), data, mode);

  let caCertPem = await readIfExists(file('ca.crt'));
  let caKeyPem = await readIfExists(file('ca.key'));
  if (!caCertPem || !caKeyPem) {
    const key = newKey();
    caKeyPem = keyPem(key);
    caCertPem = createCertificate({ cn: 'berth-ca', ca: true, days: CA_DAYS, key });
    // Key first: a crash between the two writes leaves no certificate without its key.
    await write('ca.key', caKeyPem);
    await write('ca.crt', caCertPem, 0o644);
  }
  const ca = loadCert(caCertPem);
  const caKey = loadKey(caKeyPem);
  const issuer = { cert: ca, key: caKey };

  const ips = ['127.0.0.1', KUBERNETES_SERVICE_IP, ...extraIps.filter((ip) => ip !== '127.0.0.1')];
  const leaf = async (
    base: string,
    make: () => { certPem: string; keyPem: string },
    check: (c: X509Certificate) => boolean,
  ) => {
    const certPem = await readIfExists(file(`${base}.crt`));
    const kPem = await readIfExists(file(`${base}.key`));
    if (certPem && kPem && check(loadCert(certPem))) return { certPem, keyPem: kPem };
    const made = make();
    await write(`${base}.key`, made.keyPem);
    await write(`${base}.crt`, made.certPem, 0o644);
    return made;
  };
  const issue = (cn: string, orgs: string[], server: boolean, days = LEAF_DAYS) => {
    const key = newKey();
    const certPem = createCertificate({
      cn,
      orgs,
      server,
      client: !server,
      days,
      key,
      issuer,
      ...(server ? { dnsNames: SERVING_DNS, ips } : {}),
    });
    return { certPem, keyPem: keyPem(key) };
  };

  const serving = await leaf(
    'apiserver',
    () => issue('kube-apiserver', [], true),
    (c) => stillGood(c, ca, ips),
  );
  const admin = await leaf(
    'admin',
    () => issue('berth-admin', ['system:masters'], false),
    (c) => stillGood(c, ca, []),
  );
  let saKey = await readIfExists(file('sa.key'));
  if (!saKey) {
    saKey = keyPem(newKey());
    await write('sa.key', saKey);
  }
  return {
    caPem: caCertPem,
    serving,
    admin,
    serviceAccountKeyPem: saKey,
    issueClient: (user, groups, days) => issue(user, groups, false, days),
  };
}
