/**
 * The in-process client typed with the kubelet's wire types (client-node's models with string times): the same
 * calls as ResourceClient, whose KubeObject differs from them only in how strictly it types a few enum fields.
 */
import type { Client, ResourceClient, Scoped, WriteOptions } from '../client/index.js';
import type { DeleteOptions } from '../registry/generic/context.js';
import type { KubeObject } from '../registry/types.js';
import type { PatchType } from '../patch/index.js';

export interface TypedApi<T> {
  readonly rc: ResourceClient<KubeObject>;
  get(name: string, o?: Scoped): Promise<T>;
  create(obj: T, o?: WriteOptions): Promise<T>;
  update(obj: T, o?: WriteOptions): Promise<T>;
  updateStatus(obj: T, o?: WriteOptions): Promise<T>;
  patch(
    name: string,
    type: PatchType,
    patch: unknown,
    o?: WriteOptions & { subresource?: string },
  ): Promise<T>;
  delete(name: string, o?: Scoped & Omit<DeleteOptions, 'dryRun'>): Promise<void>;
}

export function typedApi<T>(client: Client, apiVersion: string, plural: string): TypedApi<T> {
  const rc = client.resource(apiVersion, plural);
  const out = (o: KubeObject) => o as unknown as T;
  const into = (o: T) => o as unknown as KubeObject;
  return {
    rc,
    get: async (name, o) => out(await rc.get(name, o)),
    create: async (obj, o) => out(await rc.create(into(obj), o)),
    update: async (obj, o) => out(await rc.update(into(obj), o)),
    updateStatus: async (obj, o) => out(await rc.updateStatus(into(obj), o)),
    patch: async (name, type, patch, o) => out(await rc.patch(name, type, patch, o)),
    delete: async (name, o) => void (await rc.delete(name, o)),
  };
}
