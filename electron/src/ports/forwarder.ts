/**
 * Listeners on the host's 127.0.0.1 for ports published inside the guest: each accepted connection is
 * piped to a connection the `dial` function opens to that port inside (an SSH direct-tcpip channel).
 */
import net from 'node:net';
import type { Duplex } from 'node:stream';
import { splice } from '../tunnel/socket-forward.js';

export type PortDial = (guestPort: number, guestHost?: string) => Promise<Duplex>;

export interface PortForward {
  hostPort: number;
  guestPort: number;
  /** Who asked for it (a container id, or "static"); forwards are removed by owner. */
  owner: string;
  /** IPv6 loopback on both ends (`-p [::1]:P:…` in the guest): listen on the host's ::1, dial [::1] inside. */
  ipv6Loopback?: boolean;
}

export class PortForwarder {
  private readonly servers = new Map<
    number,
    { fwd: PortForward; server: net.Server; conns: Set<net.Socket> }
  >();
  constructor(
    private readonly dial: PortDial,
    private readonly onError: (msg: string, err: Error) => void = () => {},
    private readonly host = '127.0.0.1',
  ) {}

  list(): PortForward[] {
    return [...this.servers.values()].map((s) => s.fwd);
  }

  /** Starts listening on host `hostPort`; an existing forward of the same port is kept (first wins). */
  async add(fwd: PortForward): Promise<boolean> {
    if (this.servers.has(fwd.hostPort)) return false;
    const conns = new Set<net.Socket>();
    const server = net.createServer({ allowHalfOpen: true }, (client) => {
      conns.add(client);
      client.once('close', () => conns.delete(client));
      client.pause();
      this.dial(fwd.guestPort, fwd.ipv6Loopback ? '::1' : undefined).then(
        (remote) => {
          splice(client, remote);
          client.resume();
        },
        (err: Error) => {
          this.onError(`cannot reach port ${fwd.guestPort} in the VM`, err);
          client.destroy();
        },
      );
    });
    this.servers.set(fwd.hostPort, { fwd, server, conns });
    try {
      await new Promise<void>((resolve, reject) => {
        server.once('error', reject);
        server.listen(fwd.hostPort, fwd.ipv6Loopback ? '::1' : this.host, () => resolve());
      });
    } catch (err) {
      this.servers.delete(fwd.hostPort);
      this.onError(
        `cannot listen on ${fwd.ipv6Loopback ? '[::1]' : this.host}:${fwd.hostPort}`,
        err as Error,
      );
      return false;
    }
    return true;
  }

  async remove(hostPort: number): Promise<void> {
    const s = this.servers.get(hostPort);
    if (!s) return;
    this.servers.delete(hostPort);
    const closed = new Promise<void>((resolve) => s.server.close(() => resolve()));
    // The forward is gone: its open connections go with it (server.close alone would wait for them).
    for (const c of s.conns) c.destroy();
    await closed;
  }

  async removeOwner(owner: string): Promise<void> {
    for (const f of this.list()) if (f.owner === owner) await this.remove(f.hostPort);
  }

  async closeAll(): Promise<void> {
    for (const f of this.list()) await this.remove(f.hostPort);
  }
}
