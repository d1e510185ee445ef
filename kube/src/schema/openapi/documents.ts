/**
 * The OpenAPI documents kube-apiserver publishes, for what this cluster serves right now:
 *   /openapi/v2                       one Swagger 2.0 document: paths of every served resource, the definitions they
 *                                     reach, the shared parameters;
 *   /openapi/v3/<api/v1|apis/g/v>     one OpenAPI 3.0 document per group-version, derived from the v2 paths and
 *                                     definitions as kube-apiserver's v3 builder writes them (inline parameters,
 *                                     requestBody, content per media type, `allOf` around a `$ref` with siblings,
 *                                     IntOrString and Quantity as `oneOf`), with its own components.schemas.
 * kubectl reads the v3 documents: PATCH with `fieldValidation` (server-side validation), the patch strategies and
 * merge keys (client-side apply), `x-kubernetes-group-version-kind` on paths and schemas (explain).
 */
import type { ResourceType } from '../../registry/types.js';
import type { Catalog } from '../catalog.js';
import type { Parameter, Schema } from '../types.js';
import {
  BUILTIN_STYLE,
  groupVersionNames,
  resourcePaths,
  type Method,
  type Operation,
  type ParamRef,
  type PathItem,
  type PathStyle,
} from './paths.js';

export interface SwaggerV2 {
  swagger: '2.0';
  info: { title: string; version: string };
  paths: Record<string, PathItem>;
  definitions: Record<string, Schema>;
  parameters: Record<string, Parameter>;
  security: Array<Record<string, string[]>>;
  securityDefinitions: Record<string, unknown>;
}

export interface OpenApiV3 {
  openapi: '3.0.0';
  info: { title: string; version: string };
  paths: Record<string, Record<string, unknown>>;
  components: { schemas: Record<string, Schema>; securitySchemes: Record<string, unknown> };
}

const BEARER = {
  description: 'Bearer Token authentication',
  in: 'header',
  name: 'authorization',
  type: 'apiKey',
};
const DISCOVERY_MEDIA = ['application/json', 'application/yaml', 'application/vnd.kubernetes.protobuf'];
const META = 'io.k8s.apimachinery.pkg.apis.meta.v1';

/** Media types and patch types of custom resources as the CRD OpenAPI builder lists them (no strategic merge patch). */
export const CUSTOM_STYLE: Omit<PathStyle, 'definition'> = {
  produces: ['application/json', 'application/yaml'],
  listProduces: ['application/json', 'application/yaml'],
  patchConsumes: [
    'application/json-patch+json',
    'application/merge-patch+json',
    'application/apply-patch+yaml',
  ],
};

/** `api/v1`, `apis/apps/v1`: how /openapi/v3 names a group-version (and kubectl looks it up). */
export const gvPath = (group: string, version: string): string =>
  group ? `apis/${group}/${version}` : `api/${version}`;

function discoveryOp(
  id: string,
  description: string,
  tag: string,
  schema: string,
  consumes = DISCOVERY_MEDIA,
): Operation {
  return {
    description,
    consumes,
    produces: consumes,
    schemes: ['https'],
    operationId: id,
    responses: {
      '200': { description: 'OK', schema: { $ref: `#/definitions/${schema}` } },
      '401': { description: 'Unauthorized' },
    },
    tags: [tag],
  };
}

/** The v2 document for a set of served resources. */
export function buildV2(resources: ResourceType[], c: Catalog, discoveryOnly = false): SwaggerV2 {
  const paths: Record<string, PathItem> = {};
  const groups = new Map<string, Set<string>>();
  for (const t of resources) {
    if (!c.definitionNameOf(t)) continue; // a kind without a schema (none today) gets no paths
    const versions = groups.get(t.group) ?? new Set<string>();
    versions.add(t.version);
    groups.set(t.group, versions);
    if (discoveryOnly) continue;
    const style: PathStyle = {
      ...(c.isBuiltin(c.definitionNameOf(t) ?? '') ? BUILTIN_STYLE : CUSTOM_STYLE),
      definition: (kind, group, version) => c.definitionNameOf({ group, version, kind }) ?? `${META}.Status`,
    };
    Object.assign(paths, resourcePaths(t, style, c.parameters));
  }
  paths['/api/'] = {
    get: discoveryOp('getCoreAPIVersions', 'get available API versions', 'core', `${META}.APIVersions`),
  };
  paths['/apis/'] = {
    get: discoveryOp('getAPIVersions', 'get available API versions', 'apis', `${META}.APIGroupList`),
  };
  for (const [group, versions] of groups) {
    if (group) {
      const { infix } = groupVersionNames(group, '');
      const tag = groupVersionNames(group, 'x').tag.replace(/_x$/, '');
      paths[`/apis/${group}/`] = {
        get: discoveryOp(`get${infix}APIGroup`, 'get information of a group', tag, `${META}.APIGroup`),
      };
    }
    for (const version of versions) {
      const { tag, infix } = groupVersionNames(group, version);
      const media = [...DISCOVERY_MEDIA, 'application/cbor'];
      paths[`/${gvPath(group, version)}/`] = {
        get: discoveryOp(
          `get${infix}APIResources`,
          'get available resources',
          tag,
          `${META}.APIResourceList`,
          media,
        ),
      };
    }
  }
  paths['/version/'] = {
    get: {
      ...discoveryOp(
        'getCodeVersion',
        'get the code version',
        'version',
        'io.k8s.apimachinery.pkg.version.Info',
      ),
      consumes: ['application/json'],
      produces: ['application/json'],
    },
  };
  const sorted: Record<string, PathItem> = {};
  for (const k of Object.keys(paths).sort()) sorted[k] = paths[k];
  const definitions = reachable(sorted, c, (s) => s);
  const parameters: Record<string, Parameter> = {};
  JSON.stringify(sorted, (k, v: unknown) => {
    if (k === '$ref' && typeof v === 'string' && v.startsWith('#/parameters/')) {
      const key = v.slice('#/parameters/'.length);
      if (c.parameters[key]) parameters[key] = c.parameters[key];
    }
    return v;
  });
  return {
    swagger: '2.0',
    info: { title: 'Kubernetes', version: 'unversioned' },
    paths: sorted,
    definitions,
    parameters: sortKeys(parameters),
    security: [{ BearerToken: [] }],
    securityDefinitions: { BearerToken: BEARER },
  };
}

/** The `#/definitions/` names a value refers to directly (memoized per definition object: they never change). */
const directRefs = new WeakMap<object, string[]>();
function refsOf(x: unknown): string[] {
  if (typeof x === 'object' && x !== null) {
    const memo = directRefs.get(x);
    if (memo) return memo;
  }
  const out: string[] = [];
  const walk = (v: unknown): void => {
    if (Array.isArray(v)) v.forEach(walk);
    else if (typeof v === 'object' && v !== null) {
      for (const [k, w] of Object.entries(v)) {
        if (k === '$ref' && typeof w === 'string' && w.startsWith('#/definitions/')) out.push(w.slice(14));
        else walk(w);
      }
    }
  };
  walk(x);
  if (typeof x === 'object' && x !== null) directRefs.set(x, out);
  return out;
}

/** The definitions reachable from `root` through `$ref`s, transformed, sorted by name. */
function reachable(root: unknown, c: Catalog, transform: (s: Schema) => Schema): Record<string, Schema> {
  const out: Record<string, Schema> = {};
  const queue = [...refsOf(root)];
  while (queue.length) {
    const name = queue.pop() as string;
    if (name in out) continue;
    const def = c.definition(name);
    if (!def) continue;
    out[name] = transform(def);
    queue.push(...refsOf(def));
  }
  return sortKeys(out);
}

function sortKeys<T>(o: Record<string, T>): Record<string, T> {
  const out: Record<string, T> = {};
  for (const k of Object.keys(o).sort()) out[k] = o[k];
  return out;
}

/** The /openapi/v3 entries for what is served: every group-version, every named group, and the roots. */
export function v3Names(resources: ResourceType[], c: Catalog): string[] {
  const names = new Set(['api', 'apis', 'version']);
  for (const t of resources) {
    if (!c.definitionNameOf(t)) continue;
    names.add(gvPath(t.group, t.version));
    if (t.group) names.add(`apis/${t.group}`);
  }
  return [...names].sort();
}

/** The v3 document named `name` (`apis/apps/v1`, `api/v1`, `apis/apps`, `api`, `apis`, `version`), or undefined. */
export function buildV3(v2: SwaggerV2, name: string, c: Catalog): OpenApiV3 | undefined {
  const parts = name.split('/');
  // A group-version owns its paths; `apis/apps` and the roots own only their own discovery path.
  const own =
    (name.startsWith('api/') && parts.length === 2) || (name.startsWith('apis/') && parts.length === 3)
      ? (p: string) => p.startsWith(`/${name}/`)
      : (p: string) => p === `/${name}/`;
  const paths: Record<string, Record<string, unknown>> = {};
  for (const [p, item] of Object.entries(v2.paths))
    if (own(p)) paths[p] = convertPathItem(item, v2.parameters);
  if (Object.keys(paths).length === 0) return undefined;
  // Converted per build, not kept: the built document is cached as bytes, and a long-lived copy of every
  // converted definition would cost the idle server several MiB.
  const converted = new Map<Schema, Schema>();
  const schemas = reachable(paths, c, (def) => {
    let v = converted.get(def);
    if (!v) converted.set(def, (v = rewriteRefs(convert(def, true) as Schema)));
    return v;
  });
  const q = schemas[QUANTITY];
  if (q && q.type === 'string') {
    const rest = { ...q };
    delete rest.type;
    schemas[QUANTITY] = { ...rest, oneOf: [{ type: 'string' }, { type: 'number' }] };
  }
  return {
    openapi: '3.0.0',
    info: { title: 'Kubernetes', version: 'unversioned' },
    paths: rewriteRefs(paths),
    components: { schemas, securitySchemes: { BearerToken: BEARER } },
  };
}

const METHODS: Method[] = ['delete', 'get', 'head', 'options', 'patch', 'post', 'put'];

function convertPathItem(item: PathItem, params: Record<string, Parameter>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const m of METHODS) {
    const op = item[m];
    if (op) out[m] = convertOperation(op, params);
  }
  if (item.parameters?.length)
    out.parameters = item.parameters.map((p) => convertParameter(resolveParam(p, params)));
  return out;
}

function resolveParam(p: ParamRef, params: Record<string, Parameter>): Parameter {
  return '$ref' in p ? params[p.$ref.slice('#/parameters/'.length)] : p;
}

function convertParameter(p: Parameter): Record<string, unknown> {
  const schema: Record<string, unknown> = { type: p.type };
  if (p.uniqueItems) schema.uniqueItems = true;
  const out: Record<string, unknown> = {};
  if (p.description) out.description = p.description;
  out.in = p.in;
  out.name = p.name;
  if (p.required) out.required = true;
  out.schema = schema;
  return out;
}

function convertOperation(op: Operation, params: Record<string, Parameter>): Record<string, unknown> {
  const out: Record<string, unknown> = { description: op.description, operationId: op.operationId };
  const resolved = (op.parameters ?? []).map((p) => resolveParam(p, params));
  const query = resolved.filter((p) => p.in !== 'body').map(convertParameter);
  if (query.length) out.parameters = query;
  const body = resolved.find((p) => p.in === 'body');
  if (body?.schema) {
    const content: Record<string, unknown> = {};
    for (const t of [...op.consumes].sort()) content[t] = { schema: body.schema };
    out.requestBody = body.required ? { content, required: true } : { content };
  }
  const responses: Record<string, unknown> = {};
  for (const [code, r] of Object.entries(op.responses)) {
    if (!r.schema) {
      responses[code] = { description: r.description };
      continue;
    }
    const content: Record<string, unknown> = {};
    for (const t of [...op.produces].sort()) content[t] = { schema: r.schema };
    responses[code] = { content, description: r.description };
  }
  out.responses = responses;
  out.tags = op.tags;
  if (op['x-kubernetes-action']) out['x-kubernetes-action'] = op['x-kubernetes-action'];
  if (op['x-kubernetes-group-version-kind'])
    out['x-kubernetes-group-version-kind'] = op['x-kubernetes-group-version-kind'];
  return out;
}

const QUANTITY = 'io.k8s.apimachinery.pkg.api.resource.Quantity';

/** A v2 schema as v3 writes it (recursively). */
function convert(s: unknown, top = false): unknown {
  if (Array.isArray(s)) return s.map((x) => convert(x));
  if (typeof s !== 'object' || s === null) return s;
  const o = s as Record<string, unknown>;
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(o)) {
    if (k === 'properties' && v && typeof v === 'object') {
      out[k] = Object.fromEntries(
        Object.entries(v as Record<string, unknown>).map(([pk, pv]) => [pk, convert(pv)]),
      );
    } else if (k === 'x-kubernetes-group-version-kind' || k === 'enum' || k === 'required' || k === 'default')
      out[k] = v;
    else out[k] = convert(v);
  }
  // A $ref with siblings (description, patch strategy...) becomes allOf: [{$ref}] beside them.
  if (typeof out.$ref === 'string' && Object.keys(out).length > 1) {
    const { $ref, ...rest } = out;
    return { allOf: [{ $ref }], ...rest };
  }
  if (top && out.format === 'int-or-string' && out.type === 'string') {
    delete out.type;
    return { ...out, oneOf: [{ type: 'integer' }, { type: 'string' }] };
  }
  return out;
}

/** v2's #/definitions/ refs become v3's #/components/schemas/ refs. */
function rewriteRefs<T>(x: T): T {
  return JSON.parse(JSON.stringify(x).replaceAll('"#/definitions/', '"#/components/schemas/')) as T;
}
