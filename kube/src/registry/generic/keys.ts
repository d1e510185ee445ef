/**
 * Storage keys as kube-apiserver lays them out: `/registry/<resource>/<namespace>/<name>` or
 * `/registry/<resource>/<name>`, where <resource> is the plural for built-ins (with kube-apiserver's historical
 * exceptions: `minions`, `services/specs`, `controllers`...) and `<group>/<plural>` for custom resources.
 */
import type { ResourceType } from '../types.js';

export const REGISTRY_ROOT = '/registry/';

export function resourcePrefix(t: ResourceType): string {
  return `${REGISTRY_ROOT}${t.storageResource ?? t.plural}/`;
}

/** Where a type's objects live: all of them, or one namespace's. */
export function collectionPrefix(t: ResourceType, namespace?: string): string {
  return t.namespaced && namespace ? `${resourcePrefix(t)}${namespace}/` : resourcePrefix(t);
}

export function objectKey(t: ResourceType, namespace: string | undefined, name: string): string {
  return t.namespaced ? `${resourcePrefix(t)}${namespace ?? ''}/${name}` : `${resourcePrefix(t)}${name}`;
}

/** The namespace and name a key stands for (namespaced keys have one more segment). */
export function parseKey(t: ResourceType, key: string): { namespace?: string; name: string } {
  const rest = key.slice(resourcePrefix(t).length);
  if (!t.namespaced) return { name: rest };
  const i = rest.indexOf('/');
  return { namespace: rest.slice(0, i), name: rest.slice(i + 1) };
}
