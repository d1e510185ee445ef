/**
 * The patch seam the API server's write paths call (the functions of api.ts, bound to a served resource):
 *   applyPatch          JSON patch, merge patch, strategic merge patch of the current object (body parsed by
 *                       schema's parsePatch; strategic merge reads the kind's merge keys from the schema catalog);
 *   serverSideApply     `application/apply-patch+yaml`: merges the applied configuration for `fieldManager`,
 *                       with conflicts (409, one FieldManagerConflict cause per field) unless `force`; creates when
 *                       `current` is undefined; the object it returns carries its managedFields;
 *   updateManagedFields after every non-apply write (create, update, patch, status, scale): records
 *                       `fieldManager`'s fields (operation Update) in metadata.managedFields, as kube-apiserver's
 *                       FieldManager does. An object coming from serverSideApply is left as apply made it.
 * They throw the domain errors of ../errors.ts. Kinds are read from the catalog (built-in and custom); a kind
 * without a schema is handled with deduced types, as kube-apiserver does for schema-less custom resources.
 */
import type { KubeObject, ObjectMeta, ResourceType } from '../registry/types.js';
import { catalog, catalogIfLoaded, type Catalog } from '../schema/catalog.js';
import { applyPatch as applyPatchBody, serverSideApply as applyBody, trackUpdate } from './api.js';
import type { JsonObject, JsonValue } from './json.js';
import { type TypeSchema, kindSchema } from './schema.js';

export type PatchType = 'json' | 'merge' | 'strategic' | 'apply';

export const PATCH_CONTENT_TYPES: Record<string, PatchType> = {
  'application/json-patch+json': 'json',
  'application/merge-patch+json': 'merge',
  'application/strategic-merge-patch+json': 'strategic',
  'application/apply-patch+yaml': 'apply',
};

const MEDIA: Record<
  Exclude<PatchType, 'apply'>,
  'application/json-patch+json' | 'application/merge-patch+json' | 'application/strategic-merge-patch+json'
> = {
  json: 'application/json-patch+json',
  merge: 'application/merge-patch+json',
  strategic: 'application/strategic-merge-patch+json',
};

export interface PatchContext {
  /** The resource patched (its group/version/kind give the schema: merge keys, list types). */
  type: ResourceType;
  /** `fieldManager` of the request (kube-apiserver defaults it from the User-Agent for non-apply patches). */
  fieldManager: string;
  /** `force` (server-side apply only). */
  force?: boolean;
  subresource?: string;
  now: Date;
}

/** The group-version-kind a (sub)resource is served as: `deployments/scale` is autoscaling/v1 Scale. */
function servedKind(ctx: PatchContext): { group: string; version: string; kind: string } {
  const t = ctx.type;
  const sub = ctx.subresource ? t.subresources?.find((s) => s.name === ctx.subresource) : undefined;
  if (sub && sub.kind !== t.kind)
    return { group: sub.group ?? t.group, version: sub.version ?? t.version, kind: sub.kind };
  return { group: t.group, version: t.version, kind: t.kind };
}

type Gvk = { group: string; version: string; kind: string };

/** The kind the stored object is (the parent for every subresource write the store tracks). */
const storedKind = (ctx: PatchContext): Gvk => ({
  group: ctx.type.group,
  version: ctx.type.version,
  kind: ctx.type.kind,
});

function schemaIn(c: Catalog | undefined, gvk: Gvk): TypeSchema | undefined {
  return c ? kindSchema(c, gvk) : undefined;
}

/** Fields the (sub)resource's strategy resets: nobody owns status through the main resource, nor spec through status. */
function resetFields(ctx: PatchContext): string[][] | undefined {
  const hasStatus = ctx.type.subresources?.some((s) => s.name === 'status') ?? false;
  if (!ctx.subresource) return hasStatus ? [['status']] : undefined;
  if (ctx.subresource === 'status') return [['spec']];
  return undefined;
}

function writeOptions(ctx: PatchContext, gvk: Gvk, schema: TypeSchema | undefined) {
  const resets = resetFields(ctx);
  return {
    ...gvk,
    ...(schema ? { schema } : {}),
    ...(ctx.subresource ? { subresource: ctx.subresource } : {}),
    ...(resets ? { resetFields: resets } : {}),
    now: ctx.now,
  };
}

/** Applies a JSON, merge or strategic merge patch (already parsed: schema's parsePatch) to `current`. */
export async function applyPatch(
  current: KubeObject,
  patch: unknown,
  patchType: Exclude<PatchType, 'apply'>,
  ctx: PatchContext,
): Promise<KubeObject> {
  const schema = patchType === 'strategic' ? schemaIn(await catalog(), servedKind(ctx)) : undefined;
  const { object } = applyPatchBody(
    MEDIA[patchType],
    current as JsonObject,
    { value: patch as JsonValue },
    schema ? { schema } : {},
  );
  return object;
}

/** managedFields arrays made by serverSideApply: the write path must not track those writes again as updates. */
const appliedManagedFields = new WeakSet<object>();

/**
 * Server-side apply of `applied` (the parsed apply configuration) onto `current` (undefined: the object does not
 * exist yet and apply creates it). Returns the object to store, managedFields updated.
 */
export async function serverSideApply(
  current: KubeObject | undefined,
  applied: KubeObject,
  ctx: PatchContext,
): Promise<KubeObject> {
  const gvk = servedKind(ctx);
  const schema = schemaIn(await catalog(), gvk);
  const { object } = applyBody(
    current as JsonObject | undefined,
    { value: applied as JsonValue },
    {
      ...writeOptions(ctx, gvk, schema),
      manager: ctx.fieldManager,
      force: ctx.force === true,
    },
  );
  const mf = (object.metadata as { managedFields?: unknown } | undefined)?.managedFields;
  if (mf && typeof mf === 'object') appliedManagedFields.add(mf);
  return object;
}

/** Records `ctx.fieldManager`'s ownership of what changed from `old` (undefined on create) to `obj`, in place. */
export function updateManagedFields(old: KubeObject | undefined, obj: KubeObject, ctx: PatchContext): void {
  const mf = obj.metadata?.managedFields;
  if (mf && appliedManagedFields.has(mf)) return;
  const c = catalogIfLoaded();
  if (!c) void catalog(); // later writes get list-map and atomic semantics; this one uses deduced types
  const gvk = storedKind(ctx);
  const next = trackUpdate(old as JsonObject | undefined, obj as JsonObject, {
    ...writeOptions(ctx, gvk, schemaIn(c, gvk)),
    manager: ctx.fieldManager,
  });
  const meta = (obj.metadata ??= {});
  const entries = (next.metadata as ObjectMeta | undefined)?.managedFields;
  if (entries) meta.managedFields = entries;
  else delete meta.managedFields;
}

export { LAST_APPLIED, managerFor, validateManagedFields } from './api.js';
