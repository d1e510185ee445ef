/** Docker's stream encodings: 8-byte multiplexed frames (attach/exec/logs without a TTY) and JSON lines. */
import type { Readable } from 'node:stream';

export const STDIN = 0;
export const STDOUT = 1;
export const STDERR = 2;

export interface Frame {
  stream: number;
  payload: Buffer;
}

/**
 * Splits a multiplexed stream ([stream, 0, 0, 0, size BE32] + payload) into frames as bytes arrive; a frame may
 * span chunks. Frames are yielded whole: dockerd caps a log line's frame at the line (berthd at 16 KiB pieces).
 */
export class FrameDecoder {
  private buf = Buffer.alloc(0);

  push(chunk: Buffer): Frame[] {
    this.buf = this.buf.length ? Buffer.concat([this.buf, chunk]) : chunk;
    const out: Frame[] = [];
    while (this.buf.length >= 8) {
      const size = this.buf.readUInt32BE(4);
      if (this.buf.length < 8 + size) break;
      out.push({ stream: this.buf[0], payload: this.buf.subarray(8, 8 + size) });
      this.buf = this.buf.subarray(8 + size);
    }
    return out;
  }

  /** Bytes of an incomplete frame left at the end. */
  get pending(): number {
    return this.buf.length;
  }
}

export async function* frames(src: Readable): AsyncGenerator<Frame> {
  const d = new FrameDecoder();
  for await (const c of src) yield* d.push(c as Buffer);
}

/** Newline-delimited JSON (pull progress, events). A partial last line is parsed at the end. */
export async function* jsonLines<T>(src: Readable): AsyncGenerator<T> {
  let rest = '';
  for await (const c of src) {
    rest += (c as Buffer).toString('utf8');
    let i: number;
    while ((i = rest.indexOf('\n')) >= 0) {
      const line = rest.slice(0, i).trim();
      rest = rest.slice(i + 1);
      if (line) yield JSON.parse(line) as T;
    }
  }
  if (rest.trim()) yield JSON.parse(rest) as T;
}
