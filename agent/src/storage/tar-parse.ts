/**
 * Streaming tar reader (ustar, GNU long names, pax) that never buffers file data: headers are decoded and
 * file bytes handed to the sink chunk by chunk. Rejects what a layer has no business containing.
 */

export const BLOCK = 512;
/** pax / GNU long-name records larger than this are refused (they live in memory). */
const MAX_META = 1 << 20;

export type EntryType = 'file' | 'hardlink' | 'symlink' | 'char' | 'block' | 'dir' | 'fifo';

export interface TarEntry {
  name: string;
  type: EntryType;
  mode: number;
  uid: number;
  gid: number;
  size: number;
  /** seconds since the epoch, possibly fractional (pax) */
  mtime: number;
  linkname: string;
  devmajor: number;
  devminor: number;
  /** pax SCHILY.xattr.* */
  xattrs: Record<string, string>;
}

export class TarFormatError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'TarFormatError';
  }
}

export interface TarSink {
  /** Called for every entry; file data follows through `data` calls, then `entryEnd`. */
  entry(e: TarEntry): void;
  data(chunk: Buffer): void;
  entryEnd(): void;
}

const TYPES: Record<string, EntryType> = {
  '0': 'file',
  '\0': 'file',
  '7': 'file',
  '1': 'hardlink',
  '2': 'symlink',
  '3': 'char',
  '4': 'block',
  '5': 'dir',
  '6': 'fifo',
};

function cstr(b: Buffer, start: number, end: number): string {
  const z = b.indexOf(0, start);
  return b.toString('utf8', start, z >= 0 && z < end ? z : end);
}

/** Octal (NUL/space terminated) or GNU base-256 numbers. */
function num(b: Buffer, start: number, end: number): number {
  if (b[start] & 0x80) {
    if (b[start] === 0xff) throw new TarFormatError('negative number in tar header');
    let v = b[start] & 0x7f;
    for (let i = start + 1; i < end; i++) {
      v = v * 256 + b[i];
      if (v > Number.MAX_SAFE_INTEGER) throw new TarFormatError('number in tar header is too large');
    }
    return v;
  }
  const s = b
    .toString('latin1', start, end)
    .replace(/[\0 ]+$/, '')
    .replace(/^[\0 ]+/, '');
  if (s === '') return 0;
  if (!/^[0-7]+$/.test(s)) throw new TarFormatError(`invalid number in tar header: ${JSON.stringify(s)}`);
  const v = parseInt(s, 8);
  if (v > Number.MAX_SAFE_INTEGER) throw new TarFormatError('number in tar header is too large');
  return v;
}

function checksumOk(b: Buffer): boolean {
  let want: number;
  try {
    want = num(b, 148, 156);
  } catch {
    return false;
  }
  let unsigned = 0;
  let signed = 0;
  for (let i = 0; i < BLOCK; i++) {
    const c = i >= 148 && i < 156 ? 32 : b[i];
    unsigned += c;
    signed += c > 127 ? c - 256 : c;
  }
  return want === unsigned || want === signed;
}

/** Bitwise ops would truncate sizes above 2 GiB. */
export function roundUp(n: number): number {
  return Math.ceil(n / BLOCK) * BLOCK;
}

function isZero(b: Buffer): boolean {
  for (let i = 0; i < BLOCK; i++) if (b[i] !== 0) return false;
  return true;
}

/** Parses pax records `LEN key=value\n`. */
export function parsePax(buf: Buffer): Record<string, string> {
  const out: Record<string, string> = {};
  let i = 0;
  while (i < buf.length) {
    const sp = buf.indexOf(0x20, i);
    if (sp < 0) break;
    const len = Number(buf.toString('latin1', i, sp));
    if (!Number.isInteger(len) || len <= 0 || i + len > buf.length)
      throw new TarFormatError('invalid pax header');
    const rec = buf.toString('utf8', sp + 1, i + len - 1);
    const eq = rec.indexOf('=');
    if (eq > 0) out[rec.slice(0, eq)] = rec.slice(eq + 1);
    i += len;
  }
  return out;
}

type State = 'header' | 'data' | 'meta' | 'skip' | 'done';

export class TarParser {
  private state: State = 'header';
  private hdr = Buffer.alloc(BLOCK);
  private hdrFill = 0;
  private remaining = 0;
  private pad = 0;
  private meta: Buffer[] = [];
  private metaType = '';
  private pax: Record<string, string> = {};
  private globalPax: Record<string, string> = {};
  private longName: string | undefined;
  private longLink: string | undefined;
  private zeroBlocks = 0;

  constructor(
    private readonly sink: TarSink,
    private readonly maxEntrySize = Number.MAX_SAFE_INTEGER,
  ) {}

  /** True once the end-of-archive marker was read. */
  get finished(): boolean {
    return this.state === 'done';
  }

  write(chunk: Buffer): void {
    let off = 0;
    while (off < chunk.length) {
      switch (this.state) {
        case 'done':
          return; // trailing padding after the end marker is ignored, as Go's reader does
        case 'header': {
          const n = Math.min(BLOCK - this.hdrFill, chunk.length - off);
          chunk.copy(this.hdr, this.hdrFill, off, off + n);
          this.hdrFill += n;
          off += n;
          if (this.hdrFill === BLOCK) {
            this.hdrFill = 0;
            this.header();
          }
          break;
        }
        case 'data':
        case 'meta':
        case 'skip': {
          if (this.remaining > 0) {
            const n = Math.min(this.remaining, chunk.length - off);
            const part = chunk.subarray(off, off + n);
            if (this.state === 'data') this.sink.data(part);
            else if (this.state === 'meta') this.meta.push(Buffer.from(part));
            this.remaining -= n;
            off += n;
          }
          if (this.remaining === 0) {
            const n = Math.min(this.pad, chunk.length - off);
            this.pad -= n;
            off += n;
            if (this.pad === 0) this.endBody();
          }
          break;
        }
      }
    }
  }

  /** Call at end of input: throws when the archive stopped in the middle of an entry. */
  end(): void {
    if (this.state === 'done') return;
    if (
      this.state !== 'header' ||
      this.hdrFill !== 0 ||
      this.longName !== undefined ||
      Object.keys(this.pax).length > 0
    )
      throw new TarFormatError('unexpected EOF: the layer archive is truncated');
  }

  private endBody(): void {
    const st = this.state;
    this.state = 'header';
    if (st === 'data') this.sink.entryEnd();
    else if (st === 'meta') {
      const buf = Buffer.concat(this.meta);
      this.meta = [];
      if (this.metaType === 'x') Object.assign(this.pax, parsePax(buf));
      else if (this.metaType === 'g') Object.assign(this.globalPax, parsePax(buf));
      else if (this.metaType === 'L') this.longName = cstr(buf, 0, buf.length);
      else if (this.metaType === 'K') this.longLink = cstr(buf, 0, buf.length);
    }
  }

  private header(): void {
    const b = this.hdr;
    if (isZero(b)) {
      if (++this.zeroBlocks >= 2) this.state = 'done';
      return;
    }
    if (this.zeroBlocks > 0) throw new TarFormatError('invalid tar header after an empty block');
    if (!checksumOk(b)) throw new TarFormatError('invalid tar header checksum');
    const flag = String.fromCharCode(b[156]);
    const size = num(b, 124, 136);
    const padded = roundUp(size);
    if (flag === 'x' || flag === 'g' || flag === 'L' || flag === 'K') {
      if (size > MAX_META) throw new TarFormatError(`tar metadata record of ${size} bytes is too large`);
      this.metaType = flag;
      this.state = 'meta';
      this.remaining = size;
      this.pad = padded - size;
      if (size === 0) this.endBody();
      return;
    }
    const type = TYPES[flag];
    if (type === undefined) {
      if (flag === 'S' || flag === 'V' || flag === 'M')
        throw new TarFormatError(
          `unsupported tar entry type ${JSON.stringify(flag)} (sparse or multi-volume)`,
        );
      throw new TarFormatError(`unknown tar entry type ${JSON.stringify(flag)}`);
    }
    const magic = b.toString('latin1', 257, 263);
    let name = cstr(b, 0, 100);
    if (magic === 'ustar\0') {
      const prefix = cstr(b, 345, 500);
      if (prefix) name = `${prefix}/${name}`;
    }
    const pax = { ...this.globalPax, ...this.pax };
    if (Object.keys(pax).some((k) => k.startsWith('GNU.sparse')))
      throw new TarFormatError('sparse files are not supported in layers');
    const xattrs: Record<string, string> = {};
    for (const [k, v] of Object.entries(pax)) if (k.startsWith('SCHILY.xattr.')) xattrs[k.slice(13)] = v;
    const e: TarEntry = {
      name: pax.path ?? this.longName ?? name,
      type,
      mode: num(b, 100, 108) & 0o7777,
      uid: pax.uid !== undefined ? Number(pax.uid) : num(b, 108, 116),
      gid: pax.gid !== undefined ? Number(pax.gid) : num(b, 116, 124),
      size: pax.size !== undefined ? Number(pax.size) : size,
      mtime: pax.mtime !== undefined ? Number(pax.mtime) : num(b, 136, 148),
      linkname: pax.linkpath ?? this.longLink ?? cstr(b, 157, 257),
      devmajor: type === 'char' || type === 'block' ? num(b, 329, 337) : 0,
      devminor: type === 'char' || type === 'block' ? num(b, 337, 345) : 0,
      xattrs,
    };
    this.pax = {};
    this.longName = undefined;
    this.longLink = undefined;
    if (!Number.isSafeInteger(e.size) || e.size < 0) throw new TarFormatError(`invalid size for ${e.name}`);
    if (!Number.isFinite(e.mtime)) e.mtime = 0;
    if (e.name.includes('\0')) throw new TarFormatError('NUL byte in tar entry name');
    // Only regular files carry data; a size on anything else is skipped, as GNU tar does.
    const dataSize = type === 'file' ? e.size : 0;
    if (dataSize > this.maxEntrySize)
      throw new TarFormatError(`file ${e.name} is too large (${e.size} bytes)`);
    const bodyPadded = type === 'file' ? roundUp(e.size) : padded;
    this.sink.entry(e);
    this.remaining = type === 'file' ? e.size : size;
    this.pad = bodyPadded - this.remaining;
    this.state = type === 'file' ? 'data' : 'skip';
    if (this.remaining === 0 && this.pad === 0) {
      if (type === 'file') this.endBody();
      else this.state = 'header';
    }
  }
}
