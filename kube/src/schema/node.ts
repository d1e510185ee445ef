/**
 * A walkable view of one schema in the catalog: the lookups field validation, strategic merge patch, server-side
 * apply and explain need, with `$ref`s followed. A field's patch metadata (x-kubernetes-patch-strategy,
 * -patch-merge-key, -list-type, -list-map-keys) is written on the property, next to the `$ref`, so a node keeps
 * both: `schema` as written where it is used and `resolved`, the definition it names.
 *
 *   const c = await catalog();
 *   const containers = c.kind({ group: '', version: 'v1', kind: 'Pod' })?.path('spec', 'containers');
 *   containers?.patchMergeKey; // 'name'
 *   containers?.patchStrategies; // ['merge']
 *   containers?.items?.field('ports')?.listMapKeys; // ['containerPort', 'protocol']
 */
import type { Catalog } from './catalog.js';
import type { Schema } from './types.js';

/** How a value of this schema is shaped, as the decoders and the merge code need to know. */
export type Shape =
  /** An object with named fields (a Go struct, or a CRD object with properties). */
  | 'struct'
  /** An object whose values all share one schema (additionalProperties). */
  | 'map'
  | 'list'
  | 'scalar'
  /** No type, or `type: object` with neither properties nor additionalProperties. */
  | 'untyped';

export class SchemaNode {
  readonly resolved: Schema;
  /** The definition this node's `$ref` names, e.g. `io.k8s.api.core.v1.Container`. */
  readonly definitionName: string | undefined;

  constructor(
    readonly catalog: Catalog,
    /** The schema as written at its use site (a property, items, additionalProperties). */
    readonly schema: Schema,
  ) {
    const r = catalog.resolve(schema);
    this.resolved = r.schema;
    this.definitionName = r.name;
  }

  get type(): string | undefined {
    return this.resolved.type;
  }

  get format(): string | undefined {
    return this.schema.format ?? this.resolved.format;
  }

  get description(): string | undefined {
    return this.schema.description ?? this.resolved.description;
  }

  get shape(): Shape {
    const s = this.resolved;
    if (this.isIntOrString) return 'scalar';
    switch (s.type) {
      case 'object':
        if (s.properties) return 'struct';
        if (s.additionalProperties !== undefined && s.additionalProperties !== false) return 'map';
        return 'untyped';
      case 'array':
        return 'list';
      case undefined:
        return 'untyped';
      default:
        return 'scalar';
    }
  }

  /** A named field of a struct. */
  field(name: string): SchemaNode | undefined {
    const props = this.resolved.properties;
    if (!props || !Object.prototype.hasOwnProperty.call(props, name)) return undefined;
    return new SchemaNode(this.catalog, props[name]);
  }

  fieldNames(): string[] {
    return Object.keys(this.resolved.properties ?? {});
  }

  /** Follows field names (and, through lists and maps, their elements) from this node. */
  path(...names: string[]): SchemaNode | undefined {
    return names.reduce<SchemaNode | undefined>((n, name) => {
      while (n && (n.shape === 'list' || n.shape === 'map')) n = n.shape === 'list' ? n.items : n.values;
      return n?.field(name);
    }, this);
  }

  /** The element schema of a list. */
  get items(): SchemaNode | undefined {
    const items = this.resolved.items;
    return items ? new SchemaNode(this.catalog, items) : undefined;
  }

  /** The value schema of a map (`additionalProperties`); `true` gives an untyped node. */
  get values(): SchemaNode | undefined {
    const ap = this.resolved.additionalProperties;
    if (ap === undefined || ap === false) return undefined;
    return new SchemaNode(this.catalog, ap === true ? {} : ap);
  }

  get required(): string[] {
    return this.resolved.required ?? [];
  }

  /** `x-kubernetes-patch-strategy`, split: `['merge']`, `['retainKeys']`, `['merge', 'retainKeys']`. */
  get patchStrategies(): string[] {
    const v = this.ext('x-kubernetes-patch-strategy');
    return typeof v === 'string' && v ? v.split(',') : [];
  }

  get patchMergeKey(): string | undefined {
    const v = this.ext('x-kubernetes-patch-merge-key');
    return typeof v === 'string' ? v : undefined;
  }

  get listType(): 'atomic' | 'set' | 'map' | undefined {
    const v = this.ext('x-kubernetes-list-type');
    return v === 'atomic' || v === 'set' || v === 'map' ? v : undefined;
  }

  get listMapKeys(): string[] {
    const v = this.ext('x-kubernetes-list-map-keys');
    return Array.isArray(v) ? v.filter((k): k is string => typeof k === 'string') : [];
  }

  get mapType(): 'atomic' | 'granular' | undefined {
    const v = this.ext('x-kubernetes-map-type');
    return v === 'atomic' || v === 'granular' ? v : undefined;
  }

  get preservesUnknownFields(): boolean {
    return this.ext('x-kubernetes-preserve-unknown-fields') === true;
  }

  get isIntOrString(): boolean {
    return this.ext('x-kubernetes-int-or-string') === true || this.resolved.format === 'int-or-string';
  }

  get isEmbeddedResource(): boolean {
    return this.ext('x-kubernetes-embedded-resource') === true;
  }

  get nullable(): boolean {
    return this.ext('nullable') === true;
  }

  /** A keyword or extension as written at the use site, else on the definition. */
  ext(name: string): unknown {
    const own = (this.schema as Record<string, unknown>)[name];
    return own !== undefined ? own : (this.resolved as Record<string, unknown>)[name];
  }
}
