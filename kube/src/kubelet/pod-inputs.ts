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
import type { ClaimSource, PodInputs } from './inputs.js';
import { parseQuantity } from '@berth/common/quantity';
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
    // A generic ephemeral volume's claim, made by the ephemeral volume controller.
    if (v.ephemeral) r.claims.add(`${pod.metadata?.name}-${v.name}`);
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

interface Volume extends KubeObject {
  spec?: { hostPath?: { path?: string; type?: string }; local?: { path?: string } };
}

/** The PV annotation naming the berthd volume behind it (controllers/volume/local-path.ts). */
const ENGINE_VOLUME = 'berth.dev/engine-volume';

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
    const ephemeral = new Set(
      (pod.spec?.volumes ?? []).filter((v) => v.ephemeral).map((v) => `${pod.metadata?.name}-${v.name}`),
    );
    for (const n of refs.claims) claims[n] = await this.claim(ns, n, ephemeral.has(n) ? pod : undefined);
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
   * A bound claim's storage through its PersistentVolume (the named berthd volume a provisioned one records, or
   * its hostPath/local path); otherwise the reason, in the kubelet's words, that the runtime reports as FailedMount.
   */
  /** `owner`: the pod whose generic ephemeral volume this claim must be (it must own it). */
  private async claim(ns: string, name: string, owner?: Pod): Promise<ClaimSource> {
    const get = async <T extends KubeObject>(plural: string, n: string, namespace?: string) => {
      try {
        return (await this.d.client.resource('v1', plural).get(n, namespace ? { namespace } : {})) as T;
      } catch (err) {
        if (isKubeError(err, 'NotFound')) return undefined;
        throw err;
      }
    };
    const pvc = await get<Claim>('persistentvolumeclaims', name, ns);
    if (!pvc)
      return {
        problem: `failed to fetch PVC from API server: persistentvolumeclaims "${name}" not found`,
      };
    const uid = owner?.metadata?.uid;
    if (owner && !(pvc.metadata?.ownerReferences ?? []).some((r) => r.controller && r.uid === uid))
      return {
        problem: `PVC ${ns}/${name} was not created for pod ${ns}/${owner.metadata?.name} (pod is not owner)`,
      };
    const pvName = pvc.spec?.volumeName;
    if (!pvName || pvc.status?.phase !== 'Bound') return { problem: 'PVC is not bound' };
    const pv = await get<Volume>('persistentvolumes', pvName);
    if (!pv)
      return {
        problem: `failed to fetch PV ${pvName} from API server: persistentvolumes "${pvName}" not found`,
      };
    const modes = pvc.spec?.accessModes ?? [];
    const ro = modes.length === 1 && modes[0] === 'ReadOnlyMany' ? { readOnly: true } : {};
    const engineVolume = pv.metadata?.annotations?.[ENGINE_VOLUME];
    if (engineVolume) return { volume: engineVolume, ...ro };
    const hostPath = pv.spec?.hostPath?.path ?? pv.spec?.local?.path;
    if (hostPath)
      return {
        path: hostPath,
        ...(pv.spec?.hostPath?.type ? { pathType: pv.spec.hostPath.type } : {}),
        ...ro,
      };
    return { problem: `PV ${pvName} has a volume type berth-kube cannot mount` };
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
