/**
 * Projected service-account tokens. kube-apiserver's TokenRequest (serviceaccounts/token) is not served yet, so the
 * kubelet signs the bound token itself with the cluster's service-account key (ES256, the same key TokenRequest will
 * use), with the claims kube-apiserver puts in one: iss, sub, aud, exp/iat/nbf, jti and the `kubernetes.io` claim
 * binding it to the pod, the node and the ServiceAccount.
 * TODO(issue 12): once serviceaccounts/token exists, request tokens through it (and have the API server
 * authenticate them); nothing here authenticates these tokens yet.
 * Tokens are cached and renewed at 80% of their lifetime, as the kubelet's token manager does.
 */
import { createHash, createPrivateKey, createPublicKey, randomUUID, sign, type KeyObject } from 'node:crypto';

export const ISSUER = 'https://kubernetes.default.svc.cluster.local';

export interface TokenSubject {
  namespace: string;
  serviceAccount: { name: string; uid: string };
  pod: { name: string; uid: string };
  node: { name: string; uid: string };
}

const b64 = (b: Buffer | string): string => Buffer.from(b).toString('base64url');

export class TokenSigner {
  private readonly key: KeyObject;
  private readonly kid: string;
  private readonly cache = new Map<string, { token: string; renewAt: number }>();

  constructor(privateKeyPem: string) {
    this.key = createPrivateKey(privateKeyPem);
    const der = createPublicKey(this.key).export({ type: 'spki', format: 'der' });
    this.kid = b64(createHash('sha256').update(der).digest());
  }

  token(s: TokenSubject, audience: string | undefined, expirationSeconds: number, now = Date.now()): string {
    const aud = audience || ISSUER;
    const ttl = Math.max(600, expirationSeconds);
    const key = JSON.stringify([s.pod.uid, s.serviceAccount.uid, aud, ttl]);
    const hit = this.cache.get(key);
    if (hit && now < hit.renewAt) return hit.token;
    const iat = Math.floor(now / 1000);
    const claims = {
      aud: [aud],
      exp: iat + ttl,
      iat,
      iss: ISSUER,
      jti: randomUUID(),
      'kubernetes.io': {
        namespace: s.namespace,
        node: s.node,
        pod: s.pod,
        serviceaccount: s.serviceAccount,
      },
      nbf: iat,
      sub: `system:serviceaccount:${s.namespace}:${s.serviceAccount.name}`,
    };
    const head = b64(JSON.stringify({ alg: 'ES256', kid: this.kid }));
    const body = b64(JSON.stringify(claims));
    const sig = sign('sha256', Buffer.from(`${head}.${body}`), { key: this.key, dsaEncoding: 'ieee-p1363' });
    const token = `${head}.${body}.${b64(sig)}`;
    this.cache.set(key, { token, renewAt: now + ttl * 800 });
    return token;
  }

  /** Drops the cached tokens of a pod that is gone. */
  forget(podUid: string): void {
    for (const k of this.cache.keys()) if (k.startsWith(`["${podUid}"`)) this.cache.delete(k);
  }
}
