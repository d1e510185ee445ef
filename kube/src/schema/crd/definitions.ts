/**
 * The OpenAPI definitions a CRD version contributes, as apiextensions-apiserver's openapi builder writes them:
 * `com.example.stable.v1.CronTab` (the group reversed, then version and kind) is the version's schema with
 * apiVersion, kind and metadata (a ref to ObjectMeta) added, also inside x-kubernetes-embedded-resource nodes, and
 * `com.example.stable.v1.CronTabList` around it. They join the catalog, so /openapi/v2, /openapi/v3, explain and
 * field validation see them.
 */
import type { Schema } from '../types.js';
import type { CustomResourceDefinition } from './types.js';

const META = 'io.k8s.apimachinery.pkg.apis.meta.v1';
const API_VERSION_DOC =
  'APIVersion defines the versioned schema of this representation of an object. Servers should convert recognized schemas to the latest internal value, and may reject unrecognized values. More info: https://git.k8s.io/community/contributors/devel/sig-architecture/api-conventions.md#resources';
const KIND_DOC =
  'Kind is a string value representing the REST resource this object represents. Servers may infer this from the endpoint the client submits requests to. Cannot be updated. In CamelCase. More info: https://git.k8s.io/community/contributors/devel/sig-architecture/api-conventions.md#types-kinds';
const EMBEDDED_API_VERSION_DOC =
  'apiVersion defines the versioned schema of this representation of an object. More info: https://git.k8s.io/community/contributors/devel/sig-architecture/api-conventions.md#resources';
const EMBEDDED_KIND_DOC =
  'kind is a string value representing the type of this object. In CamelCase. More info: https://git.k8s.io/community/contributors/devel/sig-architecture/api-conventions.md#types-kinds';
const METADATA_DOC =
  "Standard object's metadata. More info: https://git.k8s.io/community/contributors/devel/sig-architecture/api-conventions.md#metadata";
const LIST_METADATA_DOC =
  'Standard list metadata. More info: https://git.k8s.io/community/contributors/devel/sig-architecture/api-conventions.md#types-kinds';

/** util.ToRESTFriendlyName: `stable.example.com/v1/CronTab` → `com.example.stable.v1.CronTab`. */
export function definitionName(group: string, version: string, kind: string): string {
  return [...group.split('.').reverse(), version, kind].join('.');
}

const clone = <T>(v: T): T => JSON.parse(JSON.stringify(v)) as T;

function addEmbedded(s: Schema | undefined): void {
  if (!s || typeof s !== 'object') return;
  for (const p of Object.values(s.properties ?? {})) addEmbedded(p);
  if (s.items && !Array.isArray(s.items)) addEmbedded(s.items);
  if (typeof s.additionalProperties === 'object') addEmbedded(s.additionalProperties);
  if (!s['x-kubernetes-embedded-resource']) return;
  s.properties = {
    ...(s.properties ?? {}),
    apiVersion: { description: EMBEDDED_API_VERSION_DOC, type: 'string' },
    kind: { description: EMBEDDED_KIND_DOC, type: 'string' },
    metadata: { $ref: `#/definitions/${META}.ObjectMeta`, description: METADATA_DOC },
  };
  const req = new Set(s.required ?? []);
  s.required = [...(s.required ?? []), ...['kind', 'apiVersion'].filter((k) => !req.has(k))];
}

/** The kind and list definitions of one version of a CRD. */
export function crdDefinitions(crd: CustomResourceDefinition, version: string): Record<string, Schema> {
  const { group, names } = crd.spec;
  const v = crd.spec.versions.find((x) => x.name === version);
  const kind = names.kind;
  const listKind = names.listKind ?? `${kind}List`;
  const name = definitionName(group, version, kind);
  const base = v?.schema?.openAPIV3Schema;
  let schema: Schema;
  if (!base) schema = { type: 'object' };
  else {
    schema = clone(base);
    addEmbedded(schema);
    schema.properties = {
      ...(schema.properties ?? {}),
      apiVersion: { description: API_VERSION_DOC, type: 'string' },
      kind: { description: KIND_DOC, type: 'string' },
      metadata: { $ref: `#/definitions/${META}.ObjectMeta`, description: METADATA_DOC },
    };
  }
  schema['x-kubernetes-group-version-kind'] = [{ group, kind, version }];
  const list: Schema = {
    description: `${listKind} is a list of ${kind}`,
    properties: {
      apiVersion: { description: API_VERSION_DOC, type: 'string' },
      items: {
        description: `List of ${names.plural}. More info: https://git.k8s.io/community/contributors/devel/sig-architecture/api-conventions.md`,
        items: { $ref: `#/definitions/${name}` },
        type: 'array',
      },
      kind: { description: KIND_DOC, type: 'string' },
      metadata: { $ref: `#/definitions/${META}.ListMeta`, description: LIST_METADATA_DOC },
    },
    required: ['items'],
    type: 'object',
    'x-kubernetes-group-version-kind': [{ group, kind: listKind, version }],
  };
  return { [name]: schema, [definitionName(group, version, listKind)]: list };
}

/** Every served version's definitions, for the catalog. */
export function allCrdDefinitions(crd: CustomResourceDefinition): Record<string, Schema> {
  const out: Record<string, Schema> = {};
  for (const v of crd.spec.versions) if (v.served) Object.assign(out, crdDefinitions(crd, v.name));
  return out;
}
