/**
 * The patch seam the API server's write paths call (kpatch owns this folder and replaces these stubs):
 *   applyPatch          JSON patch, merge patch, strategic merge patch of the current object;
 *   serverSideApply     `application/apply-patch+yaml`: merges the applied configuration for `fieldManager`,
 *                       detecting conflicts (409 with FieldManagerConflict causes) unless `force`;
 *   updateManagedFields after every non-apply write (create, update, patch, status), records `manager`'s fields
 *                       (operation Update) in metadata.managedFields, as kube-apiserver's FieldManager does.
 * The generic store calls them with the object as stored (`current`) and the request's context; they throw the
 * domain errors of ../errors.ts. Until kpatch lands, patching answers 415 and managed fields are left as sent.
 */
import { KubeError } from '../errors.js';
import type { KubeObject, ResourceType } from '../registry/types.js';

export type PatchType = 'json' | 'merge' | 'strategic' | 'apply';

export const PATCH_CONTENT_TYPES: Record<string, PatchType> = {
  'application/json-patch+json': 'json',
  'application/merge-patch+json': 'merge',
  'application/strategic-merge-patch+json': 'strategic',
  'application/apply-patch+yaml': 'apply',
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

/**
 * Applies a JSON, merge or strategic merge patch (already parsed: kschema's parsePatch) to `current`, returning
 * the patched object. Errors: 400/422 in kube-apiserver's words (e.g. a failed JSON patch `test`).
 */
export async function applyPatch(
  current: KubeObject,
  patch: unknown,
  patchType: Exclude<PatchType, 'apply'>,
  ctx: PatchContext,
): Promise<KubeObject> {
  void current;
  void patch;
  void ctx;
  throw new KubeError('UnsupportedMediaType', `the server does not support ${patchType} patches yet`);
}

/**
 * Server-side apply of `applied` (the parsed apply configuration) onto `current` (undefined: the object does not
 * exist yet and apply creates it). Returns the object to store, managedFields updated.
 */
export async function serverSideApply(
  current: KubeObject | undefined,
  applied: KubeObject,
  ctx: PatchContext,
): Promise<KubeObject> {
  void current;
  void applied;
  void ctx;
  throw new KubeError('UnsupportedMediaType', 'the server does not support server-side apply yet');
}

/** Records `ctx.fieldManager`'s ownership of what changed from `old` (undefined on create) to `obj`, in place. */
export function updateManagedFields(old: KubeObject | undefined, obj: KubeObject, ctx: PatchContext): void {
  void old;
  void obj;
  void ctx;
}
