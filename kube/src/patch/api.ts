/**
 * Patches, server-side apply and managedFields as pure, synchronous functions over JSON objects and the kind's
 * schema (index.ts adapts them to the API server's write paths). They know nothing of HTTP and throw the error
 * kinds of ../errors.ts with kube-apiserver's reasons and messages (the API server maps them to codes once).
 *
 * - `parsePatchType(contentType, custom)` → the patch type, or 415 UnsupportedMediaType listing the accepted types
 *   (custom resources accept no strategic merge patch, as kube-apiserver).
 * - `validatePatchOptions(type, query)` → 422 on `PatchOptions` as kube-apiserver (apply needs `fieldManager`;
 *   `force` only with apply; manager length and characters; dryRun and fieldValidation values).
 * - `managerFor(fieldManager, userAgent)` → the manager of a non-apply write: the `fieldManager` query parameter,
 *   else the User-Agent up to its first `/` ("kubectl", "python", ...). kubectl sends its own names
 *   (`kubectl-client-side-apply`, `kubectl-edit`, `kubectl-label`, ...) as fieldManager.
 * - `applyPatch(type, current, body, ctx)` → the patched object for JSON, merge and strategic merge patches, and
 *   the strict-decoding errors of the body (Strict: turn them, with your unknown-field errors, into
 *   `strictDecodingError`; Warn: send them as warnings). Then call `trackUpdate`.
 * - `serverSideApply(live, body, opts)` → the applied object (with managedFields) for `application/apply-patch+yaml`;
 *   `live` undefined creates (`created`); `changed` false means write nothing. Conflicts are 409 with one
 *   FieldManagerConflict cause per field.
 * - `trackUpdate(old, next, opts)` → `next` with metadata.managedFields for every other write (create: old
 *   undefined; update; patch; subresource writes with `subresource`). A request that carries managedFields sets
 *   them (that is how kubectl migrates client-side-apply ownership to server-side apply with a JSON patch).
 * - `validateManagedFields(entries)` → field errors for metadata validation (operation, fieldsType, manager).
 *
 * The schema of a kind is a `TypeSchema` (schema.ts): the OpenAPI definitions served at /openapi/v2 or a CRD's
 * structural schema. `resetFields` lists the paths a (sub)resource's strategy resets, which nobody may own:
 * `[['status']]` for the main resource of a kind with a status subresource, `[['spec']]` for `status`.
 */
import { type FieldError, KubeError, goStrings, invalid, plainError } from '../errors.js';
import { type JsonObject, type JsonValue, isObject } from './json.js';
import { applyJsonPatch } from './json-patch.js';
import { applyMergePatch } from './merge-patch.js';
import { type TypeSchema, rootType } from './schema.js';
import { strategicMergePatch } from './strategic/index.js';
import { decodeApplyBody, decodeApplyValue } from './apply/decode.js';
import { serverSideApplyObject, trackUpdate as track, timeString } from './apply/fieldmanager.js';
import {
  FIELD_MANAGER_MAX_LENGTH,
  isPrintable,
  validateFieldManager,
  validateManagedFields,
} from './apply/managed.js';

export { validateManagedFields, timeString };
export type { TypeSchema, SchemaSource, OpenAPISchema } from './schema.js';
export { kindSchema } from './schema.js';
export type { JsonObject, JsonValue } from './json.js';
export { LAST_APPLIED } from './apply/fieldmanager.js';

export const JSON_PATCH = 'application/json-patch+json';
export const MERGE_PATCH = 'application/merge-patch+json';
export const STRATEGIC_MERGE_PATCH = 'application/strategic-merge-patch+json';
export const APPLY_PATCH = 'application/apply-patch+yaml';
export type PatchType =
  typeof JSON_PATCH | typeof MERGE_PATCH | typeof STRATEGIC_MERGE_PATCH | typeof APPLY_PATCH;

/** The patch types a resource accepts, in kube-apiserver's order (custom resources: no strategic merge). */
export function supportedPatchTypes(custom: boolean): PatchType[] {
  return custom
    ? [JSON_PATCH, MERGE_PATCH, APPLY_PATCH]
    : [JSON_PATCH, MERGE_PATCH, STRATEGIC_MERGE_PATCH, APPLY_PATCH];
}

/** The patch type of a Content-Type header (parameters ignored), or 415 as kube-apiserver words it. */
export function parsePatchType(contentType: string | undefined, custom: boolean): PatchType {
  let ct = contentType ?? '';
  const semi = ct.indexOf(';');
  if (semi > 0) ct = ct.slice(0, semi);
  const types = supportedPatchTypes(custom);
  if ((types as string[]).includes(ct)) return ct as PatchType;
  throw new KubeError(
    'UnsupportedMediaType',
    `the body of the request was in an unknown format - accepted media types include: ${types.join(', ')}`,
  );
}

export interface PatchOptionsQuery {
  fieldManager?: string;
  /** Present at all (any value) counts, as kube-apiserver's *bool. */
  force?: boolean;
  dryRun?: string[];
  fieldValidation?: string;
}

/** ValidatePatchOptions: 422 Invalid on kind PatchOptions.meta.k8s.io. */
export function validatePatchOptions(type: PatchType, q: PatchOptionsQuery): void {
  const errs: FieldError[] = [];
  if (type === APPLY_PATCH) {
    if (!q.fieldManager)
      errs.push({ type: 'FieldValueRequired', field: 'fieldManager', detail: 'is required for apply patch' });
  } else if (q.force !== undefined) {
    errs.push({
      type: 'FieldValueForbidden',
      field: 'force',
      detail: 'may not be specified for non-apply patch',
    });
  }
  errs.push(...validateFieldManager(q.fieldManager ?? ''));
  const dry = q.dryRun ?? [];
  if (dry.some((d) => d !== 'All')) {
    errs.push({
      type: 'FieldValueNotSupported',
      field: 'dryRun',
      badValue: goStrings(dry),
      detail: 'supported values: "All"',
    });
  }
  const fv = q.fieldValidation ?? '';
  if (!['', 'Ignore', 'Warn', 'Strict'].includes(fv)) {
    errs.push({
      type: 'FieldValueNotSupported',
      field: 'fieldValidation',
      badValue: fv,
      detail: 'supported values: "", "Ignore", "Strict", "Warn"',
    });
  }
  if (errs.length) throw invalid('PatchOptions', '', errs, 'meta.k8s.io');
}

/** managerOrUserAgent: the fieldManager, else the User-Agent's product (printable, at most 128 bytes). */
export function managerFor(fieldManager: string | undefined, userAgent: string | undefined): string {
  if (fieldManager) return fieldManager;
  const product = (userAgent ?? '').split('/')[0];
  let out = '';
  for (const ch of product) {
    if (!isPrintable(ch)) continue;
    if (Buffer.byteLength(out + ch) > FIELD_MANAGER_MAX_LENGTH) break;
    out += ch;
  }
  return out;
}

export interface PatchContext {
  /** The kind's schema; strategic merge patch needs it. */
  schema?: TypeSchema;
  /** fieldValidation: Strict and Warn decode the body strictly (unknown members of JSON patch operations). */
  fieldValidation?: string;
}

export interface PatchResult {
  object: JsonObject;
  /** Strict-decoding errors of the body itself (`json patch unknown field "x"`); empty unless Strict or Warn. */
  strictErrors: string[];
}

/**
 * Applies a JSON, merge or strategic merge patch to `current` (which it does not modify). `body` is the request
 * body, or `{ value }` when the caller already parsed it (schema's parsePatch, which also reports the body's
 * strict-decoding errors: then ignore `strictErrors` here).
 */
export function applyPatch(
  type: PatchType,
  current: JsonObject,
  body: string | { value: JsonValue },
  ctx: PatchContext = {},
): PatchResult {
  const strict = ctx.fieldValidation === 'Strict' || ctx.fieldValidation === 'Warn';
  switch (type) {
    case JSON_PATCH: {
      const { result, strictErrors } = applyJsonPatch(current, body, strict);
      return { object: asObject(result), strictErrors };
    }
    case MERGE_PATCH:
      return { object: asObject(applyMergePatch(current, body, strict)), strictErrors: [] };
    case STRATEGIC_MERGE_PATCH:
      return { object: strategicMergePatch(current, body, ctx.schema), strictErrors: [] };
    default:
      throw plainError(`${type}: unimplemented patch type`);
  }
}

/** A patched document that is not an object (a merge patch that is an array): the typed decode refuses it. */
function asObject(v: unknown): JsonObject {
  if (isObject(v)) return v;
  const text = JSON.stringify(v);
  const kind = Array.isArray(v) ? 'array' : v === null ? 'null' : typeof v;
  throw invalid('', '', [
    {
      type: 'FieldValueInvalid',
      field: 'patch',
      badValue: text,
      detail: `json: cannot unmarshal ${kind} into Go value of type map[string]interface {}`,
    },
  ]);
}

/** 422 for strict-decoding errors under fieldValidation=Strict (kube-apiserver puts the patched object in it). */
export function strictDecodingError(patched: JsonObject, errors: string[]): KubeError {
  return invalid('', '', [
    {
      type: 'FieldValueInvalid',
      field: 'patch',
      badValue: JSON.stringify(patched),
      detail: `strict decoding error: ${errors.join(', ')}`,
    },
  ]);
}

export interface WriteOptions {
  /** The group-version-kind the object is served as. */
  group: string;
  version: string;
  kind: string;
  /** The kind's schema; undefined for schema-less custom resources (fields are then deduced). */
  schema?: TypeSchema;
  subresource?: string;
  resetFields?: string[][];
  now?: Date;
}

function context(o: WriteOptions): Parameters<typeof track>[3] {
  return {
    group: o.group,
    version: o.version,
    kind: o.kind,
    type: rootType(o.schema),
    subresource: o.subresource ?? '',
    ...(o.resetFields ? { resetFields: o.resetFields } : {}),
    now: o.now ?? new Date(),
  };
}

/** managedFields for a non-apply write by `manager` (see the module header). */
export function trackUpdate(
  old: JsonObject | undefined,
  next: JsonObject,
  opts: WriteOptions & { manager: string },
): JsonObject {
  return track(old, next, opts.manager, context(opts));
}

export interface ApplyOptions extends WriteOptions {
  manager: string;
  force: boolean;
  /** fieldValidation of the request: Strict refuses duplicate keys in the body (400), Warn reports them. */
  fieldValidation?: string;
}

export interface ServerSideApplyResult {
  object: JsonObject;
  created: boolean;
  changed: boolean;
  warnings: string[];
}

/**
 * Server-side apply of an `application/apply-patch+yaml` body (see the module header), or of `{ value }` when the
 * caller already decoded it (schema's parsePatch, which also handles duplicate keys).
 */
export function serverSideApply(
  live: JsonObject | undefined,
  body: string | { value: JsonValue },
  opts: ApplyOptions,
): ServerSideApplyResult {
  const { config, strictError } =
    typeof body === 'string' ? decodeApplyBody(body) : decodeApplyValue(body.value);
  const { object, changed } = serverSideApplyObject(
    live ?? {},
    config,
    opts.manager,
    opts.force,
    context(opts),
  );
  const warnings: string[] = [];
  if (strictError) {
    if (opts.fieldValidation === 'Strict')
      throw new KubeError('BadRequest', `error strict decoding YAML: ${strictError}`);
    if (opts.fieldValidation === 'Warn') warnings.push(strictError);
  }
  return { object, created: live === undefined, changed: changed || live === undefined, warnings };
}
