/**
 * Network setup as a sequence of idempotent ensure-steps (CNI bridge plugin style): each step checks or
 * tolerates "already exists", and a failed sequence undoes the steps that completed, newest first.
 */
import type { Logger } from '../log.js';
import { KernelError, type NetKernel, type VethSpec } from '../sys/net.js';

export interface Step {
  name: string;
  run(): Promise<void>;
  undo?(): Promise<void>;
}

export async function runSteps(steps: Step[], log: Logger): Promise<void> {
  const done: Step[] = [];
  try {
    for (const s of steps) {
      await s.run();
      done.push(s);
    }
  } catch (err) {
    for (const s of done.reverse()) {
      try {
        await s.undo?.();
      } catch (undoErr) {
        log.warn('rollback step failed', { step: s.name, err: undoErr as Error });
      }
    }
    throw err;
  }
}

/** Runs `fn`, treating the kernel's "already exists" as success. */
export async function tolerateExists(fn: () => Promise<void>): Promise<void> {
  try {
    await fn();
  } catch (err) {
    if (!(err instanceof KernelError && err.exists)) throw err;
  }
}

/** Runs `fn`, treating "no such device/namespace" as success (removal of something already gone). */
export async function tolerateMissing(fn: () => Promise<void>): Promise<void> {
  try {
    await fn();
  } catch (err) {
    if (!(err instanceof KernelError && err.missing)) throw err;
  }
}

export interface BridgeSpec {
  name: string;
  /** Fixed MAC: a bridge without one takes the lowest port's MAC, so it would change as containers come and
   *  go, and containers' ARP entries for the gateway would point at a MAC the bridge no longer has. */
  mac: string;
  /** Gateway address with the subnet's prefix, e.g. 10.98.0.1/16. */
  gatewayCidr: string;
  /** EnableIPv6 networks: the IPv6 gateway with its prefix, e.g. fd00::1/64. */
  gateway6Cidr?: string;
  mtu: number;
}

/** Bridge exists, is a bridge, carries exactly its gateway address, is up, and allows 127.0.0.1 DNAT. */
export function bridgeSteps(k: NetKernel, b: BridgeSpec): Step[] {
  let created = false;
  return [
    {
      name: 'ensureBridge',
      async run() {
        const link = (await k.links()).find((l) => l.name === b.name);
        if (link && link.kind !== 'bridge')
          throw new Error(`interface ${b.name} exists and is not a bridge; choose another bridge name`);
        if (!link) {
          await tolerateExists(() => k.ip([`link add ${b.name} type bridge`]));
          created = true;
        }
      },
      async undo() {
        if (created) await tolerateMissing(() => k.ip([`link del ${b.name}`]));
      },
    },
    {
      name: 'ensureBridgeAddress',
      async run() {
        const addrs = (await k.addrs()).filter((a) => a.dev === b.name);
        const stale = addrs
          .filter((a) => a.cidr !== b.gatewayCidr)
          .map((a) => `addr del ${a.cidr} dev ${b.name}`);
        const add = addrs.some((a) => a.cidr === b.gatewayCidr)
          ? []
          : [`addr replace ${b.gatewayCidr} dev ${b.name}`];
        await k.ip([...stale, ...add, `link set ${b.name} address ${b.mac} mtu ${b.mtu} up`]);
      },
    },
    {
      name: 'ensureBridgeAddress6',
      async run() {
        if (!b.gateway6Cidr) return;
        // nodad: the gateway answers at once (duplicate address detection would hold it "tentative" ~1 s).
        await k.sysctl(`net.ipv6.conf.${b.name}.disable_ipv6`, '0');
        await k.ip([`addr replace ${b.gateway6Cidr} dev ${b.name} nodad`]);
      },
    },
    {
      name: 'ensureBridgeSysctls',
      async run() {
        // route_localnet: 127.0.0.1:<published> is DNATed out of this bridge (the localhost masquerade
        // rule makes the source routable); ip_forward: outbound NAT and published ports on host addresses.
        await k.sysctl(`net.ipv4.conf.${b.name}.route_localnet`, '1');
        await k.sysctl('net.ipv4.ip_forward', '1');
      },
    },
  ];
}

/** A netns; `loUp` brings its loopback up (bridge mode does it in the address batch instead). */
export function netnsStep(k: NetKernel, name: string, loUp = true): Step {
  let created = false;
  return {
    name: 'ensureNetns',
    async run() {
      if ((await k.netnsList()).includes(name)) return;
      await k.netnsAdd(name);
      created = true;
      if (loUp) await k.ip(['link set lo up'], name);
    },
    async undo() {
      if (created) await tolerateMissing(() => k.netnsDelete(name));
    },
  };
}

export interface EndpointIfaceSpec extends VethSpec {
  /** Container address with prefix. */
  cidr: string;
  /** Default route via this gateway (only the container's first network with a gateway). */
  defaultGateway?: string;
  /** EnableIPv6 networks: the container's IPv6 address with prefix, and the IPv6 default route. */
  cidr6?: string;
  defaultGateway6?: string;
}

/** veth pair with the peer created directly inside the netns, plugged into the bridge, hairpin on. */
export function vethSteps(k: NetKernel, e: EndpointIfaceSpec): Step[] {
  return [
    {
      name: 'ensureVeth',
      async run() {
        await tolerateExists(() =>
          k.ip([
            `link add ${e.hostName} mtu ${e.mtu} master ${e.bridge} up type veth peer name ${e.peerName} netns ${e.netns} mtu ${e.mtu} address ${e.mac}`,
            // Hairpin: a container reaching its own published port through the host comes back on its port.
            `link set ${e.hostName} type bridge_slave hairpin on`,
          ]),
        );
      },
      async undo() {
        await tolerateMissing(() => k.ip([`link del ${e.hostName}`]));
      },
    },
    {
      name: 'ensureContainerAddress',
      async run() {
        await k.ip(
          [
            'link set lo up',
            `addr replace ${e.cidr} dev ${e.peerName}`,
            ...(e.cidr6 ? [`addr replace ${e.cidr6} dev ${e.peerName} nodad`] : []),
            `link set ${e.peerName} up`,
            ...(e.defaultGateway ? [`route replace default via ${e.defaultGateway} dev ${e.peerName}`] : []),
            ...(e.defaultGateway6
              ? [`route replace default via ${e.defaultGateway6} dev ${e.peerName}`]
              : []),
          ],
          e.netns,
        );
      },
    },
  ];
}

/**
 * Docker's resolver address inside the netns: 127.0.0.11:53 is DNATed to the embedded DNS server listening
 * on the network's gateway, with the source rewritten to the container's address so the server knows who
 * asks. route_localnet lets a 127/8-sourced packet leave through the interface until SNAT rewrites it.
 */
export function dnsRedirectStep(
  k: NetKernel,
  netns: string,
  ifname: string,
  dnsServer: string,
  containerIp: string,
): Step {
  const script = [
    'add table ip berth_dns',
    'delete table ip berth_dns',
    'table ip berth_dns {',
    '  chain output {',
    '    type nat hook output priority -100; policy accept;',
    `    ip daddr 127.0.0.11 udp dport 53 dnat to ${dnsServer}:53`,
    `    ip daddr 127.0.0.11 tcp dport 53 dnat to ${dnsServer}:53`,
    '  }',
    '  chain postrouting {',
    '    type nat hook postrouting priority srcnat; policy accept;',
    `    ip saddr 127.0.0.0/8 ip daddr ${dnsServer} snat to ${containerIp}`,
    '  }',
    '}',
    '',
  ].join('\n');
  return {
    name: 'ensureDnsRedirect',
    async run() {
      await k.inNetns(netns, { [`net.ipv4.conf.${ifname}.route_localnet`]: '1' }, script);
    },
  };
}

/** Removes the DNS redirect (the container left every network with embedded DNS). */
export async function removeDnsRedirect(k: NetKernel, netns: string): Promise<void> {
  await k.inNetns(netns, {}, 'add table ip berth_dns\ndelete table ip berth_dns\n');
}
