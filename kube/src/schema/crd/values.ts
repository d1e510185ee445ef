/**
 * Validating a custom resource against its CRD schema, as kube-apiserver does it (kube-openapi's validate package,
 * results turned into field errors by kubeOpenAPIResultToFieldErrors): the same checks in the same order per node
 * (type, allOf/anyOf/oneOf/not, string, format, number, array, enum, object), the same texts:
 *   spec.replicas: Invalid value: "string": spec.replicas in body must be of type integer: "string"
 *   spec.size: Unsupported value: "huge": supported values: "small", "large"
 *   spec.name: Too long: may not be more than 5 bytes
 *   spec.cron: Invalid value: "x": spec.cron in body should match '^\d+$'
 */
import type { FieldError } from '../../errors.js';
import type { Schema } from '../types.js';
import type { Correlated } from './correlate.js';

type Value = unknown;

const FORMATS: Record<string, (s: string) => boolean> = {
  datetime: (s) =>
    /^\d{4}-\d{2}-\d{2}[Tt ]\d{2}:\d{2}:\d{2}(\.\d+)?([Zz]|[+-]\d{2}:\d{2})$/.test(s) &&
    !Number.isNaN(Date.parse(s.replace(' ', 'T'))),
  date: (s) => /^\d{4}-\d{2}-\d{2}$/.test(s) && !Number.isNaN(Date.parse(s)),
  email: (s) => /^[^\s@<>]+@[^\s@<>]+$/.test(s),
  hostname: (s) =>
    s.length <= 255 &&
    /^([a-zA-Z0-9]([a-zA-Z0-9-]{0,61}[a-zA-Z0-9])?)(\.[a-zA-Z0-9]([a-zA-Z0-9-]{0,61}[a-zA-Z0-9])?)*\.?$/.test(
      s,
    ),
  ipv4: (s) => /^((25[0-5]|2[0-4]\d|1?\d?\d)\.){3}(25[0-5]|2[0-4]\d|1?\d?\d)$/.test(s),
  ipv6: (s) => s.includes(':') && /^[0-9a-fA-F:.]+$/.test(s) && (s.match(/::/g) ?? []).length <= 1,
  cidr: (s) => {
    const [ip, bits, extra] = s.split('/');
    if (extra !== undefined || bits === undefined || !/^\d+$/.test(bits)) return false;
    return FORMATS.ipv4(ip) ? Number(bits) <= 32 : FORMATS.ipv6(ip) && Number(bits) <= 128;
  },
  mac: (s) => /^([0-9a-fA-F]{2}[:-]){5}[0-9a-fA-F]{2}$/.test(s),
  uuid: (s) => /^[0-9a-f]{8}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{12}$/i.test(s),
  uuid3: (s) => /^[0-9a-f]{8}-?[0-9a-f]{4}-?3[0-9a-f]{3}-?[0-9a-f]{4}-?[0-9a-f]{12}$/i.test(s),
  uuid4: (s) => /^[0-9a-f]{8}-?[0-9a-f]{4}-?4[0-9a-f]{3}-?[89ab][0-9a-f]{3}-?[0-9a-f]{12}$/i.test(s),
  uuid5: (s) => /^[0-9a-f]{8}-?[0-9a-f]{4}-?5[0-9a-f]{3}-?[89ab][0-9a-f]{3}-?[0-9a-f]{12}$/i.test(s),
  byte: (s) => /^[A-Za-z0-9+/\r\n]*={0,2}$/.test(s) && s.replace(/[\r\n]/g, '').length % 4 === 0,
  uri: (s) => /^[a-zA-Z][a-zA-Z0-9+.-]*:\S*$/.test(s) || s.startsWith('/'),
  duration: (s) =>
    /^(-?\d+(\.\d+)?(ns|us|µs|ms|s|m|h))+$/.test(s) ||
    /^\d+\s*(ns|us|ms|s|m|h|d|w|nanoseconds?|microseconds?|milliseconds?|seconds?|minutes?|hours?|days?|weeks?)$/.test(
      s,
    ),
  hexcolor: (s) => /^#?([0-9a-fA-F]{3}|[0-9a-fA-F]{6})$/.test(s),
  rgbcolor: (s) => /^rgb\(\s*\d{1,3}\s*,\s*\d{1,3}\s*,\s*\d{1,3}\s*\)$/.test(s),
  password: () => true,
};

/** What kube-openapi calls a JSON value's type. */
function typeOf(v: Value): string {
  if (v === null || v === undefined) return 'null';
  if (typeof v === 'string') return 'string';
  if (typeof v === 'boolean') return 'boolean';
  if (typeof v === 'number') return Number.isInteger(v) ? 'integer' : 'number';
  if (Array.isArray(v)) return 'array';
  return 'object';
}

const isObject = (v: Value): v is Record<string, Value> =>
  typeof v === 'object' && v !== null && !Array.isArray(v);

interface Err {
  /** kube-openapi's name for the place: `spec.replicas` (dotted, arrays as [i]). */
  name: string;
  error: FieldError;
}

/**
 * Validates `value` against `schema`; `root` is the field path prefix (empty for a whole object). With `ratchet`
 * (an update: the new value correlated with the old one), the errors a node finds in itself and below are dropped
 * when that node's value is unchanged (apiextensions-apiserver's RatchetingSchemaValidator).
 */
export function validateValue(schema: Schema, value: Value, root = '', ratchet?: Correlated): FieldError[] {
  return validate(schema, value, root, ratchet).map((e) => e.error);
}

function fieldOf(name: string): string {
  return name.replace(/^\./, '');
}

function typeInvalid(name: string, expected: string, actual: string, value: Value = actual): Err {
  return {
    name,
    error: {
      type: 'FieldValueTypeInvalid',
      field: fieldOf(name),
      badValue: value,
      detail: `${fieldOf(name)} in body must be of type ${expected}: ${JSON.stringify(actual)}`,
    },
  };
}

function invalid(name: string, value: Value, detail: string): Err {
  return { name, error: { type: 'FieldValueInvalid', field: fieldOf(name), badValue: value, detail } };
}

/** One node: its checks, then ratcheting (kube-openapi merges an unchanged node's errors as warnings, unseen). */
function validate(s: Schema, v: Value, path: string, c?: Correlated): Err[] {
  const out = check(s, v, path, c);
  return out.length && c?.unchanged() ? [] : out;
}

function check(s: Schema, v: Value, path: string, c: Correlated | undefined): Err[] {
  if (!s || typeof s !== 'object') return [];
  const types = s['x-kubernetes-int-or-string'] ? ['integer', 'string'] : s.type ? [s.type] : [];
  const out: Err[] = [];
  if (v === null || v === undefined) {
    if (types.length && !s.nullable) out.push(typeInvalid(path, types.join(','), 'null'));
    out.push(...enumCheck(s, v, path));
    return out;
  }
  // Type first; a wrong type still runs the other validators, as kube-openapi does.
  const actual = typeOf(v);
  if (types.length && !types.includes(actual) && !(actual === 'integer' && types.includes('number'))) {
    out.push(typeInvalid(path, types.join(','), actual));
  }
  out.push(...schemaProps(s, v, path, c));
  if (typeof v === 'string') {
    if (s.maxLength !== undefined && [...v].length > s.maxLength) {
      out.push({
        name: path,
        error: {
          type: 'FieldValueTooLong',
          field: fieldOf(path),
          detail: `may not be more than ${s.maxLength} bytes`,
        },
      });
    }
    if (s.minLength !== undefined && [...v].length < s.minLength) {
      out.push(invalid(path, v, `${fieldOf(path)} in body should be at least ${s.minLength} chars long`));
    }
    if (s.pattern !== undefined && !patternMatches(s.pattern, v)) {
      out.push(invalid(path, v, `${fieldOf(path)} in body should match '${s.pattern}'`));
    }
    const format = (s.format ?? '').replace(/-/g, '');
    if (format && FORMATS[format] && !FORMATS[format](v)) out.push(typeInvalid(path, s.format ?? '', v));
  }
  if (typeof v === 'number') {
    const name = fieldOf(path);
    if (s.multipleOf !== undefined && s.multipleOf > 0 && !Number.isInteger(v / s.multipleOf)) {
      out.push(invalid(path, v, `${name} in body should be a multiple of ${s.multipleOf}`));
    }
    if (s.maximum !== undefined && (s.exclusiveMaximum ? v >= s.maximum : v > s.maximum)) {
      out.push(
        invalid(
          path,
          v,
          `${name} in body should be less than ${s.exclusiveMaximum ? '' : 'or equal to '}${s.maximum}`,
        ),
      );
    }
    if (s.minimum !== undefined && (s.exclusiveMinimum ? v <= s.minimum : v < s.minimum)) {
      out.push(
        invalid(
          path,
          v,
          `${name} in body should be greater than ${s.exclusiveMinimum ? '' : 'or equal to '}${s.minimum}`,
        ),
      );
    }
  }
  if (Array.isArray(v)) out.push(...arrayChecks(s, v, path, c));
  out.push(...enumCheck(s, v, path));
  if (isObject(v)) out.push(...objectChecks(s, v, path, c));
  return out;
}

function patternMatches(pattern: string, v: string): boolean {
  try {
    return new RegExp(pattern, 'u').test(v);
  } catch {
    return true;
  }
}

function enumCheck(s: Schema, v: Value, path: string): Err[] {
  if (!s.enum || s.enum.some((e) => deepEqual(e, v))) return [];
  const values = s.enum.map((e) =>
    typeof e === 'string' ? JSON.stringify(e) : JSON.stringify(JSON.stringify(e)),
  );
  return [
    {
      name: path,
      error: {
        type: 'FieldValueNotSupported',
        field: fieldOf(path),
        badValue: v,
        detail: `supported values: ${values.join(', ')}`,
      },
    },
  ];
}

function arrayChecks(s: Schema, v: Value[], path: string, c: Correlated | undefined): Err[] {
  const out: Err[] = [];
  if (s.items && !Array.isArray(s.items))
    v.forEach((x, i) => out.push(...validate(s.items as Schema, x, `${path}[${i}]`, c?.index(i))));
  if (s.minItems !== undefined && v.length < s.minItems)
    out.push(invalid(path, v.length, `${fieldOf(path)} in body should have at least ${s.minItems} items`));
  if (s.maxItems !== undefined && v.length > s.maxItems) {
    out.push({
      name: path,
      error: {
        type: 'FieldValueTooMany',
        field: fieldOf(path),
        badValue: v.length,
        detail: `must have at most ${s.maxItems} items`,
      },
    });
  }
  if (s.uniqueItems && v.some((x, i) => v.findIndex((y) => deepEqual(x, y)) !== i)) {
    out.push({ name: path, error: { type: 'FieldValueDuplicate', field: fieldOf(path), badValue: v } });
  }
  return out;
}

/** apiVersion and kind of the resource do not ratchet: both sides are converted to the same version. */
const TYPE_META = new Set(['apiVersion', 'kind']);

function objectChecks(s: Schema, v: Record<string, Value>, path: string, c: Correlated | undefined): Err[] {
  const out: Err[] = [];
  const n = Object.keys(v).length;
  const name = fieldOf(path);
  if (s.minProperties !== undefined && n < s.minProperties)
    out.push(invalid(path, n, `${name} in body should have at least ${s.minProperties} properties`));
  if (s.maxProperties !== undefined && n > s.maxProperties) {
    out.push({
      name: path,
      error: {
        type: 'FieldValueTooMany',
        field: name,
        badValue: n,
        detail: `must have at most ${s.maxProperties} items`,
      },
    });
  }
  const props = s.properties ?? {};
  const child = (k: string) => (path ? `${path}.${k}` : k);
  const correlated = (k: string) => (path === '' && TYPE_META.has(k) ? undefined : c?.key(k));
  const ap = s.additionalProperties;
  for (const [k, x] of Object.entries(v)) {
    if (Object.prototype.hasOwnProperty.call(props, k)) continue;
    if (ap === false)
      out.push(invalid(child(k), k, `${name ? `${name}.` : '.'}${k} in body is a forbidden property`));
    else if (typeof ap === 'object') out.push(...validate(ap, x, child(k), correlated(k)));
  }
  for (const [k, p] of Object.entries(props))
    if (Object.prototype.hasOwnProperty.call(v, k)) out.push(...validate(p, v[k], child(k), correlated(k)));
  for (const k of s.required ?? []) {
    if (!Object.prototype.hasOwnProperty.call(v, k))
      out.push({ name: child(k), error: { type: 'FieldValueRequired', field: fieldOf(child(k)) } });
  }
  return out;
}

/** allOf/anyOf/oneOf/not validate the same value: their fields correlate through the node's own correlation. */
function schemaProps(s: Schema, v: Value, path: string, c: Correlated | undefined): Err[] {
  const out: Err[] = [];
  const quoted = JSON.stringify(fieldOf(path));
  if (s.anyOf?.length) {
    const results = s.anyOf.map((x) => validate(x, v, path, c));
    if (!results.some((r) => r.length === 0)) {
      out.push(invalid(path, '', `${quoted} must validate at least one schema (anyOf)`));
      out.push(...results.reduce((a, b) => (b.length < a.length ? b : a)));
    }
  }
  if (s.oneOf?.length) {
    const results = s.oneOf.map((x) => validate(x, v, path, c));
    const valid = results.filter((r) => r.length === 0).length;
    if (valid !== 1) {
      const more = valid === 0 ? 'Found none valid' : `Found ${valid} valid alternatives`;
      out.push(invalid(path, '', `${quoted} must validate one and only one schema (oneOf). ${more}`));
      if (valid === 0) out.push(...results.reduce((a, b) => (b.length < a.length ? b : a)));
    }
  }
  for (const x of s.allOf ?? []) out.push(...validate(x, v, path, c));
  if (s.not && validate(s.not, v, path, c).length === 0)
    out.push(invalid(path, '', `${quoted} must not validate the schema (not)`));
  return out;
}

export function deepEqual(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (typeof a !== typeof b || a === null || b === null || typeof a !== 'object') return false;
  if (Array.isArray(a) !== Array.isArray(b)) return false;
  if (Array.isArray(a) && Array.isArray(b))
    return a.length === b.length && a.every((x, i) => deepEqual(x, b[i]));
  const ka = Object.keys(a);
  const kb = Object.keys(b as object);
  return (
    ka.length === kb.length &&
    ka.every((k) => deepEqual((a as Record<string, unknown>)[k], (b as Record<string, unknown>)[k]))
  );
}
