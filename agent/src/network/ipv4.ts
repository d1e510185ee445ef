/** IPv4 arithmetic on unsigned 32-bit numbers: parsing, CIDR containment and overlap, MACs from addresses. */

export interface Cidr {
  /** Network address (host bits cleared). */
  base: number;
  prefix: number;
}

export function parseIp(s: string): number | undefined {
  const m = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/.exec(s.trim());
  if (!m) return undefined;
  let n = 0;
  for (let i = 1; i <= 4; i++) {
    const o = Number(m[i]);
    if (o > 255 || (m[i].length > 1 && m[i].startsWith('0'))) return undefined;
    n = n * 256 + o;
  }
  return n >>> 0;
}

export function formatIp(n: number): string {
  return [n >>> 24, (n >>> 16) & 255, (n >>> 8) & 255, n & 255].join('.');
}

export function maskOf(prefix: number): number {
  return prefix === 0 ? 0 : (0xffffffff << (32 - prefix)) >>> 0;
}

/** Parses 'a.b.c.d/n'. With `strict`, host bits must be zero (as dockerd requires for --subnet). */
export function parseCidr(s: string, strict = false): Cidr | undefined {
  const slash = s.indexOf('/');
  if (slash < 0) return undefined;
  const ip = parseIp(s.slice(0, slash));
  const pstr = s.slice(slash + 1);
  if (ip === undefined || !/^\d{1,2}$/.test(pstr)) return undefined;
  const prefix = Number(pstr);
  if (prefix > 32) return undefined;
  const base = (ip & maskOf(prefix)) >>> 0;
  if (strict && base !== ip) return undefined;
  return { base, prefix };
}

/** The address part of 'a.b.c.d/n' (for --bip, which names the gateway, not the network). */
export function cidrAddress(s: string): number | undefined {
  return parseIp(s.split('/')[0] ?? '');
}

export function formatCidr(c: Cidr): string {
  return `${formatIp(c.base)}/${c.prefix}`;
}

export function size(c: Cidr): number {
  return 2 ** (32 - c.prefix);
}

export function contains(c: Cidr, ip: number): boolean {
  return (ip & maskOf(c.prefix)) >>> 0 === c.base;
}

export function overlaps(a: Cidr, b: Cidr): boolean {
  const p = Math.min(a.prefix, b.prefix);
  return (a.base & maskOf(p)) >>> 0 === (b.base & maskOf(p)) >>> 0;
}

export function broadcast(c: Cidr): number {
  return (c.base + size(c) - 1) >>> 0;
}

/** Docker's MAC scheme: 02:42 followed by the four address bytes, so a MAC is stable for a static IP. */
export function macForIp(ip: number): string {
  const b = [0x02, 0x42, ip >>> 24, (ip >>> 16) & 255, (ip >>> 8) & 255, ip & 255];
  return b.map((x) => x.toString(16).padStart(2, '0')).join(':');
}

export function isValidMac(s: string): boolean {
  if (!/^([0-9a-fA-F]{2}:){5}[0-9a-fA-F]{2}$/.test(s)) return false;
  // Multicast bit set: the kernel refuses it as a unicast address.
  return (parseInt(s.slice(0, 2), 16) & 1) === 0;
}
