/**
 * A small tar writer (ustar headers, PAX extended headers when a field does not fit), as Go's
 * archive/tar writes for docker save/export. It writes what it is given: callers own path policy
 * (tests deliberately build hostile archives with it).
 */
import type { Readable, Writable } from 'node:stream';

export type TarEntryType = 'file' | 'dir' | 'symlink' | 'hardlink' | 'char' | 'block' | 'fifo';

export interface TarEntry {
  name: string;
  type: TarEntryType;
  mode?: number;
  uid?: number;
  gid?: number;
  uname?: string;
  gname?: string;
  /** Seconds since the epoch; 0 by default so archives are reproducible. */
  mtime?: number;
  /** Bytes of data that follow (files only). */
  size?: number;
  linkname?: string;
  devmajor?: number;
  devminor?: number;
  /** Extra PAX records (e.g. xattrs as SCHILY.xattr.*). */
  pax?: Record<string, string>;
}

const BLOCK = 512;
const TYPEFLAG: Record<TarEntryType, string> = {
  file: '0',
  hardlink: '1',
  symlink: '2',
  char: '3',
  block: '4',
  dir: '5',
  fifo: '6',
};

/** Two zero blocks end an archive. */
export const TAR_END = Buffer.alloc(BLOCK * 2);

/** Zero bytes that round `size` up to a whole block. */
export function tarPadding(size: number): Buffer {
  const rem = size % BLOCK;
  return rem === 0 ? Buffer.alloc(0) : Buffer.alloc(BLOCK - rem);
}

function fitsOctal(n: number, width: number): boolean {
  return n >= 0 && n < 8 ** (width - 1);
}

function writeOctal(buf: Buffer, off: number, width: number, n: number): void {
  buf.write(n.toString(8).padStart(width - 1, '0') + '\0', off, width, 'ascii');
}

function writeStr(buf: Buffer, off: number, width: number, s: string): void {
  buf.write(s, off, width, 'utf8');
}

function paxRecord(key: string, value: string): string {
  // The length prefix counts itself, so grow it until it is stable.
  const body = ` ${key}=${value}\n`;
  let len = Buffer.byteLength(body);
  while (String(len).length + Buffer.byteLength(body) !== len)
    len = String(len).length + Buffer.byteLength(body);
  return `${len}${body}`;
}

function ustarBlock(e: TarEntry, typeflag: string, name: string, linkname: string, size: number): Buffer {
  const h = Buffer.alloc(BLOCK);
  writeStr(h, 0, 100, name);
  writeOctal(h, 100, 8, (e.mode ?? (e.type === 'dir' ? 0o755 : 0o644)) & 0o7777777);
  writeOctal(h, 108, 8, fitsOctal(e.uid ?? 0, 8) ? (e.uid ?? 0) : 0);
  writeOctal(h, 116, 8, fitsOctal(e.gid ?? 0, 8) ? (e.gid ?? 0) : 0);
  writeOctal(h, 124, 12, fitsOctal(size, 12) ? size : 0);
  writeOctal(h, 136, 12, fitsOctal(e.mtime ?? 0, 12) ? Math.floor(e.mtime ?? 0) : 0);
  h.fill(0x20, 148, 156);
  h.write(typeflag, 156, 1, 'ascii');
  writeStr(h, 157, 100, linkname);
  h.write('ustar\0' + '00', 257, 8, 'ascii');
  writeStr(h, 265, 32, e.uname ?? '');
  writeStr(h, 297, 32, e.gname ?? '');
  writeOctal(h, 329, 8, e.devmajor ?? 0);
  writeOctal(h, 337, 8, e.devminor ?? 0);
  let sum = 0;
  for (const b of h) sum += b;
  h.write(sum.toString(8).padStart(6, '0') + '\0 ', 148, 8, 'ascii');
  return h;
}

/** The header block(s) for one entry: a PAX 'x' header first when a field does not fit ustar. */
export function tarHeader(e: TarEntry): Buffer {
  const size = e.type === 'file' ? (e.size ?? 0) : 0;
  let name = e.type === 'dir' && !e.name.endsWith('/') ? e.name + '/' : e.name;
  const linkname = e.linkname ?? '';
  const pax: Record<string, string> = { ...e.pax };
  if (Buffer.byteLength(name) > 100) pax.path = name;
  if (Buffer.byteLength(linkname) > 100) pax.linkpath = linkname;
  if (!fitsOctal(size, 12)) pax.size = String(size);
  if (!fitsOctal(e.uid ?? 0, 8)) pax.uid = String(e.uid);
  if (!fitsOctal(e.gid ?? 0, 8)) pax.gid = String(e.gid);
  if (!fitsOctal(e.mtime ?? 0, 12)) pax.mtime = String(e.mtime);
  const main = ustarBlock(
    e,
    TYPEFLAG[e.type],
    pax.path ? truncateUtf8(name, 100) : name,
    pax.linkpath ? truncateUtf8(linkname, 100) : linkname,
    size,
  );
  if (Object.keys(pax).length === 0) return main;
  const records = Buffer.from(
    Object.entries(pax)
      .map(([k, v]) => paxRecord(k, v))
      .join(''),
    'utf8',
  );
  name = truncateUtf8(`PaxHeaders.0/${name.replace(/\/$/, '').split('/').pop() ?? 'x'}`, 100);
  const xh = ustarBlock(
    { name, type: 'file', mode: 0o644, mtime: e.mtime ?? 0 },
    'x',
    name,
    '',
    records.length,
  );
  return Buffer.concat([xh, records, tarPadding(records.length), main]);
}

function truncateUtf8(s: string, bytes: number): string {
  const b = Buffer.from(s, 'utf8');
  return b.length <= bytes
    ? s
    : b
        .subarray(0, bytes)
        .toString('utf8')
        .replace(/\uFFFD+$/, '');
}

/** One whole entry (header, data, padding) held in memory. */
export function tarEntryBytes(e: TarEntry, data?: Buffer): Buffer {
  const body = data ?? Buffer.alloc(0);
  const entry = e.type === 'file' ? { ...e, size: body.length } : e;
  return Buffer.concat([tarHeader(entry), body, tarPadding(body.length)]);
}

/** A whole archive in memory (small archives: fixtures, metadata files). */
export function buildTar(entries: Array<{ entry: TarEntry; data?: Buffer }>): Buffer {
  return Buffer.concat([...entries.map(({ entry, data }) => tarEntryBytes(entry, data)), TAR_END]);
}

/** Streams entries to a Writable with backpressure; file data may be a Buffer or a Readable of exactly `size` bytes. */
export class TarStreamWriter {
  constructor(private readonly out: Writable) {}

  private write(chunk: Buffer): Promise<void> {
    if (chunk.length === 0) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const onError = (err: Error): void => reject(err);
      this.out.once('error', onError);
      const ok = this.out.write(chunk, (err) => {
        if (err) reject(err);
      });
      const done = (): void => {
        this.out.off('error', onError);
        resolve();
      };
      if (ok) done();
      else this.out.once('drain', done);
    });
  }

  async add(e: TarEntry, data?: Buffer | Readable): Promise<void> {
    if (data === undefined || Buffer.isBuffer(data)) {
      await this.write(tarEntryBytes(e, data));
      return;
    }
    const size = e.size ?? 0;
    await this.write(tarHeader({ ...e, size }));
    let written = 0;
    for await (const chunk of data as AsyncIterable<Buffer>) {
      written += chunk.length;
      if (written > size) throw new Error(`tar: ${e.name} is larger than its declared ${size} bytes`);
      await this.write(chunk);
    }
    if (written !== size) throw new Error(`tar: ${e.name} has ${written} bytes, declared ${size}`);
    await this.write(tarPadding(size));
  }

  async finish(): Promise<void> {
    await this.write(TAR_END);
    await new Promise<void>((resolve, reject) => {
      this.out.once('error', reject);
      this.out.end(() => resolve());
    });
  }
}
