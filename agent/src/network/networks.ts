/** The API's networks: create, list with filters, inspect, remove, prune, as dockerd's bridge driver. */
import type { IPAMConfig, Network, NetworkContainer, NetworkCreateRequest } from '@berth/common';
import { badParameter, conflict, EngineError, forbidden, internal, notFound } from '../errors.js';
import { matchLabels, type Filters } from '../util/filters.js';
import { requireNetwork } from './attach-plan.js';
import { cidrAddress, contains, formatCidr, formatIp, parseCidr, parseIp, type Cidr } from './ipv4.js';
import { contains6, formatCidr6, formatIp6, overlaps6, parseCidr6, parseIp6, type Cidr6 } from './ipv6.js';
import { DEFAULT_ADDRESS_POOLS, newId, type NetworkManager } from './manager.js';
import type { NetworkRecord } from './state.js';

export const LIST_FILTERS = ['dangling', 'driver', 'id', 'label', 'name', 'scope', 'type'] as const;
export const PRUNE_FILTERS = ['until', 'label', 'label!'] as const;

const BRIDGE_NAME_OPT = 'com.docker.network.bridge.name';
/** runconfig.IsPreDefinedNetwork. */
const PREDEFINED = ['bridge', 'host', 'none', 'default'];
const MTU_OPT = 'com.docker.network.driver.mtu';

export class Networks {
  constructor(private readonly m: NetworkManager) {}

  async create(req: NetworkCreateRequest): Promise<{ Id: string; Warning: string }> {
    if (typeof req !== 'object' || req === null || typeof req.Name !== 'string')
      throw badParameter('invalid name: name is empty');
    // dockerd takes any non-empty name ("test 01", "a/b"...) except the predefined ones.
    if (req.Name === '') throw badParameter('invalid name: name is empty');
    if (PREDEFINED.includes(req.Name))
      throw forbidden(`operation is not permitted on predefined ${req.Name} network `);
    const driver = req.Driver || 'bridge';
    if (driver === 'host' || driver === 'null')
      throw forbidden(`only one instance of "${driver}" network is allowed`);
    if (driver !== 'bridge') throw notFound(`plugin "${driver}" not found`);
    if (req.ConfigOnly || req.ConfigFrom?.Network)
      throw badParameter('config-only networks are not supported by berth');
    if (req.Scope && req.Scope !== 'local')
      throw badParameter(`scope ${req.Scope} is not supported: berth networks are local`);
    if (req.Ingress) throw badParameter('ingress networks need swarm mode, which berth does not provide');
    const options = { ...(req.Options ?? {}) };
    for (const [k, v] of Object.entries(options))
      if (typeof v !== 'string') throw badParameter(`option ${k} must be a string`);
    const labels = req.Labels ?? {};

    return this.m.locked(async () => {
      const m = this.m;
      if ([...m.store.networks.values()].some((n) => n.name === req.Name))
        throw conflict(`network with name ${req.Name} already exists`);
      const id = newId();
      let mtu = m.defaultMtu;
      if (options[MTU_OPT] !== undefined) {
        mtu = Number(options[MTU_OPT]);
        if (!Number.isInteger(mtu) || mtu < 68 || mtu > 65535)
          throw badParameter(`invalid MTU ${options[MTU_OPT]}: use 68-65535`);
      }
      const bridge = options[BRIDGE_NAME_OPT] || m.names.bridgeFor(id);
      if (!/^[a-zA-Z0-9_.-]{1,15}$/.test(bridge))
        throw badParameter(`invalid bridge name ${bridge}: at most 15 characters of [a-zA-Z0-9_.-]`);
      if ([...m.store.networks.values()].some((n) => n.bridge === bridge))
        throw conflict(`bridge name ${bridge} is already used by another network`);
      if (
        options[BRIDGE_NAME_OPT] &&
        (await m.kernel.links()).some((l) => l.name === bridge && l.kind !== 'bridge')
      ) {
        throw conflict(`interface ${bridge} already exists and is not a bridge`);
      }

      const all = req.IPAM?.Config ?? [];
      const isV6 = (x: IPAMConfig) => Boolean(x.Subnet?.includes(':'));
      const cfgs = all.filter((x) => !isV6(x));
      const cfgs6 = all.filter(isV6);
      if (cfgs.length > 1) throw badParameter('berth networks take one IPv4 subnet');
      if (cfgs6.length > 1) throw badParameter('berth networks take one IPv6 subnet');
      if (req.IPAM?.Driver && req.IPAM.Driver !== 'default')
        throw notFound(`plugin "${req.IPAM.Driver}" not found`);
      const v6 = await planIpv6(m, cfgs6[0], req.EnableIPv6 === true);
      const c = cfgs[0] ?? {};
      let subnet: Cidr | undefined;
      let auto = false;
      if (c.Subnet) {
        subnet = parseCidr(c.Subnet, true);
        if (!subnet) {
          const loose = parseCidr(c.Subnet);
          throw badParameter(
            loose
              ? `invalid subnet ${c.Subnet}: it should be ${formatCidr(loose)}`
              : `invalid subnet ${c.Subnet}`,
          );
        }
        if (subnet.prefix > 30) throw badParameter(`subnet ${c.Subnet} is too small: use at most /30`);
        if (await m.overlapsExisting(subnet))
          throw forbidden(`invalid pool request: Pool overlaps with other one on this address space`);
      } else {
        if (c.IPRange || c.Gateway) throw badParameter('ip-range and gateway need a subnet (--subnet)');
        subnet = await m.allocateSubnet(m.opts.defaultAddressPools ?? DEFAULT_ADDRESS_POOLS);
        if (!subnet)
          throw badParameter(
            'could not find an available, non-overlapping IPv4 address pool among the defaults to assign to the network',
          );
        auto = true;
      }
      let range: Cidr | undefined;
      if (c.IPRange) {
        range = parseCidr(c.IPRange, true);
        if (!range || !contains(subnet, range.base) || range.prefix < subnet.prefix)
          throw badParameter(`invalid ip-range ${c.IPRange}: it must be a CIDR inside ${formatCidr(subnet)}`);
      }
      let gateway = subnet.base + 1;
      if (c.Gateway) {
        const g = parseIp(c.Gateway) ?? cidrAddress(c.Gateway);
        if (g === undefined || !contains(subnet, g) || g === subnet.base)
          throw badParameter(`invalid gateway ${c.Gateway}: it must be an address in ${formatCidr(subnet)}`);
        gateway = g;
      }
      const aux: Record<string, number> = {};
      for (const [name, ip] of Object.entries(c.AuxiliaryAddresses ?? {})) {
        const a = parseIp(ip);
        if (a === undefined || !contains(subnet, a))
          throw badParameter(`invalid auxiliary address ${name}=${ip}: not in ${formatCidr(subnet)}`);
        aux[name] = a;
      }
      const rec: NetworkRecord = {
        id,
        name: req.Name,
        driver: 'bridge',
        created: new Date().toISOString(),
        builtin: false,
        internal: Boolean(req.Internal),
        attachable: Boolean(req.Attachable),
        labels,
        options,
        ipam: {
          driver: 'default',
          config: [
            {
              Subnet: formatCidr(subnet),
              ...(range ? { IPRange: formatCidr(range) } : {}),
              Gateway: formatIp(gateway),
              ...(c.AuxiliaryAddresses ? { AuxiliaryAddresses: c.AuxiliaryAddresses } : {}),
            },
            ...(v6 ? [v6.config] : []),
          ],
          options: req.IPAM?.Options ?? {},
        },
        ...(auto ? { autoSubnet: true } : {}),
        bridge,
        mtu,
        ...(req.EnableIPv6 ? { enableIPv6: true } : {}),
      };
      m.store.networks.set(id, rec);
      m.ipam.addPool(id, { subnet, gateway, ...(range ? { range } : {}), aux });
      if (v6 && req.EnableIPv6) m.ipam6.addPool(id, v6.pool);
      try {
        await m.ensureNetworkUp(rec);
        await m.applyRules();
        await m.ipam.save();
        await m.store.saveNetworks();
      } catch (err) {
        m.store.networks.delete(id);
        m.ipam.removePool(id);
        m.ipam6.removePool(id);
        await m.removeNetworkKernel(rec).catch(() => undefined);
        throw err instanceof EngineError
          ? err
          : internal(`failed to create network ${req.Name}: ${(err as Error).message}`);
      }
      m.publish('create', rec);
      return { Id: id, Warning: '' };
    });
  }

  inspect(ref: string): Network {
    return this.render(requireNetwork(this.m, ref), true);
  }

  list(f: Filters): Network[] {
    const out: Network[] = [];
    for (const n of this.m.store.networks.values()) {
      if (!this.matches(n, f)) continue;
      out.push(this.render(n, false));
    }
    return out.sort((a, b) => a.Name.localeCompare(b.Name));
  }

  async remove(ref: string): Promise<void> {
    await this.m.locked(async () => {
      const n = requireNetwork(this.m, ref);
      if (n.builtin) throw forbidden(`${n.name} is a pre-defined network and cannot be removed`);
      await this.removeLocked(n);
    });
  }

  async prune(f: Filters): Promise<string[]> {
    return this.m.locked(async () => {
      const until = f.get('until')?.[0];
      const cutoff = until ? parseUntil(until) : undefined;
      const deleted: string[] = [];
      for (const n of [...this.m.store.networks.values()]) {
        if (n.builtin || this.inUse(n)) continue;
        if (cutoff !== undefined && Date.parse(n.created) >= cutoff) continue;
        if (!matchLabels(n.labels, f.get('label'))) continue;
        const not = f.get('label!');
        if (not && not.some((w) => matchLabels(n.labels, [w]))) continue;
        await this.removeLocked(n);
        deleted.push(n.name);
      }
      return deleted;
    });
  }

  private inUse(n: NetworkRecord): boolean {
    return this.m.store.endpointsOn(n.id).length > 0;
  }

  private async removeLocked(n: NetworkRecord): Promise<void> {
    const m = this.m;
    if (this.inUse(n))
      throw conflict(`error while removing network: network ${n.name} id ${n.id} has active endpoints`);
    m.store.networks.delete(n.id);
    m.ipam.removePool(n.id);
    await m.store.saveNetworks();
    await m.ipam.save();
    await m.removeNetworkKernel(n);
    await m.applyRules();
    m.publish('destroy', n);
  }

  private matches(n: NetworkRecord, f: Filters): boolean {
    const any = (key: string, pred: (v: string) => boolean) => {
      const vals = f.get(key);
      return !vals || vals.some(pred);
    };
    if (!any('driver', (v) => v === n.driver)) return false;
    if (!any('id', (v) => n.id.startsWith(v))) return false;
    if (!any('name', (v) => n.name.includes(v))) return false;
    if (!any('scope', (v) => v === 'local')) return false;
    if (!any('type', (v) => (v === 'custom' ? !n.builtin : v === 'builtin' ? n.builtin : badType(v))))
      return false;
    if (!any('dangling', (v) => (parseBool(v) ? !n.builtin && !this.inUse(n) : n.builtin || this.inUse(n))))
      return false;
    return matchLabels(n.labels, f.get('label'));
  }

  private render(n: NetworkRecord, withContainers: boolean): Network {
    const containers: Record<string, NetworkContainer> = {};
    if (withContainers) {
      for (const { containerId, record, ep } of this.m.store.endpointsOn(n.id)) {
        containers[containerId] = {
          Name: record.req.name,
          EndpointID: ep.endpointId,
          MacAddress: ep.mac,
          IPv4Address: `${ep.ip}/${ep.prefix}`,
          IPv6Address: ep.ipv6 ? `${ep.ipv6}/${ep.prefix6}` : '',
        };
      }
      if (n.driver === 'host')
        for (const [id, r] of this.m.store.containers)
          if (r.mode.kind === 'host' && r.sandbox)
            containers[id] = {
              Name: r.req.name,
              EndpointID: r.sandbox.id,
              MacAddress: '',
              IPv4Address: '',
              IPv6Address: '',
            };
    }
    return {
      Name: n.name,
      Id: n.id,
      Created: n.created,
      Scope: 'local',
      Driver: n.driver,
      EnableIPv6: n.enableIPv6 === true,
      IPAM: {
        Driver: n.ipam.driver,
        Options: Object.keys(n.ipam.options).length ? n.ipam.options : null,
        Config: n.ipam.config,
      },
      Internal: n.internal,
      Attachable: n.attachable,
      Ingress: false,
      ConfigFrom: { Network: '' },
      ConfigOnly: false,
      Containers: containers,
      Options: n.options,
      Labels: n.labels,
    };
  }
}

function parseBool(v: string): boolean {
  const l = v.toLowerCase();
  if (l === '1' || l === 'true') return true;
  if (l === '0' || l === 'false') return false;
  throw badParameter(`invalid filter 'dangling=${v}'`);
}

function badType(v: string): never {
  throw badParameter(`invalid filter: 'type'='${v}'`);
}

/** `until`: unix seconds, RFC 3339, or a Go duration relative to now ('10m', '1h30m'). */
export function parseUntil(v: string): number {
  if (/^\d+(\.\d+)?$/.test(v)) return Number(v) * 1000;
  const d = /^(?:(\d+)h)?(?:(\d+)m)?(?:(\d+)s)?$/.exec(v);
  if (d && (d[1] || d[2] || d[3]))
    return Date.now() - ((Number(d[1] ?? 0) * 60 + Number(d[2] ?? 0)) * 60 + Number(d[3] ?? 0)) * 1000;
  const t = Date.parse(v);
  if (Number.isNaN(t)) throw badParameter(`invalid until filter: ${v}`);
  return t;
}

/**
 * The IPv6 entry of a network create, checked as dockerd checks it: a subnet given without EnableIPv6 is
 * kept in the config (and unused); EnableIPv6 without one fails as dockerd 20.10/25 fails (they have no
 * default IPv6 pool); a subnet overlapping another network's is refused (403).
 */
async function planIpv6(
  m: NetworkManager,
  c: IPAMConfig | undefined,
  enable: boolean,
): Promise<{ config: IPAMConfig; pool: { subnet: Cidr6; gateway: bigint; range?: Cidr6 } } | undefined> {
  if (!c) {
    if (enable)
      throw notFound(
        'could not find an available, non-overlapping IPv6 address pool among the defaults to assign to the network',
      );
    return undefined;
  }
  const subnet = parseCidr6(c.Subnet ?? '');
  if (!subnet) throw badParameter(`invalid subnet ${c.Subnet}`);
  if (subnet.prefix > 124) throw badParameter(`subnet ${c.Subnet} is too small: use at most /124`);
  const taken = [...m.store.networks.values()].flatMap((n) => (m.subnet6Of(n) ? [m.subnet6Of(n)!] : []));
  if (taken.some((t) => overlaps6(t, subnet)))
    throw forbidden('invalid pool request: Pool overlaps with other one on this address space');
  let range: Cidr6 | undefined;
  if (c.IPRange) {
    range = parseCidr6(c.IPRange, true);
    if (!range || !contains6(subnet, range.base) || range.prefix < subnet.prefix)
      throw badParameter(`invalid ip-range ${c.IPRange}: it must be a CIDR inside ${formatCidr6(subnet)}`);
  }
  let gateway = subnet.base + 1n;
  if (c.Gateway) {
    const g = parseIp6(c.Gateway);
    if (g === undefined || !contains6(subnet, g) || g === subnet.base)
      throw badParameter(`invalid gateway ${c.Gateway}: it must be an address in ${formatCidr6(subnet)}`);
    gateway = g;
  }
  // As dockerd lists it: the subnet, the range and the gateway only when they were given.
  const config: IPAMConfig = {
    Subnet: formatCidr6(subnet),
    ...(range ? { IPRange: formatCidr6(range) } : {}),
    ...(c.Gateway ? { Gateway: formatIp6(gateway) } : {}),
  };
  return { config, pool: { subnet, gateway, ...(range ? { range } : {}) } };
}
