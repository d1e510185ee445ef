/** IPv6 arithmetic on 128-bit BigInts: parsing, RFC 5952 text, CIDR containment and overlap. */

export interface Cidr6 {
  /** Network address (host bits cleared). */
  base: bigint;
  prefix: number;
}

const ALL = (1n << 128n) - 1n;

/** Parses an IPv6 address ("fd00::1", "::", "::ffff:1.2.3.4"); undefined when it is not one. */
export function parseIp6(s: string): bigint | undefined {
  let t = s.trim();
  if (t.startsWith('[') && t.endsWith(']')) t = t.slice(1, -1);
  if (!/^[0-9a-fA-F:.]+$/.test(t) || !t.includes(':')) return undefined;
  const halves = t.split('::');
  if (halves.length > 2) return undefined;
  const groups = (part: string): number[] | undefined => {
    if (part === '') return [];
    const out: number[] = [];
    const items = part.split(':');
    for (const [i, g] of items.entries()) {
      if (i === items.length - 1 && g.includes('.')) {
        const v4 = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/.exec(g);
        if (!v4 || v4.slice(1).some((o) => Number(o) > 255)) return undefined;
        const b = v4.slice(1).map(Number);
        out.push(b[0] * 256 + b[1], b[2] * 256 + b[3]);
      } else {
        if (!/^[0-9a-fA-F]{1,4}$/.test(g)) return undefined;
        out.push(parseInt(g, 16));
      }
    }
    return out;
  };
  const head = groups(halves[0]);
  const tail = halves.length === 2 ? groups(halves[1]) : [];
  if (!head || !tail) return undefined;
  const missing = 8 - head.length - tail.length;
  if (halves.length === 1 ? missing !== 0 : missing < 1) return undefined;
  const all = [...head, ...Array<number>(halves.length === 2 ? missing : 0).fill(0), ...tail];
  return all.reduce((n, g) => (n << 16n) | BigInt(g), 0n);
}

/** RFC 5952: lowercase, no leading zeros, the longest run of two or more zero groups as "::". */
export function formatIp6(n: bigint): string {
  const g: number[] = [];
  for (let i = 7; i >= 0; i--) g.push(Number((n >> BigInt(i * 16)) & 0xffffn));
  let best = -1;
  let bestLen = 1;
  for (let i = 0; i < 8;) {
    if (g[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && g[j] === 0) j++;
    if (j - i > bestLen) {
      best = i;
      bestLen = j - i;
    }
    i = j;
  }
  const hex = g.map((x) => x.toString(16));
  if (best < 0) return hex.join(':');
  return `${hex.slice(0, best).join(':')}::${hex.slice(best + bestLen).join(':')}`;
}

export function mask6(prefix: number): bigint {
  return prefix === 0 ? 0n : (ALL << BigInt(128 - prefix)) & ALL;
}

/** Parses "addr/len"; with `strict`, host bits must be zero. */
export function parseCidr6(s: string, strict = false): Cidr6 | undefined {
  const slash = s.lastIndexOf('/');
  if (slash < 0) return undefined;
  const ip = parseIp6(s.slice(0, slash));
  const p = s.slice(slash + 1);
  if (ip === undefined || !/^\d{1,3}$/.test(p) || Number(p) > 128) return undefined;
  const prefix = Number(p);
  const base = ip & mask6(prefix);
  if (strict && base !== ip) return undefined;
  return { base, prefix };
}

export function formatCidr6(c: Cidr6): string {
  return `${formatIp6(c.base)}/${c.prefix}`;
}

export function contains6(c: Cidr6, ip: bigint): boolean {
  return (ip & mask6(c.prefix)) === c.base;
}

export function overlaps6(a: Cidr6, b: Cidr6): boolean {
  const m = mask6(Math.min(a.prefix, b.prefix));
  return (a.base & m) === (b.base & m);
}

/** The last address of the block. */
export function last6(c: Cidr6): bigint {
  return c.base | (~mask6(c.prefix) & ALL);
}

export const isIp6 = (s: string): boolean => parseIp6(s) !== undefined;
