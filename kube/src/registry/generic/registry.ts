/**
 * The registry: one CollectionStore per served type, built on first use, all sharing the store, the watch hub and
 * the admission chain. The HTTP handlers and the in-process client both go through it. It also reads objects for
 * strategies (allocators, reference checks) and for admission plugins (the namespace lookup).
 */
import { parseApiVersion } from '../catalog.js';
import type { KubeObject, ObjectReader, ResourceType } from '../types.js';
import { decode } from './codec.js';
import type { RegistryDeps } from './context.js';
import { CollectionStore } from './collection.js';
import { objectKey } from './keys.js';

export class Registry implements ObjectReader {
  private readonly stores = new WeakMap<ResourceType, CollectionStore>();

  constructor(readonly deps: RegistryDeps) {}

  /** The store of a type (the catalog's ResourceType object: CRDs replace theirs when they change). */
  of(t: ResourceType): CollectionStore {
    let s = this.stores.get(t);
    if (!s) {
      s = new CollectionStore(t, this.deps, this);
      this.stores.set(t, s);
    }
    return s;
  }

  /** The store for an apiVersion and plural, or undefined when that resource is not served. */
  resource(apiVersion: string, plural: string): CollectionStore | undefined {
    const { group, version } = parseApiVersion(apiVersion);
    const t = this.deps.catalog.get(group, version, plural);
    return t ? this.of(t) : undefined;
  }

  async list(apiVersion: string, plural: string, namespace?: string): Promise<KubeObject[]> {
    const s = this.resource(apiVersion, plural);
    if (!s) return [];
    return (await s.list(namespace)).items;
  }

  /** A namespace as stored, or undefined (NamespaceLifecycle's lookup). */
  async namespace(name: string): Promise<KubeObject | undefined> {
    const t = this.deps.catalog.get('', 'v1', 'namespaces');
    if (!t) return undefined;
    const kv = await this.deps.store.get(objectKey(t, undefined, name));
    return kv ? decode(t, kv) : undefined;
  }
}
