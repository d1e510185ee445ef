/**
 * The networking contract `containers/` codes against. The network domain owns everything about a container's
 * network: its netns (a bind mount it creates before runtime.create() and removes after the container stops),
 * endpoints, addresses, published ports, DNS names and the /etc/hosts and /etc/resolv.conf contents.
 *
 * Lifecycle, called by containers/:
 *   create  → register(req)          validates (throws InvalidParameter/NotFound/Conflict) and records the request
 *   start   → setUp(id)              → SandboxSetup: put `net` into RuntimeSpec.namespaces.net, write `etc`
 *   exit    → tearDown(id)           idempotent; also after a failed start
 *   rm      → unregister(id)
 *   inspect → settings(id), ports(id)
 *   daemon start → reconcile(known, running) once containers/ knows which containers still run
 * `docker network connect/disconnect` on a running container changes its netns live and calls
 * ContainerLookup.writeEtcFiles so /etc/hosts follows, as dockerd does.
 */
import type { EndpointSettings, NetworkSettings, Port, PortMap } from '@berth/common';
import type { NamespaceSpec } from '../runtime/types.js';

/** What containers/ passes at create: the network-related parts of the create request, already defaulted. */
export interface ContainerNetworkRequest {
  /** Full 64-hex container id. */
  id: string;
  /** Without the leading '/'. */
  name: string;
  hostname: string;
  domainname?: string;
  /** HostConfig.NetworkMode as sent: '', 'default', 'bridge', 'host', 'none', 'container:<name|id>', or a network name/id. */
  networkMode: string;
  /** NetworkingConfig.EndpointsConfig (network name or id → settings: IPAMConfig, Aliases, MacAddress, Links). */
  endpoints: Record<string, EndpointSettings>;
  /** HostConfig.PortBindings ('80/tcp' → [{HostIp, HostPort}], HostPort may be a range '8000-8010'). */
  portBindings: PortMap;
  /** HostConfig.PublishAllPorts (-P): every exposed port gets a random host port. */
  publishAllPorts: boolean;
  /** Config.ExposedPorts keys merged with the image's ('80/tcp', '53/udp'). */
  exposedPorts: string[];
  /** HostConfig.Links: 'name:alias' or 'name' (default bridge only). */
  links: string[];
  dns: string[];
  dnsSearch: string[];
  dnsOptions: string[];
  /** HostConfig.ExtraHosts: 'host:ip' (ip may be 'host-gateway'). */
  extraHosts: string[];
  /** Config.MacAddress (deprecated top-level form of --mac-address). */
  macAddress?: string;
}

/** What the runtime needs to start the container's process in its network. */
export interface SandboxSetup {
  /** Put this into RuntimeSpec.namespaces.net. */
  net: NamespaceSpec;
  /** Contents of /etc/hosts and /etc/resolv.conf; containers/ writes the files it bind-mounts. */
  etc: EtcFiles;
}

export interface EtcFiles {
  hosts: string;
  resolvConf: string;
}

/** What the network domain needs to know about containers (implemented by containers/). */
export interface ContainerLookup {
  /** Full id, unique id prefix or name (with or without '/'), or undefined. */
  find(ref: string): { id: string; name: string; running: boolean } | undefined;
  /** Rewrites a running container's /etc/hosts (and resolv.conf) after connect/disconnect. */
  writeEtcFiles(id: string, files: EtcFiles): Promise<void>;
}

export interface ContainerNetworking {
  register(req: ContainerNetworkRequest): Promise<void>;
  unregister(id: string): Promise<void>;
  setUp(id: string): Promise<SandboxSetup>;
  tearDown(id: string): Promise<void>;
  /** HostConfig.Links changed (`docker rm --link`): kept, and /etc/hosts follows while it runs. */
  setLinks(id: string, links: string[]): Promise<void>;
  /** Container inspect's NetworkSettings (Ports and addresses filled while running). */
  settings(id: string): NetworkSettings;
  /** `docker ps` ports (empty when not running). */
  ports(id: string): Port[];
  /** HostConfig.NetworkMode as Docker reports it ('bridge' for '' and 'default'). */
  networkMode(id: string): string;
  /** Removes netns, veths, rules and allocations that neither `known` containers nor networks account for;
   *  re-applies rules and port reservations for `running` ones. */
  reconcile(known: ReadonlySet<string>, running: ReadonlySet<string>): Promise<void>;
}
