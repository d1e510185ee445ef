/**
 * The generic REST storage of one resource (kube-apiserver's genericregistry.Store): get, create, update and
 * status writes over the Store, with the metadata rules, the kind's strategy, admission and optimistic
 * concurrency. HTTP handlers and the in-process client both come here, so a controller's write passes the same
 * defaults, validation and admission as kubectl's. Lists, watches and deletes are in their own modules.
 */
import {
  KubeError,
  alreadyExists,
  conflict,
  invalid,
  isKubeError,
  notFound,
  plainError,
} from '../../errors.js';
import { updateManagedFields } from '../../patch/index.js';
import type { KeyValue } from '../../store/types.js';
import type { AdmissionAttributes, Operation } from '../../admission/types.js';
import { qualifiedResource } from '../catalog.js';
import type { KubeObject, ResourceType, StrategyContext } from '../types.js';
import { decode, deepCopy, encode } from './codec.js';
import type { RegistryDeps, RequestContext } from './context.js';
import { objectKey } from './keys.js';
import {
  createErrors,
  fillSystemFields,
  generateName,
  generationChanged,
  hasSubresource,
  matchNamespace,
  metaOf,
  updateErrors,
} from './metadata.js';

export const OPTIMISTIC_LOCK_MSG =
  'the object has been modified; please apply your changes to the latest version and try again';
const MAX_NAME_GENERATION_ATTEMPTS = 8;
const MAX_UPDATE_RETRIES = 16;

export interface UpdateOptions {
  /** '' (the object), 'status', or another subresource whose write rules the caller applies in `mutate`. */
  subresource?: string;
  /** Create when missing even if the kind does not allow create-on-update (server-side apply). */
  forceAllowCreate?: boolean;
}

/** Builds the object to write from the stored one (undefined when it does not exist yet). */
export type Mutation = (current: KubeObject | undefined) => Promise<KubeObject> | KubeObject;

export class ResourceStore {
  constructor(
    readonly type: ResourceType,
    protected readonly deps: RegistryDeps,
    protected readonly reader: StrategyContext['read'],
  ) {}

  get qualified(): string {
    return qualifiedResource(this.type);
  }

  protected key(namespace: string | undefined, name: string): string {
    return objectKey(this.type, namespace, name);
  }

  protected strategyContext(ctx: RequestContext): StrategyContext {
    const warnings = ctx.warnings;
    return {
      user: ctx.user,
      now: ctx.now ?? new Date(),
      ...(this.reader ? { read: this.reader } : {}),
      ...(warnings ? { warn: (text: string) => void warnings.push(text) } : {}),
    };
  }

  attributes(
    op: Operation,
    ctx: RequestContext,
    namespace: string | undefined,
    name: string,
    subresource = '',
  ): AdmissionAttributes {
    const t = this.type;
    const sub = t.subresources?.find((s) => s.name === subresource);
    return {
      operation: op,
      kind:
        sub && sub.group !== undefined
          ? { group: sub.group, version: sub.version ?? 'v1', kind: sub.kind }
          : { group: t.group, version: t.version, kind: sub?.kind ?? t.kind },
      resource: { group: t.group, version: t.version, resource: t.plural },
      subresource,
      name,
      namespace: t.namespaced ? (namespace ?? '') : '',
      user: ctx.user,
      dryRun: ctx.dryRun === true,
      ...(ctx.fieldManager ? { options: { fieldManager: ctx.fieldManager } } : {}),
      ...(ctx.warnings ? { warnings: ctx.warnings } : {}),
    };
  }

  protected notFound(name: string): KubeError {
    return notFound(this.type.plural, name, this.type.group || undefined);
  }

  async getKV(namespace: string | undefined, name: string): Promise<KeyValue | undefined> {
    return this.deps.store.get(this.key(namespace, name));
  }

  async get(namespace: string | undefined, name: string): Promise<KubeObject> {
    const kv = await this.getKV(namespace, name);
    if (!kv) throw this.notFound(name);
    return decode(this.type, kv);
  }

  /** Create: `obj` is the decoded body (defaults not yet applied). */
  async create(ctx: RequestContext, namespace: string | undefined, obj: KubeObject): Promise<KubeObject> {
    const needsName = !!obj.metadata?.generateName && !obj.metadata?.name;
    for (let attempt = 0; ; attempt++) {
      try {
        return await this.createOnce(ctx, namespace, needsName ? deepCopy(obj) : obj);
      } catch (e) {
        // A generated name that collides is tried again with another (RetryGenerateName).
        if (!needsName || !isKubeError(e, 'AlreadyExists') || attempt + 1 >= MAX_NAME_GENERATION_ATTEMPTS)
          throw e;
      }
    }
  }

  private async createOnce(
    ctx: RequestContext,
    namespace: string | undefined,
    obj: KubeObject,
  ): Promise<KubeObject> {
    const t = this.type;
    const s = t.strategy;
    const now = ctx.now ?? new Date();
    const meta = metaOf(obj);
    matchNamespace(t, meta, namespace);
    s.defaults?.(obj);
    await this.deps.admission.admit(this.attributes('CREATE', ctx, namespace, meta.name ?? ''), obj);
    fillSystemFields(meta, now);
    if (meta.generateName && !meta.name) meta.name = generateName(meta.generateName);
    matchNamespace(t, meta, namespace);
    const sctx = this.strategyContext(ctx);
    if (hasSubresource(t, 'status')) obj.status = s.initialStatus ? s.initialStatus(obj) : {};
    s.prepareForCreate?.(obj, sctx);
    if (s.generation) meta.generation = 1;
    else delete meta.generation;
    createErrors(t, obj, s.validate?.(obj, sctx) ?? []);
    for (const w of s.warnings?.(obj) ?? []) ctx.warnings?.push(w);
    await s.beforeCreate?.(obj, sctx);
    await this.deps.admission.validate(this.attributes('CREATE', ctx, namespace, meta.name!), obj);
    updateManagedFields(undefined, obj, this.patchContext(ctx));
    const key = this.key(meta.namespace, meta.name!);
    if (ctx.dryRun) {
      if (await this.deps.store.get(key)) throw alreadyExists(t.plural, meta.name!, t.group || undefined);
      // Nothing was written, so no revision: the object goes back as built (a resourceVersion only if sent).
      const out = decode(t, { value: encode(t, obj), modRevision: 0 });
      if (meta.resourceVersion) out.metadata!.resourceVersion = meta.resourceVersion;
      else delete out.metadata!.resourceVersion;
      return out;
    }
    // The storage layer's check, after validation and admission (a dry run never reaches it): a plain error.
    if (meta.resourceVersion) throw plainError('resourceVersion should not be set on objects to be created');
    try {
      const kv = await this.deps.store.create(key, encode(t, obj));
      return decode(t, kv);
    } catch (e) {
      if (!isKubeError(e, 'AlreadyExists')) throw e;
      const existing = await this.deps.store.get(key);
      const err = alreadyExists(t.plural, meta.name!, t.group || undefined);
      if (existing && (JSON.parse(existing.value) as KubeObject).metadata?.deletionTimestamp)
        throw new KubeError(err.reason, `object is being deleted: ${err.message}`, err.subject);
      throw err;
    }
  }

  patchContext(ctx: RequestContext, subresource?: string): Parameters<typeof updateManagedFields>[2] {
    return {
      type: this.type,
      fieldManager: ctx.fieldManager ?? 'unknown',
      now: ctx.now ?? new Date(),
      ...(subresource ? { subresource } : {}),
    };
  }

  /** PUT: replace the object (or its status) with `obj`; optimistic concurrency on its resourceVersion. */
  async update(
    ctx: RequestContext,
    namespace: string | undefined,
    name: string,
    obj: KubeObject,
    opts: UpdateOptions = {},
  ): Promise<{ object: KubeObject; created: boolean }> {
    return this.guaranteedUpdate(ctx, namespace, name, () => deepCopy(obj), opts, false);
  }

  /**
   * Reads the object, builds the new one with `mutate`, and writes it if nothing changed meanwhile. When the new
   * object carries no resourceVersion (patches, unconditional PUTs) a concurrent write is retried on the fresh
   * object; when it carries one, a mismatch is the 409 kubectl retries on.
   */
  async guaranteedUpdate(
    ctx: RequestContext,
    namespace: string | undefined,
    name: string,
    mutate: Mutation,
    opts: UpdateOptions = {},
    retryOnConflict = true,
  ): Promise<{ object: KubeObject; created: boolean }> {
    const t = this.type;
    const key = this.key(namespace, name);
    for (let attempt = 0; ; attempt++) {
      const kv = await this.deps.store.get(key);
      if (!kv) {
        const allowCreate =
          !opts.subresource && (t.strategy.allowCreateOnUpdate === true || opts.forceAllowCreate === true);
        if (!allowCreate) throw this.notFound(name);
        const obj = await mutate(undefined);
        const m = metaOf(obj);
        delete m.resourceVersion;
        if (m.name && m.name !== name) throw this.nameMismatch(m.name, name);
        m.name = name;
        try {
          return { object: await this.create(ctx, namespace, obj), created: true };
        } catch (e) {
          if (isKubeError(e, 'AlreadyExists') && attempt < MAX_UPDATE_RETRIES) continue;
          throw e;
        }
      }
      const current = decode(t, kv);
      const obj = await mutate(deepCopy(current));
      const rv = obj.metadata?.resourceVersion;
      const conditional = !!rv;
      if (!rv) {
        if (t.strategy.allowUnconditionalUpdate === false && !retryOnConflict)
          throw invalid(
            t.plural,
            name,
            [
              {
                type: 'FieldValueInvalid',
                field: 'metadata.resourceVersion',
                badValue: 0,
                detail: 'must be specified for an update',
              },
            ],
            t.group || undefined,
          );
        metaOf(obj).resourceVersion = String(kv.modRevision);
      } else if (rv !== String(kv.modRevision)) {
        throw conflict(t.plural, name, OPTIMISTIC_LOCK_MSG, t.group || undefined);
      }
      const next = await this.prepareUpdate(ctx, namespace, name, obj, current, opts.subresource ?? '');
      if (next === 'delete') {
        // The last finalizer left an object that is being deleted: it goes now (ShouldDeleteDuringUpdate).
        if (!ctx.dryRun) {
          try {
            await this.deps.store.delete(key, kv.modRevision);
          } catch (e) {
            if (
              isKubeError(e, 'Conflict') &&
              attempt < MAX_UPDATE_RETRIES &&
              (!conditional || retryOnConflict)
            )
              continue;
            if (!isKubeError(e, 'NotFound')) throw e;
          }
        }
        return { object: obj, created: false };
      }
      const value = encode(t, next);
      // Nothing changed: no write, no new revision (kubectl apply of an unchanged file stays a no-op).
      if (value === encode(t, current)) return { object: current, created: false };
      if (ctx.dryRun) return { object: decode(t, { value, modRevision: kv.modRevision }), created: false };
      try {
        const written = await this.deps.store.update(key, value, kv.modRevision);
        return { object: decode(t, written), created: false };
      } catch (e) {
        if (isKubeError(e, 'Conflict')) {
          if ((!conditional || retryOnConflict) && attempt < MAX_UPDATE_RETRIES) continue;
          throw conflict(t.plural, name, OPTIMISTIC_LOCK_MSG, t.group || undefined);
        }
        if (isKubeError(e, 'NotFound')) throw this.notFound(name);
        throw e;
      }
    }
  }

  private nameMismatch(bodyName: string, urlName: string): KubeError {
    return new KubeError(
      'BadRequest',
      `the name of the object (${bodyName}) does not match the name on the URL (${urlName})`,
    );
  }

  /** BeforeUpdate plus admission: the object to store, or 'delete' when an emptied finalizer list ends it. */
  private async prepareUpdate(
    ctx: RequestContext,
    namespace: string | undefined,
    name: string,
    obj: KubeObject,
    old: KubeObject,
    subresource: string,
  ): Promise<KubeObject | 'delete'> {
    const t = this.type;
    const s = t.strategy;
    const meta = metaOf(obj);
    const oldMeta = metaOf(old);
    if (meta.name && meta.name !== name) throw this.nameMismatch(meta.name, name);
    meta.name ??= name;
    matchNamespace(t, meta, namespace);
    const sctx = this.strategyContext(ctx);
    if (subresource === 'status') {
      // A status write changes status only (and managed fields), whatever else the body carries.
      const status = obj.status;
      const next = deepCopy(old);
      next.status = status;
      next.metadata = { ...oldMeta, resourceVersion: meta.resourceVersion };
      if (meta.managedFields) next.metadata.managedFields = meta.managedFields;
      obj = next;
      s.prepareForStatusUpdate?.(obj, old, sctx);
    } else if (s.subresourceUpdates?.[subresource]) {
      // A subresource that owns part of the object (pods/ephemeralcontainers): only that part changes.
      const next = s.subresourceUpdates[subresource].prepare(obj, deepCopy(old));
      next.metadata = { ...oldMeta, resourceVersion: meta.resourceVersion };
      if (meta.managedFields) next.metadata.managedFields = meta.managedFields;
      obj = next;
      await this.deps.admission.admit(this.attributes('UPDATE', ctx, namespace, name, subresource), obj, old);
    } else {
      if (!subresource) s.defaults?.(obj);
      await this.deps.admission.admit(this.attributes('UPDATE', ctx, namespace, name, subresource), obj, old);
      if (hasSubresource(t, 'status') && !subresource) obj.status = old.status;
      // Other subresources (scale, binding, finalize) bring their own rules; the object's update rules are the
      // main resource's.
      if (!subresource) s.prepareForUpdate?.(obj, old, sctx);
    }
    const m = metaOf(obj);
    m.generation = oldMeta.generation;
    if (oldMeta.generation !== undefined && generationChanged(t, obj, old))
      m.generation = oldMeta.generation + 1;
    if (m.generation === undefined) delete m.generation;
    m.uid ??= oldMeta.uid;
    if (oldMeta.creationTimestamp) m.creationTimestamp = oldMeta.creationTimestamp;
    if (oldMeta.deletionTimestamp) m.deletionTimestamp = oldMeta.deletionTimestamp;
    if (oldMeta.deletionGracePeriodSeconds !== undefined && m.deletionGracePeriodSeconds === undefined)
      m.deletionGracePeriodSeconds = oldMeta.deletionGracePeriodSeconds;
    const checked = subresource === '' || subresource === 'scale';
    const errs = checked
      ? [
          ...((!s.validateUpdateOnly && s.validate?.(obj, sctx)) || []),
          ...(s.validateUpdate?.(obj, old, sctx) ?? []),
        ]
      : subresource === 'status'
        ? (s.validateStatusUpdate?.(obj, old, sctx) ?? [])
        : (s.subresourceUpdates?.[subresource]?.validate(obj, old) ?? []);
    updateErrors(t, obj, old, errs);
    for (const w of s.warnings?.(obj, old) ?? []) ctx.warnings?.push(w);
    if (!subresource) await s.beforeUpdate?.(obj, old, sctx);
    await this.deps.admission.validate(
      this.attributes('UPDATE', ctx, namespace, name, subresource),
      obj,
      old,
    );
    updateManagedFields(old, obj, this.patchContext(ctx, subresource));
    const grace = oldMeta.deletionGracePeriodSeconds;
    if (oldMeta.deletionTimestamp && !(m.finalizers ?? []).length && (grace === undefined || grace === 0))
      return 'delete';
    return obj;
  }
}
