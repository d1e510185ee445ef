/**
 * A container's environment as the kubelet makes it (kubelet_pods.go makeEnvironmentVariables): the service
 * variables, then envFrom, then env in order, each value's `$(VAR)` expanded against what came before; valueFrom
 * resolved from the pod's ConfigMaps/Secrets, the downward API and the container's resources. Errors use the
 * kubelet's words; the caller reports them as CreateContainerConfigError.
 */
import { configError } from './errors.js';
import type { PodInputs } from './inputs.js';
import { parseQuantity } from '@berth/common/quantity';
import type { Container, Pod } from './types.js';

export interface PodFacts {
  podIP?: string;
  podIPs?: string[];
  hostIP?: string;
  nodeName?: string;
}

/** Kubernetes' expansion: `$(NAME)` from the mapping, `$$` an escaped `$`, unknown references kept verbatim. */
export function expand(input: string, lookup: (name: string) => string | undefined): string {
  let out = '';
  for (let i = 0; i < input.length; i++) {
    const ch = input[i];
    if (ch !== '$' || i + 1 >= input.length) {
      out += ch;
      continue;
    }
    const next = input[i + 1];
    if (next === '$') {
      out += '$';
      i++;
    } else if (next === '(') {
      const end = input.indexOf(')', i + 2);
      if (end < 0) {
        out += input.slice(i);
        break;
      }
      const name = input.slice(i + 2, end);
      const v = lookup(name);
      out += v ?? `$(${name})`;
      i = end;
    } else out += ch;
  }
  return out;
}

const ENV_NAME = /^[-._a-zA-Z][-._a-zA-Z0-9]*$/;

/** The value of a downward-API field path (fieldRef); throws for unsupported paths as the kubelet does. */
export function fieldPathValue(pod: Pod, fieldPath: string, facts: PodFacts): string {
  const m = pod.metadata ?? {};
  const keyed = /^metadata\.(labels|annotations)\['(.+)'\]$/.exec(fieldPath);
  if (keyed) {
    const map = keyed[1] === 'labels' ? m.labels : m.annotations;
    return map?.[keyed[2]] ?? '';
  }
  switch (fieldPath) {
    case 'metadata.name':
      return m.name ?? '';
    case 'metadata.namespace':
      return m.namespace ?? 'default';
    case 'metadata.uid':
      return m.uid ?? '';
    case 'metadata.labels':
      return formatMap(m.labels);
    case 'metadata.annotations':
      return formatMap(m.annotations);
    case 'spec.nodeName':
      return pod.spec?.nodeName ?? facts.nodeName ?? '';
    case 'spec.serviceAccountName':
      return pod.spec?.serviceAccountName ?? '';
    case 'status.hostIP':
      return facts.hostIP ?? '';
    case 'status.hostIPs':
      return facts.hostIP ?? '';
    case 'status.podIP':
      return facts.podIP ?? '';
    case 'status.podIPs':
      return (facts.podIPs ?? (facts.podIP ? [facts.podIP] : [])).join(',');
  }
  throw configError(`unsupported fieldPath: ${fieldPath}`);
}

/** `key="value"` lines, sorted, as the downward API volume writes labels and annotations. */
export function formatMap(m: Record<string, string> | undefined): string {
  return Object.keys(m ?? {})
    .sort()
    .map((k) => `${k}=${JSON.stringify(m![k])}`)
    .join('\n');
}

/** resourceFieldRef: the container's limit (node allocatable when unset) or request, over the divisor, rounded up. */
export function resourceFieldValue(
  c: Container,
  resource: string,
  divisor: string | undefined,
  inputs: PodInputs,
): string {
  const [kind, name] = resource.split('.', 2) as [string, string | undefined];
  if (
    (kind !== 'limits' && kind !== 'requests') ||
    !name ||
    !['cpu', 'memory', 'ephemeral-storage'].includes(name)
  )
    throw configError(`unsupported container resource : ${resource}`);
  const set = kind === 'limits' ? c.resources?.limits : c.resources?.requests;
  let value = set?.[name] !== undefined ? parseQuantity(set[name]) : undefined;
  if (value === undefined && kind === 'limits') {
    const a = inputs.nodeAllocatable;
    value = name === 'cpu' ? a?.cpu : name === 'memory' ? a?.memory : a?.ephemeralStorage;
  }
  value ??= 0;
  const d = divisor ? parseQuantity(divisor) : 1;
  if (d <= 0) throw configError(`invalid divisor ${divisor} for ${resource}`);
  // cpu is never less than 1 in its unit (the kubelet's ConvertResourceCPUToString rounds up).
  const n = Math.ceil(value / d - 1e-9);
  return String(name === 'cpu' && value > 0 ? Math.max(1, n) : n);
}

export interface EnvResult {
  env: Array<[string, string]>;
  /** envFrom keys that are not valid variable names (the kubelet's InvalidEnvironmentVariableNames event). */
  invalidNames: string[];
}

/** The container's environment, deduplicated (a later definition wins). */
export function containerEnv(pod: Pod, c: Container, inputs: PodInputs, facts: PodFacts): EnvResult {
  const ns = pod.metadata?.namespace ?? 'default';
  const out = new Map<string, string>();
  const invalidNames: string[] = [];
  // The caller applies enableServiceLinks (the default namespace's `kubernetes` Service stays regardless).
  for (const [k, v] of Object.entries(inputs.serviceEnv ?? {})) out.set(k, v);

  for (const src of c.envFrom ?? []) {
    const prefix = src.prefix ?? '';
    let data: Record<string, string>;
    if (src.configMapRef) {
      const cm = inputs.configMaps[src.configMapRef.name ?? ''];
      if (!cm) {
        if (src.configMapRef.optional) continue;
        throw configError(`configmap "${src.configMapRef.name}" not found`);
      }
      data = cm.data ?? {};
    } else if (src.secretRef) {
      const s = inputs.secrets[src.secretRef.name ?? ''];
      if (!s) {
        if (src.secretRef.optional) continue;
        throw configError(`secret "${src.secretRef.name}" not found`);
      }
      data = decodeSecret(s.data);
    } else continue;
    for (const [k, v] of Object.entries(data)) {
      const name = prefix + k;
      if (!ENV_NAME.test(name)) invalidNames.push(name);
      else out.set(name, v);
    }
  }

  const lookup = (n: string) => out.get(n);
  for (const e of c.env ?? []) {
    let value: string | undefined;
    if (e.valueFrom) {
      const vf = e.valueFrom;
      if (vf.fieldRef) value = fieldPathValue(pod, vf.fieldRef.fieldPath, facts);
      else if (vf.resourceFieldRef) {
        const target = vf.resourceFieldRef.containerName
          ? [...(pod.spec?.containers ?? []), ...(pod.spec?.initContainers ?? [])].find(
              (x) => x.name === vf.resourceFieldRef!.containerName,
            )
          : c;
        if (!target) throw configError(`cannot find container "${vf.resourceFieldRef.containerName}"`);
        value = resourceFieldValue(target, vf.resourceFieldRef.resource, vf.resourceFieldRef.divisor, inputs);
      } else if (vf.configMapKeyRef) {
        const r = vf.configMapKeyRef;
        const cm = inputs.configMaps[r.name ?? ''];
        if (!cm) {
          if (r.optional) continue;
          throw configError(`configmap "${r.name}" not found`);
        }
        value = cm.data?.[r.key];
        if (value === undefined) {
          if (r.optional) continue;
          throw configError(`couldn't find key ${r.key} in ConfigMap ${ns}/${r.name}`);
        }
      } else if (vf.secretKeyRef) {
        const r = vf.secretKeyRef;
        const s = inputs.secrets[r.name ?? ''];
        if (!s) {
          if (r.optional) continue;
          throw configError(`secret "${r.name}" not found`);
        }
        value = decodeSecret(s.data)[r.key];
        if (value === undefined) {
          if (r.optional) continue;
          throw configError(`couldn't find key ${r.key} in Secret ${ns}/${r.name}`);
        }
      }
    } else value = expand(e.value ?? '', lookup);
    out.delete(e.name);
    out.set(e.name, value ?? '');
  }
  return { env: [...out], invalidNames };
}

/** A Secret's data (base64 on the wire) as text. */
export function decodeSecret(data: Record<string, string> | undefined): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(data ?? {})) out[k] = Buffer.from(v, 'base64').toString('utf8');
  return out;
}

/** command/args with `$(VAR)` expanded against the container's final environment. */
export function expandArgs(list: string[] | undefined, env: Array<[string, string]>): string[] | undefined {
  if (!list?.length) return undefined;
  const m = new Map(env);
  return list.map((a) => expand(a, (n) => m.get(n)));
}
