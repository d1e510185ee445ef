/** Just enough of the DNS wire format (RFC 1035) for an embedded resolver: questions in, A/PTR answers out. */

export const TYPE_A = 1;
export const TYPE_PTR = 12;
export const TYPE_AAAA = 28;
export const CLASS_IN = 1;
export const RCODE_NOERROR = 0;
export const RCODE_SERVFAIL = 2;
export const RCODE_NXDOMAIN = 3;
export const RCODE_REFUSED = 5;

export interface Question {
  name: string;
  type: number;
  class: number;
}

export interface Query {
  id: number;
  flags: number;
  question: Question;
  /** Byte length of header + first question, so replies can copy it. */
  questionEnd: number;
}

export type Answer =
  | { type: typeof TYPE_A; name: string; ttl: number; ip: number }
  | { type: typeof TYPE_AAAA; name: string; ttl: number; ip6: bigint }
  | { type: typeof TYPE_PTR; name: string; ttl: number; target: string };

function readName(buf: Buffer, off: number): { name: string; end: number } {
  const labels: string[] = [];
  let end = -1;
  for (let hops = 0; hops < 64; hops++) {
    if (off >= buf.length) throw new Error('truncated name');
    const len = buf[off];
    if (len === 0) {
      if (end < 0) end = off + 1;
      return { name: labels.join('.'), end };
    }
    if ((len & 0xc0) === 0xc0) {
      if (off + 1 >= buf.length) throw new Error('truncated pointer');
      if (end < 0) end = off + 2;
      off = ((len & 0x3f) << 8) | buf[off + 1];
      continue;
    }
    if (len > 63 || off + 1 + len > buf.length) throw new Error('bad label');
    labels.push(buf.toString('latin1', off + 1, off + 1 + len));
    off += 1 + len;
  }
  throw new Error('name too long');
}

/** Parses a query's header and first question; throws on malformed input. */
export function parseQuery(buf: Buffer): Query {
  if (buf.length < 12) throw new Error('short message');
  const id = buf.readUInt16BE(0);
  const flags = buf.readUInt16BE(2);
  const qd = buf.readUInt16BE(4);
  if (qd < 1) throw new Error('no question');
  const { name, end } = readName(buf, 12);
  if (end + 4 > buf.length) throw new Error('truncated question');
  return {
    id,
    flags,
    question: { name, type: buf.readUInt16BE(end), class: buf.readUInt16BE(end + 2) },
    questionEnd: end + 4,
  };
}

function encodeName(name: string): Buffer {
  const parts = name.split('.').filter((p) => p.length > 0);
  const bufs = parts.map((p) => {
    const b = Buffer.from(p, 'latin1').subarray(0, 63);
    return Buffer.concat([Buffer.from([b.length]), b]);
  });
  return Buffer.concat([...bufs, Buffer.from([0])]);
}

/** A reply to `q` (echoing its question) with the given rcode and answers; RA set, as a recursive resolver. */
export function buildReply(raw: Buffer, q: Query, rcode: number, answers: Answer[]): Buffer {
  const header = Buffer.alloc(12);
  header.writeUInt16BE(q.id, 0);
  // QR=1, opcode copied, AA=0, RD copied, RA=1.
  header.writeUInt16BE(0x8000 | (q.flags & 0x7900) | 0x0080 | (rcode & 0xf), 2);
  header.writeUInt16BE(1, 4);
  header.writeUInt16BE(answers.length, 6);
  const question = raw.subarray(12, q.questionEnd);
  const rrs = answers.map((a) => {
    const name = encodeName(a.name);
    const rdata =
      a.type === TYPE_A
        ? Buffer.from([a.ip >>> 24, (a.ip >>> 16) & 255, (a.ip >>> 8) & 255, a.ip & 255])
        : a.type === TYPE_AAAA
          ? Buffer.from(a.ip6.toString(16).padStart(32, '0'), 'hex')
          : encodeName(a.target);
    const fixed = Buffer.alloc(10);
    fixed.writeUInt16BE(a.type, 0);
    fixed.writeUInt16BE(CLASS_IN, 2);
    fixed.writeUInt32BE(a.ttl, 4);
    fixed.writeUInt16BE(rdata.length, 8);
    return Buffer.concat([name, fixed, rdata]);
  });
  return Buffer.concat([header, question, ...rrs]);
}

/** A minimal query (used by tests and the forwarder's health checks). */
export function buildQuery(id: number, name: string, type: number): Buffer {
  const header = Buffer.alloc(12);
  header.writeUInt16BE(id, 0);
  header.writeUInt16BE(0x0100, 2); // RD
  header.writeUInt16BE(1, 4);
  const tail = Buffer.alloc(4);
  tail.writeUInt16BE(type, 0);
  tail.writeUInt16BE(CLASS_IN, 2);
  return Buffer.concat([header, encodeName(name), tail]);
}

/** Reads the answers of a reply (A and PTR only; others are skipped). */
export function parseReply(buf: Buffer): { id: number; rcode: number; answers: Answer[] } {
  const q = parseQuery(buf);
  const an = buf.readUInt16BE(6);
  const answers: Answer[] = [];
  let off = q.questionEnd;
  for (let i = 0; i < an; i++) {
    const { name, end } = readName(buf, off);
    const type = buf.readUInt16BE(end);
    const ttl = buf.readUInt32BE(end + 4);
    const rdlen = buf.readUInt16BE(end + 8);
    const rd = end + 10;
    if (type === TYPE_A) answers.push({ type: TYPE_A, name, ttl, ip: buf.readUInt32BE(rd) });
    else if (type === TYPE_PTR) answers.push({ type: TYPE_PTR, name, ttl, target: readName(buf, rd).name });
    off = rd + rdlen;
  }
  return { id: q.id, rcode: q.flags & 0xf, answers };
}
