/**
 * The OpenAPI schema objects berth-kube reads: OpenAPI v2 definitions for the built-in kinds (with `$ref`s into
 * `#/definitions/`) and a CRD's `openAPIV3Schema` (JSONSchemaProps: no refs, with nullable and the
 * x-kubernetes-* vocabulary). One interface covers both; the lookups in node.ts hide the difference.
 */

export interface GroupVersionKindRef {
  group: string;
  version: string;
  kind: string;
}

export interface Schema {
  $ref?: string;
  type?: string;
  format?: string;
  description?: string;
  title?: string;
  default?: unknown;
  enum?: unknown[];
  nullable?: boolean;
  properties?: Record<string, Schema>;
  additionalProperties?: Schema | boolean;
  items?: Schema;
  required?: string[];
  maximum?: number;
  minimum?: number;
  exclusiveMaximum?: boolean;
  exclusiveMinimum?: boolean;
  maxLength?: number;
  minLength?: number;
  maxItems?: number;
  minItems?: number;
  maxProperties?: number;
  minProperties?: number;
  uniqueItems?: boolean;
  multipleOf?: number;
  pattern?: string;
  allOf?: Schema[];
  anyOf?: Schema[];
  oneOf?: Schema[];
  not?: Schema;
  readOnly?: boolean;
  example?: unknown;
  externalDocs?: { description?: string; url?: string };
  'x-kubernetes-group-version-kind'?: GroupVersionKindRef[];
  'x-kubernetes-patch-strategy'?: string;
  'x-kubernetes-patch-merge-key'?: string;
  'x-kubernetes-list-type'?: 'atomic' | 'set' | 'map';
  'x-kubernetes-list-map-keys'?: string[];
  'x-kubernetes-map-type'?: 'atomic' | 'granular';
  'x-kubernetes-preserve-unknown-fields'?: boolean;
  'x-kubernetes-int-or-string'?: boolean;
  'x-kubernetes-embedded-resource'?: boolean;
  'x-kubernetes-validations'?: unknown[];
  'x-kubernetes-unions'?: unknown[];
  [extension: `x-${string}`]: unknown;
}

/** An OpenAPI v2 query/path/body parameter as the 1.32 document writes them. */
export interface Parameter {
  name: string;
  in: 'query' | 'path' | 'body' | 'header';
  description?: string;
  type?: string;
  required?: boolean;
  uniqueItems?: boolean;
  schema?: Schema;
}

/** The committed data (data/openapi-v2.ts): the served definitions and the document's shared parameters. */
export interface OpenApiData {
  definitions: Record<string, Schema>;
  parameters: Record<string, Parameter>;
}
