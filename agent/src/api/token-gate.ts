/**
 * A shared-secret preamble in front of a TCP listener. Berth's VM publishes berthd's TCP port on the host's
 * loopback (QEMU user-mode hostfwd), where every local user (and, through the VM's 10.0.2.2 → host
 * loopback mapping, every container) can connect to it. So each connection must first send the
 * per-install token (64 hex digits and a newline); anything else is closed before a byte of HTTP is parsed.
 */
import { timingSafeEqual } from 'node:crypto';
import { readFileSync } from 'node:fs';
import type http from 'node:http';
import type net from 'node:net';
import { HOST_TOKEN_ACK, HOST_TOKEN_PREAMBLE_BYTES, HOST_TOKEN_RE, hostTokenPreamble } from '@berth/common';
import type { Logger } from '../log.js';

/** Reads and checks a token file (hex, surrounding whitespace ignored). */
export function readTokenFile(file: string): string {
  const t = readFileSync(file, 'utf8').trim();
  if (!HOST_TOKEN_RE.test(t)) throw new Error(`${file}: the host token must be 64 lowercase hex digits`);
  return t;
}

/**
 * Wraps `server`'s connection handling (call before listen): a connection reaches HTTP only after its
 * first HOST_TOKEN_PREAMBLE_BYTES equal the preamble, which is acknowledged; bytes that follow in the same
 * packet go to HTTP unchanged.
 */
export function requireToken(server: http.Server, token: string, log: Logger, timeoutMs = 10_000): void {
  const want = hostTokenPreamble(token);
  const inner = server.listeners('connection') as ((s: net.Socket) => void)[];
  server.removeAllListeners('connection');
  server.on('connection', (sock: net.Socket) => {
    const reject = (why: string) => {
      log.warn('engine connection rejected', { why, remote: sock.remoteAddress });
      sock.destroy();
    };
    const timer = setTimeout(() => reject('no token in time'), timeoutMs);
    const onError = () => sock.destroy();
    sock.on('error', onError);
    // read(n) in paused mode takes exactly the preamble and leaves the rest buffered for the HTTP parser.
    const onReadable = () => {
      const got = sock.read(HOST_TOKEN_PREAMBLE_BYTES) as Buffer | null;
      if (got === null) return;
      clearTimeout(timer);
      sock.off('readable', onReadable);
      sock.off('end', onEnd);
      sock.off('error', onError);
      if (got.length !== want.length || !timingSafeEqual(got, want)) return reject('bad token');
      // The host hands the connection to its client only after this (see HOST_TOKEN_ACK).
      sock.write(HOST_TOKEN_ACK);
      for (const l of inner) l.call(server, sock);
    };
    const onEnd = () => {
      clearTimeout(timer);
      reject('closed before the token');
    };
    sock.on('readable', onReadable);
    sock.once('end', onEnd);
  });
}
