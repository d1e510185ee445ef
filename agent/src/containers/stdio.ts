/** Docker's stdio wire formats: 8-byte multiplexed frames and detach-key scanning. */
import type { Writable } from 'node:stream';
import { badParameter } from '../errors.js';

export const STDIN = 0;
export const STDOUT = 1;
export const STDERR = 2;

/** [stream, 0, 0, 0, size BE32] + payload. */
export function frame(stream: number, payload: Buffer): Buffer {
  const h = Buffer.alloc(8);
  h[0] = stream;
  h.writeUInt32BE(payload.length, 4);
  return Buffer.concat([h, payload]);
}

/** "ctrl-p,ctrl-q" → [0x10, 0x11]; letters stand for themselves, as dockerd's term.ToBytes. */
export function parseDetachKeys(spec: string | null | undefined): number[] {
  const s = spec || 'ctrl-p,ctrl-q';
  const out: number[] = [];
  for (const part of s.split(',')) {
    const k = part.trim().toLowerCase();
    if (k.length === 1) out.push(k.charCodeAt(0));
    else if (/^ctrl-[a-z@[\\\]^_]$/.test(k)) {
      const c = k[5];
      out.push(
        c >= 'a' && c <= 'z'
          ? c.charCodeAt(0) - 96
          : { '@': 0, '[': 27, '\\': 28, ']': 29, '^': 30, _: 31 }[c]!,
      );
    } else throw badParameter(`Invalid detach keys (${spec}) provided`);
  }
  return out;
}

/**
 * Copies client input to `dst`, holding back bytes that may start the detach sequence; calls `onDetach`
 * when the whole sequence arrives (its bytes are swallowed), as dockerd's escape proxy.
 */
export class DetachScanner {
  private held: number[] = [];

  constructor(
    private readonly keys: number[],
    private readonly dst: Writable | undefined,
    private readonly onDetach: () => void,
  ) {}

  push(chunk: Buffer): void {
    if (this.keys.length === 0) {
      this.dst?.write(chunk);
      return;
    }
    const out: number[] = [];
    for (const b of chunk) {
      if (b === this.keys[this.held.length]) {
        this.held.push(b);
        if (this.held.length === this.keys.length) {
          if (out.length) this.dst?.write(Buffer.from(out));
          this.held = [];
          this.onDetach();
          return;
        }
        continue;
      }
      out.push(...this.held);
      this.held = [];
      if (b === this.keys[0]) this.held.push(b);
      else out.push(b);
    }
    if (out.length) this.dst?.write(Buffer.from(out));
  }
}
