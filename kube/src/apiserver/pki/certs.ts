/**
 * The cluster's PKI, built with node:crypto alone (no openssl binary in the VM guest, no large X.509 library to
 * load): ECDSA P-256 keys, and X.509 v3 certificates written by a small DER builder and signed with the CA key.
 * A CA, the API server's serving certificate (kube-apiserver's SANs), client certificates (CN = user, O = groups,
 * as kube-apiserver's x509 authenticator reads them) and the service-account signing key.
 */
import {
  createHash,
  createPrivateKey,
  createPublicKey,
  generateKeyPairSync,
  randomBytes,
  sign,
  X509Certificate,
} from 'node:crypto';
import type { KeyObject } from 'node:crypto';
import {
  bits,
  bool,
  explicit,
  implicit,
  integer,
  octets,
  oid,
  seq,
  set,
  smallInt,
  time,
  utf8,
} from './der.js';

export interface KeyPair {
  /** PKCS#8 PEM. */
  keyPem: string;
  certPem: string;
}

const OID = {
  ecdsaWithSHA256: '1.2.840.10045.4.3.2',
  sha256WithRSAEncryption: '1.2.840.113549.1.1.11',
  commonName: '2.5.4.3',
  organization: '2.5.4.10',
  basicConstraints: '2.5.29.19',
  keyUsage: '2.5.29.15',
  extKeyUsage: '2.5.29.37',
  subjectAltName: '2.5.29.17',
  subjectKeyId: '2.5.29.14',
  authorityKeyId: '2.5.29.35',
  serverAuth: '1.3.6.1.5.5.7.3.1',
  clientAuth: '1.3.6.1.5.5.7.3.2',
};

export function newKey(): KeyObject {
  return generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey;
}

export const keyPem = (k: KeyObject): string => k.export({ type: 'pkcs8', format: 'pem' }).toString();

function name(cn: string, orgs: string[] = []): Buffer {
  const rdn = (type: string, value: string) => set(seq(oid(type), utf8(value)));
  return seq(...orgs.map((o) => rdn(OID.organization, o)), rdn(OID.commonName, cn));
}

function spki(pub: KeyObject): Buffer {
  return pub.export({ type: 'spki', format: 'der' });
}

/** RFC 5280 method 1: SHA-1 of the subjectPublicKey bits (the last 65 bytes of a P-256 SPKI); for an RSA key
 * (the Ingress default certificate) a SHA-1 of the whole SPKI, which RFC 5280 allows as well. */
function keyId(pub: KeyObject): Buffer {
  const der = spki(pub);
  return createHash('sha1')
    .update(pub.asymmetricKeyType === 'rsa' ? der : der.subarray(-65))
    .digest();
}

const ext = (id: string, critical: boolean, value: Buffer): Buffer =>
  critical ? seq(oid(id), bool(true), octets(value)) : seq(oid(id), octets(value));

/** KeyUsage bits: digitalSignature (0), keyEncipherment (2), keyCertSign (5), cRLSign (6). */
function keyUsage(ca: boolean): Buffer {
  const first = ca ? 0x80 | 0x04 | 0x02 : 0x80 | 0x20;
  return Buffer.from([0x03, 0x02, ca ? 0x01 : 0x05, first]);
}

function ipBytes(ip: string): Buffer {
  if (ip.includes(':')) {
    const [head = '', tail = ''] = ip.split('::');
    const h = head ? head.split(':') : [];
    const t = tail ? tail.split(':') : [];
    const groups = ip.includes('::')
      ? [...h, ...new Array<string>(8 - h.length - t.length).fill('0'), ...t]
      : h;
    return Buffer.from(groups.flatMap((g) => [(parseInt(g, 16) >> 8) & 0xff, parseInt(g, 16) & 0xff]));
  }
  return Buffer.from(ip.split('.').map(Number));
}

export interface CertSpec {
  cn: string;
  orgs?: string[];
  ca?: boolean;
  server?: boolean;
  client?: boolean;
  dnsNames?: string[];
  ips?: string[];
  days: number;
  /** The certificate's own key (its public half goes in the certificate). */
  key: KeyObject;
  /** Signer: absent for a self-signed CA. */
  issuer?: { cert: X509Certificate; key: KeyObject };
  now?: Date;
}

export function createCertificate(spec: CertSpec): string {
  const pub = createPublicKey(spec.key);
  const now = spec.now ?? new Date();
  // Back-date a little: a client or node whose clock is slightly behind still accepts the certificate.
  const notBefore = new Date(now.getTime() - 5 * 60_000);
  const notAfter = new Date(now.getTime() + spec.days * 86_400_000);
  const issuerKey = spec.issuer?.key ?? spec.key;
  const issuerName = spec.issuer ? Buffer.from(spec.issuer.cert.raw.subarray(0)) : undefined;
  const exts: Buffer[] = [
    ext(OID.basicConstraints, true, spec.ca ? seq(bool(true)) : seq()),
    ext(OID.keyUsage, true, keyUsage(spec.ca === true)),
    ext(OID.subjectKeyId, false, octets(keyId(pub))),
  ];
  const eku = [...(spec.server ? [OID.serverAuth] : []), ...(spec.client ? [OID.clientAuth] : [])];
  if (eku.length) exts.push(ext(OID.extKeyUsage, false, seq(...eku.map(oid))));
  if (spec.issuer) {
    const issuerPub = spec.issuer.cert.publicKey;
    exts.push(ext(OID.authorityKeyId, false, seq(implicit(0, keyId(issuerPub)))));
  }
  const sans = [
    ...(spec.dnsNames ?? []).map((d) => implicit(2, Buffer.from(d, 'ascii'))),
    ...(spec.ips ?? []).map((ip) => implicit(7, ipBytes(ip))),
  ];
  if (sans.length) exts.push(ext(OID.subjectAltName, false, seq(...sans)));
  const algorithm =
    issuerKey.asymmetricKeyType === 'rsa'
      ? seq(oid(OID.sha256WithRSAEncryption), Buffer.from([0x05, 0x00]))
      : seq(oid(OID.ecdsaWithSHA256));
  const serial = randomBytes(16);
  serial[0] &= 0x7f;
  const tbs = seq(
    explicit(0, smallInt(2)),
    integer(serial),
    algorithm,
    issuerName ? subjectOf(issuerName) : name(spec.cn, spec.orgs),
    seq(time(notBefore), time(notAfter)),
    name(spec.cn, spec.orgs),
    spki(pub),
    explicit(3, seq(...exts)),
  );
  const signature = sign('sha256', tbs, issuerKey);
  const der = seq(tbs, algorithm, bits(signature));
  return `-----BEGIN CERTIFICATE-----\n${der.toString('base64').replace(/.{64}/g, '$&\n').replace(/\n?$/, '\n')}-----END CERTIFICATE-----\n`;
}

/** The subject Name of a DER certificate, byte for byte (the issuer field of what it signs must equal it). */
function subjectOf(certDer: Buffer): Buffer {
  // Certificate ::= SEQUENCE { tbsCertificate SEQUENCE { [0] version, serial, sigAlg, issuer, validity, subject, ... } }
  const children = (buf: Buffer, at: number): Buffer[] => {
    const out: Buffer[] = [];
    const { start, end } = header(buf, at);
    for (let p = start; p < end;) {
      const h = header(buf, p);
      out.push(buf.subarray(p, h.end));
      p = h.end;
    }
    return out;
  };
  const tbs = children(certDer, 0)[0];
  return children(tbs, 0)[5];
}

function header(buf: Buffer, at: number): { start: number; end: number } {
  let p = at + 1;
  let len = buf[p++];
  if (len & 0x80) {
    const n = len & 0x7f;
    len = 0;
    for (let i = 0; i < n; i++) len = len * 256 + buf[p++];
  }
  return { start: p, end: p + len };
}

export function loadCert(pem: string): X509Certificate {
  return new X509Certificate(pem);
}

export function loadKey(pem: string): KeyObject {
  return createPrivateKey(pem);
}
