/**
 * Request bodies in, objects out, as kube-apiserver's create, update and patch handlers decode them, with the
 * `fieldValidation` directive applied:
 *   Strict  unknown or duplicate fields fail the request (400 on create/update, 422 on patch);
 *   Warn    (the default) each one becomes a `Warning: 299 - "unknown field \"spec.foo\""` header;
 *   Ignore  they are dropped silently.
 * Type mismatches fail in every mode (400, Go's wording). The API server calls these; they know nothing of HTTP.
 *
 *   create/update:  const { object, warnings } = await decodeBody({ body, contentType, expected, fieldValidation })
 *   patch:          const p = parsePatch(body, patchType, fieldValidation)      // before applying it
 *                   const r = await checkPatched(gvk, patchedObject, p, fieldValidation)   // after
 */
import { decodeProtobuf, ProtobufError } from './protobuf.js';
import { badRequest, invalid, KubeError } from '../errors.js';
import type { GroupVersionKind, KubeObject } from '../registry/types.js';
import { catalog, type Catalog } from './catalog.js';
import { decodeCustom } from './crd/decode.js';
import { decodeTyped, duplicateFields } from './decode.js';
import { JsonSyntaxError, parseJson, type JsonValue } from './json.js';
import type { SchemaNode } from './node.js';
import { parseYaml, YamlSyntaxError } from './yaml.js';

export type FieldValidation = 'Ignore' | 'Warn' | 'Strict';

/**
 * The `fieldValidation` query parameter: absent or empty means Warn (kube-apiserver's default since 1.25); anything
 * else but the three values is a 422 on the request's options, as ValidateCreateOptions words it.
 */
export function fieldValidationOf(
  value: string | null | undefined,
  options: 'CreateOptions' | 'UpdateOptions' | 'PatchOptions',
): FieldValidation {
  if (value === undefined || value === null || value === '') return 'Warn';
  if (value === 'Ignore' || value === 'Warn' || value === 'Strict') return value;
  throw invalid(
    options,
    '',
    [
      {
        type: 'FieldValueNotSupported',
        field: 'fieldValidation',
        badValue: value,
        detail: 'supported values: "", "Ignore", "Strict", "Warn"',
      },
    ],
    'meta.k8s.io',
  );
}

export const ACCEPTED_MEDIA_TYPES = [
  'application/json',
  'application/yaml',
  'application/vnd.kubernetes.protobuf',
  'application/cbor',
];

export function unsupportedMediaType(accepted: string[] = ACCEPTED_MEDIA_TYPES): KubeError {
  return new KubeError(
    'UnsupportedMediaType',
    `the body of the request was in an unknown format - accepted media types include: ${accepted.join(', ')}`,
  );
}

export interface DecodeRequest {
  body: Buffer | string;
  /** The request's Content-Type; JSON when absent. */
  contentType?: string;
  /** The kind the URL addresses (the resource's, or its subresource's: Scale for deployments/scale). */
  expected: GroupVersionKind;
  fieldValidation: FieldValidation;
}

export interface Decoded {
  /** The body as the kind's type holds it: unknown fields dropped, apiVersion and kind filled from the URL. */
  object: KubeObject;
  /** The kind the body named (defaulted from the URL); the caller checks it against what the URL allows. */
  gvk: GroupVersionKind;
  /** Warning header texts (Warn mode). */
  warnings: string[];
}

type Parsed = { value: JsonValue; members: WeakMap<object, Array<[string, JsonValue]>>; strict: string[] };

function mediaType(contentType: string | undefined): 'json' | 'yaml' | 'protobuf' {
  const t = (contentType ?? 'application/json').split(';')[0].trim().toLowerCase();
  if (t === 'application/vnd.kubernetes.protobuf') return 'protobuf';
  if (t === 'application/json' || t === '' || t === '*/*') return 'json';
  if (t === 'application/yaml' || t === 'application/x-yaml' || t === 'text/yaml') return 'yaml';
  throw unsupportedMediaType();
}

/** Parses a body, collecting duplicate-key strict errors; a syntax error comes back as `error`. */
function parseBody(text: string, type: 'json' | 'yaml'): Parsed | { error: string } {
  try {
    if (type === 'json') return { ...parseJson(text), strict: [] };
    const y = parseYaml(text);
    // sigs.k8s.io/yaml's strict conversion reports every duplicate in one error, lines separated.
    const strict = y.duplicates.length
      ? [`error converting YAML to JSON: yaml: unmarshal errors:\n  ${y.duplicates.join('\n  ')}`]
      : [];
    return { value: y.value, members: new WeakMap(), strict };
  } catch (e) {
    if (e instanceof JsonSyntaxError) return { error: e.message };
    if (e instanceof YamlSyntaxError) return { error: `error converting YAML to JSON: ${e.message}` };
    throw e;
  }
}

/** A protobuf body as the JSON it stands for (kubectl's typed commands send these). */
function parseProtobuf(body: Buffer): Parsed | { error: string } {
  try {
    return { value: decodeProtobuf(body) as JsonValue, members: new WeakMap(), strict: [] };
  } catch (e) {
    if (e instanceof ProtobufError) return { error: e.message };
    throw e;
  }
}

/** kube-apiserver's summarizeData: the first 30 bytes of an object body, hex for anything else. */
function summarize(body: Buffer): string {
  if (body.length === 0) return '<empty>';
  const head = body.subarray(0, 30);
  const more = body.length > 30 ? ' ...' : '';
  return body[0] === 0x7b ? head.toString('utf8') + more : head.toString('hex') + more;
}

const FIND_KIND_TYPE =
  'struct { APIVersion string "json:\\"apiVersion,omitempty\\""; Kind string "json:\\"kind,omitempty\\"" }';

/** SimpleMetaFactory.Interpret: the apiVersion and kind of a body, or its error. */
function interpret(v: JsonValue): { group: string; version: string; kind: string } | { error: string } {
  const prefix = "couldn't get version/kind; json parse error: ";
  if (typeof v !== 'object' || v === null || Array.isArray(v)) {
    const what = Array.isArray(v) ? 'array' : v === null ? '' : typeof v === 'boolean' ? 'bool' : typeof v;
    if (v === null) return { group: '', version: '', kind: '' };
    return { error: `${prefix}json: cannot unmarshal ${what} into Go value of type ${FIND_KIND_TYPE}` };
  }
  for (const f of ['apiVersion', 'kind'] as const) {
    const x = v[f];
    if (x !== undefined && x !== null && typeof x !== 'string') {
      const what = Array.isArray(x)
        ? 'array'
        : typeof x === 'boolean'
          ? 'bool'
          : typeof x === 'object'
            ? 'object'
            : typeof x;
      return { error: `${prefix}json: cannot unmarshal ${what} into Go struct field .${f} of type string` };
    }
  }
  const apiVersion = typeof v.apiVersion === 'string' ? v.apiVersion : '';
  const kind = typeof v.kind === 'string' ? v.kind : '';
  const parts = apiVersion.split('/');
  if (apiVersion === '') return { group: '', version: '', kind };
  if (parts.length === 1) return { group: '', version: parts[0], kind };
  if (parts.length === 2) return { group: parts[0], version: parts[1], kind };
  return { error: `unexpected GroupVersion string: ${apiVersion}` };
}

/** The create/update decode: parse, name the kind, decode into its type, apply the validation directive. */
export async function decodeBody(req: DecodeRequest): Promise<Decoded> {
  const body = typeof req.body === 'string' ? Buffer.from(req.body) : req.body;
  const { expected } = req;
  const unrecognized = (err: string): KubeError =>
    badRequest(
      `the object provided is unrecognized (must be of type ${expected.kind}): ${err} (${summarize(body)})`,
    );
  const type = mediaType(req.contentType);
  const parsed = type === 'protobuf' ? parseProtobuf(body) : parseBody(body.toString('utf8'), type);
  if ('error' in parsed) throw unrecognized(`couldn't get version/kind; json parse error: ${parsed.error}`);
  const named = interpret(parsed.value);
  if ('error' in named) throw unrecognized(named.error);
  // gvkWithDefaults: the URL fills what the body leaves out.
  const gvk: GroupVersionKind = {
    group: named.version === '' && named.group === '' ? expected.group : named.group,
    version: named.version === '' && named.group === expected.group ? expected.version : named.version,
    kind: named.kind || expected.kind,
  };
  const cannot = (err: string): KubeError =>
    badRequest(
      `${gvk.kind} in version ${JSON.stringify(gvk.version)} cannot be handled as a ${expected.kind}: ${err}`,
    );
  if (parsed.value === null || typeof parsed.value !== 'object' || Array.isArray(parsed.value)) {
    throw unrecognized(`Object 'Kind' is missing in '${body.toString('utf8')}'`);
  }
  const c = await catalog();
  const root = c.kind(gvk);
  if (!root) {
    const version = gvk.group ? `${gvk.group}/${gvk.version}` : gvk.version;
    throw cannot(
      `no kind ${JSON.stringify(gvk.kind)} is registered for version ${JSON.stringify(version)} in scheme "pkg/api/legacyscheme/scheme.go:30"`,
    );
  }
  const r = decoderFor(c, root)(root, parsed.value, parsed.members);
  // Non-strict errors win: the strict ones are reported only when the decode itself succeeded.
  if (r.error !== undefined) throw cannot(r.error);
  const strict = [...parsed.strict, ...r.strict];
  const object = r.value as KubeObject;
  const apiVersion = gvk.group ? `${gvk.group}/${gvk.version}` : gvk.version;
  object.apiVersion = apiVersion;
  object.kind = gvk.kind;
  return {
    object: reorderTypeMeta(object),
    gvk,
    warnings: applyDirective(strict, req.fieldValidation, cannot),
  };
}

/** Built-in kinds decode as Go structs do; custom ones as unstructured objects pruned by their schema. */
function decoderFor(c: Catalog, root: SchemaNode): typeof decodeTyped {
  return c.isBuiltin(root.definitionName ?? '') ? decodeTyped : decodeCustom;
}

/** Warn → one warning per strict error (YAML's joined lines split as kube-apiserver splits them); Strict → error. */
function applyDirective(
  strict: string[],
  directive: FieldValidation,
  fail: (err: string) => KubeError,
): string[] {
  if (strict.length === 0 || directive === 'Ignore') return [];
  if (directive === 'Strict') throw fail(`strict decoding error: ${strict.join(', ')}`);
  return strict.flatMap(yamlWarnings);
}

const YAML_LONG = 'error converting YAML to JSON: yaml: unmarshal errors:\n';
const YAML_SHORT = 'yaml: unmarshal errors:\n';

/** parseYAMLWarnings: a YAML strict error becomes one warning per line. */
function yamlWarnings(err: string): string[] {
  const rest = err.startsWith(YAML_LONG)
    ? err.slice(YAML_LONG.length)
    : err.startsWith(YAML_SHORT)
      ? err.slice(YAML_SHORT.length)
      : undefined;
  return rest === undefined ? [err] : rest.split('\n').map((s) => s.trim());
}

/** apiVersion and kind first, as Go's struct order writes them. */
function reorderTypeMeta(o: KubeObject): KubeObject {
  const { apiVersion, kind, ...rest } = o;
  return { apiVersion, kind, ...rest };
}

export type PatchType = 'json' | 'merge' | 'strategic' | 'apply';

export interface ParsedPatch {
  value: JsonValue;
  /** Strict errors found in the patch itself (duplicates; JSON patch: also unknown operation fields). */
  strict: string[];
}

const JSON_PATCH_OP_FIELDS = new Set(['op', 'path', 'from', 'value']);

/**
 * Reads a patch body as the patch handler does before applying it. A syntax error is 400 `error decoding patch:`
 * (JSON patch, merge patch), the bare error (strategic merge patch) or `error decoding YAML:` (apply).
 */
export function parsePatch(body: Buffer | string, type: PatchType, directive: FieldValidation): ParsedPatch {
  const text = typeof body === 'string' ? body : body.toString('utf8');
  const checking = directive !== 'Ignore';
  if (type === 'apply') {
    // sigs.k8s.io/yaml wraps what goyaml says; the strict error is checked after the apply (appliedStrict).
    const yamlError = (e: string) => `error converting YAML to JSON: ${e}`;
    try {
      const y = parseYaml(text);
      const strict =
        checking && y.duplicates.length
          ? [yamlError(`yaml: unmarshal errors:\n  ${y.duplicates.join('\n  ')}`)]
          : [];
      return { value: y.value, strict };
    } catch (e) {
      if (e instanceof YamlSyntaxError) throw badRequest(`error decoding YAML: ${yamlError(e.message)}`);
      throw e;
    }
  }
  let p: ReturnType<typeof parseJson>;
  try {
    p = parseJson(text);
  } catch (e) {
    if (!(e instanceof JsonSyntaxError)) throw e;
    throw badRequest(type === 'strategic' ? e.message : `error decoding patch: ${e.message}`);
  }
  if (!checking) return { value: p.value, strict: [] };
  if (type === 'json') return { value: p.value, strict: jsonPatchStrict(p.value, p.members) };
  return { value: p.value, strict: duplicateFields(p.value, p.members) };
}

/**
 * kjson.UnmarshalStrict of a JSON patch into []jsonPatchOp: unknown operation fields (their values skipped),
 * duplicate ones, and duplicate keys anywhere inside a `value` (an interface{}), each prefixed `json patch`, in
 * the order Go meets them, deduplicated.
 */
function jsonPatchStrict(v: JsonValue, members: WeakMap<object, Array<[string, JsonValue]>>): string[] {
  const strict: string[] = [];
  if (!Array.isArray(v)) return strict;
  v.forEach((op, i) => {
    if (typeof op !== 'object' || op === null || Array.isArray(op)) return;
    const seen = new Set<string>();
    for (const [k, value] of members.get(op) ?? Object.entries(op)) {
      if (!JSON_PATCH_OP_FIELDS.has(k)) {
        strict.push(`unknown field "[${i}].${k}"`);
        continue;
      }
      if (seen.has(k)) strict.push(`duplicate field "[${i}].${k}"`);
      seen.add(k);
      if (k === 'value') strict.push(...duplicateFields(value, members, `[${i}].value`));
    }
  });
  return [...new Set(strict)].slice(0, 100).map((e) => `json patch ${e}`);
}

/**
 * After a server-side apply succeeded (its conflicts win over strict errors, as in kube-apiserver): the apply
 * body's duplicate keys fail the request under Strict (400) and are warnings under Warn.
 */
export function appliedStrict(patch: ParsedPatch, directive: FieldValidation): string[] {
  if (directive === 'Ignore' || patch.strict.length === 0) return [];
  if (directive === 'Strict') throw badRequest(`error strict decoding YAML: ${patch.strict[0]}`);
  return patch.strict.flatMap(yamlWarnings);
}

export interface PatchedResult {
  object: KubeObject;
  warnings: string[];
}

/**
 * After a JSON, merge or strategic merge patch is applied: decodes the result into the kind's type, adding its
 * unknown fields to the patch's own strict errors. Strict: 422 Invalid on `patch` whose value is the patched object
 * (JSON and merge patch) or the patch (strategic, printed as Go's %+v). A type mismatch is 422 the same way.
 */
export async function checkPatched(
  gvk: GroupVersionKind,
  patched: KubeObject,
  patch: ParsedPatch & { type: PatchType },
  directive: FieldValidation,
): Promise<PatchedResult> {
  const c = await catalog();
  const root = c.kind(gvk);
  if (!root) return { object: patched, warnings: [] };
  const r = decoderFor(c, root)(root, patched as JsonValue);
  const shown = patch.type === 'strategic' ? goFormat(patch.value) : JSON.stringify(patched);
  const fail = (detail: string): KubeError =>
    invalid('', '', [{ type: 'FieldValueInvalid', field: 'patch', badValue: shown, detail }]);
  if (r.error !== undefined) throw fail(r.error);
  const strict = directive === 'Ignore' ? [] : [...patch.strict, ...r.strict];
  const warnings = applyDirective(strict, directive, fail);
  return { object: r.value as KubeObject, warnings };
}

/** Go's fmt %+v of a decoded JSON value: map[a:1 b:[x y]] with sorted keys. */
export function goFormat(v: JsonValue): string {
  if (v === null) return '<nil>';
  if (Array.isArray(v)) return `[${v.map(goFormat).join(' ')}]`;
  if (typeof v === 'object') {
    const keys = Object.keys(v).sort();
    return `map[${keys.map((k) => `${k}:${goFormat(v[k])}`).join(' ')}]`;
  }
  return String(v);
}
