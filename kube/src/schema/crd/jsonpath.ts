/**
 * The JSONPath that printer columns use (client-go util/jsonpath, with missing keys allowed): `.spec.replicas`,
 * `.metadata.labels['app.kubernetes.io/name']`, `.spec.items[0]`, `.spec.items[*].name`, `..name`,
 * `.status.conditions[?(@.type=="Ready")].status`, slices `[1:3]` and unions `[0,2]`. `find` returns every match in
 * order; a column shows the first.
 */

type Json = unknown;
type Step =
  | { kind: 'field'; names: string[] }
  | { kind: 'recursive'; /** a field name, or '*' for every field */ name: string }
  | { kind: 'wildcard' }
  | { kind: 'index'; indexes: number[] }
  | { kind: 'slice'; start?: number; end?: number; step?: number }
  | { kind: 'filter'; left: string[]; op?: string; right?: Json };

export class JsonPathError extends Error {}

const isObject = (v: Json): v is Record<string, Json> =>
  typeof v === 'object' && v !== null && !Array.isArray(v);

export function parseJsonPath(path: string): Step[] {
  let s = path.trim();
  if (s.startsWith('{') && s.endsWith('}')) s = s.slice(1, -1).trim();
  if (s.startsWith('$')) s = s.slice(1);
  const steps: Step[] = [];
  let i = 0;
  const name = (): string => {
    const m = /^[^.[\]\s]+/.exec(s.slice(i));
    if (!m) throw new JsonPathError(`unrecognized identifier in ${path}`);
    i += m[0].length;
    return m[0];
  };
  while (i < s.length) {
    if (s.startsWith('..', i)) {
      i += 2;
      if (s[i] === '*') {
        i++;
        steps.push({ kind: 'recursive', name: '*' });
      } else steps.push({ kind: 'recursive', name: name() });
    } else if (s[i] === '.') {
      i++;
      if (i >= s.length) break;
      if (s[i] === '*') {
        i++;
        steps.push({ kind: 'wildcard' });
      } else if (s[i] !== '[') steps.push({ kind: 'field', names: [name()] });
    } else if (s[i] === '[') {
      const end = closing(s, i);
      steps.push(bracket(s.slice(i + 1, end).trim(), path));
      i = end + 1;
    } else if (i === 0) {
      steps.push({ kind: 'field', names: [name()] });
    } else throw new JsonPathError(`unrecognized character in ${path} at ${i}`);
  }
  return steps;
}

function closing(s: string, open: number): number {
  let quote: string | undefined;
  let depth = 0;
  for (let i = open; i < s.length; i++) {
    const c = s[i];
    if (quote) {
      if (c === quote) quote = undefined;
    } else if (c === '"' || c === "'") quote = c;
    else if (c === '[' || c === '(') depth++;
    else if (c === ']' || c === ')') {
      depth--;
      if (depth === 0 && c === ']') return i;
    }
  }
  throw new JsonPathError(`unclosed [ in ${s}`);
}

function literal(t: string): Json {
  t = t.trim();
  if ((t.startsWith('"') && t.endsWith('"')) || (t.startsWith("'") && t.endsWith("'"))) return t.slice(1, -1);
  if (t === 'true' || t === 'false') return t === 'true';
  if (t === 'null') return null;
  if (/^-?\d+(\.\d+)?$/.test(t)) return Number(t);
  throw new JsonPathError(`unrecognized literal ${t}`);
}

function fieldsOf(expr: string): string[] {
  // `@.a.b` or `@['a'].b`
  const rest = expr.trim().replace(/^@/, '');
  return parseJsonPath(rest).flatMap((st) => (st.kind === 'field' ? st.names : []));
}

function bracket(inner: string, path: string): Step {
  if (inner === '*') return { kind: 'wildcard' };
  if (inner.startsWith('?')) {
    const body = inner.slice(1).trim().replace(/^\(/, '').replace(/\)$/, '');
    const m = /^(.*?)\s*(==|!=|<=|>=|<|>)\s*(.*)$/.exec(body);
    if (!m) return { kind: 'filter', left: fieldsOf(body) };
    return { kind: 'filter', left: fieldsOf(m[1]), op: m[2], right: literal(m[3]) };
  }
  if (/^['"]/.test(inner)) {
    return { kind: 'field', names: inner.split(/\s*,\s*/).map((x) => String(literal(x))) };
  }
  if (inner.includes(':')) {
    const [a, b, c] = inner.split(':').map((x) => (x.trim() === '' ? undefined : Number(x)));
    return { kind: 'slice', start: a, end: b, step: c };
  }
  const indexes = inner.split(',').map((x) => Number(x.trim()));
  if (indexes.some((n) => !Number.isInteger(n))) throw new JsonPathError(`invalid array index in ${path}`);
  return { kind: 'index', indexes };
}

function get(v: Json, names: string[]): Json {
  let cur = v;
  for (const n of names) {
    if (!isObject(cur) || !Object.prototype.hasOwnProperty.call(cur, n)) return undefined;
    cur = cur[n];
  }
  return cur;
}

function compare(a: Json, op: string, b: Json): boolean {
  switch (op) {
    case '==':
      return a === b;
    case '!=':
      return a !== b;
    default:
      if (typeof a !== 'number' || typeof b !== 'number') return false;
      return op === '<' ? a < b : op === '>' ? a > b : op === '<=' ? a <= b : a >= b;
  }
}

/** `name` is a field name, or '*' for every field. */
function descend(v: Json, out: Json[], name: string): void {
  if (isObject(v)) {
    for (const [k, x] of Object.entries(v)) {
      if (name === '*' || k === name) out.push(x);
      descend(x, out, name);
    }
  } else if (Array.isArray(v)) {
    for (const x of v) {
      if (name === '*') out.push(x);
      descend(x, out, name);
    }
  }
}

/** Every value `path` selects in `data`; missing keys select nothing. */
export function findJsonPath(data: Json, steps: Step[]): Json[] {
  let cur: Json[] = [data];
  for (const st of steps) {
    const next: Json[] = [];
    for (const v of cur) {
      switch (st.kind) {
        case 'field':
          for (const n of st.names)
            if (isObject(v) && Object.prototype.hasOwnProperty.call(v, n)) next.push(v[n]);
          break;
        case 'recursive':
          descend(v, next, st.name);
          break;
        case 'wildcard':
          if (Array.isArray(v)) next.push(...(v as Json[]));
          else if (isObject(v)) next.push(...Object.values(v));
          break;
        case 'index':
          if (Array.isArray(v))
            for (const i of st.indexes) {
              const j = i < 0 ? v.length + i : i;
              if (j >= 0 && j < v.length) next.push(v[j]);
            }
          break;
        case 'slice':
          if (Array.isArray(v)) {
            const norm = (n: number | undefined, d: number) =>
              n === undefined ? d : n < 0 ? Math.max(0, v.length + n) : Math.min(n, v.length);
            const step = st.step && st.step > 0 ? st.step : 1;
            for (let i = norm(st.start, 0); i < norm(st.end, v.length); i += step) next.push(v[i]);
          }
          break;
        case 'filter':
          if (Array.isArray(v)) {
            for (const x of v) {
              const left = get(x, st.left);
              if (st.op === undefined ? left !== undefined : compare(left, st.op, st.right)) next.push(x);
            }
          }
          break;
      }
    }
    cur = next;
  }
  return cur;
}

/** How jsonpath prints one result: strings bare, numbers and booleans as Go prints them, the rest as JSON. */
export function printJsonPathValue(v: Json): string {
  if (typeof v === 'string') return v;
  if (v === null || v === undefined) return '<nil>';
  if (typeof v === 'number' || typeof v === 'boolean' || typeof v === 'bigint') return String(v);
  return JSON.stringify(v);
}
