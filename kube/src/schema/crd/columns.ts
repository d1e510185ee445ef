/**
 * Server-side printing of custom resources (apiextensions-apiserver tableconvertor): NAME, then each
 * additionalPrinterColumn evaluated with JSONPath (first match), typed as the column says; a CRD without columns
 * prints Age. `date` cells print as the age of the timestamp, as kube-apiserver does.
 */
import { humanDuration } from '../../registry/printing.js';
import type { KubeObject, TableColumn, TableConvertor } from '../../registry/types.js';
import { findJsonPath, parseJsonPath, printJsonPathValue } from './jsonpath.js';
import type { PrinterColumn } from './types.js';

export const NAME_DOC =
  'Name must be unique within a namespace. Is required when creating resources, although some resources may allow a client to request the generation of an appropriate name automatically. Name is primarily intended for creation idempotence and configuration definition. Cannot be updated. More info: https://kubernetes.io/docs/concepts/overview/working-with-objects/names#names';
export const CREATED_DOC =
  'CreationTimestamp is a timestamp representing the server time when this object was created. It is not guaranteed to be set in happens-before order across separate operations. Clients may not set this value. It is represented in RFC3339 form and is in UTC.\n\nPopulated by the system. Read-only. Null for lists. More info: https://git.k8s.io/community/contributors/devel/sig-architecture/api-conventions.md#metadata';

/** The columns a version prints with (Age when it declares none). */
export function columnsOf(declared: PrinterColumn[] | undefined): PrinterColumn[] {
  return declared?.length
    ? declared
    : [{ name: 'Age', type: 'date', description: CREATED_DOC, jsonPath: '.metadata.creationTimestamp' }];
}

function cell(type: string, v: unknown, now: () => number): unknown {
  if (v === null || v === undefined) return null;
  switch (type) {
    case 'integer':
      return typeof v === 'number' ? Math.trunc(v) : null;
    case 'number':
      return typeof v === 'number' ? v : null;
    case 'boolean':
      return typeof v === 'boolean' ? v : null;
    case 'date': {
      if (typeof v !== 'string') return null;
      const t = Date.parse(v);
      return Number.isNaN(t) ? '<invalid>' : humanDuration(now() - t);
    }
    default:
      return null;
  }
}

export function customTable(
  declared: PrinterColumn[] | undefined,
  now: () => number = Date.now,
): TableConvertor {
  const cols = columnsOf(declared);
  const paths = cols.map((c) => {
    try {
      return parseJsonPath(c.jsonPath);
    } catch {
      return undefined;
    }
  });
  const columns: TableColumn[] = [
    { name: 'Name', type: 'string', format: 'name', description: NAME_DOC, priority: 0 },
    ...cols.map((c) => ({
      name: c.name,
      type: c.type as TableColumn['type'],
      ...(c.format ? { format: c.format } : {}),
      description: c.description || `Custom resource definition column (in JSONPath format): ${c.jsonPath}`,
      priority: c.priority ?? 0,
    })),
  ];
  return {
    columns,
    cells(obj: KubeObject): unknown[] {
      const row: unknown[] = [obj.metadata?.name ?? ''];
      cols.forEach((c, i) => {
        const p = paths[i];
        const found = p ? findJsonPath(obj, p) : [];
        if (found.length === 0) row.push(null);
        else if (c.type === 'string') row.push(printJsonPathValue(found[0]));
        else row.push(cell(c.type, found[0], now));
      });
      return row;
    },
  };
}
