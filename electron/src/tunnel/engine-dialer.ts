/**
 * Connections to the guest engine for the host socket: each token-acknowledged (see HOST_TOKEN_ACK), so a
 * connection is handed to a client only once the guest holds it; until then nothing of the client's was sent
 * and a connection that drops is simply dialled again.
 *
 * Dials go one at a time. A VM's user-mode network may listen on the host with a backlog of 1 and accept only
 * when its main loop gets to it (slowly under emulation; see the driver that publishes the engine port): a
 * burst of connects overflows the kernel's accept queue, and those connections are reset or left half-open
 * with no one reading them (the "socket hang up" that kept-alive clients saw through the tunnel). A few spare connections, dialled ahead, serve a burst (a dashboard opening
 * its first requests) without waiting; kept-alive clients make new ones rare after that.
 */
import type net from 'node:net';
import { dialOnce } from './engine-tcp.js';

export interface DialerOptions {
  /** Acknowledged connections kept ready (default 2). */
  spares?: number;
  /** How long one dial may take once it is this dial's turn, retries included (default 30 s). */
  timeoutMs?: number;
}

export class EngineDialer {
  private readonly ready: { sock: net.Socket; release(): void }[] = [];
  private readonly queue: { resolve: (s: net.Socket) => void; reject: (e: Error) => void }[] = [];
  private busy = false;
  private closed = false;

  constructor(
    private readonly port: number,
    private readonly preamble: Uint8Array,
    private readonly o: DialerOptions = {},
  ) {}

  /** A connection for one client; waits its turn behind earlier dials. */
  dial(): Promise<net.Socket> {
    if (this.closed) return Promise.reject(new Error('the engine tunnel is closed'));
    const spare = this.takeSpare();
    if (spare) {
      this.pump();
      return Promise.resolve(spare);
    }
    const p = new Promise<net.Socket>((resolve, reject) => this.queue.push({ resolve, reject }));
    this.pump();
    return p;
  }

  /** Spares and waiters are let go. */
  close(): void {
    this.closed = true;
    for (const s of this.ready.splice(0)) s.sock.destroy();
    for (const w of this.queue.splice(0)) w.reject(new Error('the engine tunnel is closed'));
  }

  private takeSpare(): net.Socket | undefined {
    for (let s = this.ready.shift(); s; s = this.ready.shift()) {
      s.release();
      if (!s.sock.destroyed && s.sock.readable) return s.sock;
    }
    return undefined;
  }

  private pump(): void {
    if (this.busy || this.closed) return;
    const wanted = this.queue.length > 0 || this.ready.length < (this.o.spares ?? 2);
    if (!wanted) return;
    this.busy = true;
    void this.dialWithRetries().then(
      (s) => {
        this.busy = false;
        const w = this.queue.shift();
        if (w) w.resolve(s);
        else if (this.closed) s.destroy();
        else this.keepSpare(s);
        this.pump();
      },
      (err: Error) => {
        this.busy = false;
        // Nobody is served by this failure but the first waiter; spares are not retried until asked.
        this.queue.shift()?.reject(err);
        if (this.queue.length) this.pump();
      },
    );
  }

  private keepSpare(sock: net.Socket): void {
    // A spare the guest closes (berthd restarted) is dropped; once handed out, the client's pipe owns it.
    const drop = () => {
      const i = this.ready.findIndex((r) => r.sock === sock);
      if (i >= 0) this.ready.splice(i, 1);
      sock.destroy();
    };
    const events = ['close', 'error', 'end'] as const;
    for (const ev of events) sock.once(ev, drop);
    this.ready.push({ sock, release: () => events.forEach((ev) => sock.off(ev, drop)) });
  }

  private async dialWithRetries(): Promise<net.Socket> {
    const deadline = Date.now() + (this.o.timeoutMs ?? 30_000);
    for (let attempt = 0; ; attempt++) {
      try {
        return await dialOnce(
          this.port,
          this.preamble,
          Math.max(500, Math.min(10_000, deadline - Date.now())),
        );
      } catch (e) {
        if (this.closed || Date.now() + 10 >= deadline) throw e;
        await new Promise((r) => setTimeout(r, Math.min(10 * 2 ** attempt, 500)));
      }
    }
  }
}

/** One acknowledged connection to the engine, with retries, outside a tunnel (tests, one-off tools). */
export function dialEngine(port: number, preamble: Uint8Array, timeoutMs = 30_000): Promise<net.Socket> {
  return new EngineDialer(port, preamble, { spares: 0, timeoutMs }).dial();
}
