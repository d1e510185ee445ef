/**
 * The host side of the VM connection, run as its own background process (`tunnel/main.ts`) so it outlives
 * `berth start`: the engine socket on the host (each connection piped to the engine's published TCP port,
 * token first), containers' published ports followed from /events (through the VM's own network when the
 * driver offers port control, SSH as the fallback), and static forwards to the guest's loopback (SSH, connected on first use, re-made when it drops).
 */
import type { GuestEndpoint, PortControlSpec } from '../vm/driver.js';
import { openPortControl } from '../vm/factory.js';
import { PortForwarder } from '../ports/forwarder.js';
import { PortControlPublisher, SshPortPublisher, type PortPublisher } from '../ports/publisher.js';
import { ServicePortWatcher } from '../ports/service-watcher.js';
import { ContainerPortWatcher } from '../ports/watcher.js';
import { EngineDialer } from './engine-dialer.js';
import { enginePreamble } from './engine-tcp.js';
import { forwardUnixSocket } from './socket-forward.js';
import { connectWithRetry, dialGuest, type SshClient } from './ssh.js';

export interface TunnelConfig {
  endpoint: Extract<GuestEndpoint, { kind: 'vm' }>;
  /** The driver's port control (when it offers one): published ports go through the VM's network. */
  portControl?: PortControlSpec;
  socketPath: string;
  /** Forwards kept for the tunnel's lifetime (host 127.0.0.1:hostPort → guest 127.0.0.1:guestPort). */
  forwards: { hostPort: number; guestPort: number }[];
  /** Follow containers' published ports (on by default). */
  followPorts: boolean;
  /** The host's copy of Berth's cluster admin kubeconfig: its LoadBalancer and node ports are followed too. */
  kubeconfig?: string;
  /** Berth's log directory (~/.berth/logs): the tunnel writes tunnel.log and ports.log there. */
  logs?: string;
}

export type TunnelLog = (msg: string, fields?: Record<string, unknown>) => void;

export interface Tunnel {
  forwarder: PortForwarder;
  close(): Promise<void>;
}

/** `portLog` gets what concerns published ports (forwards made, refused, fallen back to SSH). */
export async function startTunnel(
  cfg: TunnelConfig,
  log: TunnelLog,
  portLog: TunnelLog = log,
): Promise<Tunnel> {
  const ep = cfg.endpoint;
  let client: Promise<SshClient> | undefined;
  let closed = false;
  const getClient = (): Promise<SshClient> => {
    if (closed) return Promise.reject(new Error('tunnel closed'));
    if (!client) {
      const p = connectWithRetry(ep.ssh, Date.now() + 30_000);
      client = p;
      p.then(
        (c) => {
          log('SSH connected to the VM', { port: ep.ssh.port });
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
  const dialer = new EngineDialer(ep.engine.port, await enginePreamble(ep.engine));
  const sock = await forwardUnixSocket(
    cfg.socketPath,
    () => dialer.dial(),
    (err) => log('engine connection failed', { err: err.message }),
  );
  log('engine socket ready', { socket: cfg.socketPath, enginePort: ep.engine.port });
  const forwarder = new PortForwarder(
    async (port, host) => dialGuest(await getClient(), port, host),
    (msg, err) => portLog(msg, { err: err.message }),
  );
  for (const f of cfg.forwards) await forwarder.add({ ...f, owner: 'static' });
  let publisher: PortPublisher = new SshPortPublisher(forwarder, portLog);
  if (cfg.portControl) {
    const ctl = openPortControl(cfg.portControl);
    const viaVm = new PortControlPublisher(ctl, publisher, portLog);
    try {
      await viaVm.reconcile([ep.engine.port, ep.ssh.port]);
      publisher = viaVm;
    } catch (err) {
      portLog(`${ctl.name} is not available; published ports go over SSH`, { err: (err as Error).message });
    }
  }
  const watcher = cfg.followPorts ? new ContainerPortWatcher(cfg.socketPath, publisher, portLog) : undefined;
  // Not awaited: the engine may still be booting; the watcher retries until /events answers.
  void watcher?.start();
  const services = cfg.kubeconfig ? new ServicePortWatcher(cfg.kubeconfig, publisher, portLog) : undefined;
  services?.start();
  return {
    forwarder,
    async close() {
      closed = true;
      await services?.stop();
      await watcher?.stop();
      await publisher.closeAll();
      await forwarder.closeAll();
      await sock.close();
      dialer.close();
      const c = await client?.catch(() => undefined);
      c?.end();
    },
  };
}
