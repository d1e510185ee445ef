/**
 * The files of configMap, secret, downwardAPI and projected volumes, computed as the kubelet's volume plugins do
 * (items and their modes, defaultMode, optional, the error texts), ready for the atomic writer.
 */
import type {
  V1ConfigMapProjection,
  V1DownwardAPIVolumeFile,
  V1KeyToPath,
  V1SecretProjection,
} from '@kubernetes/client-node';
import { fieldPathValue, resourceFieldValue, type PodFacts } from '../env.js';
import type { PodInputs } from '../inputs.js';
import type { Pod, Volume } from '../types.js';
import type { Payload } from './atomic-writer.js';

const DEFAULT_MODE = 0o644;

type KeySource = { kind: 'configmap' | 'secret'; name: string; optional?: boolean; items?: V1KeyToPath[] };

function keyed(src: KeySource, inputs: PodInputs, mode: number, out: Payload): void {
  let data: Record<string, Buffer> | undefined;
  if (src.kind === 'configmap') {
    const cm = inputs.configMaps[src.name];
    if (cm) {
      data = {};
      for (const [k, v] of Object.entries(cm.data ?? {})) data[k] = Buffer.from(v);
      for (const [k, v] of Object.entries(cm.binaryData ?? {})) data[k] = Buffer.from(v, 'base64');
    }
  } else {
    const s = inputs.secrets[src.name];
    if (s) {
      data = {};
      for (const [k, v] of Object.entries(s.data ?? {})) data[k] = Buffer.from(v, 'base64');
      for (const [k, v] of Object.entries(s.stringData ?? {})) data[k] = Buffer.from(v);
    }
  }
  if (!data) {
    if (src.optional) return;
    throw new Error(`${src.kind} "${src.name}" not found`);
  }
  if (!src.items?.length) {
    for (const [k, v] of Object.entries(data)) out[k] = { data: v, mode };
    return;
  }
  for (const it of src.items) {
    const v = data[it.key];
    if (v === undefined) {
      if (src.optional) continue;
      throw new Error(
        src.kind === 'configmap'
          ? `configmap references non-existent config key: ${it.key}`
          : `references non-existent secret key: ${it.key}`,
      );
    }
    out[it.path] = { data: v, mode: it.mode ?? mode };
  }
}

function downward(
  pod: Pod,
  items: V1DownwardAPIVolumeFile[],
  inputs: PodInputs,
  facts: PodFacts,
  mode: number,
  out: Payload,
) {
  for (const it of items) {
    let v: string;
    if (it.fieldRef) v = fieldPathValue(pod, it.fieldRef.fieldPath, facts);
    else if (it.resourceFieldRef) {
      const all = [...(pod.spec?.containers ?? []), ...(pod.spec?.initContainers ?? [])];
      const c = all.find((x) => x.name === it.resourceFieldRef!.containerName);
      if (!c) throw new Error(`cannot find container "${it.resourceFieldRef.containerName}"`);
      v = resourceFieldValue(c, it.resourceFieldRef.resource, it.resourceFieldRef.divisor, inputs);
    } else continue;
    out[it.path] = { data: Buffer.from(v), mode: it.mode ?? mode };
  }
}

/** The payload of a volume the atomic writer serves, or undefined for other kinds. */
export async function volumePayload(
  pod: Pod,
  vol: Volume,
  inputs: PodInputs,
  facts: PodFacts,
): Promise<Payload | undefined> {
  const out: Payload = {};
  if (vol.configMap) {
    const c = vol.configMap;
    keyed(
      { kind: 'configmap', name: c.name ?? '', optional: c.optional, items: c.items },
      inputs,
      c.defaultMode ?? DEFAULT_MODE,
      out,
    );
    return out;
  }
  if (vol.secret) {
    const s = vol.secret;
    keyed(
      { kind: 'secret', name: s.secretName ?? '', optional: s.optional, items: s.items },
      inputs,
      s.defaultMode ?? DEFAULT_MODE,
      out,
    );
    return out;
  }
  if (vol.downwardAPI) {
    downward(
      pod,
      vol.downwardAPI.items ?? [],
      inputs,
      facts,
      vol.downwardAPI.defaultMode ?? DEFAULT_MODE,
      out,
    );
    return out;
  }
  if (vol.projected) {
    const mode = vol.projected.defaultMode ?? DEFAULT_MODE;
    for (const s of vol.projected.sources ?? []) {
      if (s.configMap) {
        const c: V1ConfigMapProjection = s.configMap;
        keyed(
          { kind: 'configmap', name: c.name ?? '', optional: c.optional, items: c.items },
          inputs,
          mode,
          out,
        );
      } else if (s.secret) {
        const c: V1SecretProjection = s.secret;
        keyed(
          { kind: 'secret', name: c.name ?? '', optional: c.optional, items: c.items },
          inputs,
          mode,
          out,
        );
      } else if (s.downwardAPI) downward(pod, s.downwardAPI.items ?? [], inputs, facts, mode, out);
      else if (s.serviceAccountToken) {
        const t = s.serviceAccountToken;
        if (!inputs.serviceAccountToken) throw new Error('no service account token source for this pod');
        const token = await inputs.serviceAccountToken(t.audience, t.expirationSeconds ?? 3600);
        out[t.path] = { data: Buffer.from(token), mode };
      }
    }
    return out;
  }
  return undefined;
}
