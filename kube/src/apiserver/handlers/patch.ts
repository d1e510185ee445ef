/** PATCH over HTTP: the patch type from the Content-Type and the options from the query; see patching.ts. */
import { KubeError } from '../../errors.js';
import { applyPatch, PATCH_CONTENT_TYPES, type PatchType } from '../../patch/index.js';
import { patchResource } from '../../registry/generic/patching.js';
import { updateScale } from '../../registry/subresources.js';
import { checkPatched, fieldValidationOf, parsePatch } from '../../schema/body.js';
import { customInfo, isCustomResource } from '../../schema/crd/resource.js';
import { negotiate } from '../negotiation.js';
import { writeObject } from '../respond.js';
import { context, dryRunOf, readBody, type ResourceRequest } from './common.js';
import { expectedKind } from './write.js';

export function patchTypeOf(contentType: string | undefined, customResource: boolean): PatchType {
  const t = (contentType ?? '').split(';')[0].trim().toLowerCase();
  const type = PATCH_CONTENT_TYPES[t];
  // Custom resources have no strategic merge patch (no Go struct tags to read merge keys from).
  if (!type || (type === 'strategic' && customResource)) {
    const accepted = customResource
      ? 'application/json-patch+json, application/merge-patch+json, application/apply-patch+yaml'
      : 'application/json-patch+json, application/merge-patch+json, application/apply-patch+yaml, application/strategic-merge-patch+json';
    throw new KubeError(
      'UnsupportedMediaType',
      `the body of the request was in an unknown format - accepted media types include: ${accepted}`,
    );
  }
  return type;
}

/** The patch type and the PatchOptions of the query, checked as kube-apiserver checks them before reading the body. */
function patchOptions(r: ResourceRequest, custom: boolean) {
  const q = r.url.searchParams;
  const patchType = patchTypeOf(r.req.headers['content-type'], custom);
  const dryRun = dryRunOf(q, 'PatchOptions');
  const fieldValidation = fieldValidationOf(q.get('fieldValidation'), 'PatchOptions');
  const force = q.get('force');
  if (force !== null && patchType !== 'apply')
    throw new KubeError(
      'BadRequest',
      'PatchOptions.meta.k8s.io "" is invalid: force: Forbidden: may not be specified for non-apply patch',
    );
  return { patchType, dryRun, fieldValidation, force };
}

export async function patchObject(r: ResourceRequest, custom = false): Promise<void> {
  const n = negotiate(r.req.headers.accept, { views: [] });
  const q = r.url.searchParams;
  const { patchType, dryRun, fieldValidation, force } = patchOptions(r, custom);
  const body = await readBody(r.req);
  const fieldManager = q.get('fieldManager') ?? undefined;
  const ctx = context(r, dryRun, fieldManager);
  // Apply names its manager explicitly; the User-Agent default is for the other patch types only.
  if (patchType === 'apply' && !fieldManager) delete ctx.fieldManager;
  const { object, created } = await patchResource(r.store, ctx, r.namespace, r.info.name, {
    patchType,
    body,
    fieldValidation,
    force: force === 'true',
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
  const q = r.url.searchParams;
  const { patchType, dryRun, fieldValidation } = patchOptions(r, isCustomResource(r.type));
  // Server-side apply of a Scale would map managed fields between the Scale and its parent (kube-apiserver's
  // ScaleHandler); not done here, so it is refused rather than applied without ownership.
  if (patchType === 'apply')
    throw new KubeError(
      'UnsupportedMediaType',
      'server-side apply of the scale subresource is not supported',
    );
  const parsed = parsePatch(await readBody(r.req), patchType, fieldValidation);
  const fieldManager = q.get('fieldManager') ?? undefined;
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
