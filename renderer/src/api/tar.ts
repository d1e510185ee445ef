/** Minimal ustar reading (archive API listings) and writing (build contexts, volume import). */
import { concatBytes } from './streams.js';

export interface TarEntry {
  name: string;
  size: number;
  mode: number;
  mtime: number;
  type: 'file' | 'dir' | 'symlink' | 'hardlink' | 'other';
  linkname: string;
  /** File contents (only kept when asked). */
  data?: Uint8Array;
}

const dec = new TextDecoder();
const enc = new TextEncoder();

function str(b: Uint8Array, off: number, len: number): string {
  const s = b.subarray(off, off + len);
  const z = s.indexOf(0);
  return dec.decode(z >= 0 ? s.subarray(0, z) : s);
}

function octal(b: Uint8Array, off: number, len: number): number {
  const s = str(b, off, len).trim();
  return s ? parseInt(s, 8) : 0;
}

export function parseTar(buf: Uint8Array, keepData = false): TarEntry[] {
  const out: TarEntry[] = [];
  let o = 0;
  let longName: string | undefined;
  let paxPath: string | undefined;
  while (o + 512 <= buf.length) {
    const h = buf.subarray(o, o + 512);
    if (h.every((x) => x === 0)) break;
    const size = octal(h, 124, 12);
    const flag = String.fromCharCode(h[156] ?? 0);
    const body = buf.subarray(o + 512, o + 512 + size);
    o += 512 + Math.ceil(size / 512) * 512;
    if (flag === 'L') {
      longName = str(body, 0, body.length);
      continue;
    }
    if (flag === 'x') {
      const m = /\d+ path=([^\n]*)\n/.exec(dec.decode(body));
      paxPath = m?.[1];
      continue;
    }
    if (flag === 'g') continue;
    const prefix = str(h, 345, 155);
    const name = paxPath ?? longName ?? (prefix ? `${prefix}/${str(h, 0, 100)}` : str(h, 0, 100));
    longName = paxPath = undefined;
    const type =
      flag === '5'
        ? 'dir'
        : flag === '2'
          ? 'symlink'
          : flag === '1'
            ? 'hardlink'
            : flag === '0' || flag === '\0' || flag === '7'
              ? 'file'
              : 'other';
    out.push({
      name,
      size,
      mode: octal(h, 100, 8),
      mtime: octal(h, 136, 12),
      type,
      linkname: str(h, 157, 100),
      ...(keepData ? { data: body.slice() } : {}),
    });
  }
  return out;
}

function field(h: Uint8Array, off: number, len: number, value: string): void {
  h.set(enc.encode(value).subarray(0, len), off);
}

function octalField(h: Uint8Array, off: number, len: number, n: number): void {
  field(h, off, len, n.toString(8).padStart(len - 1, '0') + '\0');
}

export interface TarInput {
  name: string;
  data: Uint8Array;
  mode?: number;
}

/** Regular files only (parents are implied); names longer than 100 bytes use the ustar prefix. */
export function createTar(files: TarInput[], mtime = Math.floor(Date.now() / 1000)): Uint8Array {
  const blocks: Uint8Array[] = [];
  for (const f of files) {
    const h = new Uint8Array(512);
    let name = f.name.replace(/^\/+/, '');
    let prefix = '';
    if (enc.encode(name).length > 100) {
      const cut = name.lastIndexOf('/', 155);
      if (cut <= 0 || enc.encode(name.slice(cut + 1)).length > 100)
        throw new Error(`path too long for a tar entry: ${f.name}`);
      prefix = name.slice(0, cut);
      name = name.slice(cut + 1);
    }
    field(h, 0, 100, name);
    octalField(h, 100, 8, f.mode ?? 0o644);
    octalField(h, 108, 8, 0);
    octalField(h, 116, 8, 0);
    octalField(h, 124, 12, f.data.length);
    octalField(h, 136, 12, mtime);
    h.fill(0x20, 148, 156);
    h[156] = 0x30;
    field(h, 257, 6, 'ustar\0');
    field(h, 263, 2, '00');
    field(h, 345, 155, prefix);
    let sum = 0;
    for (const x of h) sum += x;
    field(h, 148, 8, sum.toString(8).padStart(6, '0') + '\0 ');
    blocks.push(h, f.data);
    const pad = (512 - (f.data.length % 512)) % 512;
    if (pad) blocks.push(new Uint8Array(pad));
  }
  blocks.push(new Uint8Array(1024));
  return concatBytes(blocks);
}
