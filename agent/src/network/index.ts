/**
 * The network domain, composed: `createNetworking()` loads state, makes sure the builtin networks, bridges,
 * DNS listeners and nftables table exist, and hands out the API side (`networks`) and the containers side
 * (`sandboxes`, the ContainerNetworking contract of types.ts).
 */
import type { EventBus } from '../events/bus.js';
import type { Logger } from '../log.js';
import type { AddressPool } from './ipam.js';
import type { NetKernel } from '../sys/net.js';
import { registerDaemon, sweepOrphans, unregisterDaemon } from './janitor.js';
import { NetworkManager } from './manager.js';
import { NetNames } from './names.js';
import { Networks } from './networks.js';
import { NetworkResolver } from './resolver.js';
import { Sandboxes } from './sandboxes.js';
import type { ContainerLookup } from './types.js';

export type {
  ContainerNetworking,
  ContainerNetworkRequest,
  ContainerLookup,
  SandboxSetup,
  EtcFiles,
} from './types.js';

export interface Networking {
  readonly manager: NetworkManager;
  readonly networks: Networks;
  readonly sandboxes: Sandboxes;
  /** Stops DNS and port holders; when no container is attached any more, also removes bridges and rules. */
  close(): Promise<void>;
}

export interface CreateNetworkingOptions {
  dataRoot: string;
  log: Logger;
  events?: EventBus;
  bip?: string;
  defaultAddressPools?: AddressPool[];
  dns?: string[];
  mtu?: number;
  /** Overrides the per-daemon name prefix (default: derived from the data root). */
  prefix?: string;
  kernel?: NetKernel;
  resolvConf?: string;
  /** Where daemons record their prefixes for the orphan sweep (tests use their own). */
  registryDir?: string;
  /** Name/id lookup and /etc file rewriting, over the containers domain's records. */
  containers?: ContainerLookup;
}

export async function createNetworking(o: CreateNetworkingOptions): Promise<Networking> {
  const resolver = new NetworkResolver();
  const manager = new NetworkManager(
    {
      dataRoot: o.dataRoot,
      names: o.prefix ? new NetNames(o.prefix) : NetNames.forDataRoot(o.dataRoot),
      log: o.log.child({ component: 'network' }),
      ...(o.events ? { events: o.events } : {}),
      ...(o.bip ? { bip: o.bip } : {}),
      ...(o.defaultAddressPools ? { defaultAddressPools: o.defaultAddressPools } : {}),
      ...(o.dns ? { dns: o.dns } : {}),
      ...(o.mtu ? { mtu: o.mtu } : {}),
      ...(o.kernel ? { kernel: o.kernel } : {}),
      ...(o.resolvConf ? { resolvConf: o.resolvConf } : {}),
      ...(o.containers ? { containers: o.containers } : {}),
    },
    resolver,
  );
  resolver.manager = manager;
  await registerDaemon(manager.names.prefix, o.dataRoot, o.registryDir);
  await sweepOrphans(manager.kernel, manager.names.prefix, manager.log, o.registryDir);
  await manager.store.load();
  await manager.ipam.load();
  await manager.ipam6.load();
  await manager.ensureBuiltins();
  // Pools of networks that no longer exist (a crash between the two files) are dropped.
  for (const id of manager.ipam.poolIds()) if (!manager.store.networks.has(id)) manager.ipam.removePool(id);
  for (const id of manager.ipam6.poolIds()) if (!manager.store.networks.has(id)) manager.ipam6.removePool(id);
  await manager.ipam.save();
  await manager.ipam6.save();
  for (const n of manager.store.networks.values()) await manager.ensureNetworkUp(n);
  await manager.applyRules();
  const networks = new Networks(manager);
  const sandboxes = new Sandboxes(manager);
  return {
    manager,
    networks,
    sandboxes,
    async close() {
      await manager.locked(async () => {
        const live = [...manager.store.containers.values()].some((c) => c.sandbox);
        if (live) {
          await manager.dns.close();
          manager.ports.releaseAll();
        } else {
          await manager.removeAllKernelState();
          await unregisterDaemon(manager.names.prefix, o.registryDir);
        }
      });
    },
  };
}
