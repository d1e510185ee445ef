/**
 * The network domain's kernel port: iproute2 and nft, run as child processes (Node has no netlink). Every
 * call is one process; batches keep a container's setup to a handful of them. Policy lives in the callers;
 * this module only speaks the tools' languages. Lives in sys/ beside the other kernel ports (DESIGN example 5).
 */
import { spawn } from 'node:child_process';
import { promises as fsp } from 'node:fs';

export class KernelError extends Error {
  constructor(
    readonly command: string,
    readonly stderr: string,
    readonly exitCode: number,
  ) {
    super(`${command}: ${stderr.trim() || `exit ${exitCode}`}`);
    this.name = 'KernelError';
  }
  /** "File exists" / "already assigned": the thing is already there, which ensure-steps count as success. */
  get exists(): boolean {
    return /File exists|already assigned|already exists/i.test(this.stderr);
  }
  get missing(): boolean {
    return /Cannot find device|No such|does not exist|not found/i.test(this.stderr);
  }
}

export interface LinkInfo {
  name: string;
  ifindex: number;
  kind: string;
  master?: string;
  mtu: number;
  up: boolean;
  address: string;
}

export interface AddrInfo {
  dev: string;
  cidr: string;
}

export interface VethSpec {
  hostName: string;
  /** Name of the peer inside the netns (eth0, eth1...). */
  peerName: string;
  netns: string;
  mtu: number;
  mac: string;
  bridge: string;
}

export interface NetKernel {
  links(netns?: string): Promise<LinkInfo[]>;
  addrs(netns?: string): Promise<AddrInfo[]>;
  /** Host routes (destination CIDRs) used to avoid subnets that collide with the host's networks. */
  routes(): Promise<{ dst: string; dev: string }[]>;
  /** Runs `ip -batch`; each line an ip command without the leading 'ip'. */
  ip(lines: string[], netns?: string): Promise<void>;
  /** `ip -force -batch`: runs every line even after failures; failures other than "already gone" throw. */
  ipForce(lines: string[]): Promise<void>;
  netnsAdd(name: string): Promise<void>;
  netnsDelete(name: string): Promise<void>;
  netnsList(): Promise<string[]>;
  netnsPath(name: string): string;
  sysctl(key: string, value: string): Promise<void>;
  /** Sets sysctls and applies an nft script inside a netns in one process. */
  inNetns(netns: string, sysctls: Record<string, string>, nftScript?: string): Promise<void>;
  /** Applies an nft script atomically (one transaction). */
  nft(script: string): Promise<void>;
  nftTables(): Promise<{ family: string; name: string }[]>;
}

const NETNS_DIR = '/run/netns';

function exec(cmd: string, args: string[], input?: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { stdio: [input === undefined ? 'ignore' : 'pipe', 'pipe', 'pipe'] });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout!.on('data', (d: Buffer) => out.push(d));
    child.stderr!.on('data', (d: Buffer) => err.push(d));
    child.on('error', (e) => reject(new KernelError(`${cmd} ${args.join(' ')}`, e.message, -1)));
    child.on('close', (code) => {
      if (code === 0) resolve(Buffer.concat(out).toString('utf8'));
      else
        reject(
          new KernelError(
            `${cmd} ${args.slice(0, 4).join(' ')}`,
            Buffer.concat(err).toString('utf8'),
            code ?? -1,
          ),
        );
    });
    if (child.stdin) {
      // A tool that exits early (error) closes its stdin: that is reported through the exit code.
      child.stdin.on('error', () => undefined);
      child.stdin.end(input);
    }
  });
}

interface IpLinkJson {
  ifindex: number;
  ifname: string;
  flags?: string[];
  mtu: number;
  master?: string;
  address?: string;
  linkinfo?: { info_kind?: string };
}

interface IpAddrJson {
  ifname: string;
  addr_info?: { family: string; local: string; prefixlen: number }[];
}

const nsArgs = (netns?: string): string[] => (netns ? ['-n', netns] : []);

export class IprouteKernel implements NetKernel {
  async links(netns?: string): Promise<LinkInfo[]> {
    const rows = JSON.parse(
      (await exec('ip', [...nsArgs(netns), '-j', '-d', 'link', 'show'])) || '[]',
    ) as IpLinkJson[];
    return rows.map((r) => ({
      name: r.ifname,
      ifindex: r.ifindex,
      kind: r.linkinfo?.info_kind ?? '',
      ...(r.master ? { master: r.master } : {}),
      mtu: r.mtu,
      up: (r.flags ?? []).includes('UP'),
      address: r.address ?? '',
    }));
  }

  async addrs(netns?: string): Promise<AddrInfo[]> {
    const rows = JSON.parse(
      (await exec('ip', [...nsArgs(netns), '-j', '-4', 'addr', 'show'])) || '[]',
    ) as IpAddrJson[];
    return rows.flatMap((r) =>
      (r.addr_info ?? []).map((a) => ({ dev: r.ifname, cidr: `${a.local}/${a.prefixlen}` })),
    );
  }

  async routes(): Promise<{ dst: string; dev: string }[]> {
    const rows = JSON.parse((await exec('ip', ['-j', '-4', 'route', 'show', 'table', 'main'])) || '[]') as {
      dst: string;
      dev: string;
    }[];
    return rows.map((r) => ({ dst: r.dst, dev: r.dev }));
  }

  async ip(lines: string[], netns?: string): Promise<void> {
    if (lines.length === 0) return;
    await exec('ip', [...nsArgs(netns), '-batch', '-'], lines.join('\n') + '\n');
  }

  async ipForce(lines: string[]): Promise<void> {
    if (lines.length === 0) return;
    try {
      await exec('ip', ['-force', '-batch', '-'], lines.join('\n') + '\n');
    } catch (err) {
      if (!(err instanceof KernelError)) throw err;
      const real = err.stderr
        .split('\n')
        .filter(
          (l) =>
            l.trim() &&
            !/^Command failed/.test(l) &&
            !/Cannot find device|No such file|does not exist|Invalid netns/i.test(l),
        );
      if (real.length) throw err;
    }
  }

  async netnsAdd(name: string): Promise<void> {
    await exec('ip', ['netns', 'add', name]);
  }

  async netnsDelete(name: string): Promise<void> {
    await exec('ip', ['netns', 'delete', name]);
  }

  async netnsList(): Promise<string[]> {
    try {
      return (await fsp.readdir(NETNS_DIR)).filter((n) => !n.startsWith('.'));
    } catch {
      return [];
    }
  }

  netnsPath(name: string): string {
    return `${NETNS_DIR}/${name}`;
  }

  async sysctl(key: string, value: string): Promise<void> {
    await fsp.writeFile(`/proc/sys/${key.replace(/\./g, '/')}`, value);
  }

  async inNetns(netns: string, sysctls: Record<string, string>, nftScript?: string): Promise<void> {
    // /proc/sys/net belongs to the netns of the process that opens it, hence a shell inside the netns.
    const writes = Object.entries(sysctls).map(([k, v]) => `echo ${v} > /proc/sys/${k.replace(/\./g, '/')}`);
    if (nftScript !== undefined) writes.push('exec nft -f -');
    await exec(
      'nsenter',
      [`--net=${this.netnsPath(netns)}`, '--', 'sh', '-ec', writes.join('\n')],
      nftScript,
    );
  }

  async nft(script: string): Promise<void> {
    await exec('nft', ['-f', '-'], script);
  }

  async nftTables(): Promise<{ family: string; name: string }[]> {
    const out = await exec('nft', ['-j', 'list', 'tables']);
    const parsed = JSON.parse(out) as { nftables: { table?: { family: string; name: string } }[] };
    return parsed.nftables.flatMap((x) => (x.table ? [{ family: x.table.family, name: x.table.name }] : []));
  }
}
