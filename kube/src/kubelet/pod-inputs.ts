/**
 * What a pod references, resolved for the runtime (PodInputs): its ConfigMaps and Secrets from the kubelet's watch
 * caches (a missing one is simply absent: the runtime reports CreateContainerConfigError or FailedMount in the
 * kubelet's words), the service variables, the engine volume of each bound PersistentVolumeClaim, a projected
 * service-account token source, cluster DNS and the node's allocatable. `references` is also the index the kubelet
 * uses to resync the pods a changed ConfigMap or Secret concerns.
 */
import { isKubeError } from '../errors.js';
import type { Client } from '../client/index.js';
import type { KubeObject } from '../registry/types.js';
import type { Informer } from './informer.js';
import type { PodInputs } from './inputs.js';
import { parseQuantity } from './quantity.js';
import { serviceEnv, type Service } from './service-env.js';
import type { TokenManager } from './token.js';
import type { ConfigMap, Container, Pod, Secret } from './types.js';

export interface PodReferences {
  configMaps: Set<string>;
  secrets: Set<string>;
  claims: Set<string>;
}

export function references(pod: Pod): PodReferences {
  const r: PodReferences = { configMaps: new Set(), secrets: new Set(), claims: new Set() };
  const spec = pod.spec;
  const all: Container[] = [...(spec?.initContainers ?? []), ...(spec?.containers ?? [])];
  for (const c of all) {
    for (const f of c.envFrom ?? []) {
      if (f.configMapRef?.name) r.configMaps.add(f.configMapRef.name);
      if (f.secretRef?.name) r.secrets.add(f.secretRef.name);
    }
    for (const e of c.env ?? []) {
      if (e.valueFrom?.configMapKeyRef?.name) r.configMaps.add(e.valueFrom.configMapKeyRef.name);
      if (e.valueFrom?.secretKeyRef?.name) r.secrets.add(e.valueFrom.secretKeyRef.name);
    }
  }
  for (const v of spec?.volumes ?? []) {
    if (v.configMap?.name) r.configMaps.add(v.configMap.name);
    if (v.secret?.secretName) r.secrets.add(v.secret.secretName);
    if (v.persistentVolumeClaim?.claimName) r.claims.add(v.persistentVolumeClaim.claimName);
    for (const s of v.projected?.sources ?? []) {
      if (s.configMap?.name) r.configMaps.add(s.configMap.name);
      if (s.secret?.name) r.secrets.add(s.secret.name);
    }
  }
  for (const s of spec?.imagePullSecrets ?? []) if (s.name) r.secrets.add(s.name);
  return r;
}

export interface ResolverDeps {
  client: Client;
  configMaps: Informer<ConfigMap>;
  secrets: Informer<Secret>;
  services: Informer<Service>;
  tokens?: TokenManager;
  nodeName: string;
  clusterDns: { servers: string[]; domain: string };
  allocatable(): PodInputs['nodeAllocatable'];
}

interface Claim extends KubeObject {
  spec?: { volumeName?: string; accessModes?: string[] };
  status?: { phase?: string };
}

export class InputsResolver {
  constructor(private readonly d: ResolverDeps) {}

  async resolve(pod: Pod): Promise<PodInputs> {
    const ns = pod.metadata?.namespace ?? 'default';
    const refs = references(pod);
    const configMaps: Record<string, ConfigMap> = {};
    const secrets: Record<string, Secret> = {};
    for (const n of refs.configMaps) {
      const cm = this.d.configMaps.byName(ns, n);
      if (cm) configMaps[n] = cm;
    }
    for (const n of refs.secrets) {
      const s = this.d.secrets.byName(ns, n);
      if (s) secrets[n] = s;
    }
    const claims: NonNullable<PodInputs['claims']> = {};
    for (const n of refs.claims) {
      const c = await this.claim(ns, n);
      if (c) claims[n] = c;
    }
    const allocatable = this.d.allocatable();
    return {
      configMaps,
      secrets,
      serviceEnv: serviceEnv(pod, this.d.services.list()),
      claims,
      serviceAccountToken: (audience, expirationSeconds) => this.token(pod, audience, expirationSeconds),
      clusterDns: this.d.clusterDns,
      ...(allocatable ? { nodeAllocatable: allocatable } : {}),
    };
  }

  /**
   * A bound claim's engine volume: the PersistentVolume's name (the provisioner names the berthd volume after it);
   * an unbound or missing claim is absent, and the runtime reports FailedMount.
   */
  private async claim(ns: string, name: string): Promise<{ volume: string; readOnly?: boolean } | undefined> {
    try {
      const pvc = (await this.d.client
        .resource('v1', 'persistentvolumeclaims')
        .get(name, { namespace: ns })) as Claim;
      const pv = pvc.spec?.volumeName;
      if (!pv || pvc.status?.phase !== 'Bound') return undefined;
      const modes = pvc.spec?.accessModes ?? [];
      return { volume: pv, ...(modes.length === 1 && modes[0] === 'ReadOnlyMany' ? { readOnly: true } : {}) };
    } catch (err) {
      if (isKubeError(err, 'NotFound')) return undefined;
      throw err;
    }
  }

  private async token(pod: Pod, audience: string | undefined, expirationSeconds: number): Promise<string> {
    if (!this.d.tokens) throw new Error('no service-account token source');
    return this.d.tokens.token(pod, audience, expirationSeconds);
  }
}

/** Node allocatable as the runtime wants it: cores and bytes. */
export function allocatableOf(
  a: Record<string, string> | undefined,
): { cpu: number; memory: number; ephemeralStorage?: number } | undefined {
  if (!a?.cpu || !a.memory) return undefined;
  return {
    cpu: parseQuantity(a.cpu),
    memory: parseQuantity(a.memory),
    ...(a['ephemeral-storage'] ? { ephemeralStorage: parseQuantity(a['ephemeral-storage']) } : {}),
  };
}
