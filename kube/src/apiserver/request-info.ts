/**
 * What a URL asks for, as kube-apiserver's RequestInfoFactory reads it: resource requests under /api/v1 and
 * /apis/<group>/<version> (namespace, resource, name, subresource, verb), everything else a non-resource path.
 */
import { parseFieldSelector } from '../selectors/fields.js';

export interface RequestInfo {
  resourceRequest: boolean;
  path: string;
  /** Kubernetes verb: get, list, watch, create, update, patch, delete, deletecollection (or the HTTP verb). */
  verb: string;
  apiGroup: string;
  apiVersion: string;
  namespace: string;
  resource: string;
  subresource: string;
  name: string;
  /** Segments after the subresource (proxy paths). */
  rest: string[];
  /**
   * Whether `name` came from the path. A list or watch whose fieldSelector pins metadata.name gets that name too
   * (for authorization, as kube-apiserver's RequestInfoFactory does), without it being in the path.
   */
  nameInPath: boolean;
}

const NAMESPACE_SUBRESOURCES = new Set(['status', 'finalize']);

/** The parameter codec's bool: present with any value but "0" or "false" (any case). */
function truthy(v: string | null): boolean {
  return v !== null && v !== '0' && v.toLowerCase() !== 'false';
}

/** fields.Selector.RequiresExactMatch("metadata.name"), kept only when it is a valid path segment. */
export function selectedName(fieldSelector: string | null): string {
  if (!fieldSelector) return '';
  let terms;
  try {
    terms = parseFieldSelector(fieldSelector);
  } catch {
    return '';
  }
  const t = terms.find((x) => x.field === 'metadata.name' && x.op === '=');
  if (!t || t.value === '.' || t.value === '..' || /[/%]/.test(t.value)) return '';
  return t.value;
}

export function requestInfo(method: string, pathname: string, query: URLSearchParams): RequestInfo {
  const info: RequestInfo = {
    resourceRequest: false,
    path: pathname,
    verb: method.toLowerCase(),
    apiGroup: '',
    apiVersion: '',
    namespace: '',
    resource: '',
    subresource: '',
    name: '',
    rest: [],
    nameInPath: false,
  };
  let parts = pathname
    .replace(/^\/+|\/+$/g, '')
    .split('/')
    .filter(Boolean)
    .map(decodeURIComponent);
  if (parts[0] === 'api') {
    if (parts.length < 2) return info;
    info.apiVersion = parts[1]!;
    parts = parts.slice(2);
  } else if (parts[0] === 'apis') {
    if (parts.length < 3) return info;
    info.apiGroup = parts[1]!;
    info.apiVersion = parts[2]!;
    parts = parts.slice(3);
  } else return info;
  if (!parts.length) return info;
  info.resourceRequest = true;
  const httpVerb = method.toUpperCase();
  let watchPrefix = false;
  if (parts[0] === 'watch') {
    watchPrefix = true;
    parts = parts.slice(1);
  }
  if (parts[0] === 'namespaces' && parts.length > 1) {
    info.namespace = parts[1]!;
    if (parts.length > 2 && !NAMESPACE_SUBRESOURCES.has(parts[2])) parts = parts.slice(2);
  }
  info.resource = parts[0] ?? '';
  if (parts.length >= 2) info.name = parts[1]!;
  info.nameInPath = info.name !== '';
  if (parts.length >= 3) info.subresource = parts[2]!;
  info.rest = parts.slice(3);
  switch (httpVerb) {
    case 'POST':
      info.verb = 'create';
      break;
    case 'GET':
    case 'HEAD':
      info.verb = 'get';
      break;
    case 'PUT':
      info.verb = 'update';
      break;
    case 'PATCH':
      info.verb = 'patch';
      break;
    case 'DELETE':
      info.verb = 'delete';
      break;
    default:
      info.verb = method.toLowerCase();
  }
  // /watch/... paths watch (a named one is a watch of that object); a named GET is a get whatever ?watch says.
  if (watchPrefix && info.verb === 'get') info.verb = 'watch';
  else if (info.verb === 'get' && !info.name) {
    info.verb = truthy(query.get('watch')) ? 'watch' : 'list';
    info.name = selectedName(query.get('fieldSelector'));
  }
  if (info.verb === 'delete' && !info.name) info.verb = 'deletecollection';
  return info;
}
