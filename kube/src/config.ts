/** berth-kube's command line. */
import { isLogLevel, type LogLevel } from './log.js';

export interface KubeConfig {
  engine?: string;
  nodeName?: string;
  nodeIP?: string;
  clusterDns?: string;
  clusterDomain?: string;
  podCIDR?: string;
  podNetwork?: string;
  proxyTable?: string;
  dnsPort?: number;
  /** The Ingress controller's listeners on the host; null: that listener is off. */
  ingressHttp?: { host: string; port: number } | null;
  ingressHttps?: { host: string; port: number } | null;
  hostAddress?: string;
  dataDir: string;
  kubeconfig: string;
  listen: string;
  datastoreEndpoint?: string;
  logLevel: LogLevel;
}

export class UsageError extends Error {}

export const USAGE = `Usage: berth-kube --data-dir DIR --kubeconfig FILE [options]

Berth's single-node Kubernetes control plane (API server 1.32).

Options:
  --engine unix://SOCK         berthd's Engine API socket: runs the kubelet (pods as berthd containers)
  --node-name NAME             the node's name (default: the host name, or "berth")
  --node-ip IP                 the node's InternalIP (default: the address of the default route)
  --cluster-dns IP             the nameserver pods get with dnsPolicy ClusterFirst (default 10.43.0.10)
  --cluster-domain DOMAIN      the cluster's DNS domain (default cluster.local)
  --pod-cidr CIDR              the pod network's subnet (default 10.42.0.0/16)
  --pod-network NAME           the engine network pods join (default berth-pods)
  --proxy-table NAME           the service proxy's nftables table (default berth-kube-proxy)
  --dns-port PORT              the cluster DNS's port on the pod network's gateway (default 10053)
  --ingress-http HOST:PORT     where Ingresses answer HTTP (default port 80 on --host-address; "off" to not serve;
                               a port that cannot be bound falls back to PORT+8000, then any free port)
  --ingress-https HOST:PORT    the same for HTTPS (default port 443 on --host-address)
  --host-address IP            where LoadBalancer and node ports listen (default 127.0.0.1; in Berth's VM
                               0.0.0.0, so the host's port forwards reach them)
  --data-dir DIR               state: certificates, the embedded datastore (one berth-kube per dir)
  --kubeconfig FILE            where to write the admin kubeconfig (mode 0600, context "berth")
  --listen HOST:PORT           HTTPS address of the API server (default 127.0.0.1:6443; port 0 picks one)
  --datastore-endpoint URL     http(s)://HOST:PORT for etcd v3, memory:// for a throwaway store
                               (default: embedded SQLite in the data dir)
  --log-level LEVEL            debug, info, warn, error (default info)
  -h, --help                   this text
`;

/** HOST:PORT (IPv4, `localhost` or `[v6]`), or "off". */
function hostPort(flag: string, v: string): { host: string; port: number } | null {
  if (v === 'off') return null;
  const m = /^(\[[0-9a-fA-F:]+\]|[^:]+):(\d+)$/.exec(v);
  const port = m ? Number(m[2]) : NaN;
  if (!m || !Number.isInteger(port) || port < 0 || port > 65535)
    throw new UsageError(`${flag} wants HOST:PORT (such as 127.0.0.1:80) or off`);
  return { host: m[1].replace(/^\[|\]$/g, ''), port };
}

export function parseArgs(argv: string[]): { kind: 'help' } | { kind: 'run'; config: KubeConfig } {
  const c: Partial<KubeConfig> = { listen: '127.0.0.1:6443', logLevel: 'info' };
  for (let i = 0; i < argv.length; i++) {
    let a = argv[i];
    let v: string | undefined;
    const eq = a.indexOf('=');
    if (a.startsWith('--') && eq > 0) {
      v = a.slice(eq + 1);
      a = a.slice(0, eq);
    }
    const value = () => {
      if (v !== undefined) return v;
      const next = argv[++i];
      if (next === undefined) throw new UsageError(`${a} needs a value`);
      return next;
    };
    switch (a) {
      case '-h':
      case '--help':
        return { kind: 'help' };
      case '--engine':
        c.engine = value();
        break;
      case '--node-name':
        c.nodeName = value();
        break;
      case '--node-ip':
        c.nodeIP = value();
        break;
      case '--cluster-dns':
        c.clusterDns = value();
        break;
      case '--cluster-domain':
        c.clusterDomain = value();
        break;
      case '--pod-cidr':
        c.podCIDR = value();
        break;
      case '--pod-network':
        c.podNetwork = value();
        break;
      case '--proxy-table': {
        const t = value();
        if (!/^[A-Za-z][A-Za-z0-9_-]{0,63}$/.test(t))
          throw new UsageError('--proxy-table wants a name (letters, digits, - and _)');
        c.proxyTable = t;
        break;
      }
      case '--dns-port': {
        const n = Number(value());
        if (!Number.isInteger(n) || n < 1 || n > 65535)
          throw new UsageError('--dns-port wants a port (1-65535)');
        c.dnsPort = n;
        break;
      }
      case '--ingress-http':
      case '--ingress-https': {
        const listen = hostPort(a, value());
        if (a === '--ingress-http') c.ingressHttp = listen;
        else c.ingressHttps = listen;
        break;
      }
      case '--host-address': {
        const ip = value();
        if (!/^\d{1,3}(\.\d{1,3}){3}$/.test(ip)) throw new UsageError('--host-address wants an IPv4 address');
        c.hostAddress = ip;
        break;
      }
      case '--data-dir':
        c.dataDir = value();
        break;
      case '--kubeconfig':
        c.kubeconfig = value();
        break;
      case '--listen':
        c.listen = value();
        break;
      case '--datastore-endpoint':
        c.datastoreEndpoint = value();
        break;
      case '--log-level': {
        const l = value();
        if (!isLogLevel(l)) throw new UsageError(`unknown log level ${l}`);
        c.logLevel = l;
        break;
      }
      default:
        throw new UsageError(`unknown flag ${a}`);
    }
  }
  if (!c.dataDir) throw new UsageError('--data-dir is required');
  if (!c.kubeconfig) throw new UsageError('--kubeconfig is required');
  if (c.engine && !c.engine.startsWith('unix://'))
    throw new UsageError('--engine wants unix:///path/to/socket');
  if (
    c.nodeName !== undefined &&
    !/^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/.test(c.nodeName)
  )
    throw new UsageError(`--node-name ${c.nodeName} is not a valid node name (lowercase DNS subdomain)`);
  for (const [flag, ip] of [
    ['--node-ip', c.nodeIP],
    ['--cluster-dns', c.clusterDns],
  ] as const)
    if (ip !== undefined && !/^\d{1,3}(\.\d{1,3}){3}$/.test(ip))
      throw new UsageError(`${flag} wants an IPv4 address`);
  if (c.podCIDR !== undefined && !/^\d{1,3}(\.\d{1,3}){3}\/\d{1,2}$/.test(c.podCIDR))
    throw new UsageError('--pod-cidr wants an IPv4 CIDR such as 10.42.0.0/16');
  return { kind: 'run', config: c as KubeConfig };
}
