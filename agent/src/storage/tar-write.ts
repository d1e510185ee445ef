/** Writes tar headers (ustar, with a pax record when names, sizes or xattrs do not fit). */
import { BLOCK, roundUp, type EntryType } from './tar-parse.js';

const FLAG: Record<EntryType, string> = { file: '0', hardlink: '1', symlink: '2', char: '3', block: '4', dir: '5', fifo: '6' };

export interface HeaderInput {
  name: string;
  type: EntryType;
  mode?: number;
  uid?: number;
  gid?: number;
  size?: number;
  mtime?: number;
  linkname?: string;
  devmajor?: number;
  devminor?: number;
  xattrs?: Record<string, string>;
}

function octal(b: Buffer, off: number, len: number, v: number): void {
  b.write(Math.floor(v).toString(8).padStart(len - 1, '0') + '\0', off, len, 'latin1');
}

function paxRecord(key: string, value: string): Buffer {
  const body = ` ${key}=${value}\n`;
  const bodyLen = Buffer.byteLength(body);
  let len = bodyLen + String(bodyLen).length;
  if (String(len).length + bodyLen !== len) len = String(len + 1).length + bodyLen;
  return Buffer.from(`${len}${body}`);
}

function rawHeader(h: Required<Omit<HeaderInput, 'xattrs'>>, flag: string): Buffer {
  const b = Buffer.alloc(BLOCK);
  b.write(h.name, 0, 100, 'utf8');
  octal(b, 100, 8, h.mode);
  octal(b, 108, 8, h.uid);
  octal(b, 116, 8, h.gid);
  octal(b, 124, 12, h.size);
  octal(b, 136, 12, h.mtime);
  b.write(flag, 156, 1, 'latin1');
  b.write(h.linkname, 157, 100, 'utf8');
  b.write('ustar\x0000', 257, 8, 'latin1');
  octal(b, 329, 8, h.devmajor);
  octal(b, 337, 8, h.devminor);
  b.fill(0x20, 148, 156);
  let sum = 0;
  for (let i = 0; i < BLOCK; i++) sum += b[i]!;
  b.write(sum.toString(8).padStart(6, '0') + '\0 ', 148, 8, 'latin1');
  return b;
}

/** Header block(s) for one entry; the caller writes `size` data bytes and `padding(size)` zeros after it. */
export function tarHeader(input: HeaderInput): Buffer {
  const h = {
    name: input.name,
    type: input.type,
    mode: input.mode ?? (input.type === 'dir' ? 0o755 : 0o644),
    uid: input.uid ?? 0,
    gid: input.gid ?? 0,
    size: input.type === 'file' ? (input.size ?? 0) : 0,
    mtime: input.mtime ?? 0,
    linkname: input.linkname ?? '',
    devmajor: input.devmajor ?? 0,
    devminor: input.devminor ?? 0,
  };
  const recs: Buffer[] = [];
  if (Buffer.byteLength(h.name) > 99) {
    recs.push(paxRecord('path', h.name));
    h.name = h.name.slice(0, 99);
  }
  if (Buffer.byteLength(h.linkname) > 99) {
    recs.push(paxRecord('linkpath', h.linkname));
    h.linkname = h.linkname.slice(0, 99);
  }
  if (h.size > 0o77777777777) {
    recs.push(paxRecord('size', String(h.size)));
    h.size = 0;
  }
  if (!Number.isInteger(h.mtime) || h.mtime < 0 || h.mtime > 0o77777777777) {
    recs.push(paxRecord('mtime', String(h.mtime)));
    h.mtime = Math.max(0, Math.min(Math.floor(h.mtime), 0o77777777777));
  }
  for (const [k, v] of Object.entries(input.xattrs ?? {})) recs.push(paxRecord(`SCHILY.xattr.${k}`, v));
  const main = rawHeader(h, FLAG[h.type]);
  if (recs.length === 0) return main;
  const pax = Buffer.concat(recs);
  const paxHdr = rawHeader({ ...h, name: 'PaxHeaders/' + h.name.slice(0, 80), type: 'file', size: pax.length, linkname: '' }, 'x');
  return Buffer.concat([paxHdr, pax, Buffer.alloc(padding(pax.length)), main]);
}

export function padding(size: number): number {
  return roundUp(size) - size;
}

/** The end-of-archive marker. */
export const TAR_END = Buffer.alloc(BLOCK * 2);
