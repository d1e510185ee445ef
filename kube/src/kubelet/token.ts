/**
 * Projected service-account tokens, as the kubelet's token manager (pkg/kubelet/token): each is a TokenRequest
 * (serviceaccounts/<name>/token) bound to the pod, so the API server authenticates it while the pod exists. Tokens
 * are cached per pod, account, audience and lifetime, and asked again once 80% of their stated lifetime
 * (expirationTimestamp - creationTimestamp) has passed, or a day, whichever is sooner.
 */
import type { KubeObject } from '../registry/types.js';
import type { Pod } from './types.js';

/** The API server's TokenRequest create (`api.tokens.request`): namespace, account, TokenRequest in and out. */
export type TokenRequester = (
  namespace: string,
  serviceAccount: string,
  req: KubeObject,
) => Promise<KubeObject>;

const MAX_AGE_MS = 24 * 3600_000;

interface Cached {
  token: string;
  renewAt: number;
}

export class TokenManager {
  private readonly cache = new Map<string, Cached>();

  constructor(
    private readonly request: TokenRequester,
    private readonly now: () => number = Date.now,
  ) {}

  async token(pod: Pod, audience: string | undefined, expirationSeconds: number): Promise<string> {
    const namespace = pod.metadata?.namespace ?? 'default';
    const sa = pod.spec?.serviceAccountName || 'default';
    const uid = pod.metadata?.uid ?? '';
    const key = JSON.stringify([uid, sa, audience ?? '', expirationSeconds]);
    const hit = this.cache.get(key);
    const now = this.now();
    if (hit && now < hit.renewAt) return hit.token;
    const res = await this.request(namespace, sa, {
      apiVersion: 'authentication.k8s.io/v1',
      kind: 'TokenRequest',
      metadata: { name: sa, namespace },
      spec: {
        ...(audience ? { audiences: [audience] } : {}),
        expirationSeconds,
        boundObjectRef: { apiVersion: 'v1', kind: 'Pod', name: pod.metadata?.name ?? '', uid },
      },
    });
    const status = (res.status ?? {}) as { token?: string; expirationTimestamp?: string };
    if (!status.token) throw new Error(`the TokenRequest for ${namespace}/${sa} returned no token`);
    // The lifetime as the server states it, so neither clock's offset matters.
    const stated =
      Date.parse(status.expirationTimestamp ?? '') - Date.parse(res.metadata?.creationTimestamp ?? '');
    const ttl = stated > 0 ? stated : expirationSeconds * 1000;
    this.cache.set(key, { token: status.token, renewAt: now + Math.min(ttl * 0.8, MAX_AGE_MS) });
    return status.token;
  }

  /** Drops the cached tokens of a pod that is gone. */
  forget(podUid: string): void {
    for (const k of this.cache.keys()) if (k.startsWith(`["${podUid}"`)) this.cache.delete(k);
  }
}
