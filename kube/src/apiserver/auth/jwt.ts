/**
 * Compact JWS (RFC 7515) with ES256 over the cluster's service-account key, as kube-apiserver signs service
 * account tokens: header {alg, kid}, the kid being the unpadded base64url SHA-256 of the public key's PKIX DER
 * (what kube-apiserver publishes in its JWKS, so a token names the key that verifies it).
 */
import { createHash, createPrivateKey, createPublicKey, sign, verify, type KeyObject } from 'node:crypto';

export type Claims = Record<string, unknown>;

const b64url = (b: Buffer | string) => Buffer.from(b).toString('base64url');

export function keyId(publicKey: KeyObject): string {
  return b64url(
    createHash('sha256')
      .update(publicKey.export({ type: 'spki', format: 'der' }))
      .digest(),
  );
}

export class JwtSigner {
  readonly publicKey: KeyObject;
  readonly kid: string;
  private readonly privateKey: KeyObject;

  constructor(privateKeyPem: string) {
    this.privateKey = createPrivateKey(privateKeyPem);
    this.publicKey = createPublicKey(this.privateKey);
    this.kid = keyId(this.publicKey);
  }

  sign(claims: Claims): string {
    const head = b64url(JSON.stringify({ alg: 'ES256', kid: this.kid }));
    const body = b64url(JSON.stringify(claims));
    const input = `${head}.${body}`;
    // JWS wants the raw r||s signature (IEEE P1363), not DER.
    const sig = sign('sha256', Buffer.from(input), { key: this.privateKey, dsaEncoding: 'ieee-p1363' });
    return `${input}.${b64url(sig)}`;
  }

  /**
   * The claims of a token this key signed, or undefined when it is not a JWT at all (another authenticator's
   * bearer token); a JWT with a bad signature or algorithm throws (a rejection).
   */
  verify(token: string): Claims | undefined {
    const parts = token.split('.');
    if (parts.length !== 3 || parts.some((p) => !/^[A-Za-z0-9_-]*$/.test(p))) return undefined;
    let header: { alg?: unknown };
    let claims: unknown;
    try {
      header = JSON.parse(Buffer.from(parts[0], 'base64url').toString('utf8')) as { alg?: unknown };
      claims = JSON.parse(Buffer.from(parts[1], 'base64url').toString('utf8'));
    } catch {
      return undefined;
    }
    if (!claims || typeof claims !== 'object' || Array.isArray(claims)) return undefined;
    if (header.alg !== 'ES256') throw new Error(`unsupported signing algorithm ${String(header.alg)}`);
    const ok = verify(
      'sha256',
      Buffer.from(`${parts[0]}.${parts[1]}`),
      { key: this.publicKey, dsaEncoding: 'ieee-p1363' },
      Buffer.from(parts[2], 'base64url'),
    );
    if (!ok) throw new Error('invalid signature');
    return claims as Claims;
  }
}
