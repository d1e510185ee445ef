/**
 * Kernel object names owned by one daemon. Interface names have at most 15 bytes and are global to the host,
 * so every bridge, veth, netns and nftables table carries a per-daemon prefix: 'berth' for the default data
 * root, 'b' + 4 hex of the data root's hash otherwise (parallel test daemons never collide, and reconcile
 * only ever touches names with its own prefix). Never 'docker0'/'br-*'/'veth*', so a Docker on the same host
 * is left alone.
 */
import { createHash } from 'node:crypto';

export const DEFAULT_DATA_ROOT = '/var/lib/berth';

export class NetNames {
  constructor(readonly prefix: string) {
    if (!/^[a-z][a-z0-9]{1,4}$/.test(prefix)) throw new Error(`invalid network name prefix: ${prefix}`);
  }

  static forDataRoot(dataRoot: string): NetNames {
    if (dataRoot === DEFAULT_DATA_ROOT) return new NetNames('berth');
    return new NetNames('b' + createHash('sha256').update(dataRoot).digest('hex').slice(0, 4));
  }

  /** The default `bridge` network's interface (dockerd: docker0). */
  get defaultBridge(): string {
    return `${this.prefix}0`;
  }

  /** A user network's bridge: prefix-<part of the network id>, 15 bytes. */
  bridgeFor(networkId: string): string {
    return `${this.prefix}-${networkId.slice(0, 14 - this.prefix.length)}`;
  }

  /** Host side of a veth pair: prefix + 'v' + random hex (the peer is created inside the netns as eth0...). */
  vethFor(random: string): string {
    return `${this.prefix}v${random.slice(0, 14 - this.prefix.length)}`;
  }

  /** True for interfaces this daemon creates (bridges it made itself and host-side veths). */
  ownsLink(name: string): boolean {
    return (
      name === this.defaultBridge || name.startsWith(`${this.prefix}-`) || name.startsWith(`${this.prefix}v`)
    );
  }

  isVeth(name: string): boolean {
    return name.startsWith(`${this.prefix}v`);
  }

  /** A container's netns, bind-mounted under /run/netns so `ip -n` reaches it. */
  netnsFor(containerId: string): string {
    return `${this.prefix}-${containerId.slice(0, 12)}`;
  }

  ownsNetns(name: string): boolean {
    return name.startsWith(`${this.prefix}-`);
  }

  /** The nftables table (family ip) holding all of this daemon's rules. */
  get table(): string {
    return `${this.prefix}`;
  }
}
