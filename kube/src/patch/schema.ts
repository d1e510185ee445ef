/**
 * The schema the patch engines read: OpenAPI v2-style definitions (the Kubernetes 1.32 document's, or a CRD's
 * structural schema), given by the caller. Strategic merge patch reads the patch extensions straight off the
 * definitions (strategic/meta.ts); server-side apply converts them into structured-merge-diff's type model here,
 * as kube-openapi's schemaconv does: objects with properties are structs (granular unless
 * `x-kubernetes-map-type: atomic`), `additionalProperties` are maps, arrays are atomic unless
 * `x-kubernetes-list-type` (or, without it, a `merge` patch strategy) says set or map, `int-or-string`, dates and
 * Quantity are untyped scalars, RawExtension is atomic, and schema-less values are "deduced".
 */
import type { GroupVersionKindRef, Schema } from '../schema/types.js';

/** One OpenAPI schema object (the schema domain's type: v2 definitions and CRD structural schemas). */
export type OpenAPISchema = Schema;

/** Where `$ref`s resolve: `#/definitions/<name>` (the schema domain's Catalog is one). */
export interface SchemaSource {
  definition(name: string): OpenAPISchema | undefined;
}

/** The schema of a served kind from the catalog (built-in or custom), undefined when it has none. */
export function kindSchema(
  source: SchemaSource & { definitionNameOf(gvk: GroupVersionKindRef): string | undefined },
  gvk: GroupVersionKindRef,
): TypeSchema | undefined {
  const name = source.definitionNameOf(gvk);
  return name ? namedType(source, name) : undefined;
}

/** The schema of one kind: its root schema and the definitions its references resolve in. */
export interface TypeSchema {
  source: SchemaSource;
  root: OpenAPISchema;
  /** The root's definition name when it has one (io.k8s.api.apps.v1.Deployment). */
  name?: string;
}

/** A TypeSchema for a named definition, or undefined when the source does not have it. */
export function namedType(source: SchemaSource, name: string): TypeSchema | undefined {
  const root = source.definition(name);
  return root ? { source, root, name } : undefined;
}

export function refName(ref: string): string {
  return ref.slice(ref.lastIndexOf('/') + 1);
}

// ---- structured-merge-diff's type model ----

export type ScalarType = 'numeric' | 'string' | 'boolean' | 'untyped';

export interface ListType {
  elem: TypeRef;
  /** 'associative': a set (no keys) or a map keyed by `keys`. */
  relationship: 'atomic' | 'associative';
  keys: string[];
}

export interface StructField {
  type: TypeRef;
  default?: unknown;
}

export interface MapType {
  /** Declared fields (a struct); values of other keys have `elem`'s type, or are undeclared when it is absent. */
  fields: Map<string, StructField>;
  elem?: TypeRef;
  relationship: 'atomic' | 'granular';
}

/** A type may accept several shapes (deduced types accept all three); the value picks one (deduceAtom). */
export interface Atom {
  scalar?: ScalarType;
  list?: ListType;
  map?: MapType;
}

export interface TypeRef {
  atom(): Atom;
}

const QUANTITY = 'io.k8s.apimachinery.pkg.api.resource.Quantity';
const RAW_EXTENSION = 'io.k8s.apimachinery.pkg.runtime.RawExtension';

/**
 * Defaults of list-map key fields (`+default` markers in the Go types). kube-apiserver's type converter has them
 * from the generated OpenAPI, the published v2 document does not; a port without `protocol` is keyed as TCP.
 */
const KEY_DEFAULTS: Record<string, Record<string, unknown>> = {
  'io.k8s.api.core.v1.ContainerPort': { protocol: 'TCP' },
  'io.k8s.api.core.v1.ServicePort': { protocol: 'TCP' },
  'io.k8s.api.core.v1.EndpointPort': { protocol: 'TCP' },
  'io.k8s.api.discovery.v1.EndpointPort': { protocol: 'TCP' },
};

const fixed = (a: Atom): TypeRef => ({ atom: () => a });

const untypedAtom: Atom = { scalar: 'untyped' };
/** `__untyped_atomic_`: any value, owned as a whole. */
export const UNTYPED_ATOMIC: TypeRef = fixed(untypedAtom);
untypedAtom.list = { elem: UNTYPED_ATOMIC, relationship: 'atomic', keys: [] };
untypedAtom.map = { fields: new Map(), elem: UNTYPED_ATOMIC, relationship: 'atomic' };

const deducedAtom: Atom = { scalar: 'untyped' };
/** `__untyped_deduced_`: schema-less values; maps are granular, lists atomic. */
export const DEDUCED: TypeRef = fixed(deducedAtom);
deducedAtom.list = { elem: UNTYPED_ATOMIC, relationship: 'atomic', keys: [] };
deducedAtom.map = { fields: new Map(), elem: DEDUCED, relationship: 'granular' };

/** Converts OpenAPI schemas to type refs, resolving and caching named definitions per source. */
export class TypeConverter {
  private named = new Map<string, Atom>();
  private inline = new WeakMap<OpenAPISchema, Atom>();

  constructor(private readonly source: SchemaSource) {}

  /** The type of a whole object of this schema. */
  root(t: TypeSchema): TypeRef {
    if (t.name) return this.namedRef(t.name);
    return this.ref(t.root, false);
  }

  private namedRef(name: string, preserve = false): TypeRef {
    if (name === RAW_EXTENSION) return UNTYPED_ATOMIC;
    return {
      atom: () => {
        const key = preserve ? `${name}\u0000p` : name;
        let a = this.named.get(key);
        if (!a) {
          const def = this.source.definition(name);
          a = {};
          this.named.set(key, a); // before converting: definitions refer to themselves (JSONSchemaProps)
          Object.assign(a, def ? this.convert(def, preserve, name) : deducedAtom);
        }
        return a;
      },
    };
  }

  /** The type at a reference site: `$ref` (with the site's map-type override) or an inline schema. */
  ref(s: OpenAPISchema, preserve: boolean): TypeRef {
    const target = s.$ref ?? (s.allOf?.length === 1 && s.allOf[0].$ref ? s.allOf[0].$ref : undefined);
    if (target) {
      const base = this.namedRef(refName(target), preserve);
      const mt = mapRelationship(s);
      if (!mt) return base;
      return {
        atom: () => {
          const a = base.atom();
          return a.map ? { ...a, map: { ...a.map, relationship: mt } } : a;
        },
      };
    }
    return {
      atom: () => {
        let a = this.inline.get(s);
        if (!a) {
          a = this.convert(s, preserve);
          this.inline.set(s, a);
        }
        return a;
      },
    };
  }

  private convert(s: OpenAPISchema, preserveIn: boolean, name?: string): Atom {
    const preserve = preserveIn || s['x-kubernetes-preserve-unknown-fields'] === true;
    if (name === QUANTITY || s['x-kubernetes-int-or-string'] === true) return { scalar: 'untyped' };
    const type = s.type;
    if (type === 'array') {
      const { relationship, keys } = listRelationship(s);
      return { list: { elem: s.items ? this.ref(s.items, preserve) : UNTYPED_ATOMIC, relationship, keys } };
    }
    if (s.properties && (type === undefined || type === 'object')) {
      const fields = new Map<string, StructField>();
      const defaults = name ? KEY_DEFAULTS[name] : undefined;
      for (const [field, fs] of Object.entries(s.properties)) {
        const def = fs.default !== undefined ? fs.default : defaults?.[field];
        fields.set(
          field,
          def === undefined
            ? { type: this.ref(fs, preserve) }
            : { type: this.ref(fs, preserve), default: def },
        );
      }
      return {
        map: {
          fields,
          ...(preserve ? { elem: DEDUCED } : {}),
          relationship: mapRelationship(s) ?? 'granular',
        },
      };
    }
    if (type === 'object') {
      const ap = s.additionalProperties;
      const elem = ap && typeof ap === 'object' ? this.ref(ap, preserve) : DEDUCED;
      return { map: { fields: new Map(), elem, relationship: mapRelationship(s) ?? 'granular' } };
    }
    if (type === undefined) return deducedAtom;
    switch (type) {
      case 'integer':
      case 'number':
        return { scalar: 'numeric' };
      case 'boolean':
        return { scalar: 'boolean' };
      case 'string':
        return { scalar: !s.format || s.format === 'byte' ? 'string' : 'untyped' };
      default:
        return { scalar: 'untyped' };
    }
  }
}

function mapRelationship(s: OpenAPISchema): 'atomic' | 'granular' | undefined {
  const v = s['x-kubernetes-map-type'];
  return v === 'atomic' ? 'atomic' : v === 'granular' ? 'granular' : undefined;
}

function listRelationship(s: OpenAPISchema): { relationship: 'atomic' | 'associative'; keys: string[] } {
  const lt = s['x-kubernetes-list-type'];
  if (lt === 'set') return { relationship: 'associative', keys: [] };
  if (lt === 'map')
    return { relationship: 'associative', keys: [...(s['x-kubernetes-list-map-keys'] ?? [])] };
  if (lt !== undefined) return { relationship: 'atomic', keys: [] };
  const ps = s['x-kubernetes-patch-strategy'];
  if (ps === 'merge' || ps === 'merge,retainKeys') {
    const key = s['x-kubernetes-patch-merge-key'];
    return { relationship: 'associative', keys: typeof key === 'string' ? [key] : [] };
  }
  return { relationship: 'atomic', keys: [] };
}

/** Picks the shape of `atom` that matches the value (a deduced type holding a map is a map). */
export function deduceAtom(atom: Atom, v: unknown): Atom {
  if (v === undefined) return atom;
  if (v === null) return atom;
  if (Array.isArray(v)) return atom.list ? { list: atom.list } : atom;
  if (typeof v === 'object') return atom.map ? { map: atom.map } : atom;
  return atom.scalar ? { scalar: atom.scalar } : atom;
}

const converters = new WeakMap<SchemaSource, TypeConverter>();

/** The (cached) converter for a schema source. */
export function converterFor(source: SchemaSource): TypeConverter {
  let c = converters.get(source);
  if (!c) {
    c = new TypeConverter(source);
    converters.set(source, c);
  }
  return c;
}

/** The root type of a kind, or the deduced type when the kind has no schema. */
export function rootType(t: TypeSchema | undefined): TypeRef {
  return t ? converterFor(t.source).root(t) : DEDUCED;
}
