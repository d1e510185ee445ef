/**
 * ServiceAccount (plugin/pkg/admission/serviceaccount): a new pod runs as `default` unless it names an account;
 * the account must exist (403 `error looking up service account ns/name: serviceaccount "name" not found`,
 * after a few retries for `default`, which the ServiceAccounts controller makes just after a namespace); its
 * imagePullSecrets are copied to a pod that has none; and unless the pod or the account sets
 * automountServiceAccountToken: false, a projected `kube-api-access-<5>` volume (a bound token of 3607 s, the
 * cluster CA from kube-root-ca.crt, the namespace) is mounted read-only at
 * /var/run/secrets/kubernetes.io/serviceaccount in every init and app container that does not mount that path.
 * Mirror pods and updates are left alone, as upstream's Admit.
 */
import { randomInt } from 'node:crypto';
import { forbidden } from '../../errors.js';
import type { KubeObject } from '../../registry/types.js';
import type { AdmissionAttributes, MutatingPlugin } from '../types.js';

export const TOKEN_MOUNT_PATH = '/var/run/secrets/kubernetes.io/serviceaccount';
export const TOKEN_VOLUME_PREFIX = 'kube-api-access-';
/** serviceaccount.WarnOnlyBoundTokenExpirationSeconds: an hour and 7 s, so the kubelet's renewal is visible. */
export const TOKEN_EXPIRATION_SECONDS = 3607;
const MIRROR_POD = 'kubernetes.io/config.mirror';
/** names.SimpleNameGenerator's alphabet (no vowels, no confusable digits). */
const ALPHABET = 'bcdfghjklmnpqrstvwxz2456789';
const DEFAULT_ACCOUNT_ATTEMPTS = 10;

export type ServiceAccountGetter = (namespace: string, name: string) => Promise<KubeObject | undefined>;

interface Mount {
  name: string;
  mountPath: string;
  readOnly?: boolean;
}
interface ContainerLike {
  volumeMounts?: Mount[];
}
interface PodSpec {
  serviceAccountName?: string;
  serviceAccount?: string;
  automountServiceAccountToken?: boolean;
  imagePullSecrets?: Array<{ name?: string }>;
  volumes?: Array<{ name: string } & Record<string, unknown>>;
  containers?: ContainerLike[];
  initContainers?: ContainerLike[];
}

export function generateSuffix(n = 5): string {
  let s = '';
  for (let i = 0; i < n; i++) s += ALPHABET[randomInt(ALPHABET.length)];
  return s;
}

/** The projected source upstream's TokenVolumeSource builds (defaultMode set: admission output is not defaulted). */
export function tokenVolumeSource(): Record<string, unknown> {
  return {
    defaultMode: 0o644,
    sources: [
      { serviceAccountToken: { path: 'token', expirationSeconds: TOKEN_EXPIRATION_SECONDS } },
      { configMap: { name: 'kube-root-ca.crt', items: [{ key: 'ca.crt', path: 'ca.crt' }] } },
      {
        downwardAPI: {
          items: [{ path: 'namespace', fieldRef: { apiVersion: 'v1', fieldPath: 'metadata.namespace' } }],
        },
      },
    ],
  };
}

export class ServiceAccountAdmission implements MutatingPlugin {
  readonly name = 'ServiceAccount';

  constructor(
    private readonly get: ServiceAccountGetter,
    private readonly retryMs = () => 100 + randomInt(100),
  ) {}

  handles(op: string): boolean {
    return op === 'CREATE';
  }

  async admit(a: AdmissionAttributes, obj: KubeObject | undefined): Promise<void> {
    if (a.resource.group !== '' || a.resource.resource !== 'pods' || a.subresource || !obj) return;
    if (obj.metadata?.annotations?.[MIRROR_POD] !== undefined) return;
    const spec = (obj.spec ??= {}) as PodSpec;
    // The deprecated alias stands in for an empty name and then follows it, as v1 conversion does.
    if (!spec.serviceAccountName) spec.serviceAccountName = spec.serviceAccount || 'default';
    spec.serviceAccount = spec.serviceAccountName;
    const ns = a.namespace;
    const account = await this.lookup(ns, spec.serviceAccountName);
    if (!account) {
      const name = a.name || obj.metadata?.name || obj.metadata?.generateName || 'Unknown';
      throw forbidden(
        `pods "${name}" is forbidden: error looking up service account ${ns}/${spec.serviceAccountName}: serviceaccount "${spec.serviceAccountName}" not found`,
        { kind: 'pods', name },
      );
    }
    const automount =
      spec.automountServiceAccountToken ??
      (account.automountServiceAccountToken as boolean | undefined) ??
      true;
    if (automount) mountToken(spec);
    const pullSecrets = (account.imagePullSecrets as Array<{ name?: string }> | undefined) ?? [];
    if (!spec.imagePullSecrets?.length && pullSecrets.length)
      spec.imagePullSecrets = pullSecrets.map((s) => ({ name: s.name ?? '' }));
  }

  /** The informer-less form of upstream's getServiceAccount: `default` gets a few tries, as it is made async. */
  private async lookup(ns: string, name: string): Promise<KubeObject | undefined> {
    const attempts = name === 'default' ? DEFAULT_ACCOUNT_ATTEMPTS : 1;
    for (let i = 0; i < attempts; i++) {
      if (i) await new Promise((r) => setTimeout(r, this.retryMs()));
      const sa = await this.get(ns, name);
      if (sa) return sa;
    }
    return undefined;
  }
}

function mountToken(spec: PodSpec): void {
  const existing = (spec.volumes ?? []).find((v) => v.name.startsWith(TOKEN_VOLUME_PREFIX));
  const volumeName = existing?.name ?? TOKEN_VOLUME_PREFIX + generateSuffix();
  let needed = false;
  for (const c of [...(spec.initContainers ?? []), ...(spec.containers ?? [])]) {
    if ((c.volumeMounts ?? []).some((m) => m.mountPath === TOKEN_MOUNT_PATH)) continue;
    (c.volumeMounts ??= []).push({ name: volumeName, readOnly: true, mountPath: TOKEN_MOUNT_PATH });
    needed = true;
  }
  if (!existing && needed) (spec.volumes ??= []).push({ name: volumeName, projected: tokenVolumeSource() });
}
