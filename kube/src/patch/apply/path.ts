/**
 * Field paths as structured-merge-diff writes them: a path element is a struct field or map key (`f:name`), a
 * list-map item by its keys (`k:{"containerPort":80,"protocol":"TCP"}`), a set item by its value (`v:"x"`), or a
 * list index (`i:0`); they order field < key < value < index, values by kind then content. Printed in conflicts as
 * `.spec.containers[name="web"].image`.
 */
import { type JsonValue, isObject } from '../json.js';

export type PathElement =
  | { field: string }
  | { key: [string, JsonValue][] } // sorted by name
  | { value: JsonValue }
  | { index: number };

export type Path = PathElement[];

const rank = (pe: PathElement): number => ('field' in pe ? 0 : 'key' in pe ? 1 : 'value' in pe ? 2 : 3);

function valueRank(v: JsonValue): number {
  if (typeof v === 'number') return 0;
  if (typeof v === 'string') return 1;
  if (typeof v === 'boolean') return 2;
  if (Array.isArray(v)) return 3;
  if (isObject(v)) return 4;
  return 5; // null
}

const cmpStr = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0);

/** value.Compare: a total order over JSON values. */
export function compareValues(a: JsonValue, b: JsonValue): number {
  const ra = valueRank(a);
  const rb = valueRank(b);
  if (ra !== rb) return ra < rb ? -1 : 1;
  if (typeof a === 'number') return a < (b as number) ? -1 : a > (b as number) ? 1 : 0;
  if (typeof a === 'string') return cmpStr(a, b as string);
  if (typeof a === 'boolean') return a === b ? 0 : a ? 1 : -1;
  if (Array.isArray(a)) {
    const bl = b as JsonValue[];
    for (let i = 0; ; i++) {
      if (i >= a.length && i >= bl.length) return 0;
      if (i >= a.length) return -1;
      if (i >= bl.length) return 1;
      const c = compareValues(a[i], bl[i]);
      if (c) return c;
    }
  }
  if (isObject(a)) {
    const bo = b as Record<string, JsonValue>;
    const ka = Object.keys(a).sort();
    const kb = Object.keys(bo).sort();
    for (let i = 0; ; i++) {
      if (i >= ka.length && i >= kb.length) return 0;
      if (i >= ka.length) return -1;
      if (i >= kb.length) return 1;
      const c = cmpStr(ka[i], kb[i]) || compareValues(a[ka[i]], bo[kb[i]]);
      if (c) return c;
    }
  }
  return 0;
}

export function comparePE(a: PathElement, b: PathElement): number {
  const fa = (a as { field?: string }).field;
  const fb = (b as { field?: string }).field;
  if (fa !== undefined && fb !== undefined) return fa < fb ? -1 : fa > fb ? 1 : 0;
  const ra = rank(a);
  const rb = rank(b);
  if (ra !== rb) return ra < rb ? -1 : 1;
  if ('field' in a) return cmpStr(a.field, (b as { field: string }).field);
  if ('key' in a) {
    const bk = (b as { key: [string, JsonValue][] }).key;
    for (let i = 0; ; i++) {
      if (i >= a.key.length && i >= bk.length) return 0;
      if (i >= a.key.length) return -1;
      if (i >= bk.length) return 1;
      const c = cmpStr(a.key[i][0], bk[i][0]) || compareValues(a.key[i][1], bk[i][1]);
      if (c) return c;
    }
  }
  if ('value' in a) return compareValues(a.value, (b as { value: JsonValue }).value);
  const bi = (b as { index: number }).index;
  return a.index < bi ? -1 : a.index > bi ? 1 : 0;
}

/** Go's encoding/json output (HTML-safe escaping, sorted object keys). */
export function goJson(v: JsonValue): string {
  const text = isObject(v)
    ? `{${Object.keys(v)
        .sort()
        .map((k) => `${JSON.stringify(k)}:${goJson(v[k])}`)
        .join(',')}}`
    : Array.isArray(v)
      ? `[${v.map(goJson).join(',')}]`
      : JSON.stringify(v);
  if (!/[<>&\u2028\u2029]/.test(text)) return text;
  return text.replace(/[<>&\u2028\u2029]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
}

/** The FieldsV1 key of a path element. */
export function serializePE(pe: PathElement): string {
  if ('field' in pe) return `f:${pe.field}`;
  if ('key' in pe) return `k:{${pe.key.map(([k, v]) => `${JSON.stringify(k)}:${goJson(v)}`).join(',')}}`;
  if ('value' in pe) return `v:${goJson(pe.value)}`;
  return `i:${pe.index}`;
}

export class UnknownPathElement extends Error {}

/** Parses a FieldsV1 key; unknown prefixes throw UnknownPathElement (skipped by readers, as in SMD). */
export function deserializePE(s: string): PathElement {
  if (s.length < 2) throw new Error('key must be 2 characters long:');
  if (s[1] !== ':') throw new Error(`missing colon: ${s}`);
  const rest = s.slice(2);
  switch (s[0]) {
    case 'f':
      return { field: rest };
    case 'v':
      return { value: JSON.parse(rest) as JsonValue };
    case 'i':
      if (!/^[+-]?\d+$/.test(rest)) throw new Error(`strconv.Atoi: parsing "${rest}": invalid syntax`);
      return { index: Number(rest) };
    case 'k': {
      const o = JSON.parse(rest) as unknown;
      if (!isObject(o)) throw new Error(`expected an object in ${s}`);
      return { key: sortKey(Object.entries(o)) };
    }
    default:
      throw new UnknownPathElement(s);
  }
}

export function sortKey(fields: [string, JsonValue][]): [string, JsonValue][] {
  return [...fields].sort((a, b) => cmpStr(a[0], b[0]));
}

/** Go's %q for a string (JSON quoting is the same for printable text). */
const goQuote = (s: string): string => JSON.stringify(s);

/** value.ToString, as conflict paths print key values. */
export function valueString(v: JsonValue): string {
  if (v === null) return 'null';
  if (typeof v === 'string') return goQuote(v);
  if (Array.isArray(v)) return `[${v.map(valueString).join(',')}]`;
  if (isObject(v)) {
    return Object.keys(v)
      .map((k) => `${k}=${valueString(v[k])}`)
      .join('');
  }
  return String(v);
}

export function peString(pe: PathElement): string {
  if ('field' in pe) return `.${pe.field}`;
  if ('key' in pe) return `[${pe.key.map(([k, v]) => `${k}=${valueString(v)}`).join(',')}]`;
  if ('value' in pe) return `[=${valueString(pe.value)}]`;
  return `[${pe.index}]`;
}

export function pathString(p: Path): string {
  return p.map(peString).join('');
}
