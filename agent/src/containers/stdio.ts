/** Docker's stdio wire helpers: 8-byte multiplexed frames, detach-key scanning, hijacked connections. */
import type { ServerResponse } from 'node:http';
import type { Duplex, Writable } from 'node:stream';
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
      const c = k[5]!;
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

/** An attached client: the raw socket after a 101 (or 200) response, writable output, readable input. */
export interface ClientStream {
  out: Writable;
  input: Duplex | undefined;
  /** Bytes already read with the request head (stdin that raced the upgrade). */
  head: Buffer;
  close(): void;
}

/** Answers an attach/exec-start request and hands back the hijacked connection, as dockerd's hijack. */
export function hijack(
  res: ServerResponse,
  upgrade: { socket: Duplex; head: Buffer } | undefined,
  tty: boolean,
): ClientStream {
  const ctype = tty ? 'application/vnd.docker.raw-stream' : 'application/vnd.docker.multiplexed-stream';
  if (upgrade) {
    const sock = upgrade.socket;
    sock.write(
      `HTTP/1.1 101 UPGRADED\r\nContent-Type: ${ctype}\r\nConnection: Upgrade\r\nUpgrade: tcp\r\n\r\n`,
    );
    (sock as Duplex & { setNoDelay?: (b: boolean) => void }).setNoDelay?.(true);
    return {
      out: sock,
      input: sock,
      head: upgrade.head,
      close: () => {
        if (!sock.destroyed) sock.end();
      },
    };
  }
  // No upgrade requested (dockerode without hijack, curl): stream the output as the response body.
  res.writeHead(200, { 'Content-Type': ctype });
  res.flushHeaders();
  return {
    out: res,
    input: undefined,
    head: Buffer.alloc(0),
    close: () => {
      if (!res.writableEnded) res.end();
    },
  };
}

/**
 * The JSON body of a request that asked to upgrade (exec start): Node hands over the socket right after the
 * headers, so the body is read from `head` and the socket here; bytes after it are the client's stdin.
 */
export async function readUpgradeBody(
  req: { headers: Record<string, string | string[] | undefined> },
  upgrade: { socket: Duplex; head: Buffer },
): Promise<{ body: unknown; rest: Buffer }> {
  const len = Number(req.headers['content-length'] ?? 0);
  if (!Number.isInteger(len) || len < 0 || len > 1 << 20) throw badParameter('invalid Content-Length');
  let buf = upgrade.head;
  while (buf.length < len) {
    const chunk = await new Promise<Buffer | null>((resolve) => {
      const onData = (d: Buffer) => {
        cleanup();
        upgrade.socket.pause();
        resolve(d);
      };
      const onEnd = () => {
        cleanup();
        resolve(null);
      };
      const cleanup = () => {
        upgrade.socket.off('data', onData);
        upgrade.socket.off('end', onEnd);
        upgrade.socket.off('close', onEnd);
      };
      upgrade.socket.on('data', onData);
      upgrade.socket.once('end', onEnd);
      upgrade.socket.once('close', onEnd);
      upgrade.socket.resume();
    });
    if (!chunk) throw badParameter('request body ended early');
    buf = Buffer.concat([buf, chunk]);
  }
  const text = buf.subarray(0, len).toString('utf8');
  let body: unknown = {};
  if (len > 0) {
    try {
      body = JSON.parse(text);
    } catch (err) {
      throw badParameter(`invalid JSON in request body: ${(err as Error).message}`);
    }
  }
  return { body, rest: buf.subarray(len) };
}
