/** berthd configuration: dockerd's flags where they apply, merged over a daemon.json-style file. */
import { readFileSync } from 'node:fs';
import { isLogLevel, type LogLevel } from './log.js';

export interface DaemonConfig {
  dataRoot: string;
  hosts: string[];
  registryMirrors: string[];
  insecureRegistries: string[];
  logLevel: LogLevel;
  pidfile?: string;
  configFile?: string;
  /** Default bridge (later issues): kept here so daemon.json round-trips. */
  bip?: string;
  defaultAddressPools?: { base: string; size: number }[];
  /** --dns: upstream servers of the embedded DNS and default nameservers of containers. */
  dns?: string[];
  /** --mtu: default MTU of container networks (berth: 65520; dockerd: 1500). */
  mtu?: number;
  maxConcurrentDownloads: number;
  /** cgroup parent for containers (--cgroup-parent); default derived from the data root (runtime/index.ts). */
  cgroupParent?: string;
  /** Runtime state: shim sockets, exit files (--exec-root); default derived from the data root. */
  execRoot?: string;
  /** --host-token-file: every tcp:// host requires this per-install secret first (api/token-gate.ts). */
  hostTokenFile?: string;
  /** --header-timeout: seconds a client may take to send a request's headers (dockerd's ReadHeaderTimeout). */
  headerTimeoutSeconds: number;
}

export const DEFAULTS: DaemonConfig = {
  dataRoot: '/var/lib/berth',
  hosts: ['unix:///run/berth/docker.sock'],
  registryMirrors: [],
  insecureRegistries: [],
  logLevel: 'info',
  maxConcurrentDownloads: 3,
  headerTimeoutSeconds: 300,
};

export class UsageError extends Error {}

const USAGE = `Usage: berthd [OPTIONS]

Berth's container engine (Docker Engine API v1.44).

Options:
      --bip string                  Default bridge's address with prefix (e.g. 10.200.0.1/16)
      --cgroup-parent string        Parent cgroup for all containers (default "berth")
      --config-file string          Daemon configuration file (daemon.json format)
      --data-root string            Root directory of persistent state (default "/var/lib/berth")
      --default-address-pool pool   Pool for user networks' subnets: base=10.216.0.0/13,size=24
      --dns list                    DNS server for containers and the embedded resolver
      --header-timeout seconds      Time a client has to send a request's headers (default 300)
      --exec-root string            Root directory for runtime state (default "/run/berth/runtime")
      --mtu int                     Default MTU of container networks (default 65520)
  -H, --host list                   Daemon socket(s) to listen on (default unix:///run/berth/docker.sock)
      --host-token-file string      tcp:// hosts first require the 64-hex-digit token in this file
      --insecure-registry list      Registry (host:port) reached over plain HTTP
  -l, --log-level string            debug, info, warn, error, fatal (default "info")
      --max-concurrent-downloads n  Parallel layer downloads per pull (default 3)
  -p, --pidfile string              Path to write the daemon's pid
      --registry-mirror list        Mirror tried first for docker.io
  -v, --version                     Print version and exit
  -h, --help                        Print usage
`;

export type ParseResult =
  { kind: 'run'; config: DaemonConfig } | { kind: 'help'; text: string } | { kind: 'version' };

interface FileConfig {
  'data-root'?: string;
  hosts?: string[];
  'registry-mirrors'?: string[];
  'insecure-registries'?: string[];
  'log-level'?: string;
  pidfile?: string;
  bip?: string;
  'default-address-pools'?: { base: string; size: number }[];
  dns?: string[];
  mtu?: number;
  'max-concurrent-downloads'?: number;
  'cgroup-parent'?: string;
  'exec-root'?: string;
}

function readConfigFile(file: string): FileConfig {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    throw new UsageError(`unable to read config file ${file}: ${(err as Error).message}`);
  }
  try {
    const v: unknown = JSON.parse(text);
    if (typeof v !== 'object' || v === null || Array.isArray(v)) throw new Error('not a JSON object');
    return v;
  } catch (err) {
    throw new UsageError(`invalid config file ${file}: ${(err as Error).message}`);
  }
}

/** dockerd's `--default-address-pool base=10.10.0.0/16,size=24`. */
function parsePool(v: string): { base: string; size: number } {
  const kv = Object.fromEntries(v.split(',').map((p) => p.split('=', 2) as [string, string]));
  const size = Number(kv.size);
  if (
    !kv.base ||
    !/^\d+\.\d+\.\d+\.\d+\/\d+$/.test(kv.base) ||
    !Number.isInteger(size) ||
    size < 1 ||
    size > 30
  ) {
    throw new UsageError(`invalid --default-address-pool ${v}: use base=<cidr>,size=<prefix length>`);
  }
  return { base: kv.base, size };
}

export function parseArgs(argv: string[]): ParseResult {
  const flags: Partial<DaemonConfig> & {
    hosts?: string[];
    registryMirrors?: string[];
    insecureRegistries?: string[];
  } = {};
  const list = (k: 'hosts' | 'registryMirrors' | 'insecureRegistries', v: string) => {
    (flags[k] ??= []).push(v);
  };
  for (let i = 0; i < argv.length; i++) {
    let arg = argv[i];
    let value: string | undefined;
    const eq = arg.indexOf('=');
    if (arg.startsWith('--') && eq > 0) {
      value = arg.slice(eq + 1);
      arg = arg.slice(0, eq);
    }
    const next = (): string => {
      if (value !== undefined) return value;
      const v = argv[++i];
      if (v === undefined) throw new UsageError(`flag needs an argument: ${arg}`);
      return v;
    };
    switch (arg) {
      case '-h':
      case '--help':
        return { kind: 'help', text: USAGE };
      case '-v':
      case '--version':
        return { kind: 'version' };
      case '--data-root':
        flags.dataRoot = next();
        break;
      case '-H':
      case '--host':
        list('hosts', next());
        break;
      case '--registry-mirror':
        list('registryMirrors', next());
        break;
      case '--insecure-registry':
        list('insecureRegistries', next());
        break;
      case '-l':
      case '--log-level': {
        const l = next();
        if (!isLogLevel(l)) throw new UsageError(`invalid log level: ${l}`);
        flags.logLevel = l;
        break;
      }
      case '-p':
      case '--pidfile':
        flags.pidfile = next();
        break;
      case '--config-file':
        flags.configFile = next();
        break;
      case '--host-token-file':
        flags.hostTokenFile = next();
        break;
      case '--cgroup-parent':
        flags.cgroupParent = next();
        break;
      case '--exec-root':
        flags.execRoot = next();
        break;
      case '--bip':
        flags.bip = next();
        break;
      case '--default-address-pool':
        (flags.defaultAddressPools ??= []).push(parsePool(next()));
        break;
      case '--dns':
        (flags.dns ??= []).push(next());
        break;
      case '--mtu': {
        const n = Number(next());
        if (!Number.isInteger(n) || n < 68 || n > 65535)
          throw new UsageError('--mtu must be an integer between 68 and 65535');
        flags.mtu = n;
        break;
      }
      case '--header-timeout': {
        const n = Number(next());
        if (!Number.isFinite(n) || n <= 0)
          throw new UsageError('--header-timeout must be a positive number of seconds');
        flags.headerTimeoutSeconds = n;
        break;
      }
      case '--max-concurrent-downloads': {
        const n = Number(next());
        if (!Number.isInteger(n) || n < 1)
          throw new UsageError('--max-concurrent-downloads must be a positive integer');
        flags.maxConcurrentDownloads = n;
        break;
      }
      default:
        throw new UsageError(`unknown flag: ${arg}\nSee 'berthd --help'.`);
    }
  }
  const file: FileConfig = flags.configFile ? readConfigFile(flags.configFile) : {};
  const fileLevel = file['log-level'];
  if (fileLevel !== undefined && !isLogLevel(fileLevel))
    throw new UsageError(`invalid log level in config file: ${fileLevel}`);
  // dockerd refuses a setting given both as a flag and in the file; we let the flag win for lists by merging.
  const config: DaemonConfig = {
    ...DEFAULTS,
    dataRoot: flags.dataRoot ?? file['data-root'] ?? DEFAULTS.dataRoot,
    hosts: flags.hosts ?? file.hosts ?? DEFAULTS.hosts,
    registryMirrors: [...(flags.registryMirrors ?? []), ...(file['registry-mirrors'] ?? [])],
    insecureRegistries: [...(flags.insecureRegistries ?? []), ...(file['insecure-registries'] ?? [])],
    logLevel: flags.logLevel ?? fileLevel ?? DEFAULTS.logLevel,
    maxConcurrentDownloads:
      flags.maxConcurrentDownloads ?? file['max-concurrent-downloads'] ?? DEFAULTS.maxConcurrentDownloads,
    headerTimeoutSeconds: flags.headerTimeoutSeconds ?? DEFAULTS.headerTimeoutSeconds,
  };
  const pidfile = flags.pidfile ?? file.pidfile;
  if (pidfile) config.pidfile = pidfile;
  if (flags.configFile) config.configFile = flags.configFile;
  if (flags.hostTokenFile) config.hostTokenFile = flags.hostTokenFile;
  const cgroupParent = flags.cgroupParent ?? file['cgroup-parent'];
  if (cgroupParent !== undefined) {
    if (
      !/^\/?[a-zA-Z0-9_.-]+(\/[a-zA-Z0-9_.-]+)*$/.test(cgroupParent) ||
      cgroupParent.split('/').includes('..')
    ) {
      throw new UsageError(
        `invalid cgroup parent ${JSON.stringify(cgroupParent)}: use a relative path like "berth" or "a/b"`,
      );
    }
    config.cgroupParent = cgroupParent.replace(/^\//, '');
  }
  const execRoot = flags.execRoot ?? file['exec-root'];
  if (execRoot !== undefined) config.execRoot = execRoot;
  const bip = flags.bip ?? file.bip;
  if (bip) config.bip = bip;
  const pools = flags.defaultAddressPools ?? file['default-address-pools'];
  if (pools) config.defaultAddressPools = pools;
  const dns = flags.dns ?? file.dns;
  if (dns) config.dns = dns;
  const mtu = flags.mtu ?? file.mtu;
  if (mtu) config.mtu = mtu;
  for (const h of config.hosts) {
    if (!/^(unix|tcp):\/\//.test(h))
      throw new UsageError(`invalid host ${h}: use unix:///path or tcp://host:port`);
  }
  for (const m of config.registryMirrors) {
    if (!/^https?:\/\/[^/]+/.test(m))
      throw new UsageError(`invalid registry mirror ${m}: must be an http(s) URL`);
  }
  return { kind: 'run', config };
}
