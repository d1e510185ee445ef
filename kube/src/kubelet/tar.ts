/** A minimal ustar writer for the few files the kubelet hands the engine (the pause image's root filesystem). */

export interface TarFile {
  name: string;
  data: Buffer;
  mode: number;
}

function octal(n: number, width: number): string {
  return n.toString(8).padStart(width - 1, '0') + '\0';
}

function header(f: TarFile): Buffer {
  const h = Buffer.alloc(512);
  if (Buffer.byteLength(f.name) > 99) throw new Error(`tar name too long: ${f.name}`);
  h.write(f.name, 0);
  h.write(octal(f.mode, 8), 100);
  h.write(octal(0, 8), 108);
  h.write(octal(0, 8), 116);
  h.write(octal(f.data.length, 12), 124);
  h.write(octal(0, 12), 136);
  h.write('        ', 148);
  h.write('0', 156);
  h.write('ustar\0', 257);
  h.write('00', 263);
  let sum = 0;
  for (const b of h) sum += b;
  h.write(octal(sum, 7) + ' ', 148);
  return h;
}

export function tar(files: TarFile[]): Buffer {
  const parts: Buffer[] = [];
  for (const f of files) {
    parts.push(header(f), f.data);
    const pad = (512 - (f.data.length % 512)) % 512;
    if (pad) parts.push(Buffer.alloc(pad));
  }
  parts.push(Buffer.alloc(1024));
  return Buffer.concat(parts);
}
