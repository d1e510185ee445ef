/**
 * Shared core of the network domain: state, IPAM, kernel port, embedded DNS, port reservations and one lock
 * that serialises every change (setups take milliseconds; ordering matters more than parallelism).
 * networks.ts (the API's networks) and sandboxes.ts (containers' networking) both work through it.
 */
import { randomBytes } from 'node:crypto';
import path from 'node:path';
import type { EventBus } from '../events/bus.js';
import type { Logger } from '../log.js';
import { EmbeddedDns, type DnsResolver } from './dns/server.js';
import { readHostResolv, type HostResolv } from './etc-files.js';
import { chooseSubnet, Ipam, type AddressPool } from './ipam.js';
import { Ipam6 } from './ipam6.js';
import { formatIp6, parseCidr6, parseIp6, type Cidr6 } from './ipv6.js';
import {
  cidrAddress,
  formatCidr,
  formatIp,
  macForIp,
  overlaps,
  parseCidr,
  parseIp,
  type Cidr,
} from './ipv4.js';
import { IprouteKernel, type NetKernel } from '../sys/net.js';
import type { NetNames } from './names.js';
import { renderDeleteTable, renderHostRules, type DnatRule } from './nft-rules.js';
import { PortReservations } from './ports.js';
import { NetStore, type NetworkRecord } from './state.js';
import { bridgeSteps, runSteps, tolerateMissing } from './steps.js';
import type { ContainerLookup } from './types.js';

/**
 * Bridges and veths default to a 64 KiB MTU: traffic between the host and its containers (127.0.0.1-published
 * ports, container to container) then moves in segments as large as loopback's, which is what makes kernel
 * DNAT reach loopback-class throughput; at 1500 it measured ~0.55 of loopback here (bench/network.mjs).
 * Traffic leaving the host gets its TCP MSS clamped to the outgoing route (nft-rules.ts). `--mtu 1500`
 * restores dockerd's default.
 */
export const DEFAULT_MTU = 65520;
/** Candidates for the default bridge: 10.200-207.0.0/16. Not Docker's 172.17/16, nor podman's 10.88/16. */
export const DEFAULT_BRIDGE_POOLS: AddressPool[] = [{ base: '10.200.0.0/13', size: 16 }];
/** User networks: /24s from 10.216.0.0/13 (dockerd: 172.17-31/16 and 192.168/20 pools). */
export const DEFAULT_ADDRESS_POOLS: AddressPool[] = [{ base: '10.216.0.0/13', size: 24 }];

export interface NetworkingOptions {
  dataRoot: string;
  names: NetNames;
  log: Logger;
  events?: EventBus;
  /** --bip: the default bridge's gateway address with prefix, e.g. 10.213.1.1/24. */
  bip?: string;
  defaultAddressPools?: AddressPool[];
  /** --mtu: default MTU of the default bridge and new networks. */
  mtu?: number;
  /** Daemon --dns: upstreams for the embedded DNS and default nameservers for containers. */
  dns?: string[];
  kernel?: NetKernel;
  /** Host resolv.conf path (tests point it at a fixture). */
  resolvConf?: string;
  /** The containers domain's records: names for links and `container:` modes, /etc rewrites. */
  containers?: ContainerLookup;
}

export const newId = (): string => randomBytes(32).toString('hex');

export class NetworkManager {
  readonly store: NetStore;
  readonly ipam: Ipam;
  readonly ipam6: Ipam6;
  readonly kernel: NetKernel;
  readonly names: NetNames;
  readonly log: Logger;
  readonly dns: EmbeddedDns;
  readonly ports: PortReservations;
  readonly lookup: ContainerLookup | undefined;
  private chain: Promise<unknown> = Promise.resolve();

  constructor(
    readonly opts: NetworkingOptions,
    resolver: DnsResolver,
  ) {
    this.names = opts.names;
    this.log = opts.log;
    this.kernel = opts.kernel ?? new IprouteKernel();
    this.store = new NetStore(path.join(opts.dataRoot, 'network'));
    this.ipam = new Ipam(path.join(opts.dataRoot, 'network', 'ipam.json'));
    this.ipam6 = new Ipam6(path.join(opts.dataRoot, 'network', 'ipam6.json'));
    this.dns = new EmbeddedDns(resolver, opts.log.child({ component: 'dns' }));
    this.ports = new PortReservations(opts.log);
    this.lookup = opts.containers;
  }

  get defaultMtu(): number {
    return this.opts.mtu ?? DEFAULT_MTU;
  }

  /** Serialises `fn` after every change queued before it. */
  locked<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.chain.then(fn, fn);
    this.chain = run.catch(() => undefined);
    return run;
  }

  hostResolv(): HostResolv {
    return readHostResolv(this.opts.resolvConf);
  }

  /** Upstream servers for the embedded DNS: the container's --dns, else the daemon's, else the host's. */
  upstreams(containerDns: string[]): string[] {
    if (containerDns.length) return containerDns;
    if (this.opts.dns?.length) return this.opts.dns;
    return this.hostResolv().nameservers;
  }

  publish(action: string, net: NetworkRecord, extra: Record<string, string> = {}): void {
    this.opts.events?.publish('network', action, net.id, { name: net.name, type: net.driver, ...extra });
  }

  defaultBridge(): NetworkRecord {
    for (const n of this.store.networks.values()) if (n.builtin && n.driver === 'bridge') return n;
    throw new Error('default bridge network missing');
  }

  isUserNetwork(n: NetworkRecord): boolean {
    return n.driver === 'bridge' && !n.builtin;
  }

  subnetOf(n: NetworkRecord): Cidr | undefined {
    const s = n.ipam.config[0]?.Subnet;
    return s ? parseCidr(s) : undefined;
  }

  gatewayOf(n: NetworkRecord): string | undefined {
    return n.ipam.config[0]?.Gateway;
  }

  /** The IPv6 entry of a network's IPAM config (any network may list one; only EnableIPv6 ones use it). */
  subnet6Of(n: NetworkRecord): Cidr6 | undefined {
    const c = n.ipam.config.find((x) => x.Subnet?.includes(':'));
    return c?.Subnet ? parseCidr6(c.Subnet) : undefined;
  }

  /** The IPv6 gateway: as configured, else the subnet's first address (dockerd's default). */
  gateway6Of(n: NetworkRecord): string | undefined {
    const c = n.ipam.config.find((x) => x.Subnet?.includes(':'));
    const s = this.subnet6Of(n);
    if (!c || !s) return undefined;
    return c.Gateway ? formatIp6(parseIp6(c.Gateway)!) : formatIp6(s.base + 1n);
  }

  /** Subnets in use on the host that a new network must not overlap (ours and the host's routes). */
  async takenSubnets(except?: string): Promise<Cidr[]> {
    const ours = [...this.store.networks.values()]
      .filter((n) => n.id !== except)
      .flatMap((n) => (this.subnetOf(n) ? [this.subnetOf(n)!] : []));
    const ourBridges = new Set([...this.store.networks.values()].map((n) => n.bridge));
    const routes = (await this.kernel.routes()).filter((r) => r.dst !== 'default' && !ourBridges.has(r.dev));
    return [
      ...ours,
      ...routes.flatMap((r) =>
        parseCidr(r.dst.includes('/') ? r.dst : `${r.dst}/32`)
          ? [parseCidr(r.dst.includes('/') ? r.dst : `${r.dst}/32`)!]
          : [],
      ),
    ];
  }

  /** Picks a free subnet from `pools`, starting at an offset derived from this daemon's prefix so that
   *  daemons started at the same instant rarely race for the same one. */
  async allocateSubnet(pools: AddressPool[], except?: string): Promise<Cidr | undefined> {
    const taken = await this.takenSubnets(except);
    const seed = parseInt(this.names.prefix === 'berth' ? '0' : this.names.prefix.slice(1), 16) || 0;
    return chooseSubnet(pools, taken, seed);
  }

  /** Creates the three builtin networks on first start; keeps their ids; applies --bip changes. */
  async ensureBuiltins(): Promise<void> {
    const byName = (name: string) =>
      [...this.store.networks.values()].find((n) => n.builtin && n.name === name);
    const created = new Date().toISOString();
    for (const [name, driver] of [
      ['host', 'host'],
      ['none', 'null'],
    ] as const) {
      if (!byName(name)) {
        this.store.networks.set(newId(), {
          id: '',
          name,
          driver,
          created,
          builtin: true,
          internal: false,
          attachable: false,
          labels: {},
          options: {},
          ipam: { driver: 'default', config: [], options: {} },
        });
      }
    }
    for (const [id, n] of this.store.networks) if (n.id === '') n.id = id;

    let bridge = byName('bridge');
    let subnet: Cidr | undefined;
    let gateway: number | undefined;
    if (this.opts.bip) {
      subnet = parseCidr(this.opts.bip);
      gateway = cidrAddress(this.opts.bip);
      if (!subnet || gateway === undefined || subnet.prefix > 30)
        throw new Error(`invalid --bip ${this.opts.bip}: use an address with prefix, e.g. 10.200.0.1/16`);
    } else if (bridge && this.subnetOf(bridge)) {
      subnet = this.subnetOf(bridge);
      gateway = cidrAddress(this.gatewayOf(bridge) ?? '');
    } else {
      subnet = await this.allocateSubnet(DEFAULT_BRIDGE_POOLS, bridge?.id);
      if (!subnet)
        subnet = await this.allocateSubnet(
          this.opts.defaultAddressPools ?? DEFAULT_ADDRESS_POOLS,
          bridge?.id,
        );
      if (!subnet) throw new Error('no free subnet for the default bridge; set --bip');
      gateway = subnet.base + 1;
    }
    const ipamConfig = [{ Subnet: formatCidr(subnet!), Gateway: formatIp(gateway!) }];
    const bridgeName = this.names.defaultBridge;
    if (!bridge) {
      const id = newId();
      bridge = {
        id,
        name: 'bridge',
        driver: 'bridge',
        created,
        builtin: true,
        internal: false,
        attachable: false,
        labels: {},
        options: {
          'com.docker.network.bridge.default_bridge': 'true',
          'com.docker.network.bridge.enable_icc': 'true',
          'com.docker.network.bridge.enable_ip_masquerade': 'true',
          'com.docker.network.bridge.host_binding_ipv4': '0.0.0.0',
          'com.docker.network.bridge.name': bridgeName,
          'com.docker.network.driver.mtu': String(this.defaultMtu),
        },
        ipam: { driver: 'default', config: ipamConfig, options: {} },
        bridge: bridgeName,
        mtu: this.defaultMtu,
      };
      this.store.networks.set(id, bridge);
    } else if (
      bridge.ipam.config[0]?.Subnet !== ipamConfig[0].Subnet ||
      bridge.ipam.config[0]?.Gateway !== ipamConfig[0].Gateway
    ) {
      if (this.store.endpointsOn(bridge.id).length)
        throw new Error(
          `cannot change the default bridge's address to ${this.opts.bip} while containers use it`,
        );
      bridge.ipam.config = ipamConfig;
      this.ipam.removePool(bridge.id);
    }
    if (bridge.mtu !== this.defaultMtu) {
      bridge.mtu = this.defaultMtu;
      bridge.options['com.docker.network.driver.mtu'] = String(this.defaultMtu);
    }
    if (!this.ipam.has(bridge.id)) this.ipam.addPool(bridge.id, { subnet: subnet!, gateway: gateway! });
    await this.store.saveNetworks();
    await this.ipam.save();
  }

  /** Bridge up with its address(es); embedded DNS listening on user networks' gateways. */
  async ensureNetworkUp(n: NetworkRecord): Promise<void> {
    if (n.driver !== 'bridge' || !n.bridge) return;
    const subnet = this.subnetOf(n)!;
    const gw = this.gatewayOf(n)!;
    const subnet6 = n.enableIPv6 ? this.subnet6Of(n) : undefined;
    await runSteps(
      bridgeSteps(this.kernel, {
        name: n.bridge,
        gatewayCidr: `${gw}/${subnet.prefix}`,
        ...(subnet6 ? { gateway6Cidr: `${this.gateway6Of(n)!}/${subnet6.prefix}` } : {}),
        mac: macForIp(parseIp(gw)!),
        mtu: n.mtu ?? this.defaultMtu,
      }),
      this.log,
    );
    if (this.isUserNetwork(n)) {
      try {
        await this.dns.listen(this.gatewayOf(n)!);
      } catch (err) {
        this.log.warn('embedded DNS could not listen; names will not resolve on this network', {
          network: n.name,
          err: err as Error,
        });
      }
    }
  }

  async removeNetworkKernel(n: NetworkRecord): Promise<void> {
    if (n.driver !== 'bridge' || !n.bridge) return;
    if (this.gatewayOf(n)) await this.dns.unlisten(this.gatewayOf(n)!);
    await tolerateMissing(() => this.kernel.ip([`link del ${n.bridge}`]));
  }

  /** The whole nftables table from state, applied atomically. */
  async applyRules(): Promise<void> {
    const bridges = [...this.store.networks.values()]
      .filter((n) => n.driver === 'bridge' && n.bridge && this.subnetOf(n))
      .map((n) => ({
        bridge: n.bridge!,
        subnet: formatCidr(this.subnetOf(n)!),
        internal: n.internal,
        masquerade: n.options['com.docker.network.bridge.enable_ip_masquerade'] !== 'false',
      }));
    const dnat: DnatRule[] = [];
    for (const rec of this.store.containers.values()) {
      const target = rec.sandbox?.endpoints[0]?.ip;
      if (!target) continue;
      // IPv6 host addresses are proxied by their sockets (ports.ts): the table is IPv4.
      for (const p of rec.sandbox!.ports)
        if (!p.hostIp.includes(':')) dnat.push({ ...p, containerIp: target });
    }
    await this.kernel.nft(renderHostRules({ table: this.names.table, bridges, dnat }));
  }

  /** Kernel objects of this daemon when nothing runs any more (clean daemon stop): table, bridges, DNS. */
  async removeAllKernelState(): Promise<void> {
    await this.dns.close();
    this.ports.releaseAll();
    await this.kernel.nft(renderDeleteTable(this.names.table));
    for (const n of this.store.networks.values()) await this.removeNetworkKernel(n);
  }

  /** Overlap check for a user-chosen subnet. */
  async overlapsExisting(subnet: Cidr, except?: string): Promise<boolean> {
    return (await this.takenSubnets(except)).some((t) => overlaps(t, subnet));
  }
}
