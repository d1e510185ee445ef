/**
 * Containers' published ports on the host's 127.0.0.1, two ways: the VM's own network forwards, when the
 * driver offers port control (the hypervisor moves the bytes: no SSH crypto, tcp and udp), and SSH channels
 * (the fallback: when port control is not there or fails, and for ports the guest binds to its loopback only).
 */
import { PortInUseError, type HostForward, type PortControl } from '../vm/driver.js';
import type { PortForwarder } from './forwarder.js';
import type { PublishedPort } from './published.js';

export type PortLog = (msg: string, fields?: Record<string, unknown>) => void;

export interface PortPublisher {
  /** Makes `p` answer on the host's 127.0.0.1:p.port; false (and a logged warning) when it cannot. */
  add(owner: string, p: PublishedPort): Promise<boolean>;
  removeOwner(owner: string): Promise<void>;
  closeAll(): Promise<void>;
}

const key = (p: Pick<PublishedPort, 'proto' | 'port'>) => `${p.port}/${p.proto}`;

/** Over SSH channels (tcp only). */
export class SshPortPublisher implements PortPublisher {
  constructor(
    private readonly fwd: PortForwarder,
    private readonly log: PortLog,
  ) {}

  async add(owner: string, p: PublishedPort): Promise<boolean> {
    if (p.proto !== 'tcp') {
      this.log('warning: udp ports cannot be forwarded over SSH; not published on the host', {
        container: owner.slice(0, 12),
        port: p.port,
      });
      return false;
    }
    return this.fwd.add({
      hostPort: p.port,
      guestPort: p.port,
      owner,
      ...(p.ipv6Loopback ? { ipv6Loopback: true } : {}),
    });
  }
  removeOwner(owner: string): Promise<void> {
    return this.fwd.removeOwner(owner);
  }
  closeAll(): Promise<void> {
    return this.fwd.closeAll();
  }
}

/** Through the VM's own network (the driver's `PortControl`), with the SSH publisher for what it cannot carry. */
export class PortControlPublisher implements PortPublisher {
  private readonly active = new Map<string, { owner: string; rule: HostForward }>();

  constructor(
    private readonly ctl: PortControl,
    private readonly fallback: PortPublisher,
    private readonly log: PortLog,
    private readonly hostAddr = '127.0.0.1',
  ) {}

  /** Removes forwards an earlier tunnel left in this VM (all but `keepHostPorts`: SSH, the engine). */
  async reconcile(keepHostPorts: number[]): Promise<void> {
    for (const f of await this.ctl.list()) {
      if (f.proto === 'tcp' && keepHostPorts.includes(f.hostPort)) continue;
      await this.ctl.remove(f);
      this.log('removed a stale port forward', { port: f.hostPort, proto: f.proto });
    }
  }

  async add(owner: string, p: PublishedPort): Promise<boolean> {
    if (p.loopbackOnly) return this.fallback.add(owner, p);
    if (this.active.has(key(p))) return false;
    const rule: HostForward = {
      proto: p.proto,
      hostAddr: this.hostAddr,
      hostPort: p.port,
      guestPort: p.port,
    };
    try {
      await this.ctl.add(rule);
    } catch (err) {
      if (err instanceof PortInUseError) {
        this.log(
          `warning: cannot publish ${this.hostAddr}:${p.port}/${p.proto} on the host: the port is already in use there`,
          { container: owner.slice(0, 12) },
        );
        return false;
      }
      const msg = (err as Error).message;
      this.log(`${this.ctl.name} port forward failed; using SSH`, { port: p.port, proto: p.proto, err: msg });
      return this.fallback.add(owner, p);
    }
    this.active.set(key(p), { owner, rule });
    return true;
  }

  private async remove(k: string): Promise<void> {
    const a = this.active.get(k);
    if (!a) return;
    this.active.delete(k);
    await this.ctl
      .remove(a.rule)
      .catch((err: Error) =>
        this.log('cannot remove a port forward', { port: a.rule.hostPort, err: err.message }),
      );
  }

  async removeOwner(owner: string): Promise<void> {
    for (const [k, a] of [...this.active]) if (a.owner === owner) await this.remove(k);
    await this.fallback.removeOwner(owner);
  }

  async closeAll(): Promise<void> {
    for (const k of [...this.active.keys()]) await this.remove(k);
    await this.fallback.closeAll();
  }
}
