/**
 * The network domain's persistent state under <data-root>/network/: networks.json (every network, builtin ones
 * included, so their ids are stable) and containers.json (each registered container's network request,
 * attachments and, while running, its sandbox). Both written atomically; IPAM keeps its own file.
 */
import { promises as fsp } from 'node:fs';
import path from 'node:path';
import type { IPAMConfig } from '@berth/common';
import { readJson, removeStaleTemps, writeJsonAtomic } from '../util/fs-atomic.js';
import type { ContainerNetworkRequest } from './types.js';

export type NetworkDriver = 'bridge' | 'host' | 'null';

export interface NetworkRecord {
  id: string;
  name: string;
  driver: NetworkDriver;
  created: string;
  /** bridge, host, none: cannot be removed or created by users. */
  builtin: boolean;
  internal: boolean;
  attachable: boolean;
  labels: Record<string, string>;
  options: Record<string, string>;
  ipam: { driver: string; config: IPAMConfig[]; options: Record<string, string> };
  /** The subnet came from the address pools, not the user (then --ip is refused, as dockerd). */
  autoSubnet?: boolean;
  /** Bridge interface (bridge driver). */
  bridge?: string;
  /** EnableIPv6: endpoints also get an address of the IPv6 subnet (the ipam config's IPv6 entry). */
  enableIPv6?: boolean;
  mtu?: number;
}

/** A container's wish to be on a network (from create or connect); survives restarts. */
export interface Attachment {
  networkId: string;
  endpointId: string;
  aliases: string[];
  /** --ip: a static address kept across restarts. */
  ipv4?: string;
  /** --ip6 (IPAMConfig.IPv6Address). */
  ipv6?: string;
  mac?: string;
  links: string[];
  driverOpts: Record<string, string>;
}

export interface EndpointState {
  networkId: string;
  endpointId: string;
  ip: string;
  prefix: number;
  gateway: string;
  mac: string;
  /** On an EnableIPv6 network: the container's IPv6 address, its prefix length and the gateway. */
  ipv6?: string;
  prefix6?: number;
  gateway6?: string;
  /** Host-side veth name. */
  hostVeth: string;
  /** Interface name inside the netns (eth0, eth1...). */
  ifname: string;
}

export interface PublishedPort {
  proto: 'tcp' | 'udp';
  containerPort: number;
  /** '0.0.0.0' for every host address. */
  hostIp: string;
  hostPort: number;
}

export type ModeState =
  { kind: 'bridge' } | { kind: 'host' } | { kind: 'none' } | { kind: 'container'; containerId: string };

export interface SandboxState {
  /** Docker's SandboxID: random 64 hex. */
  id: string;
  /** Name under /run/netns when this container owns a netns. */
  netns?: string;
  endpoints: EndpointState[];
  ports: PublishedPort[];
}

export interface ContainerRecord {
  req: ContainerNetworkRequest;
  mode: ModeState;
  attachments: Attachment[];
  sandbox?: SandboxState;
}

interface NetworksFile {
  version: 1;
  networks: NetworkRecord[];
}

interface ContainersFile {
  version: 1;
  containers: Record<string, ContainerRecord>;
}

export class NetStore {
  readonly networks = new Map<string, NetworkRecord>();
  readonly containers = new Map<string, ContainerRecord>();

  constructor(readonly dir: string) {}

  async load(): Promise<void> {
    await fsp.mkdir(this.dir, { recursive: true, mode: 0o700 });
    await removeStaleTemps(this.dir);
    const n = await readJson<NetworksFile>(path.join(this.dir, 'networks.json'), {
      version: 1,
      networks: [],
    });
    for (const r of n.networks) this.networks.set(r.id, r);
    const c = await readJson<ContainersFile>(path.join(this.dir, 'containers.json'), {
      version: 1,
      containers: {},
    });
    for (const [id, r] of Object.entries(c.containers)) this.containers.set(id, r);
  }

  async saveNetworks(): Promise<void> {
    const f: NetworksFile = { version: 1, networks: [...this.networks.values()] };
    await writeJsonAtomic(path.join(this.dir, 'networks.json'), f);
  }

  async saveContainers(): Promise<void> {
    const f: ContainersFile = { version: 1, containers: Object.fromEntries(this.containers) };
    await writeJsonAtomic(path.join(this.dir, 'containers.json'), f);
  }

  /** By full id, name, or unique id prefix (dockerd's lookup order). */
  findNetwork(ref: string): NetworkRecord | undefined {
    const byId = this.networks.get(ref);
    if (byId) return byId;
    for (const n of this.networks.values()) if (n.name === ref) return n;
    const matches = [...this.networks.values()].filter((n) => n.id.startsWith(ref));
    return matches.length === 1 ? matches[0] : undefined;
  }

  /** Containers with an endpoint (live, in a sandbox) on the network. */
  endpointsOn(networkId: string): { containerId: string; record: ContainerRecord; ep: EndpointState }[] {
    const out: { containerId: string; record: ContainerRecord; ep: EndpointState }[] = [];
    for (const [containerId, record] of this.containers) {
      for (const ep of record.sandbox?.endpoints ?? [])
        if (ep.networkId === networkId) out.push({ containerId, record, ep });
    }
    return out;
  }
}
