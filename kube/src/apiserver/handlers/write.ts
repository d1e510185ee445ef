/**
 * POST and PUT: the body decoded by the schema (kschema's decodeBody: JSON or YAML, fieldValidation), checked
 * against what the URL addresses, then handed to the generic store.
 */
import { badRequest, invalid } from '../../errors.js';
import type { GroupVersionKind, KubeObject } from '../../registry/types.js';
import { decodeBody, fieldValidationOf } from '../../schema/body.js';
import { negotiate } from '../negotiation.js';
import { writeObject } from '../respond.js';
import { context, dryRunOf, readBody, type ResourceRequest } from './common.js';

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

/** Decodes the request body as the URL's kind; the wrong kind or version is kube-apiserver's 400. */
export async function decodeRequest(
  r: ResourceRequest,
  options: 'CreateOptions' | 'UpdateOptions',
  expected = expectedKind(r),
): Promise<KubeObject> {
  const q = r.url.searchParams;
  const fieldValidation = fieldValidationOf(q.get('fieldValidation'), options);
  const body = await readBody(r.req);
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

function checkOptions(
  r: ResourceRequest,
  kind: 'CreateOptions' | 'UpdateOptions',
): { dryRun: boolean; fieldManager?: string } {
  const q = r.url.searchParams;
  const dryRun = dryRunOf(q, kind);
  const fieldManager = q.get('fieldManager') ?? undefined;
  if (fieldManager !== undefined && (fieldManager.length > 128 || /[^\x20-\x7e]/.test(fieldManager)))
    throw invalid(
      kind,
      '',
      [
        {
          type: 'FieldValueInvalid',
          field: 'fieldManager',
          badValue: fieldManager,
          detail: 'fieldManager must be less than 128 characters long and contain only printable characters',
        },
      ],
      'meta.k8s.io',
    );
  return { dryRun, ...(fieldManager ? { fieldManager } : {}) };
}

export async function createObject(r: ResourceRequest): Promise<void> {
  const n = negotiate(r.req.headers.accept, { views: [] });
  const opts = checkOptions(r, 'CreateOptions');
  const obj = await decodeRequest(r, 'CreateOptions');
  // POST /api/v1/namespaces takes the object's name; POST to a named URL must name the same object.
  const created = await r.store.create(context(r, opts.dryRun, opts.fieldManager), r.namespace, obj);
  await writeObject(r.res, 201, created, { format: n.format, warnings: r.warnings });
}

export async function updateObject(r: ResourceRequest): Promise<void> {
  const n = negotiate(r.req.headers.accept, { views: [] });
  const opts = checkOptions(r, 'UpdateOptions');
  const obj = await decodeRequest(r, 'UpdateOptions');
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
