/**
 * Patch metadata lookup for strategic merge patch, read from the OpenAPI definitions where kube-apiserver reads
 * the Go struct tags (`patchStrategy`, `patchMergeKey`; the definitions carry the same values as
 * `x-kubernetes-patch-strategy` and `x-kubernetes-patch-merge-key`). Lookups fail as kube-apiserver's reflection
 * does: an unknown field of a struct, descending into a map or a non-list, with the Go wording.
 */
import { type OpenAPISchema, type SchemaSource, refName } from '../schema.js';

/** A strategic-merge error and the HTTP class kube-apiserver gives it (interpretStrategicMergePatchError). */
export class SmpError extends Error {
  constructor(
    message: string,
    /** 'bad': 400 BadRequest; 'unprocessable': the opaque 422; 'internal': a plain error (500). */
    readonly kind: 'bad' | 'unprocessable' | 'internal' = 'internal',
  ) {
    super(message);
  }
}

export const errBadJSONDoc = (): SmpError => new SmpError('invalid JSON document', 'bad');
export const errNoListOfLists = (): SmpError =>
  new SmpError('lists of lists are not supported', 'unprocessable');
export const errBadPrimitiveList = (): SmpError =>
  new SmpError('invalid patch format of primitive list', 'bad');
export const errBadRetainKeys = (): SmpError => new SmpError('invalid patch format of retainKeys', 'bad');
export const errBadSetElementOrder = (): SmpError =>
  new SmpError('invalid patch format of setElementOrder list', 'bad');
export const errUnsupported = (): SmpError =>
  new SmpError('strategic merge patch format is not supported', 'bad');

export interface PatchMeta {
  strategies: string[];
  mergeKey: string;
}

/** The Go kind of the type at a schema position, as reflect prints it. */
type GoKind = 'struct' | 'map' | 'slice' | 'string' | 'int64' | 'float64' | 'bool' | 'interface';

/** LookupPatchMeta over OpenAPI: one position in the type tree. */
export class PatchSchema {
  private readonly resolved: OpenAPISchema | undefined;
  private readonly goName: string;

  constructor(
    private readonly source: SchemaSource,
    schema: OpenAPISchema | undefined,
    name?: string,
  ) {
    let s = schema;
    let n = name ?? '';
    for (let i = 0; s && i < 8; i++) {
      const ref = s.$ref ?? (s.allOf?.length === 1 ? s.allOf[0].$ref : undefined);
      if (!ref) break;
      n = refName(ref);
      s = source.definition(n);
    }
    this.resolved = s;
    this.goName = n.slice(n.lastIndexOf('.') + 1);
  }

  /** reflect.Kind of this position's Go type. */
  kind(): GoKind {
    const s = this.resolved;
    if (!s) return 'interface';
    if (this.goName) return 'struct'; // every named definition is a Go struct (Quantity, Time, RawExtension too)
    const t = s.type;
    if (t === 'array') return 'slice';
    if (s.properties) return 'struct';
    if (t === 'object') return s.additionalProperties ? 'map' : 'interface';
    if (t === 'integer') return 'int64';
    if (t === 'number') return 'float64';
    if (t === 'boolean') return 'bool';
    if (t === 'string') return 'string';
    return 'interface';
  }

  /** The Go kind name used in "cannot merge lists without merge key for <name>". */
  name(): string {
    return this.kind();
  }

  lookupStruct(key: string): [PatchSchema, PatchMeta] {
    const kind = this.kind();
    if (kind !== 'struct') {
      throw new SmpError(`merging an object in json but data type is not struct, instead is: ${kind}`);
    }
    const props = this.resolved?.properties ?? {};
    let field = Object.prototype.hasOwnProperty.call(props, key) ? props[key] : undefined;
    if (!field) {
      const lower = key.toLowerCase();
      const match = Object.keys(props).find((k) => k.toLowerCase() === lower);
      field = match ? props[match] : undefined;
    }
    if (!field) {
      throw new SmpError(`unable to find api field in struct ${this.goName} for the json field "${key}"`);
    }
    const strategy = field['x-kubernetes-patch-strategy'];
    const meta: PatchMeta = {
      strategies: typeof strategy === 'string' ? strategy.split(',') : [''],
      mergeKey:
        typeof field['x-kubernetes-patch-merge-key'] === 'string'
          ? field['x-kubernetes-patch-merge-key']
          : '',
    };
    return [new PatchSchema(this.source, field), meta];
  }

  lookupSlice(key: string): [PatchSchema, PatchMeta] {
    const [sub, meta] = this.lookupStruct(key);
    if (sub.kind() !== 'slice') {
      // kube-apiserver prints the parent's kind here.
      throw new SmpError(`expected slice or array type, but got: ${this.kind()}`);
    }
    const elem = new PatchSchema(this.source, sub.resolved?.items);
    if (elem.kind() === 'slice') throw new SmpError('unexpected slice of slice');
    return [elem, meta];
  }
}

/**
 * extractRetainKeysPatchStrategy: the strategy besides `retainKeys` ("" when none), and whether `retainKeys` is
 * among them.
 */
export function retainKeysStrategy(strategies: string[]): [boolean, string] {
  switch (strategies.length) {
    case 0:
      return [false, ''];
    case 1:
      return strategies[0] === 'retainKeys' ? [true, ''] : [false, strategies[0]];
    case 2:
      if (strategies[0] === 'retainKeys') return [true, strategies[1]];
      if (strategies[1] === 'retainKeys') return [true, strategies[0]];
      throw new SmpError(`unexpected patch strategy: [${strategies.join(' ')}]`);
    default:
      throw new SmpError(`unexpected patch strategy: [${strategies.join(' ')}]`);
  }
}
