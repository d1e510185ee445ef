/**
 * Every schema the cluster knows: the built-in kinds' OpenAPI v2 definitions (the committed 1.32 data, parsed on
 * first use: nothing reads 800 KiB at start, so /readyz stays fast and an idle server small) and the custom kinds
 * that CRDs add and remove at run time. One catalog per process; the OpenAPI documents, field validation, the
 * patch code and explain all read it. `generation` moves on every change so the documents built from it know when
 * they are stale.
 */
import { SchemaNode } from './node.js';
import type { GroupVersionKindRef, OpenApiData, Parameter, Schema } from './types.js';

const REF_PREFIX = '#/definitions/';

export const gvkKey = (g: GroupVersionKindRef): string => `${g.group}/${g.version}/${g.kind}`;

/** A custom kind's definitions as a CRD version contributes them (the kind and its List). */
export interface CustomDefinitions {
  /** Definition name → schema, e.g. `com.example.stable.v1.CronTab` (kube-apiserver's reversed-group naming). */
  definitions: Record<string, Schema>;
}

/**
 * The custom kinds' definitions, by owner (a CRD's name). Separate from the built-in data so a CRD can register at
 * start without making anything parse the built-in definitions.
 */
class CustomKinds {
  readonly owners = new Map<string, Record<string, Schema>>();
  readonly byGvk = new Map<string, string>();
  generation = 0;

  set(owner: string, defs: CustomDefinitions): void {
    this.drop(owner);
    this.owners.set(owner, defs.definitions);
    for (const [name, def] of Object.entries(defs.definitions)) indexKind(this.byGvk, name, def);
    this.generation++;
  }

  delete(owner: string): void {
    if (this.drop(owner)) this.generation++;
  }

  private drop(owner: string): boolean {
    const defs = this.owners.get(owner);
    if (!defs) return false;
    this.owners.delete(owner);
    for (const def of Object.values(defs)) {
      for (const g of def['x-kubernetes-group-version-kind'] ?? []) this.byGvk.delete(gvkKey(g));
    }
    return true;
  }
}

function indexKind(index: Map<string, string>, name: string, def: Schema): void {
  const gvks = def['x-kubernetes-group-version-kind'] ?? [];
  // Types shared by many group-versions (DeleteOptions, WatchEvent, Status) are nobody's kind.
  if (gvks.length === 1) index.set(gvkKey(gvks[0]), name);
}

const customs = new CustomKinds();

/** Adds or replaces the definitions one owner (a CRD, by its name) contributes. */
export function setCustomDefinitions(owner: string, defs: CustomDefinitions): void {
  customs.set(owner, defs);
}

export function deleteCustomDefinitions(owner: string): void {
  customs.delete(owner);
}

/** Moves whenever a custom kind is added, changed or removed (documents built before are stale). */
export function customGeneration(): number {
  return customs.generation;
}

export class Catalog {
  private readonly builtinByGvk = new Map<string, string>();

  constructor(
    private readonly data: OpenApiData,
    /** Names the built-in data (the importer's sha256 of it): documents built from other data differ. */
    readonly digest = '',
  ) {
    for (const [name, def] of Object.entries(data.definitions)) indexKind(this.builtinByGvk, name, def);
  }

  /** Moves whenever a custom kind is added, changed or removed. */
  get generation(): number {
    return customs.generation;
  }

  get parameters(): Record<string, Parameter> {
    return this.data.parameters;
  }

  definition(name: string): Schema | undefined {
    if (Object.prototype.hasOwnProperty.call(this.data.definitions, name)) return this.data.definitions[name];
    for (const defs of customs.owners.values())
      if (Object.prototype.hasOwnProperty.call(defs, name)) return defs[name];
    return undefined;
  }

  /** All definition names, built-in then custom. */
  definitionNames(): string[] {
    const names = Object.keys(this.data.definitions);
    for (const defs of customs.owners.values()) names.push(...Object.keys(defs));
    return names;
  }

  isBuiltin(name: string): boolean {
    return Object.prototype.hasOwnProperty.call(this.data.definitions, name);
  }

  /** The definition name of a kind (`io.k8s.api.apps.v1.Deployment` for apps/v1 Deployment). */
  definitionNameOf(gvk: GroupVersionKindRef): string | undefined {
    const key = gvkKey(gvk);
    return customs.byGvk.get(key) ?? this.builtinByGvk.get(key);
  }

  /** The schema of a kind, ready to walk; undefined when the cluster does not know the kind. */
  kind(gvk: GroupVersionKindRef): SchemaNode | undefined {
    const name = this.definitionNameOf(gvk);
    return name ? this.node({ $ref: REF_PREFIX + name }) : undefined;
  }

  /** A walkable view of any schema written in this catalog's terms (refs into #/definitions/). */
  node(schema: Schema): SchemaNode {
    return new SchemaNode(this, schema);
  }

  /** Follows `$ref`s to the schema they name (a ref to an unknown definition resolves to an empty schema). */
  resolve(schema: Schema): { schema: Schema; name?: string } {
    let s = schema;
    let name: string | undefined;
    for (let hops = 0; s.$ref !== undefined && hops < 8; hops++) {
      name = s.$ref.startsWith(REF_PREFIX) ? s.$ref.slice(REF_PREFIX.length) : s.$ref;
      s = this.definition(name) ?? {};
    }
    return { schema: s, name };
  }
}

let loading: Promise<Catalog> | undefined;
let loaded: Catalog | undefined;

/** The process's catalog, loading the built-in definitions on first use. */
export function catalog(): Promise<Catalog> {
  loading ??= import('./data/openapi-v2.js').then((m) => {
    loaded = new Catalog(JSON.parse(m.OPENAPI_V2_DATA) as OpenApiData, m.OPENAPI_V2_DIGEST);
    return loaded;
  });
  return loading;
}

/** The catalog if something already loaded it (for code that must not wait). */
export function catalogIfLoaded(): Catalog | undefined {
  return loaded;
}
