/** A compact way to declare built-in resources: defaults for the common case, overrides where kinds differ. */
import type { ResourceType, Strategy, SubresourceInfo, Verb } from '../types.js';

export const CRUD: Verb[] = [
  'create',
  'delete',
  'deletecollection',
  'get',
  'list',
  'patch',
  'update',
  'watch',
];
const RW: Verb[] = ['get', 'patch', 'update'];

/** Subresources by name, with the verbs and kinds kube-apiserver's discovery gives them. */
export function sub(name: string, kind: string): SubresourceInfo {
  switch (name) {
    case 'scale':
      return { name, kind: 'Scale', group: 'autoscaling', version: 'v1', verbs: RW };
    case 'exec':
    case 'attach':
    case 'portforward':
      return { name, kind, verbs: ['create', 'get'] };
    case 'proxy':
      return { name, kind, verbs: ['create', 'delete', 'get', 'patch', 'update'] };
    case 'log':
      return { name, kind, verbs: ['get'] };
    case 'binding':
      return { name, kind, verbs: ['create'] };
    // Kinds of another group, as kube-apiserver's discovery names them.
    case 'eviction':
      return { name, kind, group: 'policy', version: 'v1', verbs: ['create'] };
    case 'token':
      return { name, kind, group: 'authentication.k8s.io', version: 'v1', verbs: ['create'] };
    case 'finalize':
      return { name, kind, verbs: ['update'] };
    default:
      return { name, kind, verbs: RW };
  }
}

const SUB_KINDS: Record<string, string> = {
  exec: 'PodExecOptions',
  attach: 'PodAttachOptions',
  portforward: 'PodPortForwardOptions',
  binding: 'Binding',
  eviction: 'Eviction',
  token: 'TokenRequest',
};

export interface Def {
  kind: string;
  plural?: string;
  singular?: string;
  namespaced?: boolean;
  short?: string[];
  categories?: string[];
  verbs?: Verb[];
  subresources?: string[];
  storageResource?: string;
  strategy?: Strategy;
  returnDeletedObject?: boolean;
  virtual?: boolean;
}

export function define(group: string, version: string, d: Def): ResourceType {
  const singular = d.singular ?? d.kind.toLowerCase();
  const plural =
    d.plural ??
    (singular.endsWith('s')
      ? `${singular}es`
      : singular.endsWith('y')
        ? `${singular.slice(0, -1)}ies`
        : `${singular}s`);
  const subKind = (n: string) => {
    if (n === 'proxy') return `${d.kind}ProxyOptions`;
    return SUB_KINDS[n] ?? d.kind;
  };
  const t: ResourceType = {
    group,
    version,
    kind: d.kind,
    listKind: `${d.kind}List`,
    plural,
    singular,
    namespaced: d.namespaced ?? true,
    verbs: d.verbs ?? CRUD,
    strategy: d.strategy ?? {},
  };
  if (d.short) t.shortNames = d.short;
  if (d.categories) t.categories = d.categories;
  if (d.subresources) t.subresources = d.subresources.map((n) => sub(n, subKind(n)));
  if (d.storageResource) t.storageResource = d.storageResource;
  if (d.returnDeletedObject) t.returnDeletedObject = true;
  if (d.virtual) t.virtual = true;
  return t;
}

/** Verbs of the review kinds and Bindings: create only. */
export const CREATE_ONLY: Verb[] = ['create'];
