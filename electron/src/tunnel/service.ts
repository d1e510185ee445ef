/**
 * The host side of the VM connection, run as its own background process (`tunnel/main.ts`) so it outlives
 * `berth start`: one SSH connection to the guest (re-made when it drops), the engine socket on the host,
 * and port forwards (static ones from the config, and containers' published ports followed from /events).
 */
import { ContainerPortWatcher } from '../ports/watcher.js';
import { PortForwarder } from '../ports/forwarder.js';
import { forwardUnixSocket } from './socket-forward.js';
import { connectWithRetry, dialGuest, type SshClient, type SshEndpoint } from './ssh.js';

export interface TunnelConfig {
  endpoint: SshEndpoint;
  socketPath: string;
  /** Forwards kept for the tunnel's lifetime (host 127.0.0.1:hostPort → guest 127.0.0.1:guestPort). */
  forwards: { hostPort: number; guestPort: number }[];
  /** Follow containers' published ports (on by default). */
  followPorts: boolean;
}

export type TunnelLog = (msg: string, fields?: Record<string, unknown>) => void;

export interface Tunnel {
  forwarder: PortForwarder;
  close(): Promise<void>;
}

export async function startTunnel(cfg: TunnelConfig, log: TunnelLog): Promise<Tunnel> {
  let client: Promise<SshClient> | undefined;
  let closed = false;
  const getClient = (): Promise<SshClient> => {
    if (closed) return Promise.reject(new Error('tunnel closed'));
    if (!client) {
      const p = connectWithRetry(cfg.endpoint, Date.now() + 30_000);
      client = p;
      p.then(
        (c) => {
          log('connected to the VM', { port: cfg.endpoint.port });
          c.once('close', () => {
            if (client === p) client = undefined;
            if (!closed) log('SSH connection to the VM closed');
          });
        },
        () => {
          if (client === p) client = undefined;
        },
      );
    }
    return client;
  };
  await getClient();
  const dial = async (port: number) => dialGuest(await getClient(), port);
  const sock = await forwardUnixSocket(cfg.socketPath, () => dial(cfg.endpoint.enginePort), (err) => log('engine connection failed', { err: err.message }));
  log('engine socket ready', { socket: cfg.socketPath });
  const forwarder = new PortForwarder(dial, (msg, err) => log(msg, { err: err.message }));
  for (const f of cfg.forwards) await forwarder.add({ ...f, owner: 'static' });
  const watcher = cfg.followPorts ? new ContainerPortWatcher(cfg.socketPath, forwarder, log) : undefined;
  await watcher?.start();
  return {
    forwarder,
    async close() {
      closed = true;
      await watcher?.stop();
      await forwarder.closeAll();
      await sock.close();
      const c = await client?.catch(() => undefined);
      c?.end();
    },
  };
}
