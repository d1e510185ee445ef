/**
 * A patch of one object, shared by the HTTP PATCH handler and the in-process client: the body parsed by kschema,
 * applied by kpatch to the object as stored, the result decoded by the schema again, and written through
 * guaranteedUpdate (which retries on a concurrent write, as kube-apiserver's patcher does).
 */
import { KubeError } from '../../errors.js';
import { APPLY_PATCH, validatePatchOptions } from '../../patch/api.js';
import { applyPatch, serverSideApply, type PatchType } from '../../patch/index.js';
import { appliedStrict, checkPatched, parsePatch, type FieldValidation } from '../../schema/body.js';
import type { GroupVersionKind, KubeObject } from '../types.js';
import type { CollectionStore } from './collection.js';
import type { RequestContext } from './context.js';

export interface PatchRequest {
  patchType: PatchType;
  body: Buffer | string;
  subresource?: string;
  fieldValidation?: FieldValidation;
  force?: boolean;
  /** The kind the patched object must decode as (the subresource's for scale). */
  kind?: GroupVersionKind;
}

export async function patchResource(
  store: CollectionStore,
  ctx: RequestContext,
  namespace: string | undefined,
  name: string,
  p: PatchRequest,
): Promise<{ object: KubeObject; created: boolean }> {
  const t = store.type;
  const directive = p.fieldValidation ?? 'Warn';
  // The HTTP handler validated the options; an in-process apply must name its manager too (422 otherwise).
  if (p.patchType === 'apply' && !ctx.fieldManager) validatePatchOptions(APPLY_PATCH, {});
  const parsed = parsePatch(p.body, p.patchType, directive);
  const pctx = { ...store.patchContext(ctx, p.subresource), ...(p.force ? { force: true } : {}) };
  const gvk = p.kind ?? { group: t.group, version: t.version, kind: t.kind };
  const mutate = async (current: KubeObject | undefined): Promise<KubeObject> => {
    if (p.patchType === 'apply') {
      const applied = await serverSideApply(current, parsed.value as KubeObject, pctx);
      ctx.warnings?.push(...appliedStrict(parsed, directive));
      return applied;
    }
    if (!current)
      throw new KubeError('NotFound', `${store.qualified} "${name}" not found`, {
        kind: t.plural,
        name,
        ...(t.group ? { group: t.group } : {}),
      });
    const patched = await applyPatch(current, parsed.value, p.patchType, pctx);
    const checked = await checkPatched(gvk, patched, { ...parsed, type: p.patchType }, directive);
    ctx.warnings?.push(...checked.warnings);
    return checked.object;
  };
  return store.guaranteedUpdate(ctx, namespace, name, mutate, {
    ...(p.subresource ? { subresource: p.subresource } : {}),
    ...(p.patchType === 'apply' ? { forceAllowCreate: true } : {}),
  });
}
