/** berth-kube's command line. */
import { isLogLevel, type LogLevel } from './log.js';

export interface KubeConfig {
  engine?: string;
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
  --engine unix://SOCK         berthd's Engine API socket (the kubelet's only way to containers)
  --data-dir DIR               state: certificates, the embedded datastore (one berth-kube per dir)
  --kubeconfig FILE            where to write the admin kubeconfig (mode 0600, context "berth")
  --listen HOST:PORT           HTTPS address of the API server (default 127.0.0.1:6443; port 0 picks one)
  --datastore-endpoint URL     http(s)://HOST:PORT for etcd v3, memory:// for a throwaway store
                               (default: embedded SQLite in the data dir)
  --log-level LEVEL            debug, info, warn, error (default info)
  -h, --help                   this text
`;

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
  return { kind: 'run', config: c as KubeConfig };
}
