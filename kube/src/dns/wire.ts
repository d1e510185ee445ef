/**
 * The DNS wire format (RFC 1035) for what cluster DNS needs: a query's header and question, and answers of
 * the record types it serves (A, AAAA, CNAME, SRV, PTR, SOA). Names are read with compression pointers and
 * written uncompressed (answers stay small; an oversized UDP answer is truncated and retried over TCP).
 */

export const TYPE = { A: 1, NS: 2, CNAME: 5, SOA: 6, PTR: 12, TXT: 16, AAAA: 28, SRV: 33, OPT: 41, ANY: 255 };
export const CLASS_IN = 1;
export const RCODE = { NOERROR: 0, FORMERR: 1, SERVFAIL: 2, NXDOMAIN: 3, NOTIMP: 4, REFUSED: 5 };

export interface Question {
  name: string;
  type: number;
  class: number;
}

export type RecordData =
  | { type: 1; address: string }
  | { type: 28; address: string }
  | { type: 5; target: string }
  | { type: 12; target: string }
  | { type: 33; priority: number; weight: number; port: number; target: string }
  | {
      type: 6;
      mname: string;
      rname: string;
      serial: number;
      refresh: number;
      retry: number;
      expire: number;
      minimum: number;
    };

export type ResourceRecord = { name: string; ttl: number } & RecordData;

export interface Query {
  id: number;
  flags: number;
  question?: Question;
  /** The UDP payload size the client advertised in an EDNS OPT record (512 without one). */
  udpSize: number;
  hasEdns: boolean;
}

export class WireError extends Error {}

function readName(buf: Buffer, start: number): { name: string; next: number } {
  const labels: string[] = [];
  let off = start;
  let next = -1;
  for (let hops = 0; ;) {
    if (off >= buf.length) throw new WireError('name runs past the message');
    const len = buf[off];
    if (len === 0) {
      off++;
      break;
    }
    if ((len & 0xc0) === 0xc0) {
      if (off + 1 >= buf.length) throw new WireError('truncated compression pointer');
      if (++hops > 64) throw new WireError('compression loop');
      if (next < 0) next = off + 2;
      off = ((len & 0x3f) << 8) | buf[off + 1];
      continue;
    }
    if (len > 63) throw new WireError('label longer than 63 octets');
    if (off + 1 + len > buf.length) throw new WireError('label runs past the message');
    labels.push(buf.toString('latin1', off + 1, off + 1 + len));
    off += 1 + len;
  }
  return { name: labels.join('.'), next: next < 0 ? off : next };
}

/** Parses a query: its header, its first question and the EDNS payload size; throws WireError when malformed. */
export function parseQuery(buf: Buffer): Query {
  if (buf.length < 12) throw new WireError('message shorter than a header');
  const id = buf.readUInt16BE(0);
  const flags = buf.readUInt16BE(2);
  const qd = buf.readUInt16BE(4);
  const an = buf.readUInt16BE(6);
  const ns = buf.readUInt16BE(8);
  const ar = buf.readUInt16BE(10);
  const q: Query = { id, flags, udpSize: 512, hasEdns: false };
  let off = 12;
  for (let i = 0; i < qd; i++) {
    const { name, next } = readName(buf, off);
    if (next + 4 > buf.length) throw new WireError('question runs past the message');
    const question = { name, type: buf.readUInt16BE(next), class: buf.readUInt16BE(next + 2) };
    if (i === 0) q.question = question;
    off = next + 4;
  }
  // Skip answers and authority, then look for an OPT record among the additionals.
  for (let i = 0; i < an + ns + ar; i++) {
    const { next } = readName(buf, off);
    if (next + 10 > buf.length) throw new WireError('record runs past the message');
    const type = buf.readUInt16BE(next);
    const rdlen = buf.readUInt16BE(next + 8);
    if (i >= an + ns && type === TYPE.OPT) {
      q.hasEdns = true;
      q.udpSize = Math.max(512, buf.readUInt16BE(next + 2));
    }
    off = next + 10 + rdlen;
    if (off > buf.length) throw new WireError('record data runs past the message');
  }
  return q;
}

function encodeName(name: string): Buffer {
  const parts: Buffer[] = [];
  for (const label of name.split('.').filter(Boolean)) {
    const b = Buffer.from(label, 'latin1');
    if (b.length > 63) throw new WireError(`label too long in ${name}`);
    parts.push(Buffer.from([b.length]), b);
  }
  parts.push(Buffer.from([0]));
  return Buffer.concat(parts);
}

function encodeIPv6(address: string): Buffer {
  const [head, tail] = address.includes('::') ? address.split('::') : [address, undefined];
  const h = head ? head.split(':') : [];
  const t = tail ? tail.split(':') : [];
  const groups = tail === undefined ? h : [...h, ...Array<string>(8 - h.length - t.length).fill('0'), ...t];
  const out = Buffer.alloc(16);
  groups.forEach((g, i) => out.writeUInt16BE(parseInt(g || '0', 16), i * 2));
  return out;
}

function encodeData(r: RecordData): Buffer {
  switch (r.type) {
    case 1:
      return Buffer.from(r.address.split('.').map(Number));
    case 28:
      return encodeIPv6(r.address);
    case 5:
    case 12:
      return encodeName(r.target);
    case 33: {
      const head = Buffer.alloc(6);
      head.writeUInt16BE(r.priority, 0);
      head.writeUInt16BE(r.weight, 2);
      head.writeUInt16BE(r.port, 4);
      return Buffer.concat([head, encodeName(r.target)]);
    }
    case 6: {
      const nums = Buffer.alloc(20);
      [r.serial, r.refresh, r.retry, r.expire, r.minimum].forEach((n, i) =>
        nums.writeUInt32BE(n >>> 0, i * 4),
      );
      return Buffer.concat([encodeName(r.mname), encodeName(r.rname), nums]);
    }
  }
}

function encodeRecord(r: ResourceRecord): Buffer {
  const data = encodeData(r);
  const fixed = Buffer.alloc(10);
  fixed.writeUInt16BE(r.type, 0);
  fixed.writeUInt16BE(CLASS_IN, 2);
  fixed.writeUInt32BE(r.ttl, 4);
  fixed.writeUInt16BE(data.length, 8);
  return Buffer.concat([encodeName(r.name), fixed, data]);
}

export interface Answer {
  rcode: number;
  answers: ResourceRecord[];
  authority?: ResourceRecord[];
  additional?: ResourceRecord[];
  /** Authoritative for the cluster's own zones. */
  aa?: boolean;
}

/**
 * Builds the response to `q`. Over UDP (`maxSize` set) an answer that does not fit is sent with TC and no
 * records, so the client asks again over TCP, as RFC 1035 and every stub resolver expect.
 */
export function encodeResponse(q: Query, a: Answer, maxSize?: number): Buffer {
  const sections = [a.answers, a.authority ?? [], a.additional ?? []];
  const build = (truncated: boolean) => {
    const header = Buffer.alloc(12);
    header.writeUInt16BE(q.id, 0);
    // QR, the query's opcode and RD, AA when authoritative, TC, RA (we recurse upstream), the rcode.
    const flags =
      0x8000 |
      (q.flags & 0x7800) |
      (a.aa ? 0x0400 : 0) |
      (truncated ? 0x0200 : 0) |
      (q.flags & 0x0100) |
      0x0080 |
      (a.rcode & 0xf);
    header.writeUInt16BE(flags, 2);
    header.writeUInt16BE(q.question ? 1 : 0, 4);
    const parts = [header];
    if (q.question) {
      const tail = Buffer.alloc(4);
      tail.writeUInt16BE(q.question.type, 0);
      tail.writeUInt16BE(q.question.class, 2);
      parts.push(encodeName(q.question.name), tail);
    }
    if (!truncated) {
      sections.forEach((s, i) => header.writeUInt16BE(s.length, 6 + i * 2));
      for (const s of sections) for (const r of s) parts.push(encodeRecord(r));
    }
    return Buffer.concat(parts);
  };
  const full = build(false);
  return maxSize !== undefined && full.length > maxSize ? build(true) : full;
}

/** A response carrying only an rcode (FORMERR, SERVFAIL, ...), for queries that could not be answered. */
export function errorResponse(q: Query, rcode: number): Buffer {
  return encodeResponse(q, { rcode, answers: [] });
}

/** A recursive query for one name (used to chase an ExternalName's target upstream). */
export function encodeQuery(id: number, name: string, type: number): Buffer {
  const header = Buffer.alloc(12);
  header.writeUInt16BE(id, 0);
  header.writeUInt16BE(0x0100, 2);
  header.writeUInt16BE(1, 4);
  const tail = Buffer.alloc(4);
  tail.writeUInt16BE(type, 0);
  tail.writeUInt16BE(CLASS_IN, 2);
  return Buffer.concat([header, encodeName(name), tail]);
}

/** The rcode and the A, AAAA and CNAME records of a response's answer section (others are skipped). */
export function parseAnswers(buf: Buffer): { rcode: number; answers: ResourceRecord[] } {
  if (buf.length < 12) throw new WireError('message shorter than a header');
  const rcode = buf.readUInt16BE(2) & 0xf;
  const qd = buf.readUInt16BE(4);
  const an = buf.readUInt16BE(6);
  let off = 12;
  for (let i = 0; i < qd; i++) off = readName(buf, off).next + 4;
  const answers: ResourceRecord[] = [];
  for (let i = 0; i < an; i++) {
    const { name, next } = readName(buf, off);
    if (next + 10 > buf.length) throw new WireError('record runs past the message');
    const type = buf.readUInt16BE(next);
    const ttl = buf.readUInt32BE(next + 4);
    const rdlen = buf.readUInt16BE(next + 8);
    const data = next + 10;
    if (data + rdlen > buf.length) throw new WireError('record data runs past the message');
    if (type === TYPE.A && rdlen === 4)
      answers.push({ name, ttl, type: 1, address: [...buf.subarray(data, data + 4)].join('.') });
    else if (type === TYPE.AAAA && rdlen === 16) {
      const groups: string[] = [];
      for (let g = 0; g < 8; g++) groups.push(buf.readUInt16BE(data + g * 2).toString(16));
      answers.push({ name, ttl, type: 28, address: groups.join(':') });
    } else if (type === TYPE.CNAME) answers.push({ name, ttl, type: 5, target: readName(buf, data).name });
    off = data + rdlen;
  }
  return { rcode, answers };
}
