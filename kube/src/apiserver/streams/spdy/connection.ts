/**
 * The server end of a SPDY/3.1 connection as client-go's spdystream drives it: the client opens every stream
 * (SYN_STREAM with its headers), the server accepts (SYN_REPLY, empty headers) or refuses (RST_STREAM CANCEL),
 * data flows both ways with FIN for half-close, pings are echoed, GOAWAY ends it. spdystream does no flow control
 * (no WINDOW_UPDATE), so back-pressure is the transport's: a stream whose reader lags pauses the socket, and a
 * socket that will not take more holds back every stream's writer.
 */
import { EventEmitter } from 'node:events';
import { Duplex } from 'node:stream';
import type { Logger } from '../../../log.js';
import {
  ControlType,
  dataFrame,
  FrameError,
  FrameParser,
  goAwayFrame,
  HeaderDeflater,
  HeaderInflater,
  parseHeaderBlock,
  pingFrame,
  RST,
  rstStreamFrame,
  SPDY_VERSION,
  synReplyFrame,
  synStreamFields,
  type Frame,
  type SpdyHeaders,
} from './frames.js';

/** Data frames we send carry at most this much (Go's framer reads a whole frame into memory). */
const MAX_DATA = 64 * 1024;
/** A stream buffers this much from the client before the socket is paused for it. */
const STREAM_BUFFER = 1024 * 1024;

export class SpdyStream extends Duplex {
  private remoteDone = false;
  private localDone = false;
  /** The client reset the stream (RST_STREAM): nothing more goes either way. */
  resetByPeer = false;

  constructor(
    private readonly conn: SpdyConnection,
    readonly id: number,
    readonly headers: SpdyHeaders,
  ) {
    super({ readableHighWaterMark: STREAM_BUFFER, allowHalfOpen: true });
  }

  /** The first value of a header (names are case-insensitive), or ''. */
  header(name: string): string {
    return this.headers.get(name.toLowerCase())?.[0] ?? '';
  }

  override _read(): void {
    this.conn.unblock(this);
  }

  override _write(chunk: Buffer, _enc: BufferEncoding, cb: (err?: Error | null) => void): void {
    if (this.resetByPeer) return cb();
    this.conn.sendData(this.id, chunk, cb);
  }

  override _final(cb: (err?: Error | null) => void): void {
    if (!this.resetByPeer) this.conn.sendFin(this.id);
    this.localDone = true;
    this.settle();
    cb();
  }

  override _destroy(err: Error | null, cb: (err?: Error | null) => void): void {
    if (!this.resetByPeer && !(this.localDone && this.remoteDone)) this.conn.sendReset(this.id, RST.Cancel);
    this.conn.forget(this.id);
    cb(err);
  }

  /** Called by the connection: bytes from the client. */
  deliver(data: Buffer, fin: boolean): void {
    if (this.remoteDone) return;
    if (data.length && !this.push(data)) this.conn.block(this);
    if (fin) {
      this.remoteDone = true;
      this.push(null);
      this.settle();
    }
  }

  /** Called by the connection: the client reset the stream, or the connection went away. */
  abort(byPeer: boolean): void {
    if (byPeer) this.resetByPeer = true;
    if (!this.remoteDone) {
      this.remoteDone = true;
      this.push(null);
    }
    this.destroy();
  }

  private settle(): void {
    if (this.localDone && this.remoteDone) this.conn.forget(this.id);
  }
}

export interface SpdyConnectionOptions {
  /** Accepts a stream the client opened (returns undefined) or refuses it (returns why, for the log). */
  onStream(stream: SpdyStream): string | undefined;
  log?: Logger;
}

export class SpdyConnection extends EventEmitter {
  private readonly parser = new FrameParser();
  private readonly inflater = new HeaderInflater();
  private readonly deflater = new HeaderDeflater();
  private readonly streams = new Map<number, SpdyStream>();
  private readonly blocked = new Set<SpdyStream>();
  private drainWaiters: Array<() => void> = [];
  private pending: Frame[] = [];
  private busy = false;
  private lastStreamId = 0;
  private closed = false;

  constructor(
    private readonly socket: Duplex,
    private readonly opts: SpdyConnectionOptions,
  ) {
    super();
    socket.on('data', (c: Buffer) => {
      let frames: Frame[];
      try {
        frames = this.parser.push(c);
      } catch (e) {
        return this.fail(e as Error);
      }
      this.pending.push(...frames);
      if (!this.busy) void this.process();
    });
    socket.on('drain', () => {
      const w = this.drainWaiters;
      this.drainWaiters = [];
      for (const f of w) f();
    });
    socket.on('end', () => this.shutdown());
    socket.on('close', () => this.shutdown());
    socket.on('error', (e) => {
      this.opts.log?.debug('spdy transport error', { error: e.message });
      this.shutdown();
    });
  }

  get isClosed(): boolean {
    return this.closed;
  }

  /** Frames in order; only header blocks wait (their inflater is a stream). */
  private async process(): Promise<void> {
    this.busy = true;
    try {
      while (this.pending.length && !this.closed) {
        const f = this.pending.shift()!;
        if (f.kind === 'data') this.onData(f.streamId, f.data, f.fin);
        else await this.onControl(f);
      }
    } catch (e) {
      this.fail(e as Error);
    } finally {
      this.busy = false;
    }
  }

  private onData(id: number, data: Buffer, fin: boolean): void {
    // Data for a stream we never accepted (or already forgot) is dropped, as spdystream drops it.
    this.streams.get(id)?.deliver(data, fin);
  }

  private async onControl(f: Extract<Frame, { kind: 'control' }>): Promise<void> {
    if (f.version !== SPDY_VERSION) throw new FrameError(`unsupported SPDY version ${f.version}`);
    const p = f.payload;
    switch (f.type as ControlType) {
      case ControlType.SynStream: {
        const { streamId, headerBlock } = synStreamFields(p);
        const headers = parseHeaderBlock(await this.inflater.inflate(headerBlock));
        return this.onSynStream(streamId, headers, (f.flags & 1) !== 0);
      }
      case ControlType.Headers:
      case ControlType.SynReply:
        // Keep the compression context in step; the server has no use for these headers.
        if (p.length >= 4) await this.inflater.inflate(p.subarray(4));
        return;
      case ControlType.RstStream: {
        if (p.length < 8) throw new FrameError('short RST_STREAM');
        const s = this.streams.get(p.readUInt32BE(0) & 0x7fffffff);
        s?.abort(true);
        return;
      }
      case ControlType.Ping: {
        if (p.length < 4) throw new FrameError('short PING');
        const id = p.readUInt32BE(0);
        // Odd ids are the client's pings: echo them. Even ones would answer ours (we send none).
        if (id % 2 === 1) this.write(pingFrame(id));
        return;
      }
      case ControlType.GoAway:
        this.close();
        return;
      default:
        // SETTINGS, WINDOW_UPDATE and anything newer: spdystream ignores them, and so do we.
        return;
    }
  }

  private onSynStream(id: number, headers: SpdyHeaders, fin: boolean): void {
    if (id % 2 === 0 || id <= this.lastStreamId) {
      this.write(rstStreamFrame(id, RST.ProtocolError));
      return;
    }
    this.lastStreamId = id;
    const stream = new SpdyStream(this, id, headers);
    this.streams.set(id, stream);
    const refused = this.opts.onStream(stream);
    if (refused !== undefined) {
      this.opts.log?.debug('spdy stream refused', { stream: id, reason: refused });
      stream.resetByPeer = true; // no RST from _destroy: we send CANCEL ourselves, once
      this.streams.delete(id);
      this.write(rstStreamFrame(id, RST.Cancel));
      stream.destroy();
      return;
    }
    this.write(synReplyFrame(id, this.deflater.encode(new Map())));
    if (fin) stream.deliver(Buffer.alloc(0), true);
  }

  private write(buf: Buffer): boolean {
    if (this.closed || this.socket.destroyed || this.socket.writableEnded) return true;
    return this.socket.write(buf);
  }

  sendData(id: number, chunk: Buffer, cb: (err?: Error | null) => void): void {
    if (this.closed) return cb(new Error('connection closed'));
    let ok = true;
    for (let off = 0; off < chunk.length; off += MAX_DATA)
      ok = this.write(dataFrame(id, chunk.subarray(off, off + MAX_DATA))) && ok;
    if (ok) cb();
    else this.drainWaiters.push(() => cb());
  }

  sendFin(id: number): void {
    this.write(dataFrame(id, Buffer.alloc(0), true));
  }

  sendReset(id: number, status: number): void {
    this.write(rstStreamFrame(id, status));
  }

  forget(id: number): void {
    const s = this.streams.get(id);
    if (s) this.blocked.delete(s);
    this.streams.delete(id);
    if (s && this.blocked.size === 0) this.socket.resume();
  }

  block(s: SpdyStream): void {
    this.blocked.add(s);
    this.socket.pause();
  }

  unblock(s: SpdyStream): void {
    if (!this.blocked.delete(s)) return;
    if (this.blocked.size === 0 && !this.closed) this.socket.resume();
  }

  /** GOAWAY and the end of the transport once everything written so far has gone. */
  close(): void {
    if (this.closed) return;
    this.write(goAwayFrame(this.lastStreamId));
    this.socket.end();
    this.shutdown();
  }

  private fail(e: Error): void {
    this.opts.log?.debug('spdy protocol error', { error: e.message });
    if (!this.closed) this.write(goAwayFrame(this.lastStreamId, 1));
    this.socket.end();
    this.shutdown();
    setTimeout(() => this.socket.destroy(), 1000).unref();
  }

  private shutdown(): void {
    if (this.closed) return;
    this.closed = true;
    this.pending = [];
    this.inflater.close();
    for (const s of [...this.streams.values()]) s.abort(false);
    this.streams.clear();
    const w = this.drainWaiters;
    this.drainWaiters = [];
    for (const f of w) f();
    this.emit('close');
  }
}
