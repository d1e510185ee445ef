/**
 * IPAM: subnets for networks and addresses for endpoints. One JSON file (network/ipam.json) written atomically
 * after every change; an address belongs to an owner (a container id, or 'gateway'/'aux:<name>'). Reconcile
 * drops owners nobody accounts for, so a crash between this file and the endpoint state leaks nothing.
 */
import { badParameter, conflict, unavailable } from '../errors.js';
import { readJson, writeJsonAtomic } from '../util/fs-atomic.js';
import { broadcast, contains, formatCidr, formatIp, overlaps, parseCidr, size, type Cidr } from './ipv4.js';

export interface PoolSpec {
  subnet: Cidr;
  gateway: number;
  /** Dynamic addresses come from here (defaults to the whole subnet). */
  range?: Cidr;
  /** Addresses dockerd reserves for named auxiliary hosts (AuxiliaryAddresses). */
  aux?: Record<string, number>;
}

interface PoolState {
  subnet: string;
  gateway: string;
  range?: string;
  /** ip → owner */
  used: Record<string, string>;
}

interface IpamFile {
  version: 1;
  pools: Record<string, PoolState>;
}

export interface AddressPool {
  base: string;
  size: number;
}

export class Ipam {
  private pools = new Map<string, PoolState>();

  constructor(private readonly file: string) {}

  async load(): Promise<void> {
    const f = await readJson<IpamFile>(this.file, { version: 1, pools: {} });
    this.pools = new Map(Object.entries(f.pools));
  }

  async save(): Promise<void> {
    const f: IpamFile = { version: 1, pools: Object.fromEntries(this.pools) };
    await writeJsonAtomic(this.file, f);
  }

  has(networkId: string): boolean {
    return this.pools.has(networkId);
  }

  addPool(networkId: string, spec: PoolSpec): void {
    const used: Record<string, string> = { [formatIp(spec.gateway)]: 'gateway' };
    for (const [name, ip] of Object.entries(spec.aux ?? {})) used[formatIp(ip)] = `aux:${name}`;
    this.pools.set(networkId, {
      subnet: formatCidr(spec.subnet),
      gateway: formatIp(spec.gateway),
      ...(spec.range ? { range: formatCidr(spec.range) } : {}),
      used,
    });
  }

  poolIds(): string[] {
    return [...this.pools.keys()];
  }

  removePool(networkId: string): void {
    this.pools.delete(networkId);
  }

  /** Subnets of every pool this daemon manages. */
  subnets(): Cidr[] {
    return [...this.pools.values()].map((p) => parseCidr(p.subnet)!);
  }

  /**
   * Allocates an address for `owner`: `preferred` when given (must be in the subnet and free; an address the
   * same owner already holds is returned as is), else the lowest free address of the range.
   */
  allocate(networkId: string, owner: string, preferred?: number): number {
    const p = this.pool(networkId);
    const subnet = parseCidr(p.subnet)!;
    if (preferred !== undefined) {
      const key = formatIp(preferred);
      if (!contains(subnet, preferred) || preferred === subnet.base || preferred === broadcast(subnet)) {
        throw badParameter(
          `invalid address ${key}: it does not belong to any of this network's subnets (${p.subnet})`,
        );
      }
      const holder = p.used[key];
      if (holder === owner) return preferred;
      if (holder !== undefined) throw conflict(`Address already in use: ${key} is allocated on this network`);
      p.used[key] = owner;
      return preferred;
    }
    const range = p.range ? parseCidr(p.range)! : subnet;
    const first = range.base === subnet.base ? range.base + 1 : range.base;
    const last = broadcast(range) === broadcast(subnet) ? broadcast(range) - 1 : broadcast(range);
    for (let ip = first; ip <= last; ip++) {
      const key = formatIp(ip >>> 0);
      if (p.used[key] === undefined) {
        p.used[key] = owner;
        return ip >>> 0;
      }
    }
    throw unavailable(`no available IPv4 addresses on this network's address pools: ${p.subnet}`);
  }

  release(networkId: string, ip: number): void {
    const p = this.pools.get(networkId);
    const key = formatIp(ip);
    const owner = p?.used[key];
    if (p && owner !== undefined && owner !== 'gateway' && !owner.startsWith('aux:')) delete p.used[key];
  }

  /** Every address held by containers: networkId → ip → owner. */
  holders(): { networkId: string; ip: string; owner: string }[] {
    const out: { networkId: string; ip: string; owner: string }[] = [];
    for (const [networkId, p] of this.pools) {
      for (const [ip, owner] of Object.entries(p.used))
        if (owner !== 'gateway' && !owner.startsWith('aux:')) out.push({ networkId, ip, owner });
    }
    return out;
  }

  /** Count of container-held addresses (for tests and leak checks). */
  allocatedCount(networkId?: string): number {
    return this.holders().filter((h) => networkId === undefined || h.networkId === networkId).length;
  }

  private pool(networkId: string): PoolState {
    const p = this.pools.get(networkId);
    if (!p) throw new Error(`no address pool for network ${networkId}`);
    return p;
  }
}

/**
 * Picks a subnet of each pool's `size` that overlaps nothing in `taken` (other networks, host routes), trying
 * candidates in order from `seed` (modulo their count), pool by pool. Undefined when every pool is exhausted.
 */
export function chooseSubnet(pools: AddressPool[], taken: Cidr[], seed = 0): Cidr | undefined {
  for (const pool of pools) {
    const base = parseCidr(pool.base);
    if (!base || pool.size < base.prefix || pool.size > 30) continue;
    const step = 2 ** (32 - pool.size);
    const count = size(base) / step;
    for (let j = 0; j < count; j++) {
      const i = (j + seed) % count;
      const cand: Cidr = { base: (base.base + i * step) >>> 0, prefix: pool.size };
      if (!taken.some((t) => overlaps(t, cand))) return cand;
    }
  }
  return undefined;
}
