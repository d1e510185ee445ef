/**
 * The in-process client the scheduler, controllers and kubelet use: typed get/list/watch/create/update/
 * updateStatus/patch/delete over the same registry the HTTP handlers use, so every write passes the same
 * defaults, validation and admission, and every watch has the same semantics (resourceVersion, selectors,
 * bookmarks, the 410 ERROR event). Errors are the KubeErrors HTTP would have turned into a Status.
 *
 *   const pods = client.resource<V1Pod>('v1', 'pods');
 *   const list = await pods.list({ namespace: 'default', fieldSelector: 'spec.nodeName=berth' });
 *   const w = await pods.watch({ resourceVersion: list.metadata.resourceVersion }, (e) => ...);
 *   await pods.updateStatus(pod);  await client.bindPod('default', 'web-1', 'berth');
 */
import { forbidden, KubeError } from '../errors.js';
import type { AuthorizerChain } from '../apiserver/auth/authorizer.js';
import { forbiddenText } from '../apiserver/auth/authorizer.js';
import type { CollectionStore } from '../registry/generic/collection.js';
import type {
  DeleteOptions,
  KubeList,
  ListOptions,
  RequestContext,
  WatchOptions,
  WatchSession,
  WatchEventType,
} from '../registry/generic/context.js';
import { patchResource } from '../registry/generic/patching.js';
import type { Registry } from '../registry/generic/registry.js';
import { bindPod, finalizeNamespace, scaleOf, updateScale } from '../registry/subresources.js';
import type { ResourceCatalog } from '../registry/catalog.js';
import type { KubeObject, RequestUser } from '../registry/types.js';
import { customInfo } from '../schema/crd/resource.js';
import type { PatchType } from '../patch/index.js';

export interface ClientIdentity {
  user: RequestUser;
  /** metadata.managedFields manager of this client's writes (e.g. "kube-controller-manager"). */
  fieldManager: string;
}

export interface TypedList<T> extends Omit<KubeList, 'items'> {
  items: T[];
}

export interface TypedWatchEvent<T> {
  type: WatchEventType;
  /** The object; for ERROR a v1 Status, for BOOKMARK an object with only metadata.resourceVersion. */
  object: T;
}

export interface Scoped {
  namespace?: string;
}

export interface WriteOptions extends Scoped {
  dryRun?: boolean;
}

export class Client {
  constructor(
    private readonly registry: Registry,
    readonly identity: ClientIdentity,
    /** When given, each call is authorized as an HTTP request would be (RBAC applies to controllers too). */
    private readonly authz?: AuthorizerChain,
  ) {}

  /** The same client acting as someone else. */
  as(identity: ClientIdentity): Client {
    return new Client(this.registry, identity, this.authz);
  }

  resource<T extends KubeObject = KubeObject>(apiVersion: string, plural: string): ResourceClient<T> {
    return new ResourceClient<T>(this.registry, apiVersion, plural, this.identity, this.authz);
  }

  /** pods/binding: the scheduler's placement of a pod on a node. */
  async bindPod(namespace: string, name: string, nodeName: string, uid?: string): Promise<void> {
    const rc = this.resource('v1', 'pods');
    await rc.authorize('create', namespace, name, 'binding');
    await bindPod(rc.store(), rc.context(), namespace, {
      apiVersion: 'v1',
      kind: 'Binding',
      metadata: { name, namespace, ...(uid ? { uid } : {}) },
      target: { apiVersion: 'v1', kind: 'Node', name: nodeName },
    });
  }

  /** namespaces/finalize: sets spec.finalizers (the namespace controller removes "kubernetes" when empty). */
  async finalizeNamespace(name: string, finalizers: string[]): Promise<KubeObject> {
    const rc = this.resource('v1', 'namespaces');
    await rc.authorize('update', undefined, name, 'finalize');
    return finalizeNamespace(rc.store(), rc.context(), name, { spec: { finalizers } });
  }

  /** The served resources (controllers that span kinds, like the garbage collector, walk them). */
  get catalog(): ResourceCatalog {
    return this.registry.deps.catalog;
  }
}

export class ResourceClient<T extends KubeObject> {
  constructor(
    private readonly registry: Registry,
    readonly apiVersion: string,
    readonly plural: string,
    private readonly identity: ClientIdentity,
    private readonly authz?: AuthorizerChain,
  ) {}

  store(): CollectionStore {
    const s = this.registry.resource(this.apiVersion, this.plural);
    if (!s)
      throw new KubeError(
        'NotFound',
        `the server could not find the requested resource (${this.plural}.${this.apiVersion})`,
      );
    return s;
  }

  context(o: { dryRun?: boolean } = {}): RequestContext {
    return {
      user: this.identity.user,
      fieldManager: this.identity.fieldManager,
      dryRun: o.dryRun === true,
      warnings: [],
    };
  }

  async authorize(verb: string, namespace: string | undefined, name = '', subresource = ''): Promise<void> {
    if (!this.authz) return;
    const s = this.store();
    const a = {
      user: this.identity.user,
      verb,
      resourceRequest: true,
      apiGroup: s.type.group,
      apiVersion: s.type.version,
      resource: s.type.plural,
      subresource,
      namespace: s.type.namespaced ? (namespace ?? '') : '',
      name,
    };
    const d = await this.authz.authorize(a);
    if (!d.allowed)
      throw forbidden(`${s.qualified}${name ? ` "${name}"` : ''} is forbidden: ${forbiddenText(a)}`, {
        kind: s.type.plural,
        name,
      });
  }

  private ns(o: Scoped | undefined, obj?: KubeObject): string | undefined {
    return this.store().type.namespaced ? (o?.namespace ?? obj?.metadata?.namespace) : undefined;
  }

  async get(name: string, o?: Scoped): Promise<T> {
    await this.authorize('get', o?.namespace, name);
    return (await this.store().get(this.ns(o), name)) as T;
  }

  /** Without a namespace: across all namespaces. */
  async list(o: Scoped & ListOptions = {}): Promise<TypedList<T>> {
    await this.authorize('list', o.namespace);
    const { namespace, ...opts } = o;
    return (await this.store().list(
      this.store().type.namespaced ? namespace : undefined,
      opts,
    )) as TypedList<T>;
  }

  async watch(o: Scoped & WatchOptions, onEvent: (e: TypedWatchEvent<T>) => void): Promise<WatchSession> {
    await this.authorize('watch', o.namespace);
    const { namespace, ...opts } = o;
    return this.store().watch(this.store().type.namespaced ? namespace : undefined, opts, (e) =>
      onEvent(e as TypedWatchEvent<T>),
    );
  }

  async create(obj: T, o: WriteOptions = {}): Promise<T> {
    const ns = this.ns(o, obj);
    await this.authorize('create', ns);
    return (await this.store().create(this.context(o), ns, structuredClone(obj))) as T;
  }

  async update(obj: T, o: WriteOptions = {}): Promise<T> {
    return this.put(obj, o, '');
  }

  async updateStatus(obj: T, o: WriteOptions = {}): Promise<T> {
    return this.put(obj, o, 'status');
  }

  private async put(obj: T, o: WriteOptions, subresource: string): Promise<T> {
    const ns = this.ns(o, obj);
    const name = obj.metadata?.name ?? '';
    await this.authorize('update', ns, name, subresource);
    const r = await this.store().update(this.context(o), ns, name, structuredClone(obj), { subresource });
    return r.object as T;
  }

  /** `patch` is the patch document (an object, or text for apply YAML). */
  async patch(
    name: string,
    patchType: PatchType,
    patch: unknown,
    o: WriteOptions & { subresource?: string; force?: boolean; fieldManager?: string } = {},
  ): Promise<T> {
    const ns = this.ns(o);
    await this.authorize('patch', ns, name, o.subresource ?? '');
    const ctx = this.context(o);
    if (o.fieldManager) ctx.fieldManager = o.fieldManager;
    const r = await patchResource(this.store(), ctx, ns, name, {
      patchType,
      body: typeof patch === 'string' ? patch : JSON.stringify(patch),
      ...(o.subresource ? { subresource: o.subresource } : {}),
      ...(o.force ? { force: true } : {}),
    });
    return r.object as T;
  }

  /** Resolves to the object as it is after the delete (with a deletionTimestamp while finalizers hold it) and whether it is gone. */
  async delete(
    name: string,
    o: Scoped & DeleteOptions & { dryRun?: boolean } = {},
  ): Promise<{ object: T; deleted: boolean }> {
    const { namespace, dryRun, ...opts } = o;
    const ns = this.ns({ ...(namespace ? { namespace } : {}) });
    await this.authorize('delete', ns, name);
    const r = await this.store().delete(this.context({ dryRun: dryRun === true }), ns, name, opts);
    return { object: r.object as T, deleted: r.deleted };
  }

  async deleteCollection(o: Scoped & ListOptions & { delete?: DeleteOptions } = {}): Promise<TypedList<T>> {
    const { namespace, delete: del, ...list } = o;
    await this.authorize('deletecollection', namespace);
    return (await this.store().deleteCollection(
      this.context(),
      this.ns({ ...(namespace ? { namespace } : {}) }),
      list,
      del ?? {},
    )) as TypedList<T>;
  }

  /** GET .../scale (autoscaling/v1 Scale). */
  async getScale(name: string, o?: Scoped): Promise<KubeObject> {
    await this.authorize('get', o?.namespace, name, 'scale');
    return scaleOf(await this.store().get(this.ns(o), name), customInfo(this.store().type)?.scale);
  }

  async setReplicas(name: string, replicas: number, o?: Scoped): Promise<KubeObject> {
    await this.authorize('update', o?.namespace, name, 'scale');
    const custom = customInfo(this.store().type)?.scale;
    return updateScale(
      this.store(),
      this.context(),
      this.ns(o),
      name,
      (s) => ({ ...s, spec: { replicas } }),
      custom,
    );
  }
}
