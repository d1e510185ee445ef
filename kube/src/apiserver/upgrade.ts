/**
 * Requests that ask to switch protocols (WebSocket, SPDY/3.1) reach the API server's usual pipeline
 * (authentication, authorization, routing) with a ServerResponse over their socket, so refusals are ordinary HTTP
 * answers. A streaming connector that accepts takes the socket from here; the response is then detached and
 * nothing more is written through it.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import type { Duplex } from 'node:stream';

interface Upgrade {
  socket: Duplex;
  /** The server's set of taken connections (destroyed when it closes: the HTTP server no longer tracks them). */
  live: Set<Duplex>;
  head: Buffer;
  res: ServerResponse;
  taken: boolean;
}

const upgrades = new WeakMap<IncomingMessage, Upgrade>();

/** Wires an upgrade request's socket to `res` (error answers close the connection afterwards). */
export function registerUpgrade(
  req: IncomingMessage,
  socket: Duplex,
  head: Buffer,
  res: ServerResponse,
  live: Set<Duplex>,
): void {
  const u: Upgrade = { socket, live, head, res, taken: false };
  upgrades.set(req, u);
  res.shouldKeepAlive = false;
  res.assignSocket(socket as Socket);
  res.on('finish', () => {
    if (!u.taken) socket.end();
  });
  socket.on('error', () => socket.destroy());
}

export function isUpgrade(req: IncomingMessage): boolean {
  const u = upgrades.get(req);
  return !!u && !u.taken;
}

/** Hands the raw connection to the caller, who then owns it (writes the 101 and everything after). */
export function takeUpgrade(req: IncomingMessage): { socket: Duplex; head: Buffer } {
  const u = upgrades.get(req);
  if (!u || u.taken) throw new Error('not an upgrade request');
  u.taken = true;
  u.res.detachSocket(u.socket as Socket);
  u.live.add(u.socket);
  u.socket.once('close', () => u.live.delete(u.socket));
  return { socket: u.socket, head: u.head };
}
