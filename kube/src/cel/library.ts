/**
 * The Kubernetes CEL libraries rules commonly use, as k8s.io/apiserver/pkg/cel/library defines them: lists
 * (isSorted, sum, min, max, indexOf, lastIndexOf), regex (find, findAll), the cel-go strings extension functions
 * the base library lacks (charAt, replace, reverse), sets (sets.contains/equivalent/intersects), urls (url,
 * isURL and the URL getters) and quantity (quantity, isQuantity and the Quantity methods). IP/CIDR are not here.
 * Ints are bigints and doubles numbers, as the evaluator gives them.
 */
import type { Environment } from '@marcbachmann/cel-js';
import { parseQuantity } from '@berth/common/quantity';

type Scalar = bigint | number | string | boolean;

function less(a: unknown, b: unknown): boolean {
  if (typeof a === 'string' && typeof b === 'string') return a < b;
  if ((typeof a === 'bigint' || typeof a === 'number') && (typeof b === 'bigint' || typeof b === 'number'))
    return a < b;
  if (typeof a === 'boolean' && typeof b === 'boolean') return !a && b;
  throw new Error('no such overload');
}

function equal(a: unknown, b: unknown): boolean {
  if ((typeof a === 'bigint' || typeof a === 'number') && (typeof b === 'bigint' || typeof b === 'number'))
    return a == b;
  if (Array.isArray(a) && Array.isArray(b)) return a.length === b.length && a.every((x, i) => equal(x, b[i]));
  if (a && b && typeof a === 'object' && typeof b === 'object') {
    const ka = Object.keys(a);
    const rb = b as Record<string, unknown>;
    return (
      ka.length === Object.keys(b).length &&
      ka.every((k) => k in rb && equal((a as Record<string, unknown>)[k], rb[k]))
    );
  }
  return a === b;
}

function extreme(list: Scalar[], name: string, pick: (a: Scalar, b: Scalar) => boolean): Scalar {
  if (!list.length) throw new Error(`${name} called on empty list`);
  return list.reduce((m, x) => (pick(x, m) ? x : m));
}

/** regexp.Compile-ish: RE2's inline flags at the start ((?i)) become JS flags. */
function regex(pattern: string, global = false): RegExp {
  const m = /^\(\?([imsU]+)\)/.exec(pattern);
  const flags = (m ? m[1].replace(/U/g, '') : '') + (global ? 'g' : '');
  return new RegExp(m ? pattern.slice(m[0].length) : pattern, `${flags}u`);
}

class SetsNamespace {}

/** A parsed URL (library/urls.go: absolute URIs or absolute paths). */
export class KubeUrl {
  constructor(readonly url: URL | { pathname: string; search: string; raw: string }) {}
}

function parseUrl(s: string): KubeUrl {
  if (s.startsWith('/')) {
    const q = s.indexOf('?');
    return new KubeUrl({
      pathname: q < 0 ? s : s.slice(0, q),
      search: q < 0 ? '' : s.slice(q),
      raw: s,
    });
  }
  let u: URL;
  try {
    u = new URL(s);
  } catch {
    throw new Error(`URL parse error during conversion from string: parse "${s}": invalid URI for request`);
  }
  return new KubeUrl(u);
}

/** resource.Quantity, compared by value (kubelet's parser: decimal and binary suffixes, exponents). */
export class Quantity {
  constructor(
    readonly text: string,
    readonly value: number,
  ) {}
}

function quantity(s: string): Quantity {
  try {
    return new Quantity(s, parseQuantity(s));
  } catch {
    throw new Error('quantities must match the regular expression');
  }
}

const cmp = (a: Quantity, b: Quantity): bigint => (a.value < b.value ? -1n : a.value > b.value ? 1n : 0n);

export function registerKubernetesLibrary(env: Environment): void {
  // lists
  env
    .registerFunction('list<dyn>.isSorted(): bool', (l: Scalar[]) =>
      l.every((x, i) => i === 0 || !less(x, l[i - 1])),
    )
    .registerFunction('list<dyn>.sum(): dyn', (l: Scalar[]) => {
      if (!l.length) return 0n;
      if (l.every((x) => typeof x === 'bigint')) return l.reduce((a, b) => a + b, 0n);
      return l.reduce((a, b) => Number(a) + Number(b), 0);
    })
    .registerFunction('list<dyn>.min(): dyn', (l: Scalar[]) => extreme(l, 'min', (a, b) => less(a, b)))
    .registerFunction('list<dyn>.max(): dyn', (l: Scalar[]) => extreme(l, 'max', (a, b) => less(b, a)))
    .registerFunction('list<dyn>.indexOf(dyn): int', (l: unknown[], x: unknown) =>
      BigInt(l.findIndex((y) => equal(x, y))),
    )
    .registerFunction('list<dyn>.lastIndexOf(dyn): int', (l: unknown[], x: unknown) => {
      for (let i = l.length - 1; i >= 0; i--) if (equal(x, l[i])) return BigInt(i);
      return -1n;
    });
  // regex
  env
    .registerFunction('string.find(string): string', (s: string, re: string) => regex(re).exec(s)?.[0] ?? '')
    .registerFunction('string.findAll(string): list<string>', (s: string, re: string) =>
      [...s.matchAll(regex(re, true))].map((m) => m[0]),
    )
    .registerFunction('string.findAll(string, int): list<string>', (s: string, re: string, n: bigint) => {
      const all = [...s.matchAll(regex(re, true))].map((m) => m[0]);
      return n < 0n ? all : all.slice(0, Number(n));
    });
  // strings extension (version 2)
  env
    .registerFunction('string.charAt(int): string', (s: string, i: bigint) => {
      const chars = [...s];
      if (i < 0n || i > BigInt(chars.length)) throw new Error(`index out of range: ${i}`);
      return chars[Number(i)] ?? '';
    })
    .registerFunction('string.replace(string, string): string', (s: string, a: string, b: string) =>
      s.split(a).join(b),
    )
    .registerFunction(
      'string.replace(string, string, int): string',
      (s: string, a: string, b: string, n: bigint) => {
        if (n < 0n) return s.split(a).join(b);
        let out = s;
        let from = 0;
        for (let k = 0n; k < n; k++) {
          const at = out.indexOf(a, from);
          if (at < 0) break;
          out = out.slice(0, at) + b + out.slice(at + a.length);
          from = at + b.length + (a.length ? 0 : 1);
        }
        return out;
      },
    )
    .registerFunction('string.reverse(): string', (s: string) => [...s].reverse().join(''));
  // sets
  env
    .registerType('SetsNamespace', SetsNamespace)
    .registerConstant('sets', 'SetsNamespace', new SetsNamespace())
    .registerFunction(
      'SetsNamespace.contains(list<dyn>, list<dyn>): bool',
      (_: unknown, a: unknown[], b: unknown[]) => b.every((x) => a.some((y) => equal(x, y))),
    )
    .registerFunction(
      'SetsNamespace.equivalent(list<dyn>, list<dyn>): bool',
      (_: unknown, a: unknown[], b: unknown[]) =>
        b.every((x) => a.some((y) => equal(x, y))) && a.every((x) => b.some((y) => equal(x, y))),
    )
    .registerFunction(
      'SetsNamespace.intersects(list<dyn>, list<dyn>): bool',
      (_: unknown, a: unknown[], b: unknown[]) => b.some((x) => a.some((y) => equal(x, y))),
    );
  // urls
  const portOf = (u: KubeUrl) => ('port' in u.url ? u.url.port : '');
  env
    .registerType('kubernetes.URL', KubeUrl)
    .registerFunction('url(string): kubernetes.URL', parseUrl)
    .registerFunction('isURL(string): bool', (s: string) => {
      try {
        parseUrl(s);
        return true;
      } catch {
        return false;
      }
    })
    .registerFunction('kubernetes.URL.getScheme(): string', (u: KubeUrl) =>
      'protocol' in u.url ? u.url.protocol.replace(/:$/, '') : '',
    )
    .registerFunction('kubernetes.URL.getHost(): string', (u: KubeUrl) => ('host' in u.url ? u.url.host : ''))
    .registerFunction('kubernetes.URL.getHostname(): string', (u: KubeUrl) =>
      'hostname' in u.url ? u.url.hostname.replace(/^\[|\]$/g, '') : '',
    )
    .registerFunction('kubernetes.URL.getPort(): string', portOf)
    .registerFunction('kubernetes.URL.getEscapedPath(): string', (u: KubeUrl) => u.url.pathname)
    .registerFunction('kubernetes.URL.getQuery(): map<string, list<string>>', (u: KubeUrl) => {
      const out: Record<string, string[]> = {};
      for (const [k, v] of new URLSearchParams(u.url.search)) (out[k] ??= []).push(v);
      return out;
    });
  // quantity
  env
    .registerType('kubernetes.Quantity', Quantity)
    .registerFunction('quantity(string): kubernetes.Quantity', quantity)
    .registerFunction('isQuantity(string): bool', (s: string) => {
      try {
        parseQuantity(s);
        return true;
      } catch {
        return false;
      }
    })
    .registerFunction('kubernetes.Quantity.isInteger(): bool', (q: Quantity) => Number.isInteger(q.value))
    .registerFunction('kubernetes.Quantity.asInteger(): int', (q: Quantity) => {
      if (!Number.isInteger(q.value)) throw new Error('cannot convert value to integer');
      return BigInt(q.value);
    })
    .registerFunction('kubernetes.Quantity.asApproximateFloat(): double', (q: Quantity) => q.value)
    .registerFunction('kubernetes.Quantity.sign(): int', (q: Quantity) => BigInt(Math.sign(q.value)))
    .registerFunction('kubernetes.Quantity.compareTo(kubernetes.Quantity): int', cmp)
    .registerFunction(
      'kubernetes.Quantity.isGreaterThan(kubernetes.Quantity): bool',
      (a: Quantity, b: Quantity) => cmp(a, b) > 0n,
    )
    .registerFunction(
      'kubernetes.Quantity.isLessThan(kubernetes.Quantity): bool',
      (a: Quantity, b: Quantity) => cmp(a, b) < 0n,
    )
    .registerFunction(
      'kubernetes.Quantity.add(kubernetes.Quantity): kubernetes.Quantity',
      (a: Quantity, b: Quantity) => new Quantity(String(a.value + b.value), a.value + b.value),
    )
    .registerFunction(
      'kubernetes.Quantity.sub(kubernetes.Quantity): kubernetes.Quantity',
      (a: Quantity, b: Quantity) => new Quantity(String(a.value - b.value), a.value - b.value),
    );
}
