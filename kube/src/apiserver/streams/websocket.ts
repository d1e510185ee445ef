/**
 * WebSocket upgrades and the channel protocols over them (k8s.io wsstream): every message starts with its channel
 * (a byte in `channel.k8s.io`, an ASCII digit before base64 text in `base64.channel.k8s.io`); `v5.channel.k8s.io`
 * adds the close signal `[255, channel]` for a half-close. Channels are exposed as Node streams with back-pressure:
 * a lagging reader pauses the WebSocket, a socket that will not take more holds back writers.
 */
import type { IncomingMessage } from 'node:http';
import { Readable, Writable, type Duplex } from 'node:stream';
import { WebSocketServer, type WebSocket } from 'ws';

/** Bytes a writer may queue on the socket before it waits for it to drain. */
const WRITE_BUFFER = 1024 * 1024;
const CLOSE_SIGNAL = 255;

const chosen = new WeakMap<IncomingMessage, string>();
const server = new WebSocketServer({
  noServer: true,
  perMessageDeflate: false,
  clientTracking: false,
  handleProtocols: (_offered, req) => chosen.get(req) || false,
});

export function isWebSocketRequest(req: IncomingMessage): boolean {
  const upgrade = String(req.headers.upgrade ?? '').toLowerCase();
  const connection = String(req.headers.connection ?? '').toLowerCase();
  return upgrade === 'websocket' && connection.includes('upgrade');
}

/** The subprotocols a client offers, in its order. */
export function offeredProtocols(req: IncomingMessage): string[] {
  return String(req.headers['sec-websocket-protocol'] ?? '')
    .split(',')
    .map((p) => p.trim())
    .filter(Boolean);
}

/**
 * Completes the handshake answering with `protocol` ('' for none). Rejects if the handshake itself is bad (ws has
 * then answered 400 and closed the socket).
 */
export function acceptWebSocket(
  req: IncomingMessage,
  socket: Duplex,
  head: Buffer,
  protocol: string,
): Promise<WebSocket> {
  chosen.set(req, protocol);
  return new Promise((resolve, reject) => {
    const failed = () => reject(new Error('websocket handshake failed'));
    socket.once('close', failed);
    server.handleUpgrade(req, socket, head, (ws) => {
      socket.off('close', failed);
      resolve(ws);
    });
  });
}

export type ChannelMode = 'read' | 'write' | 'readwrite' | 'ignore';

export interface ChannelOptions {
  base64: boolean;
  /** v5: `[255, n]` from the client ends channel n's input. */
  closeSignal: boolean;
  /** Per channel number: what the client may do with it. */
  channels: ChannelMode[];
}

/** One multiplexed WebSocket: `input(n)` reads what the client sends on n, `output(n)` writes to it. */
export class ChannelSocket {
  private readonly inputs = new Map<number, Readable>();
  private readonly blocked = new Set<number>();
  private readonly closeHandlers: Array<() => void> = [];
  closed = false;

  constructor(
    readonly ws: WebSocket,
    private readonly opts: ChannelOptions,
  ) {
    opts.channels.forEach((mode, n) => {
      if (mode !== 'read' && mode !== 'readwrite') return;
      this.inputs.set(
        n,
        new Readable({
          highWaterMark: WRITE_BUFFER,
          read: () => {
            if (this.blocked.delete(n) && this.blocked.size === 0 && !this.closed) this.ws.resume();
          },
        }),
      );
    });
    ws.on('message', (data: Buffer, isBinary: boolean) => this.onMessage(data, isBinary));
    ws.on('close', () => this.onClosed());
    ws.on('error', () => this.onClosed());
  }

  private onMessage(data: Buffer, _isBinary: boolean): void {
    if (!data.length) return;
    if (this.opts.closeSignal && data[0] === CLOSE_SIGNAL) {
      if (data.length !== 2) return this.close(1002, 'single channel byte should follow stream close signal');
      this.endInput(data[1]);
      return;
    }
    let n = data[0];
    let payload = data.subarray(1);
    if (this.opts.base64) {
      n -= 0x30; // '0'
      payload = Buffer.from(payload.toString('latin1'), 'base64');
    }
    const input = this.inputs.get(n);
    // Channels the client may not write (or that do not exist) swallow the data, as wsstream does.
    if (!input || input.readableEnded || input.destroyed) return;
    if (!input.push(payload)) {
      this.blocked.add(n);
      this.ws.pause();
    }
  }

  private endInput(n: number): void {
    const input = this.inputs.get(n);
    if (input && !input.readableEnded) input.push(null);
  }

  private onClosed(): void {
    if (this.closed) return;
    this.closed = true;
    for (const n of this.inputs.keys()) this.endInput(n);
    for (const f of this.closeHandlers) f();
  }

  onClose(f: () => void): void {
    if (this.closed) f();
    else this.closeHandlers.push(f);
  }

  input(n: number): Readable | undefined {
    return this.inputs.get(n);
  }

  /** Sends one message on channel n (an empty one says "connected", as the kubelet does first). */
  send(n: number, data: Buffer, cb?: (err?: Error) => void): void {
    if (this.closed) return cb?.(new Error('websocket closed'));
    const mode = this.opts.channels[n];
    if (mode !== 'write' && mode !== 'readwrite') return cb?.();
    const frame = this.opts.base64
      ? `${String.fromCharCode(0x30 + n)}${data.toString('base64')}`
      : Buffer.concat([Buffer.from([n]), data]);
    this.ws.send(frame, { binary: !this.opts.base64 }, (err) => cb?.(err ?? undefined));
  }

  /** A Writable onto channel n, honouring the socket's back-pressure. */
  output(n: number): Writable {
    return new Writable({
      write: (chunk: Buffer, _enc, cb) => {
        if (this.closed) return cb();
        let called = false;
        const once = (err?: Error) => {
          if (called) return;
          called = true;
          // A vanished client is the end of the session, not an error to surface.
          cb(err && !this.closed ? err : null);
        };
        this.send(n, chunk, once);
        if (this.ws.bufferedAmount < WRITE_BUFFER) once();
      },
    });
  }

  /** Closes with a normal closure once queued messages are out. */
  close(code = 1000, reason = ''): void {
    if (this.ws.readyState === this.ws.OPEN) this.ws.close(code, reason);
    this.onClosed();
  }
}
