/**
 * How kube-apiserver's Go decoder names what it was decoding into, for its error messages
 * (`json: cannot unmarshal string into Go struct field DeploymentSpec.spec.replicas of type int32`), and the
 * checks Go's special types (resource.Quantity, []byte) make while decoding. The Go names come from the OpenAPI
 * definitions: `io.k8s.api.core.v1.Container` is the struct `v1.Container`; named string and map types
 * (v1.PullPolicy, v1.ResourceList) are not in the document, so those print as their underlying type.
 */
import type { SchemaNode } from './node.js';

/** `v1.Container` for io.k8s.api.core.v1.Container: the Go package's last element and the type name. */
export function goDefinitionName(definition: string): string {
  const parts = definition.split('.');
  return parts.length >= 2 ? `${parts[parts.length - 2]}.${parts[parts.length - 1]}` : definition;
}

/** The bare struct name Go puts before the field path: `DeploymentSpec`. */
export function goStructName(definition: string | undefined): string {
  if (!definition) return '';
  const parts = definition.split('.');
  return parts[parts.length - 1];
}

/** reflect.Type.String() of the Go type a schema node decodes into. */
export function goTypeName(node: SchemaNode, depth = 0): string {
  if (depth > 8) return 'interface {}';
  const def = node.definitionName;
  if (def && node.resolved.type === 'object' && node.shape === 'struct') return goDefinitionName(def);
  if (node.isIntOrString) return 'intstr.IntOrString';
  if (def === 'io.k8s.apimachinery.pkg.api.resource.Quantity') return 'resource.Quantity';
  if (def && /\.(Time|MicroTime)$/.test(def)) return goDefinitionName(def);
  switch (node.shape) {
    case 'list': {
      const items = node.items;
      return `[]${items ? goTypeName(items, depth + 1) : 'interface {}'}`;
    }
    case 'map': {
      const values = node.values;
      return `map[string]${values ? goTypeName(values, depth + 1) : 'interface {}'}`;
    }
    case 'struct':
      return def ? goDefinitionName(def) : 'struct';
    case 'untyped':
      return def ? goDefinitionName(def) : 'interface {}';
    default:
      break;
  }
  switch (node.type) {
    case 'integer':
      return node.format === 'int32' ? 'int32' : 'int64';
    case 'number':
      return node.format === 'float' ? 'float32' : 'float64';
    case 'boolean':
      return 'bool';
    case 'string':
      return node.format === 'byte' ? '[]uint8' : 'string';
    default:
      return 'interface {}';
  }
}

/** What Go's decoder calls a JSON value in "cannot unmarshal X into": string, number, bool, object, array. */
export function jsonKind(v: unknown): string {
  if (typeof v === 'string') return 'string';
  if (typeof v === 'number') return 'number';
  if (typeof v === 'boolean') return 'bool';
  if (Array.isArray(v)) return 'array';
  return 'object';
}

/** base64.StdEncoding.Decode's verdict (Go decodes []byte fields from base64): undefined, or its error. */
export function base64Error(s: string): string | undefined {
  const chars: number[] = [];
  for (let i = 0; i < s.length; i++) if (s[i] !== '\n' && s[i] !== '\r') chars.push(i);
  const alphabet = /[A-Za-z0-9+/]/;
  let q = 0;
  for (; q < chars.length; q += 4) {
    const group = chars.slice(q, q + 4);
    for (let k = 0; k < group.length; k++) {
      const c = s[group[k]];
      if (alphabet.test(c)) continue;
      if (c === '=' && k >= 2) {
        // Padding: the rest of the quantum must be '=' and nothing may follow.
        const rest = group.slice(k);
        if (rest.some((j) => s[j] !== '=') || (k === 2 && group.length < 4))
          return `illegal base64 data at input byte ${group[k]}`;
        if (q + 4 < chars.length) return `illegal base64 data at input byte ${chars[q + 4]}`;
        return undefined;
      }
      return `illegal base64 data at input byte ${group[k]}`;
    }
    if (group.length < 4) return `illegal base64 data at input byte ${group[0]}`;
  }
  return undefined;
}

/** RFC 3339 as Go's time.Parse(time.RFC3339) accepts it (metav1.Time). */
export function timeError(s: string): string | undefined {
  if (
    /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$/.test(s) &&
    !Number.isNaN(Date.parse(s))
  ) {
    return undefined;
  }
  return `parsing time ${JSON.stringify(s)} as "2006-01-02T15:04:05Z07:00": cannot parse ${JSON.stringify(s)} as "2006"`;
}
