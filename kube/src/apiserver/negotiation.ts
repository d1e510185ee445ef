/**
 * Content negotiation as kube-apiserver's: the Accept header picks JSON or YAML and, through media-type
 * parameters, the Table and PartialObjectMetadata views (`application/json;as=Table;v=v1;g=meta.k8s.io`) and
 * aggregated discovery. Protobuf is not served: when a client lists it first and JSON after (kubectl port-forward
 * does), JSON answers; when nothing acceptable remains, 406.
 */
import { KubeError } from '../errors.js';

export type Format = 'json' | 'yaml';
export type View =
  | { as: 'object' }
  | { as: 'Table'; version: string }
  | { as: 'PartialObjectMetadata'; version: string }
  | { as: 'PartialObjectMetadataList'; version: string }
  | { as: 'APIGroupDiscoveryList'; version: string };

export interface Negotiated {
  format: Format;
  view: View;
}

interface Clause {
  type: string;
  params: Record<string, string>;
  q: number;
}

function parseAccept(header: string | undefined): Clause[] {
  if (!header) return [{ type: '*/*', params: {}, q: 1 }];
  const out: Clause[] = [];
  for (const raw of header.split(',')) {
    const [type = '', ...ps] = raw.split(';').map((s) => s.trim());
    if (!type) continue;
    const params: Record<string, string> = {};
    for (const p of ps) {
      const i = p.indexOf('=');
      if (i > 0) params[p.slice(0, i).trim().toLowerCase()] = p.slice(i + 1).trim();
    }
    const q = params.q !== undefined ? Number(params.q) : 1;
    delete params.q;
    out.push({ type: type.toLowerCase(), params, q: Number.isFinite(q) ? q : 0 });
  }
  // Stable sort by quality: clients list their preference order within one quality.
  return out.filter((c) => c.q > 0).sort((a, b) => b.q - a.q);
}

export const ACCEPTED_OUTPUT = 'application/json, application/yaml, application/vnd.kubernetes.protobuf';

export interface Allowed {
  /** Which `as=` views this endpoint can produce. */
  views: Array<View['as']>;
}

/** Picks the first clause this endpoint can satisfy. */
export function negotiate(accept: string | undefined, allowed: Allowed): Negotiated {
  for (const c of parseAccept(accept)) {
    let format: Format | undefined;
    if (c.type === 'application/json' || c.type === '*/*' || c.type === 'application/*') format = 'json';
    else if (c.type === 'application/yaml') format = 'yaml';
    if (!format) continue;
    const as = c.params.as;
    if (!as) return { format, view: { as: 'object' } };
    const g = c.params.g ?? '';
    const v = c.params.v ?? '';
    if (as === 'APIGroupDiscoveryList') {
      if (g === 'apidiscovery.k8s.io' && (v === 'v2' || v === 'v2beta1') && allowed.views.includes(as))
        return { format, view: { as, version: v } };
      continue;
    }
    if (g !== 'meta.k8s.io' || (v !== 'v1' && v !== 'v1beta1')) continue;
    if (
      (as === 'Table' || as === 'PartialObjectMetadata' || as === 'PartialObjectMetadataList') &&
      allowed.views.includes(as)
    )
      return { format, view: { as, version: v } };
  }
  throw new KubeError('NotAcceptable', `only the following media types are accepted: ${ACCEPTED_OUTPUT}`);
}

export function contentTypeOf(n: Negotiated): string {
  const base = n.format === 'yaml' ? 'application/yaml' : 'application/json';
  if (n.view.as === 'object') return base;
  const g = n.view.as === 'APIGroupDiscoveryList' ? 'apidiscovery.k8s.io' : 'meta.k8s.io';
  return `${base};as=${n.view.as};g=${g};v=${n.view.version}`;
}
