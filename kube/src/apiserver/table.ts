/**
 * Server-side printing: objects as a meta.k8s.io Table (kubectl get asks for it first) and as
 * PartialObjectMetadata. Each kind's columns come from its strategy; a kind without them gets NAME and AGE (and
 * kube-apiserver's default table for custom resources is the CRD engineer's additionalPrinterColumns).
 */
import { badRequest } from '../errors.js';
import type { KubeList } from '../registry/generic/context.js';
import { AGE_COLUMN, NAME_COLUMN, age } from '../registry/printing.js';
import type { KubeObject, ResourceType, TableColumn } from '../registry/types.js';

export type IncludeObject = 'None' | 'Metadata' | 'Object';

/** TableOptions.includeObject: Metadata when absent; anything else but None or Object is a 400 (ValidateTableOptions). */
export function includeObjectOf(v: string | null): IncludeObject {
  if (v === null || v === '' || v === 'Metadata') return 'Metadata';
  if (v === 'None' || v === 'Object') return v;
  throw badRequest(
    `Unable to convert to Table as requested: includeObject: Invalid value: ${JSON.stringify(v)}: must be 'Metadata', 'Object', 'None', or empty`,
  );
}

export function partialMetadata(obj: KubeObject, version = 'v1'): KubeObject {
  return {
    kind: 'PartialObjectMetadata',
    apiVersion: `meta.k8s.io/${version}`,
    metadata: obj.metadata ?? {},
  };
}

export function partialMetadataList(list: KubeList, version = 'v1'): KubeObject {
  return {
    kind: 'PartialObjectMetadataList',
    apiVersion: `meta.k8s.io/${version}`,
    metadata: list.metadata,
    items: list.items.map((o) => partialMetadata(o, version)),
  };
}

function columns(t: ResourceType): { columns: TableColumn[]; cells(o: KubeObject): unknown[] } {
  if (t.strategy.table) return t.strategy.table;
  return { columns: [NAME_COLUMN, { ...AGE_COLUMN }], cells: (o) => [o.metadata?.name, age(o)] };
}

export interface TableOptions {
  includeObject: IncludeObject;
  version: string;
  /** Watch events after the first carry no column definitions (kube-apiserver's NoHeaders). */
  noHeaders?: boolean;
}

function row(t: ResourceType, obj: KubeObject, opts: TableOptions): Record<string, unknown> {
  const r: Record<string, unknown> = { cells: columns(t).cells(obj) };
  if (opts.includeObject === 'Object') r.object = obj;
  else if (opts.includeObject === 'Metadata') r.object = partialMetadata(obj, opts.version);
  return r;
}

export function toTable(
  t: ResourceType,
  objs: KubeObject[],
  listMeta: Record<string, unknown>,
  opts: TableOptions,
): KubeObject {
  const defs = columns(t).columns.map((c) => ({
    name: c.name,
    type: c.type,
    format: c.format ?? '',
    description: c.description ?? '',
    priority: c.priority,
  }));
  return {
    kind: 'Table',
    apiVersion: `meta.k8s.io/${opts.version}`,
    metadata: listMeta,
    columnDefinitions: opts.noHeaders ? null : defs,
    rows: objs.map((o) => row(t, o, opts)),
  };
}
