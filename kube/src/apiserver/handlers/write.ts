/**
 * POST and PUT: the body decoded by the schema (kschema's decodeBody: JSON or YAML, fieldValidation), checked
 * against what the URL addresses, then handed to the generic store.
 */
import { badRequest } from '../../errors.js';
import type { GroupVersionKind, KubeObject } from '../../registry/types.js';
import { decodeBody } from '../../schema/body.js';
import { negotiate } from '../negotiation.js';
import { writeObject } from '../respond.js';
import { context, readBody, type ResourceRequest } from './common.js';
import { writeOptions } from './options.js';

/** The kind a body for this URL must be: the resource's, or its subresource's (Scale, Binding, Eviction...). */
export function expectedKind(r: ResourceRequest): GroupVersionKind {
  const t = r.type;
  const sub = r.info.subresource ? t.subresources?.find((s) => s.name === r.info.subresource) : undefined;
  if (sub && sub.group !== undefined)
    return { group: sub.group, version: sub.version ?? 'v1', kind: sub.kind };
  if (sub && sub.kind !== t.kind)
    return {
      group:
        sub.name === 'binding' || sub.name === 'token'
          ? t.group
          : sub.name === 'eviction'
            ? 'policy'
            : t.group,
      version: 'v1',
      kind: sub.kind,
    };
  return { group: t.group, version: t.version, kind: t.kind };
}

const internalPackage = (group: string): string => (group === '' ? 'core' : group.split('.')[0]);

/**
 * Reads the body (413 first), validates the options (one 422 for all of them), then decodes the body as the URL's
 * kind; the wrong kind or version is kube-apiserver's 400.
 */
export async function decodeRequest(
  r: ResourceRequest,
  options: 'CreateOptions' | 'UpdateOptions',
  expected = expectedKind(r),
): Promise<KubeObject> {
  const body = await readBody(r.req);
  const { fieldValidation } = writeOptions(r.url.searchParams, options);
  const ct = r.req.headers['content-type'];
  const decoded = await decodeBody({ body, ...(ct ? { contentType: ct } : {}), expected, fieldValidation });
  const gv = (g: { group: string; version: string }) => (g.group ? `${g.group}/${g.version}` : g.version);
  if (decoded.gvk.kind !== expected.kind)
    throw badRequest(
      `${decoded.gvk.kind} in version ${JSON.stringify(decoded.gvk.version)} cannot be handled as a ${expected.kind}: converting (${decoded.gvk.version}.${decoded.gvk.kind}) to (${internalPackage(expected.group)}.${expected.kind}): unknown conversion`,
    );
  if (decoded.gvk.group !== expected.group || decoded.gvk.version !== expected.version)
    throw badRequest(
      `the API version in the data (${gv(decoded.gvk)}) does not match the expected API version (${gv(expected)})`,
    );
  r.warnings.push(...decoded.warnings);
  return decoded.object;
}

export async function createObject(r: ResourceRequest): Promise<void> {
  const n = negotiate(r.req.headers.accept, { views: [] });
  const obj = await decodeRequest(r, 'CreateOptions');
  const opts = writeOptions(r.url.searchParams, 'CreateOptions');
  const created = await r.store.create(context(r, opts.dryRun, opts.fieldManager), r.namespace, obj);
  await writeObject(r.res, 201, created, { format: n.format, warnings: r.warnings });
}

export async function updateObject(r: ResourceRequest): Promise<void> {
  const n = negotiate(r.req.headers.accept, { views: [] });
  const obj = await decodeRequest(r, 'UpdateOptions');
  const opts = writeOptions(r.url.searchParams, 'UpdateOptions');
  const { object, created } = await r.store.update(
    context(r, opts.dryRun, opts.fieldManager),
    r.namespace,
    r.info.name,
    obj,
    {
      subresource: r.info.subresource,
    },
  );
  await writeObject(r.res, created ? 201 : 200, object, { format: n.format, warnings: r.warnings });
}
