/**
 * What a URL asks for, as kube-apiserver's RequestInfoFactory reads it: resource requests under /api/v1 and
 * /apis/<group>/<version> (namespace, resource, name, subresource, verb), everything else a non-resource path.
 */
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
}

const NAMESPACE_SUBRESOURCES = new Set(['status', 'finalize']);

function truthy(v: string | null): boolean {
  return v === 'true' || v === '1';
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
  if (watchPrefix && info.verb === 'get') info.verb = 'watch';
  if (info.verb === 'get' && !info.name) info.verb = truthy(query.get('watch')) ? 'watch' : 'list';
  else if (info.verb === 'get' && truthy(query.get('watch')) && !info.subresource) {
    // A watch of one object: list/watch with a metadata.name field selector, as kube-apiserver rewrites it.
    info.verb = 'watch';
  }
  if (info.verb === 'delete' && !info.name) info.verb = 'deletecollection';
  return info;
}
