/**
 * SPDY/3 framing (as moby/spdystream, which client-go uses, speaks it): an incremental frame parser, the encoders
 * the server side needs, and header blocks. Header blocks are one zlib stream per direction (with the SPDY
 * dictionary): the client's are inflated in order (async, by HeaderInflater); ours are written as stored deflate
 * blocks, which any inflater accepts and which need no compressor state.
 */
import zlib from 'node:zlib';
import { HEADER_DICTIONARY } from './dictionary.js';

export const SPDY_VERSION = 3;

export const FLAG_FIN = 0x01;

export const enum ControlType {
  SynStream = 1,
  SynReply = 2,
  RstStream = 3,
  Settings = 4,
  Ping = 6,
  GoAway = 7,
  Headers = 8,
  WindowUpdate = 9,
}

/** RST_STREAM status codes. */
export const RST = { ProtocolError: 1, InvalidStream: 2, RefusedStream: 3, Cancel: 5, InternalError: 6 };

export type Frame =
  | { kind: 'data'; streamId: number; fin: boolean; data: Buffer }
  | { kind: 'control'; type: number; version: number; flags: number; payload: Buffer };

/** The largest frame accepted from a client (SPDY lengths are 24-bit; header blocks are tiny in practice). */
const MAX_FRAME = 16 * 1024 * 1024;

export class FrameError extends Error {}

/** Splits a byte stream into frames; `push` returns the frames completed by a chunk. */
export class FrameParser {
  private buf: Buffer = Buffer.alloc(0);

  push(chunk: Buffer): Frame[] {
    this.buf = this.buf.length ? Buffer.concat([this.buf, chunk]) : chunk;
    const out: Frame[] = [];
    let off = 0;
    while (this.buf.length - off >= 8) {
      const first = this.buf.readUInt32BE(off);
      const flagsLen = this.buf.readUInt32BE(off + 4);
      const flags = flagsLen >>> 24;
      const length = flagsLen & 0xffffff;
      if (length > MAX_FRAME) throw new FrameError(`frame of ${length} bytes`);
      if (this.buf.length - off < 8 + length) break;
      const payload = this.buf.subarray(off + 8, off + 8 + length);
      if (first & 0x80000000) {
        out.push({
          kind: 'control',
          version: (first >>> 16) & 0x7fff,
          type: first & 0xffff,
          flags,
          payload,
        });
      } else {
        out.push({
          kind: 'data',
          streamId: first & 0x7fffffff,
          fin: (flags & FLAG_FIN) !== 0,
          data: payload,
        });
      }
      off += 8 + length;
    }
    this.buf = off === this.buf.length ? Buffer.alloc(0) : this.buf.subarray(off);
    // Keep a copy of a partial frame, not a view pinning the whole chunk.
    if (off > 0 && this.buf.length) this.buf = Buffer.from(this.buf);
    return out;
  }
}

function controlFrame(type: ControlType, flags: number, payload: Buffer): Buffer {
  const head = Buffer.alloc(8);
  head.writeUInt32BE((0x8000 | SPDY_VERSION) * 0x10000 + type);
  head.writeUInt32BE(flags * 0x1000000 + payload.length, 4);
  return Buffer.concat([head, payload]);
}

export function dataFrame(streamId: number, data: Buffer, fin = false): Buffer {
  const head = Buffer.alloc(8);
  head.writeUInt32BE(streamId & 0x7fffffff);
  head.writeUInt32BE((fin ? FLAG_FIN : 0) * 0x1000000 + data.length, 4);
  return data.length ? Buffer.concat([head, data]) : head;
}

export function rstStreamFrame(streamId: number, status: number): Buffer {
  const p = Buffer.alloc(8);
  p.writeUInt32BE(streamId & 0x7fffffff);
  p.writeUInt32BE(status, 4);
  return controlFrame(ControlType.RstStream, 0, p);
}

export function pingFrame(id: number): Buffer {
  const p = Buffer.alloc(4);
  p.writeUInt32BE(id >>> 0);
  return controlFrame(ControlType.Ping, 0, p);
}

export function goAwayFrame(lastGoodStreamId: number, status = 0): Buffer {
  const p = Buffer.alloc(8);
  p.writeUInt32BE(lastGoodStreamId & 0x7fffffff);
  p.writeUInt32BE(status, 4);
  return controlFrame(ControlType.GoAway, 0, p);
}

/** Header names are lowercase in SPDY; several values of one name travel NUL-separated. */
export type SpdyHeaders = Map<string, string[]>;

/** Our side of the header compression: a zlib stream of stored blocks (the first block opens the stream). */
export class HeaderDeflater {
  private started = false;

  encode(headers: SpdyHeaders): Buffer {
    const parts: Buffer[] = [];
    const u32 = (n: number) => {
      const b = Buffer.alloc(4);
      b.writeUInt32BE(n);
      return b;
    };
    parts.push(u32(headers.size));
    for (const [name, values] of headers) {
      const n = Buffer.from(name.toLowerCase(), 'utf8');
      const v = Buffer.from(values.join('\0'), 'utf8');
      parts.push(u32(n.length), n, u32(v.length), v);
    }
    const raw = Buffer.concat(parts);
    const out: Buffer[] = [];
    // zlib header: deflate, 32K window, no preset dictionary flag (a stored block references nothing).
    if (!this.started) out.push(Buffer.from([0x78, 0x01]));
    this.started = true;
    // raw is never empty (it starts with the pair count).
    for (let off = 0; off < raw.length; off += 0xffff) {
      const piece = raw.subarray(off, off + 0xffff);
      const h = Buffer.alloc(5);
      h[0] = 0; // BFINAL 0, BTYPE 00 (stored); the stream stays byte-aligned between blocks
      h.writeUInt16LE(piece.length, 1);
      h.writeUInt16LE(~piece.length & 0xffff, 3);
      out.push(h, piece);
    }
    // A sync-flush marker (an empty stored block), as zlib's Z_SYNC_FLUSH ends a block: Go's inflater hands out
    // what it has only on reaching it, and would otherwise read on into the next frame.
    out.push(Buffer.from([0, 0, 0, 0xff, 0xff]));
    return Buffer.concat(out);
  }
}

/** The client's side: one inflater per connection, fed header blocks in frame order. */
export class HeaderInflater {
  private readonly z = zlib.createInflate({ dictionary: HEADER_DICTIONARY });
  private out: Buffer[] = [];
  private failed: Error | undefined;

  constructor() {
    // Drained as it arrives, so a large block never stalls the inflater on its own readable buffer.
    this.z.on('readable', () => this.drain());
    this.z.on('error', (e) => (this.failed = e));
  }

  private drain(): void {
    let c: Buffer | null;
    while ((c = this.z.read() as Buffer | null) !== null) this.out.push(c);
  }

  inflate(block: Buffer): Promise<Buffer> {
    return new Promise((resolve, reject) => {
      if (this.failed) return reject(this.failed);
      const onError = (e: Error) => reject(e);
      this.z.once('error', onError);
      this.z.write(block);
      this.z.flush(zlib.constants.Z_SYNC_FLUSH, () => {
        this.z.off('error', onError);
        if (this.failed) return reject(this.failed);
        this.drain();
        const b = Buffer.concat(this.out);
        this.out = [];
        resolve(b);
      });
    });
  }

  close(): void {
    this.z.destroy();
  }
}

export function parseHeaderBlock(raw: Buffer): SpdyHeaders {
  const h: SpdyHeaders = new Map();
  let off = 0;
  const u32 = () => {
    if (off + 4 > raw.length) throw new FrameError('truncated header block');
    const n = raw.readUInt32BE(off);
    off += 4;
    return n;
  };
  const str = (len: number) => {
    if (off + len > raw.length) throw new FrameError('truncated header block');
    const s = raw.toString('utf8', off, off + len);
    off += len;
    return s;
  };
  const count = u32();
  for (let i = 0; i < count; i++) {
    const name = str(u32()).toLowerCase();
    const values = str(u32()).split('\0');
    h.set(name, [...(h.get(name) ?? []), ...values]);
  }
  return h;
}

/** The header block of a SYN_STREAM (after stream id, associated id, priority and slot). */
export function synStreamFields(payload: Buffer): { streamId: number; headerBlock: Buffer } {
  if (payload.length < 10) throw new FrameError('short SYN_STREAM');
  return { streamId: payload.readUInt32BE(0) & 0x7fffffff, headerBlock: payload.subarray(10) };
}

export function synReplyFrame(streamId: number, headerBlock: Buffer, fin = false): Buffer {
  const id = Buffer.alloc(4);
  id.writeUInt32BE(streamId & 0x7fffffff);
  return controlFrame(ControlType.SynReply, fin ? FLAG_FIN : 0, Buffer.concat([id, headerBlock]));
}
