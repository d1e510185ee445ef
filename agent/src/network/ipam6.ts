/**
 * IPv6 address management for EnableIPv6 networks, as ipam.ts does for IPv4: one pool per network (subnet,
 * gateway, optional range), addresses owned by a container id or 'gateway', one JSON file
 * (network/ipam6.json) written atomically. Addresses are handed out in order from the start of the range, as
 * dockerd's default IPAM does (the first container of fd00::/64 gets fd00::2).
 */
import { badParameter, conflict, unavailable } from '../errors.js';
import { readJson, writeJsonAtomic } from '../util/fs-atomic.js';
import { contains6, formatCidr6, formatIp6, last6, parseCidr6, parseIp6, type Cidr6 } from './ipv6.js';

interface Pool6 {
  subnet: string;
  gateway: string;
  range?: string;
  /** address → owner */
  used: Record<string, string>;
}

interface Ipam6File {
  version: 1;
  pools: Record<string, Pool6>;
}

/** Linear search for a free address stops here: a /64 has far more addresses than containers. */
const MAX_PROBE = 1 << 16;

export class Ipam6 {
  private pools = new Map<string, Pool6>();

  constructor(private readonly file: string) {}

  async load(): Promise<void> {
    const f = await readJson<Ipam6File>(this.file, { version: 1, pools: {} });
    this.pools = new Map(Object.entries(f.pools));
  }

  async save(): Promise<void> {
    await writeJsonAtomic(this.file, {
      version: 1,
      pools: Object.fromEntries(this.pools),
    } satisfies Ipam6File);
  }

  has(networkId: string): boolean {
    return this.pools.has(networkId);
  }

  addPool(networkId: string, spec: { subnet: Cidr6; gateway: bigint; range?: Cidr6 }): void {
    const gw = formatIp6(spec.gateway);
    this.pools.set(networkId, {
      subnet: formatCidr6(spec.subnet),
      gateway: gw,
      ...(spec.range ? { range: formatCidr6(spec.range) } : {}),
      used: { [gw]: 'gateway' },
    });
  }

  removePool(networkId: string): void {
    this.pools.delete(networkId);
  }

  poolIds(): string[] {
    return [...this.pools.keys()];
  }

  subnets(): Cidr6[] {
    return [...this.pools.values()].map((p) => parseCidr6(p.subnet)!);
  }

  /** `preferred` (--ip6) when given and free, else the first free address of the range. */
  allocate(networkId: string, owner: string, preferred?: string): string {
    const p = this.pools.get(networkId);
    if (!p) throw new Error(`no IPv6 address pool for network ${networkId}`);
    const subnet = parseCidr6(p.subnet)!;
    if (preferred !== undefined) {
      const ip = parseIp6(preferred);
      if (ip === undefined || !contains6(subnet, ip) || ip === subnet.base)
        throw badParameter(
          `Invalid address ${preferred}: It does not belong to any of this network's subnets`,
        );
      const key = formatIp6(ip);
      const holder = p.used[key];
      if (holder === owner) return key;
      if (holder !== undefined) throw conflict(`Address already in use: ${key} is allocated on this network`);
      p.used[key] = owner;
      return key;
    }
    const range = p.range ? parseCidr6(p.range)! : subnet;
    const first = range.base === subnet.base ? range.base + 1n : range.base;
    const last = last6(range);
    for (let ip = first, n = 0; ip <= last && n < MAX_PROBE; ip++, n++) {
      const key = formatIp6(ip);
      if (p.used[key] === undefined) {
        p.used[key] = owner;
        return key;
      }
    }
    throw unavailable(`no available IPv6 addresses on this network's address pools: ${p.subnet}`);
  }

  release(networkId: string, ip: string): void {
    const p = this.pools.get(networkId);
    const n = parseIp6(ip);
    const key = n === undefined ? ip : formatIp6(n);
    if (p && p.used[key] !== undefined && p.used[key] !== 'gateway') delete p.used[key];
  }

  holders(): { networkId: string; ip: string; owner: string }[] {
    const out: { networkId: string; ip: string; owner: string }[] = [];
    for (const [networkId, p] of this.pools)
      for (const [ip, owner] of Object.entries(p.used))
        if (owner !== 'gateway') out.push({ networkId, ip, owner });
    return out;
  }
}
