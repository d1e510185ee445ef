/** Decoders for the engine's stream formats: newline-delimited JSON, and the 8-byte multiplexed frames. */

export function concatBytes(parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.byteLength, 0));
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.byteLength;
  }
  return out;
}

/** Splits a byte stream into JSON values, one per line (pull/push/build progress, events, stats). */
export class NdjsonDecoder<T = unknown> {
  private text = '';
  private readonly dec = new TextDecoder();

  push(chunk: Uint8Array): T[] {
    this.text += this.dec.decode(chunk, { stream: true });
    const out: T[] = [];
    let nl: number;
    while ((nl = this.text.indexOf('\n')) >= 0) {
      const line = this.text.slice(0, nl).trim();
      this.text = this.text.slice(nl + 1);
      if (line) out.push(JSON.parse(line) as T);
    }
    return out;
  }

  /** Whatever is left without a final newline. */
  flush(): T[] {
    const line = this.text.trim();
    this.text = '';
    return line ? [JSON.parse(line) as T] : [];
  }
}

export type StdStream = 'stdin' | 'stdout' | 'stderr';
export interface Frame {
  stream: StdStream;
  data: Uint8Array;
}

const STREAMS: StdStream[] = ['stdin', 'stdout', 'stderr'];

/**
 * Logs and attach without a TTY: `[stream, 0, 0, 0, size(4, big-endian)]` then `size` bytes.
 * Frames may be split across chunks; partial ones wait for the rest.
 */
export class FrameDemuxer {
  private buf = new Uint8Array(0);

  push(chunk: Uint8Array): Frame[] {
    const joined = concatBytes([this.buf, chunk]);
    const out: Frame[] = [];
    let o = 0;
    while (joined.length - o >= 8) {
      const size =
        ((joined[o + 4] << 24) >>> 0) + (joined[o + 5] << 16) + (joined[o + 6] << 8) + joined[o + 7];
      if (joined.length - o - 8 < size) break;
      out.push({ stream: STREAMS[joined[o]] ?? 'stdout', data: joined.slice(o + 8, o + 8 + size) });
      o += 8 + size;
    }
    this.buf = joined.slice(o);
    return out;
  }
}

/** Splits text into complete lines, keeping a partial last line until more arrives. */
export class LineSplitter {
  private rest = '';
  push(text: string): string[] {
    const parts = (this.rest + text).split('\n');
    this.rest = parts.pop() ?? '';
    return parts.map((l) => (l.endsWith('\r') ? l.slice(0, -1) : l));
  }
  flush(): string[] {
    const r = this.rest;
    this.rest = '';
    return r ? [r] : [];
  }
}
