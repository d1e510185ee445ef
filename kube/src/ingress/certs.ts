/**
 * The certificates the HTTPS listener offers: a `kubernetes.io/tls` Secret's `tls.crt`/`tls.key` for the server
 * name (SNI) an Ingress's `spec.tls` lists, else a self-signed default made at start (as ingress-nginx's "Fake
 * Certificate"). Secure contexts are built once per Secret revision; a Secret that is missing, of another type or
 * unparseable falls back to the default (the controller logs why, once per revision).
 */
import tls from 'node:tls';
import { generateKeyPairSync } from 'node:crypto';
import { createCertificate, keyPem } from '../apiserver/pki/certs.js';
import type { Logger } from '../log.js';
import type { TlsRef } from './routes.js';

interface SecretShape {
  metadata?: { namespace?: string; name?: string; resourceVersion?: string };
  type?: string;
  data?: Record<string, string>;
}

export const DEFAULT_CERT_CN = 'Berth Ingress Default Certificate';

export class Certificates {
  readonly defaultCert: { certPem: string; keyPem: string };
  private readonly defaultContext: tls.SecureContext;
  private readonly secrets = new Map<string, SecretShape>();
  private readonly contexts = new Map<string, { rv: string; ctx?: tls.SecureContext }>();

  constructor(private readonly log: Logger) {
    // RSA, not the cluster's ECDSA: OpenSSL keeps the listener's default certificate beside the one SNI picks when
    // their key types differ, and clients prefer ECDSA, so an ECDSA default would hide every RSA Secret.
    const key = generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey;
    this.defaultCert = {
      keyPem: keyPem(key),
      certPem: createCertificate({
        cn: DEFAULT_CERT_CN,
        server: true,
        dnsNames: ['localhost', '*.localhost'],
        ips: ['127.0.0.1'],
        days: 3650,
        key,
      }),
    };
    this.defaultContext = tls.createSecureContext({
      cert: this.defaultCert.certPem,
      key: this.defaultCert.keyPem,
    });
  }

  setSecret(s: SecretShape): void {
    if (s.type !== 'kubernetes.io/tls') return this.deleteSecret(s);
    this.secrets.set(`${s.metadata?.namespace}/${s.metadata?.name}`, s);
  }

  deleteSecret(s: SecretShape): void {
    const k = `${s.metadata?.namespace}/${s.metadata?.name}`;
    this.secrets.delete(k);
    this.contexts.delete(k);
  }

  /** The context for a TLS entry (undefined: the default certificate). */
  contextFor(ref: TlsRef | undefined): tls.SecureContext {
    if (!ref) return this.defaultContext;
    const k = `${ref.namespace}/${ref.secretName}`;
    const s = this.secrets.get(k);
    if (!s) return this.defaultContext;
    const rv = s.metadata?.resourceVersion ?? '';
    const cached = this.contexts.get(k);
    if (cached?.rv === rv) return cached.ctx ?? this.defaultContext;
    let ctx: tls.SecureContext | undefined;
    try {
      const cert = Buffer.from(s.data?.['tls.crt'] ?? '', 'base64').toString();
      const key = Buffer.from(s.data?.['tls.key'] ?? '', 'base64').toString();
      ctx = tls.createSecureContext({ cert, key });
    } catch (e) {
      this.log.warn('TLS Secret not usable; serving the default certificate', {
        secret: k,
        error: (e as Error).message,
      });
    }
    this.contexts.set(k, { rv, ...(ctx ? { ctx } : {}) });
    return ctx ?? this.defaultContext;
  }
}
