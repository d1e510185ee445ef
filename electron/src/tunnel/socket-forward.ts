/**
 * A unix socket on the host whose every connection is piped, byte for byte, to a stream the `dial`
 * function opens (an SSH channel to the guest engine). Bytes are not parsed, so hijacked HTTP upgrades
 * (attach, exec, BuildKit-style sessions) pass through unchanged, and half-closes travel both ways.
 */
import { promises as fsp } from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import type { Duplex } from 'node:stream';

export type Dial = () => Promise<Duplex>;

/** Pipes a and b both ways, ending each side when the other ends; destroys both on error. */
export function splice(a: Duplex, b: Duplex): void {
  const destroy = () => {
    a.destroy();
    b.destroy();
  };
  a.on('error', destroy);
  b.on('error', destroy);
  a.pipe(b);
  b.pipe(a);
  a.on('close', () => b.destroy());
  b.on('close', () => a.destroy());
}

export interface SocketForwarder {
  path: string;
  connections(): number;
  close(): Promise<void>;
}

export async function forwardUnixSocket(
  socketPath: string,
  dial: Dial,
  onError: (e: Error) => void = () => {},
): Promise<SocketForwarder> {
  await fsp.mkdir(path.dirname(socketPath), { recursive: true, mode: 0o700 });
  await fsp.rm(socketPath, { force: true });
  const open = new Set<net.Socket>();
  const server = net.createServer({ allowHalfOpen: true }, (client) => {
    open.add(client);
    client.once('close', () => open.delete(client));
    client.pause();
    dial().then(
      (remote) => {
        // The client left while its connection was being dialled.
        if (client.destroyed) return void remote.destroy();
        splice(client, remote);
        client.resume();
      },
      (err: Error) => {
        onError(err);
        client.destroy();
      },
    );
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(socketPath, () => resolve());
  });
  await fsp.chmod(socketPath, 0o600);
  return {
    path: socketPath,
    connections: () => open.size,
    close: () =>
      new Promise<void>((resolve) => {
        // server.close waits for every connection (keep-alive clients, follow streams): end them.
        server.close(() => resolve());
        for (const c of open) c.destroy();
        fsp.rm(socketPath, { force: true }).catch(() => {});
      }),
  };
}
