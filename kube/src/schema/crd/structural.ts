/**
 * Is a CRD's openAPIV3Schema acceptable? kube-apiserver's two passes, with its messages:
 *   - the OpenAPI checks every schema node gets (ValidateCustomResourceDefinitionOpenAPISchema: unsupported
 *     keywords, list/map types, uniqueItems, ...);
 *   - the structural-schema rules (apiextensions-apiserver pkg/apiserver/schema/validation.go and complete.go):
 *     a type everywhere, items for arrays, no additionalProperties at the root or beside properties, metadata only
 *     name/generateName, value validations (allOf/anyOf/oneOf/not) that add no structure. Those errors come back
 *     sorted by their text, as kube-apiserver sorts them.
 */
import type { FieldError } from '../../errors.js';
import type { Schema } from '../types.js';
import type { FieldPath } from './path.js';

const TYPES = ['array', 'boolean', 'integer', 'number', 'object', 'string'];
const META_FIELDS = new Set(['metadata', 'kind', 'apiVersion']);

type Raw = Schema & {
  id?: string;
  $schema?: string;
  additionalItems?: unknown;
  patternProperties?: Record<string, Schema>;
  definitions?: Record<string, Schema>;
  dependencies?: Record<string, unknown>;
};

const err = (type: FieldError['type'], path: FieldPath, detail?: string, badValue?: unknown): FieldError => ({
  type,
  field: path.toString(),
  ...(badValue !== undefined ? { badValue } : {}),
  ...(detail !== undefined ? { detail } : {}),
});
const required = (p: FieldPath, detail: string) => err('FieldValueRequired', p, detail);
const forbidden = (p: FieldPath, detail: string) => err('FieldValueForbidden', p, detail);
const invalid = (p: FieldPath, value: unknown, detail: string) => err('FieldValueInvalid', p, detail, value);
const notSupported = (p: FieldPath, value: unknown, values: string[]) =>
  err(
    'FieldValueNotSupported',
    p,
    `supported values: ${values.map((v) => JSON.stringify(v)).join(', ')}`,
    value,
  );

interface OpenApiContext {
  allowDefaults: boolean;
  whyNoDefaults?: string;
  insideResourceMeta: boolean;
}

/** The per-node OpenAPI checks (specStandardValidatorV3 and friends). */
export function validateOpenApiSchema(
  s: Raw | undefined,
  path: FieldPath,
  isRoot = true,
  ctx: OpenApiContext = { allowDefaults: true, insideResourceMeta: false },
): FieldError[] {
  if (!s || typeof s !== 'object') return [];
  const out: FieldError[] = [];
  if (s.type && !TYPES.includes(s.type) && s.type !== 'null')
    out.push(notSupported(path.child('type'), s.type, TYPES));
  if (s.default !== undefined && !ctx.allowDefaults) {
    out.push(
      forbidden(path.child('default'), `must not be set${ctx.whyNoDefaults ? ` ${ctx.whyNoDefaults}` : ''}`),
    );
  }
  if (s.id) out.push(forbidden(path.child('id'), 'id is not supported'));
  if (s.additionalItems !== undefined)
    out.push(forbidden(path.child('additionalItems'), 'additionalItems is not supported'));
  if (s.patternProperties && Object.keys(s.patternProperties).length) {
    out.push(forbidden(path.child('patternProperties'), 'patternProperties is not supported'));
  }
  if (s.definitions && Object.keys(s.definitions).length)
    out.push(forbidden(path.child('definitions'), 'definitions is not supported'));
  if (s.dependencies !== undefined)
    out.push(forbidden(path.child('dependencies'), 'dependencies is not supported'));
  if (s.$ref !== undefined) out.push(forbidden(path.child('$ref'), '$ref is not supported'));
  if (s.type === 'null')
    out.push(forbidden(path.child('type'), 'type cannot be set to null, use nullable as an alternative'));
  if (Array.isArray(s.items))
    out.push(forbidden(path.child('items'), 'items must be a schema object and not an array'));
  if (ctx.insideResourceMeta && s['x-kubernetes-embedded-resource']) {
    out.push(
      forbidden(path.child('x-kubernetes-embedded-resource'), 'must not be used inside of resource meta'),
    );
  }
  if (s.uniqueItems) {
    out.push(
      forbidden(
        path.child('uniqueItems'),
        'uniqueItems cannot be set to true since the runtime complexity becomes quadratic',
      ),
    );
  }
  const ap = s.additionalProperties;
  if (ap !== undefined) {
    if (s.properties && Object.keys(s.properties).length && (ap === false || typeof ap === 'object')) {
      out.push(
        forbidden(
          path.child('additionalProperties'),
          'additionalProperties and properties are mutual exclusive',
        ),
      );
    }
    if (typeof ap === 'object') {
      const sub = ctx.insideResourceMeta
        ? {
            ...ctx,
            allowDefaults: false,
            whyNoDefaults: 'inside additionalProperties applying to object metadata',
          }
        : ctx;
      out.push(...validateOpenApiSchema(ap, path.child('additionalProperties'), false, sub));
    }
  }
  for (const [name, prop] of Object.entries(s.properties ?? {})) {
    let sub = ctx;
    if ((isRoot || s['x-kubernetes-embedded-resource']) && META_FIELDS.has(name)) {
      sub = { ...sub, insideResourceMeta: true };
      if (isRoot) sub = { ...sub, allowDefaults: false, whyNoDefaults: `in top-level ${name}` };
    }
    out.push(...validateOpenApiSchema(prop, path.child('properties').key(name), false, sub));
  }
  if (s.not) out.push(...validateOpenApiSchema(s.not, path.child('not'), false, ctx));
  for (const k of ['allOf', 'oneOf', 'anyOf'] as const) {
    (s[k] ?? []).forEach((x, i) => out.push(...validateOpenApiSchema(x, path.child(k).index(i), false, ctx)));
  }
  if (s.items && !Array.isArray(s.items))
    out.push(...validateOpenApiSchema(s.items, path.child('items'), false, ctx));
  out.push(...listAndMapChecks(s, path));
  return out;
}

function listAndMapChecks(s: Raw, path: FieldPath): FieldError[] {
  const out: FieldError[] = [];
  const pu = s['x-kubernetes-preserve-unknown-fields'];
  if (pu === false)
    out.push(invalid(path.child('x-kubernetes-preserve-unknown-fields'), false, 'must be true or undefined'));
  const mapType = s['x-kubernetes-map-type'];
  if (mapType !== undefined && s.type !== 'object') {
    out.push(
      s.type
        ? invalid(path.child('type'), s.type, 'must be object if x-kubernetes-map-type is specified')
        : required(path.child('type'), 'must be object if x-kubernetes-map-type is specified'),
    );
  }
  if (mapType !== undefined && mapType !== 'atomic' && mapType !== 'granular') {
    out.push(notSupported(path.child('x-kubernetes-map-type'), mapType, ['atomic', 'granular']));
  }
  const listType = s['x-kubernetes-list-type'];
  const items = s.items && !Array.isArray(s.items) ? s.items : undefined;
  if (listType !== undefined && s.type !== 'array') {
    out.push(
      s.type
        ? invalid(path.child('type'), s.type, 'must be array if x-kubernetes-list-type is specified')
        : required(path.child('type'), 'must be array if x-kubernetes-list-type is specified'),
    );
  } else if (listType === 'set' && items) {
    if (
      items.type === 'array' &&
      items['x-kubernetes-list-type'] !== undefined &&
      items['x-kubernetes-list-type'] !== 'atomic'
    ) {
      out.push(
        invalid(
          path.child('items', 'x-kubernetes-list-type'),
          items['x-kubernetes-list-type'],
          'must be atomic as item of a list with x-kubernetes-list-type=set',
        ),
      );
    }
    if (items.type === 'object' && items['x-kubernetes-map-type'] !== 'atomic') {
      out.push(
        invalid(
          path.child('items', 'x-kubernetes-map-type'),
          listType,
          'must be atomic as item of a list with x-kubernetes-list-type=set',
        ),
      );
    }
  }
  if (listType !== undefined && !['atomic', 'set', 'map'].includes(listType)) {
    out.push(notSupported(path.child('x-kubernetes-list-type'), listType, ['atomic', 'set', 'map']));
  }
  const keys = s['x-kubernetes-list-map-keys'] ?? [];
  if (keys.length) {
    if (listType === undefined)
      out.push(
        required(
          path.child('x-kubernetes-list-type'),
          'must be map if x-kubernetes-list-map-keys is non-empty',
        ),
      );
    else if (listType !== 'map')
      out.push(
        invalid(
          path.child('x-kubernetes-list-type'),
          listType,
          'must be map if x-kubernetes-list-map-keys is non-empty',
        ),
      );
  }
  if (listType === 'map') {
    if (!keys.length)
      out.push(
        required(
          path.child('x-kubernetes-list-map-keys'),
          'must not be empty if x-kubernetes-list-type is map',
        ),
      );
    if (!s.items)
      out.push(required(path.child('items'), 'must have a schema if x-kubernetes-list-type is map'));
    if (items && items.type !== 'object') {
      out.push(
        invalid(
          path.child('items', 'type'),
          items.type ?? '',
          "must be object if parent array's x-kubernetes-list-type is map",
        ),
      );
    }
    if (items?.type === 'object') {
      const seen = new Set<string>();
      for (const k of keys) {
        const p = items.properties?.[k];
        if (!p)
          out.push(
            invalid(
              path.child('x-kubernetes-list-map-keys'),
              keys,
              'entries must all be names of item properties',
            ),
          );
        else if (p.type === 'array' || p.type === 'object') {
          out.push(
            invalid(
              path.child('items', 'properties').key(k).child('type'),
              items.type,
              "must be a scalar type if parent array's x-kubernetes-list-type is map",
            ),
          );
        } else {
          if (p.default === undefined && !(items.required ?? []).includes(k)) {
            out.push(
              required(
                path.child('items', 'properties').key(k).child('default'),
                'this property is in x-kubernetes-list-map-keys, so it must have a default or be a required property',
              ),
            );
          }
          if (p.nullable) {
            out.push(
              forbidden(
                path.child('items', 'properties').key(k).child('nullable'),
                'this property is in x-kubernetes-list-map-keys, so it cannot be nullable',
              ),
            );
          }
        }
        if (seen.has(k))
          out.push(
            invalid(path.child('x-kubernetes-list-map-keys'), keys, 'must not contain duplicate entries'),
          );
        seen.add(k);
      }
    }
  }
  if ((listType === 'map' || listType === 'set') && items?.nullable) {
    out.push(
      forbidden(
        path.child('items', 'nullable'),
        `cannot be nullable when x-kubernetes-list-type is ${listType}`,
      ),
    );
  }
  return out;
}

type Level = 'root' | 'item' | 'field';

/** The structural-schema rules; errors sorted by text as ValidateStructural sorts them. */
export function validateStructural(s: Schema, path: FieldPath): FieldError[] {
  const out = [...invariants(s, 'root', path), ...completeness(s, path)];
  const text = (e: FieldError) => `${e.field}: ${e.type} ${e.detail ?? ''}`;
  return out.sort((a, b) => (text(a) < text(b) ? -1 : text(a) > text(b) ? 1 : 0));
}

const VALUE_KEYS = ['allOf', 'anyOf', 'oneOf'] as const;

function isIntOrStringAnyOf(v: Schema | undefined): boolean {
  const a = v?.anyOf;
  return (
    Array.isArray(a) &&
    a.length === 2 &&
    a[0]?.type === 'integer' &&
    a[1]?.type === 'string' &&
    Object.keys(a[0]).length === 1 &&
    Object.keys(a[1]).length === 1
  );
}

function invariants(s: Schema | undefined, lvl: Level, path: FieldPath): FieldError[] {
  if (!s || typeof s !== 'object') return [];
  const out: FieldError[] = [];
  const items = s.items && !Array.isArray(s.items) ? s.items : undefined;
  if (s.type === 'array' && !items) out.push(required(path.child('items'), 'must be specified'));
  out.push(...invariants(items, 'item', path.child('items')));
  for (const [k, v] of Object.entries(s.properties ?? {}))
    out.push(...invariants(v, 'field', path.child('properties').key(k)));
  const ap = s.additionalProperties;
  if (ap !== undefined && ap !== false) {
    if (lvl === 'root')
      out.push(forbidden(path.child('additionalProperties'), 'must not be used at the root'));
    if (typeof ap === 'object') out.push(...invariants(ap, 'field', path.child('additionalProperties')));
  }
  const ios = s['x-kubernetes-int-or-string'] === true;
  const pu = s['x-kubernetes-preserve-unknown-fields'] === true;
  const er = s['x-kubernetes-embedded-resource'] === true;
  if (ios && pu)
    out.push(
      invalid(
        path.child('x-kubernetes-preserve-unknown-fields'),
        true,
        'must be false if x-kubernetes-int-or-string is true',
      ),
    );
  if (ios && er)
    out.push(
      invalid(
        path.child('x-kubernetes-embedded-resource'),
        true,
        'must be false if x-kubernetes-int-or-string is true',
      ),
    );
  // Value validations: skip the anyOf of the int-or-string pattern (top level, or first allOf).
  const skipAnyOf = isIntOrStringAnyOf(s);
  const skipFirstAllOfAnyOf = isIntOrStringAnyOf(s.allOf?.[0]);
  out.push(...valueValidation(s, skipAnyOf, skipFirstAllOfAnyOf, path));
  const checkMetadata = lvl === 'root' || er;
  if (er && s.type !== 'object') {
    out.push(
      s.type
        ? invalid(path.child('type'), s.type, 'must be object if x-kubernetes-embedded-resource is true')
        : required(path.child('type'), 'must be object if x-kubernetes-embedded-resource is true'),
    );
  } else if (!s.type && !ios && !pu) {
    const why = {
      root: 'must not be empty at the root',
      item: 'must not be empty for specified array items',
      field: 'must not be empty for specified object fields',
    }[lvl];
    out.push(required(path.child('type'), why));
  }
  if (er && ap !== undefined)
    out.push(
      forbidden(
        path.child('additionalProperties'),
        'must not be used if x-kubernetes-embedded-resource is set',
      ),
    );
  if (lvl === 'root' && s.type && s.type !== 'object')
    out.push(invalid(path.child('type'), s.type, 'must be object at the root'));
  const props = s.properties ?? {};
  for (const f of ['kind', 'apiVersion'] as const) {
    if (props[f] && checkMetadata && props[f].type !== 'string') {
      out.push(invalid(path.child('properties').key(f).child('type'), props[f].type ?? '', 'must be string'));
    }
  }
  if (props.metadata)
    out.push(
      ...metadataInvariants(props.metadata, checkMetadata, lvl, path.child('properties').key('metadata')),
    );
  if (er && !pu && Object.keys(props).length === 0) {
    out.push(
      required(
        path.child('properties'),
        'must not be empty if x-kubernetes-embedded-resource is true without x-kubernetes-preserve-unknown-fields',
      ),
    );
  }
  return out;
}

function metadataInvariants(m: Schema, checkMetadata: boolean, lvl: Level, path: FieldPath): FieldError[] {
  const out: FieldError[] = [];
  if (checkMetadata && m.type !== 'object')
    out.push(invalid(path.child('type'), m.type ?? '', 'must be object'));
  if (lvl === 'root') {
    // Only `type: object` and name/generateName (of any shape) may be said about metadata at the root.
    const rest: Record<string, unknown> = { ...m };
    delete rest.type;
    delete rest.default;
    const props = Object.keys(m.properties ?? {});
    if (props.every((p) => p === 'name' || p === 'generateName')) delete rest.properties;
    if (Object.keys(rest).length) {
      out.push(
        forbidden(
          path,
          'must not specify anything other than name and generateName, but metadata is implicitly specified',
        ),
      );
    }
  }
  return out;
}

/** validateValueValidation: what may appear inside allOf/anyOf/oneOf/not (no structure, no generics). */
function valueValidation(
  s: Schema,
  skipAnyOf: boolean,
  skipFirstAllOfAnyOf: boolean,
  path: FieldPath,
): FieldError[] {
  const out: FieldError[] = [];
  if (!skipAnyOf)
    (s.anyOf ?? []).forEach((v, i) => out.push(...nested(v, false, path.child('anyOf').index(i))));
  (s.allOf ?? []).forEach((v, i) =>
    out.push(...nested(v, skipFirstAllOfAnyOf && i === 0, path.child('allOf').index(i))),
  );
  (s.oneOf ?? []).forEach((v, i) => out.push(...nested(v, false, path.child('oneOf').index(i))));
  if (s.not) out.push(...nested(s.not, false, path.child('not')));
  if (s.pattern !== undefined) {
    try {
      new RegExp(s.pattern, 'u');
    } catch (e) {
      out.push(
        invalid(
          path.child('pattern'),
          s.pattern,
          `must be a valid regular expression, but isn't: ${(e as Error).message}`,
        ),
      );
    }
  }
  return out;
}

function nested(v: Schema, skipAnyOf: boolean, path: FieldPath): FieldError[] {
  if (!v || typeof v !== 'object') return [];
  const out = valueValidation(v, skipAnyOf, false, path);
  const items = v.items && !Array.isArray(v.items) ? v.items : undefined;
  if (items) out.push(...nested(items, false, path.child('items')));
  for (const [k, p] of Object.entries(v.properties ?? {}))
    out.push(...nested(p, false, path.child('properties').key(k)));
  if (v.type) out.push(forbidden(path.child('type'), 'must be empty to be structural'));
  if (v.additionalProperties !== undefined)
    out.push(forbidden(path.child('additionalProperties'), 'must be undefined to be structural'));
  if (v.default !== undefined)
    out.push(forbidden(path.child('default'), 'must be undefined to be structural'));
  if (v.title) out.push(forbidden(path.child('title'), 'must be empty to be structural'));
  if (v.description) out.push(forbidden(path.child('description'), 'must be empty to be structural'));
  if (v.nullable) out.push(forbidden(path.child('nullable'), 'must be false to be structural'));
  const ext: Array<[keyof Schema, string]> = [
    ['x-kubernetes-preserve-unknown-fields', 'must be false to be structural'],
    ['x-kubernetes-embedded-resource', 'must be false to be structural'],
    ['x-kubernetes-int-or-string', 'must be false to be structural'],
    ['x-kubernetes-list-map-keys', 'must be empty to be structural'],
    ['x-kubernetes-list-type', 'must be undefined to be structural'],
    ['x-kubernetes-map-type', 'must be undefined to be structural'],
    ['x-kubernetes-validations', 'must be empty to be structural'],
  ];
  for (const [k, why] of ext) {
    const x = v[k];
    if (x !== undefined && x !== false && !(Array.isArray(x) && x.length === 0))
      out.push(forbidden(path.child(k), why));
  }
  if (v.properties?.metadata)
    out.push(
      forbidden(path.child('properties').key('metadata'), 'must not be specified in a nested context'),
    );
  return out;
}

/** complete.go: every property a value validation names must exist in the structural part. */
function completeness(s: Schema, path: FieldPath): FieldError[] {
  const out = valueCompleteness(s, s, path, path);
  for (const [k, p] of Object.entries(s.properties ?? {}))
    out.push(...completeness(p, path.child('properties').key(k)));
  const items = s.items && !Array.isArray(s.items) ? s.items : undefined;
  if (items) out.push(...completeness(items, path.child('items')));
  if (typeof s.additionalProperties === 'object')
    out.push(...completeness(s.additionalProperties, path.child('additionalProperties')));
  return out;
}

/** The value validations of `v` (allOf, anyOf, oneOf, not) checked against the structural node `s`. */
function valueCompleteness(v: Schema, s: Schema, sPath: FieldPath, vPath: FieldPath): FieldError[] {
  const out: FieldError[] = [];
  if (v.not) out.push(...nestedCompleteness(v.not, s, sPath, vPath.child('not')));
  for (const k of VALUE_KEYS)
    (v[k] ?? []).forEach((x, i) => out.push(...nestedCompleteness(x, s, sPath, vPath.child(k).index(i))));
  return out;
}

function nestedCompleteness(
  v: Schema | undefined,
  s: Schema | undefined,
  sPath: FieldPath,
  vPath: FieldPath,
): FieldError[] {
  if (!v || typeof v !== 'object') return [];
  if (!s) return [required(sPath, `because it is defined in ${vPath.toString()}`)];
  const out = valueCompleteness(v, s, sPath, vPath);
  const vItems = v.items && !Array.isArray(v.items) ? v.items : undefined;
  const sItems = s.items && !Array.isArray(s.items) ? s.items : undefined;
  if (vItems) out.push(...nestedCompleteness(vItems, sItems, sPath.child('items'), vPath.child('items')));
  for (const [k, p] of Object.entries(v.properties ?? {})) {
    const sp = s.properties?.[k];
    if (!sp)
      out.push(
        required(
          sPath.child('properties').key(k),
          `because it is defined in ${vPath.child('properties').key(k).toString()}`,
        ),
      );
    else
      out.push(
        ...nestedCompleteness(p, sp, sPath.child('properties').key(k), vPath.child('properties').key(k)),
      );
  }
  return out;
}
