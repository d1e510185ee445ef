/** The QEMU driver's `PortControl`: user-mode network forwards to the guest, made with hostfwd_add/remove over QMP. */
import type { HostForward, PortControl } from '../driver.js';
import { hostfwdAdd, hostfwdList, hostfwdRemove, type QmpAddress } from './qmp.js';

/** What the tunnel process is handed (JSON): where QMP listens, the user netdev, the guest's address on it. */
export interface QmpPortParams {
  qmp: QmpAddress;
  netdev: string;
  guestIp: string;
}

export class QmpPortControl implements PortControl {
  readonly name = 'QMP';
  private queue: Promise<unknown> = Promise.resolve();

  constructor(private readonly o: QmpPortParams) {}

  /** QMP takes one client at a time: commands go one after another. */
  private serial<T>(f: () => Promise<T>): Promise<T> {
    const next = this.queue.then(f, f);
    this.queue = next.catch(() => undefined);
    return next;
  }

  async list(): Promise<HostForward[]> {
    const rules = await this.serial(() => hostfwdList(this.o.qmp));
    return rules.map((r) => ({
      proto: r.proto,
      hostAddr: r.hostAddr,
      hostPort: r.hostPort,
      guestPort: r.guestPort,
    }));
  }

  add(f: HostForward): Promise<void> {
    return this.serial(() => hostfwdAdd(this.o.qmp, this.o.netdev, { ...f, guestAddr: this.o.guestIp }));
  }

  remove(f: Pick<HostForward, 'proto' | 'hostAddr' | 'hostPort'>): Promise<boolean> {
    return this.serial(() => hostfwdRemove(this.o.qmp, this.o.netdev, f));
  }
}
