/** PATCH over HTTP: the patch type from the Content-Type and the options from the query; see patching.ts. */
import { KubeError } from '../../errors.js';
import { parsePatchType, validatePatchOptions, type PatchType as PatchMediaType } from '../../patch/api.js';
import { applyPatch, PATCH_CONTENT_TYPES, type PatchType } from '../../patch/index.js';
import { patchResource } from '../../registry/generic/patching.js';
import { updateScale } from '../../registry/subresources.js';
import { checkPatched, fieldValidationOf, parsePatch } from '../../schema/body.js';
import { customInfo, isCustomResource } from '../../schema/crd/resource.js';
import { negotiate } from '../negotiation.js';
import { writeObject } from '../respond.js';
import { context, readBody, type ResourceRequest } from './common.js';
import { queryBool } from './options.js';
import { expectedKind } from './write.js';

const CONTENT_TYPE: Record<PatchType, PatchMediaType> = {
  json: 'application/json-patch+json',
  merge: 'application/merge-patch+json',
  strategic: 'application/strategic-merge-patch+json',
  apply: 'application/apply-patch+yaml',
};

/** The patch type of the Content-Type (parameters dropped), or 415 listing what the resource accepts. */
export function patchTypeOf(contentType: string | undefined, customResource: boolean): PatchType {
  return PATCH_CONTENT_TYPES[parsePatchType(contentType, customResource)];
}

/** The query's PatchOptions, validated as ValidatePatchOptions (one 422 on PatchOptions.meta.k8s.io). */
function patchOptions(q: URLSearchParams, patchType: PatchType) {
  const fieldManager = q.get('fieldManager') ?? undefined;
  const force = queryBool(q, 'force');
  const fieldValidation = q.get('fieldValidation');
  validatePatchOptions(CONTENT_TYPE[patchType], {
    ...(fieldManager !== undefined ? { fieldManager } : {}),
    ...(force !== undefined ? { force } : {}),
    dryRun: q.getAll('dryRun'),
    ...(fieldValidation !== null ? { fieldValidation } : {}),
  });
  return {
    fieldManager,
    force: force === true,
    dryRun: q.getAll('dryRun').length > 0,
    fieldValidation: fieldValidationOf(fieldValidation, 'PatchOptions'),
  };
}

/**
 * kube-apiserver's PatchResource order: the patch type (415), the output type (406), the body (413), then the
 * options (apply needs a fieldManager, force is for apply only, fieldManager, dryRun and fieldValidation values).
 */
export async function patchObject(r: ResourceRequest, custom = false): Promise<void> {
  const patchType = patchTypeOf(r.req.headers['content-type'], custom);
  const n = negotiate(r.req.headers.accept, { views: [] });
  const body = await readBody(r.req);
  const { fieldManager, force, dryRun, fieldValidation } = patchOptions(r.url.searchParams, patchType);
  const ctx = context(r, dryRun, fieldManager);
  const { object, created } = await patchResource(r.store, ctx, r.namespace, r.info.name, {
    patchType,
    body,
    fieldValidation,
    force,
    kind: expectedKind(r),
    ...(r.info.subresource ? { subresource: r.info.subresource } : {}),
  });
  await writeObject(r.res, created ? 201 : 200, object, { format: n.format, warnings: r.warnings });
}

/**
 * PATCH .../scale (`kubectl scale`): the patch applies to the autoscaling/v1 Scale view of the object, and only
 * its spec.replicas goes back into the object (custom resources: through the CRD's replica paths).
 */
export async function patchScale(r: ResourceRequest): Promise<void> {
  const n = negotiate(r.req.headers.accept, { views: [] });
  const patchType = patchTypeOf(r.req.headers['content-type'], isCustomResource(r.type));
  // Server-side apply of a Scale would map managed fields between the Scale and its parent (kube-apiserver's
  // ScaleHandler); not done here, so it is refused rather than applied without ownership.
  if (patchType === 'apply')
    throw new KubeError(
      'UnsupportedMediaType',
      'server-side apply of the scale subresource is not supported',
    );
  const body = await readBody(r.req);
  const { fieldManager, dryRun, fieldValidation } = patchOptions(r.url.searchParams, patchType);
  const parsed = parsePatch(body, patchType, fieldValidation);
  const ctx = context(r, dryRun, fieldManager);
  const scaleKind = { group: 'autoscaling', version: 'v1', kind: 'Scale' };
  const scale = await updateScale(
    r.store,
    ctx,
    r.namespace,
    r.info.name,
    async (current) => {
      const patched = await applyPatch(current, parsed.value, patchType, {
        type: r.type,
        fieldManager: ctx.fieldManager ?? 'unknown',
        subresource: 'scale',
        now: new Date(),
      });
      const checked = await checkPatched(scaleKind, patched, { ...parsed, type: patchType }, fieldValidation);
      r.warnings.push(...checked.warnings);
      return checked.object;
    },
    customInfo(r.type)?.scale,
  );
  await writeObject(r.res, 200, scale, { format: n.format, warnings: r.warnings });
}
