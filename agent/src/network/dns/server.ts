/**
 * The embedded DNS server for user-defined networks. It listens (UDP and TCP, port 53) on each such network's
 * gateway address in the host's netns; inside every container, 127.0.0.11:53 is DNATed there (steps.ts), so
 * /etc/resolv.conf says `nameserver 127.0.0.11` as with dockerd. The source address tells which container
 * asks, hence which networks' names it may see. Names it does not know go to the upstream servers.
 */
import dgram from 'node:dgram';
import net from 'node:net';
import type { Logger } from '../../log.js';
import {
  buildReply,
  parseQuery,
  RCODE_NOERROR,
  RCODE_REFUSED,
  RCODE_SERVFAIL,
  TYPE_A,
  TYPE_AAAA,
  TYPE_PTR,
  type Answer,
} from './wire.js';

export const DNS_TTL = 600;
const UPSTREAM_TIMEOUT_MS = 2000;
const MAX_TCP_MESSAGE = 65535;

export type Resolution =
  /** Known name: its addresses (IPv6 ones on EnableIPv6 networks; none of a family gives NOERROR, no data). */
  | { kind: 'addresses'; ips: number[]; ips6?: bigint[] }
  /** Known reverse name. */
  | { kind: 'ptr'; name: string }
  /** Not ours: ask these upstream servers ('ip' or 'ip:port'); none means answer SERVFAIL (internal network). */
  | { kind: 'forward'; upstreams: string[] }
  /** The asker is nobody we know. */
  | { kind: 'refuse' };

export interface DnsResolver {
  resolve(askerIp: string, name: string, type: number): Resolution;
}

interface Listener {
  udp: dgram.Socket;
  tcp: net.Server;
}

function splitHostPort(s: string): { host: string; port: number } {
  const i = s.lastIndexOf(':');
  if (i > 0 && /^\d+$/.test(s.slice(i + 1))) return { host: s.slice(0, i), port: Number(s.slice(i + 1)) };
  return { host: s, port: 53 };
}

export class EmbeddedDns {
  private listeners = new Map<string, Listener>();

  constructor(
    private readonly resolver: DnsResolver,
    private readonly log: Logger,
  ) {}

  addresses(): string[] {
    return [...this.listeners.keys()];
  }

  /** Listens on ip:53 (UDP and TCP). Idempotent. */
  async listen(ip: string, port = 53): Promise<void> {
    if (this.listeners.has(ip)) return;
    const udp = dgram.createSocket('udp4');
    udp.on('message', (msg, rinfo) => {
      void this.answer(msg, rinfo.address, 'udp').then((reply) => {
        if (reply) udp.send(reply, rinfo.port, rinfo.address);
      });
    });
    udp.on('error', (err) => this.log.warn('dns udp error', { ip, err }));
    await new Promise<void>((resolve, reject) => {
      udp.once('error', reject);
      udp.bind(port, ip, () => {
        udp.off('error', reject);
        resolve();
      });
    });
    const tcp = net.createServer((sock) => this.serveTcp(sock));
    try {
      await new Promise<void>((resolve, reject) => {
        tcp.once('error', reject);
        tcp.listen(port, ip, () => {
          tcp.off('error', reject);
          resolve();
        });
      });
    } catch (err) {
      udp.close();
      throw err;
    }
    this.listeners.set(ip, { udp, tcp });
  }

  async unlisten(ip: string): Promise<void> {
    const l = this.listeners.get(ip);
    if (!l) return;
    this.listeners.delete(ip);
    l.udp.close();
    await new Promise<void>((resolve) => l.tcp.close(() => resolve()));
  }

  async close(): Promise<void> {
    for (const ip of [...this.listeners.keys()]) await this.unlisten(ip);
  }

  private serveTcp(sock: net.Socket): void {
    let buf = Buffer.alloc(0);
    sock.setTimeout(10_000, () => sock.destroy());
    sock.on('error', () => sock.destroy());
    sock.on('data', (d: Buffer) => {
      buf = Buffer.concat([buf, d]);
      if (buf.length > MAX_TCP_MESSAGE + 2) return void sock.destroy();
      while (buf.length >= 2) {
        const len = buf.readUInt16BE(0);
        if (buf.length < 2 + len) break;
        const msg = buf.subarray(2, 2 + len);
        buf = buf.subarray(2 + len);
        void this.answer(msg, sock.remoteAddress?.replace(/^::ffff:/, '') ?? '', 'tcp').then((reply) => {
          if (!reply || sock.destroyed) return;
          const head = Buffer.alloc(2);
          head.writeUInt16BE(reply.length);
          sock.write(Buffer.concat([head, reply]));
        });
      }
    });
  }

  /** Builds the reply to one message, or undefined to drop it (malformed). Never throws. */
  async answer(raw: Buffer, asker: string, transport: 'udp' | 'tcp'): Promise<Buffer | undefined> {
    let q;
    try {
      q = parseQuery(raw);
    } catch {
      return undefined;
    }
    if (q.flags & 0x8000) return undefined; // a response, not a query
    const name = q.question.name.toLowerCase().replace(/\.$/, '');
    const r = this.resolver.resolve(asker, name, q.question.type);
    switch (r.kind) {
      case 'refuse':
        return buildReply(raw, q, RCODE_REFUSED, []);
      case 'addresses': {
        const answers: Answer[] =
          q.question.type === TYPE_A
            ? r.ips.map((ip) => ({ type: TYPE_A, name: q.question.name, ttl: DNS_TTL, ip }))
            : q.question.type === TYPE_AAAA
              ? (r.ips6 ?? []).map((ip6) => ({ type: TYPE_AAAA, name: q.question.name, ttl: DNS_TTL, ip6 }))
              : [];
        // AAAA for a known IPv4-only name (or another type): NOERROR with no data, as dockerd.
        return buildReply(raw, q, RCODE_NOERROR, answers);
      }
      case 'ptr':
        return buildReply(
          raw,
          q,
          RCODE_NOERROR,
          q.question.type === TYPE_PTR
            ? [{ type: TYPE_PTR, name: q.question.name, ttl: DNS_TTL, target: r.name }]
            : [],
        );
      case 'forward': {
        if (r.upstreams.length === 0) return buildReply(raw, q, RCODE_SERVFAIL, []);
        for (const up of r.upstreams) {
          try {
            const reply =
              transport === 'udp' ? await this.forwardUdp(raw, up) : await this.forwardTcp(raw, up);
            if (reply) return reply;
          } catch (err) {
            this.log.debug('dns upstream failed', { upstream: up, err: err as Error });
          }
        }
        return buildReply(raw, q, RCODE_SERVFAIL, []);
      }
    }
  }

  private forwardUdp(raw: Buffer, upstream: string): Promise<Buffer | undefined> {
    const { host, port } = splitHostPort(upstream);
    return new Promise((resolve, reject) => {
      const s = dgram.createSocket('udp4');
      const done = (v: Buffer | undefined, err?: Error) => {
        clearTimeout(t);
        s.close();
        if (err) reject(err);
        else resolve(v);
      };
      const t = setTimeout(() => done(undefined, new Error('timeout')), UPSTREAM_TIMEOUT_MS);
      s.on('error', (err) => done(undefined, err));
      s.on('message', (msg, rinfo) => {
        // Only the server we asked, and only the reply to our id.
        if (rinfo.address === host && msg.length >= 2 && msg.readUInt16BE(0) === raw.readUInt16BE(0))
          done(msg);
      });
      s.send(raw, port, host);
    });
  }

  private forwardTcp(raw: Buffer, upstream: string): Promise<Buffer | undefined> {
    const { host, port } = splitHostPort(upstream);
    return new Promise((resolve, reject) => {
      const sock = net.connect(port, host);
      let buf = Buffer.alloc(0);
      const t = setTimeout(() => {
        sock.destroy();
        reject(new Error('timeout'));
      }, UPSTREAM_TIMEOUT_MS);
      sock.on('error', (err) => {
        clearTimeout(t);
        reject(err);
      });
      sock.on('connect', () => {
        const head = Buffer.alloc(2);
        head.writeUInt16BE(raw.length);
        sock.write(Buffer.concat([head, raw]));
      });
      sock.on('data', (d: Buffer) => {
        buf = Buffer.concat([buf, d]);
        if (buf.length >= 2 && buf.length >= 2 + buf.readUInt16BE(0)) {
          clearTimeout(t);
          sock.destroy();
          resolve(buf.subarray(2, 2 + buf.readUInt16BE(0)));
        }
      });
    });
  }
}
