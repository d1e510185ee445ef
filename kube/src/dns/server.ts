/**
 * Cluster DNS in-process: one UDP socket and one TCP listener on the same address and port, answering the
 * cluster's zones from `ClusterNames` and forwarding every other name to the host's resolvers (resolv.conf).
 */
import dgram from 'node:dgram';
import { readFileSync } from 'node:fs';
import net from 'node:net';
import type { Logger } from '../log.js';
import type { ClusterNames } from './records.js';
import {
  CLASS_IN,
  RCODE,
  TYPE,
  WireError,
  encodeQuery,
  encodeResponse,
  errorResponse,
  parseAnswers,
  parseQuery,
  type Answer,
  type Query,
} from './wire.js';

const UPSTREAM_TIMEOUT_MS = 2000;
const TCP_IDLE_MS = 10_000;

/** The `nameserver` lines of a resolv.conf (the host's, by default), as host:port addresses. */
export function upstreamsFromResolvConf(path = '/etc/resolv.conf'): string[] {
  let text = '';
  try {
    text = readFileSync(path, 'utf8');
  } catch {
    return [];
  }
  return text
    .split('\n')
    .map((l) => /^\s*nameserver\s+(\S+)/.exec(l)?.[1])
    .filter((s): s is string => !!s)
    .map((ip) => (ip.includes(':') ? `[${ip}]:53` : `${ip}:53`));
}

function splitHostPort(a: string): { host: string; port: number } {
  const m = /^\[?([^\]]+?)\]?:(\d+)$/.exec(a);
  return m ? { host: m[1], port: Number(m[2]) } : { host: a, port: 53 };
}

/** One exchange with an upstream over UDP (or TCP when asked, or when UDP's answer came back truncated). */
async function exchange(upstream: string, msg: Buffer, tcp: boolean): Promise<Buffer> {
  const { host, port } = splitHostPort(upstream);
  if (!tcp) {
    const reply = await new Promise<Buffer>((resolve, reject) => {
      const sock = dgram.createSocket(host.includes(':') ? 'udp6' : 'udp4');
      const timer = setTimeout(() => {
        sock.close();
        reject(new Error(`no answer from ${upstream}`));
      }, UPSTREAM_TIMEOUT_MS);
      sock.on('error', (e) => {
        clearTimeout(timer);
        sock.close();
        reject(e);
      });
      sock.on('message', (m) => {
        if (m.length < 2 || m.readUInt16BE(0) !== msg.readUInt16BE(0)) return;
        clearTimeout(timer);
        sock.close();
        resolve(m);
      });
      sock.send(msg, port, host);
    });
    if (reply.length >= 4 && !(reply.readUInt16BE(2) & 0x0200)) return reply;
  }
  return new Promise<Buffer>((resolve, reject) => {
    const sock = net.connect({ host, port });
    const chunks: Buffer[] = [];
    sock.setTimeout(UPSTREAM_TIMEOUT_MS, () => sock.destroy(new Error(`no answer from ${upstream}`)));
    sock.on('connect', () => {
      const len = Buffer.alloc(2);
      len.writeUInt16BE(msg.length);
      sock.write(Buffer.concat([len, msg]));
    });
    sock.on('data', (d) => {
      chunks.push(d);
      const all = Buffer.concat(chunks);
      if (all.length >= 2 && all.length >= 2 + all.readUInt16BE(0)) {
        sock.end();
        resolve(all.subarray(2, 2 + all.readUInt16BE(0)));
      }
    });
    sock.on('error', reject);
    sock.on('close', () => reject(new Error(`${upstream} closed the connection`)));
  });
}

export interface DnsServerOptions {
  names: ClusterNames;
  /** host:port (IPv6 in brackets); port 0 picks one. */
  listen: string;
  /** host:port resolvers for other names (default: the host's resolv.conf). */
  upstreams?: string[];
  log?: Logger;
}

export class DnsServer {
  private udp?: dgram.Socket;
  private tcp?: net.Server;
  private readonly upstreams: string[];
  private readonly conns = new Set<net.Socket>();
  address = { host: '', port: 0 };

  constructor(private readonly o: DnsServerOptions) {
    this.upstreams = o.upstreams ?? upstreamsFromResolvConf();
  }

  async start(): Promise<void> {
    const { host, port } = splitHostPort(this.o.listen);
    // TCP first: with port 0 the kernel picks the port, and UDP then binds the same number.
    const tcp = net.createServer((c) => this.serveTcp(c));
    await new Promise<void>((resolve, reject) => {
      tcp.once('error', reject);
      tcp.listen({ host, port }, () => resolve());
    });
    this.tcp = tcp;
    const bound = (tcp.address() as net.AddressInfo).port;
    const udp = dgram.createSocket(host.includes(':') ? 'udp6' : 'udp4');
    try {
      await new Promise<void>((resolve, reject) => {
        udp.once('error', reject);
        udp.bind(bound, host, () => resolve());
      });
    } catch (e) {
      tcp.close();
      throw e;
    }
    udp.on('message', (m, rinfo) => {
      void this.answer(m, false).then((reply) => {
        if (reply) udp.send(reply, rinfo.port, rinfo.address);
      });
    });
    this.udp = udp;
    this.address = { host, port: bound };
  }

  async close(): Promise<void> {
    this.udp?.close();
    for (const c of this.conns) c.destroy();
    await new Promise<void>((resolve) => (this.tcp ? this.tcp.close(() => resolve()) : resolve()));
  }

  private serveTcp(c: net.Socket): void {
    this.conns.add(c);
    c.setTimeout(TCP_IDLE_MS, () => c.destroy());
    let buf = Buffer.alloc(0);
    c.on('data', (d) => {
      buf = Buffer.concat([buf, d]);
      while (buf.length >= 2 && buf.length >= 2 + buf.readUInt16BE(0)) {
        const msg = buf.subarray(2, 2 + buf.readUInt16BE(0));
        buf = buf.subarray(2 + msg.length);
        void this.answer(msg, true).then((reply) => {
          if (!reply || c.destroyed) return;
          const len = Buffer.alloc(2);
          len.writeUInt16BE(reply.length);
          c.write(Buffer.concat([len, reply]));
        });
      }
    });
    c.on('error', () => c.destroy());
    c.on('close', () => this.conns.delete(c));
  }

  /** The reply to one message; undefined when it is not worth answering (not even a header). */
  async answer(msg: Buffer, tcp: boolean): Promise<Buffer | undefined> {
    let q: Query;
    try {
      q = parseQuery(msg);
    } catch (e) {
      if (!(e instanceof WireError) || msg.length < 12) return undefined;
      return errorResponse(
        { id: msg.readUInt16BE(0), flags: msg.readUInt16BE(2), udpSize: 512, hasEdns: false },
        RCODE.FORMERR,
      );
    }
    const max = tcp ? undefined : q.udpSize;
    const opcode = (q.flags >> 11) & 0xf;
    if (q.flags & 0x8000 || !q.question) return errorResponse(q, RCODE.FORMERR);
    if (opcode !== 0) return errorResponse(q, RCODE.NOTIMP);
    const { name, type } = q.question;
    if (q.question.class !== CLASS_IN) return errorResponse(q, RCODE.NOTIMP);
    try {
      const local = this.o.names.resolve(name, type);
      if (!local) return await this.forward(msg, q, tcp);
      await this.chaseCname(local, type);
      return encodeResponse(q, local, max);
    } catch (e) {
      this.o.log?.debug('dns query failed', { name, type, error: (e as Error).message });
      return errorResponse(q, RCODE.SERVFAIL);
    }
  }

  /** An ExternalName's CNAME is followed (in-cluster or upstream) so stub resolvers get the addresses too. */
  private async chaseCname(a: Answer, type: number): Promise<void> {
    if (type === TYPE.CNAME) return;
    for (let hops = 0; hops < 8; hops++) {
      const last = a.answers[a.answers.length - 1];
      if (!last || last.type !== 5) return;
      const local = this.o.names.resolve(last.target, type);
      if (local) {
        a.answers.push(...local.answers);
        continue;
      }
      try {
        const reply = await this.forward(
          encodeQuery(Math.floor(Math.random() * 65536), last.target, type),
          undefined,
          false,
        );
        if (reply) a.answers.push(...parseAnswers(reply).answers);
      } catch {
        // The CNAME alone still tells the client where to look.
      }
      return;
    }
  }

  private async forward(msg: Buffer, q: Query | undefined, tcp: boolean): Promise<Buffer | undefined> {
    let lastError: Error | undefined;
    for (const up of this.upstreams) {
      if (up === `${this.address.host}:${this.address.port}`) continue;
      try {
        const reply = await exchange(up, msg, tcp);
        // Over UDP to a client without room for it, let the client come back over TCP.
        if (q && !tcp && reply.length > q.udpSize)
          return encodeResponse(q, { rcode: reply.readUInt16BE(2) & 0xf, answers: [] }, 0);
        return reply;
      } catch (e) {
        lastError = e as Error;
      }
    }
    if (!q) return undefined;
    this.o.log?.debug('dns forward failed', {
      name: q.question?.name,
      error: lastError?.message ?? 'no upstream',
    });
    return errorResponse(q, RCODE.SERVFAIL);
  }
}
