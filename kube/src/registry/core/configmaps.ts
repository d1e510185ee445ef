/** ConfigMaps and Secrets: key syntax, the 1 MiB total (MaxSecretSize), immutability, DATA/TYPE columns. */
import type { FieldError } from '../../errors.js';
import { AGE_COLUMN, NAME_COLUMN, age, col } from '../printing.js';
import { isConfigMapKey } from '../validation/names.js';
import type { KubeObject, Strategy } from '../types.js';

export const MAX_SECRET_SIZE = 1024 * 1024;

type Bag = Record<string, string> | undefined;

function immutableRules(obj: KubeObject, old: KubeObject, fields: string[]): FieldError[] {
  if (old.immutable !== true) return [];
  const errs: FieldError[] = [];
  if (obj.immutable !== true)
    errs.push({
      type: 'FieldValueForbidden',
      field: 'immutable',
      detail: 'field is immutable when `immutable` is set',
    });
  for (const f of fields)
    if (JSON.stringify(obj[f] ?? {}) !== JSON.stringify(old[f] ?? {}))
      errs.push({
        type: 'FieldValueForbidden',
        field: f,
        detail: 'field is immutable when `immutable` is set',
      });
  return errs;
}

export const configMapStrategy: Strategy = {
  validate(obj) {
    const errs: FieldError[] = [];
    const data = obj.data as Bag;
    const binary = obj.binaryData as Bag;
    let total = 0;
    for (const [k, v] of Object.entries(data ?? {})) {
      for (const m of isConfigMapKey(k))
        errs.push({ type: 'FieldValueInvalid', field: `data[${k}]`, badValue: k, detail: m });
      if (binary && k in binary)
        errs.push({
          type: 'FieldValueInvalid',
          field: `data[${k}]`,
          badValue: k,
          detail: 'duplicate of key present in binaryData',
        });
      total += Buffer.byteLength(String(v));
    }
    for (const [k, v] of Object.entries(binary ?? {})) {
      for (const m of isConfigMapKey(k))
        errs.push({ type: 'FieldValueInvalid', field: `binaryData[${k}]`, badValue: k, detail: m });
      total += Buffer.from(String(v), 'base64').length;
    }
    // Path "" prints as "[]": the error is about the whole object (kube-apiserver's field.NewPath("")).
    if (total > MAX_SECRET_SIZE)
      errs.push({
        type: 'FieldValueTooLong',
        field: '[]',
        detail: `may not be more than ${MAX_SECRET_SIZE} bytes`,
      });
    return errs;
  },
  validateUpdate: (obj, old) => immutableRules(obj, old, ['data', 'binaryData']),
  table: {
    columns: [NAME_COLUMN, col('Data', 'integer', 0, 'Data contains the configuration data.'), AGE_COLUMN],
    cells: (o) => [
      o.metadata?.name,
      Object.keys((o.data as Bag) ?? {}).length + Object.keys((o.binaryData as Bag) ?? {}).length,
      age(o),
    ],
  },
};

export const secretStrategy: Strategy = {
  defaults(obj) {
    obj.type ??= 'Opaque';
    // stringData is write-only: merged into data (base64) and never stored, as kube-apiserver's conversion does.
    const sd = obj.stringData as Bag;
    if (sd) {
      const data = (obj.data as Bag) ?? {};
      for (const [k, v] of Object.entries(sd)) data[k] = Buffer.from(String(v)).toString('base64');
      obj.data = data;
      delete obj.stringData;
    }
  },
  validate(obj) {
    const errs: FieldError[] = [];
    let total = 0;
    for (const [k, v] of Object.entries((obj.data as Bag) ?? {})) {
      for (const m of isConfigMapKey(k))
        errs.push({ type: 'FieldValueInvalid', field: `data[${k}]`, badValue: k, detail: m });
      total += Buffer.from(String(v), 'base64').length;
    }
    if (total > MAX_SECRET_SIZE)
      errs.push({
        type: 'FieldValueTooLong',
        field: 'data',
        detail: `may not be more than ${MAX_SECRET_SIZE} bytes`,
      });
    return errs;
  },
  validateUpdate(obj, old) {
    const errs = immutableRules(obj, old, ['data']);
    if (obj.type !== old.type)
      errs.push({
        type: 'FieldValueInvalid',
        field: 'type',
        badValue: obj.type,
        detail: 'field is immutable',
      });
    return errs;
  },
  fieldSelectors: { type: (o) => o.type as string | undefined },
  table: {
    columns: [
      NAME_COLUMN,
      col('Type', 'string', 0, 'Used to facilitate programmatic handling of secret data.'),
      col('Data', 'integer', 0, 'Data contains the secret data.'),
      AGE_COLUMN,
    ],
    cells: (o) => [o.metadata?.name, o.type ?? '', Object.keys((o.data as Bag) ?? {}).length, age(o)],
  },
};
