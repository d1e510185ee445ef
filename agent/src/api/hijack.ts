/** Hijacked connections for attach and exec start (dockerd's hijack): the stream after a 101, or a body. */
import type { ServerResponse } from 'node:http';
import type { Duplex, Writable } from 'node:stream';
import { badParameter } from './errors.js';

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
 * The body of a request that asked to upgrade (attach, exec start): Node hands over the socket right after the
 * headers, so the body (Content-Length bytes) is read from `head` and the socket here; the bytes after it are
 * the client's stdin. dockerode sends attach options as such a body: it is never stdin.
 */
export async function readUpgradeBytes(
  req: { headers: Record<string, string | string[] | undefined> },
  upgrade: { socket: Duplex; head: Buffer },
): Promise<{ body: Buffer; rest: Buffer }> {
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
  return { body: buf.subarray(0, len), rest: buf.subarray(len) };
}

/** The JSON body of a request that asked to upgrade (exec start), and the stdin bytes after it. */
export async function readUpgradeBody(
  req: { headers: Record<string, string | string[] | undefined> },
  upgrade: { socket: Duplex; head: Buffer },
): Promise<{ body: unknown; rest: Buffer }> {
  const { body: raw, rest } = await readUpgradeBytes(req, upgrade);
  let body: unknown = {};
  if (raw.length > 0) {
    try {
      body = JSON.parse(raw.toString('utf8'));
    } catch (err) {
      throw badParameter(`invalid JSON in request body: ${(err as Error).message}`);
    }
  }
  return { body, rest };
}
