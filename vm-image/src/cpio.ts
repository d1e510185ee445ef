/** A reproducible newc cpio writer for the initramfs: sorted entries, fixed mtime, root-owned. */
import { promises as fsp } from 'node:fs';
import path from 'node:path';

interface Entry {
  name: string;
  mode: number;
  data: Buffer;
}

const hex = (n: number) => n.toString(16).padStart(8, '0');
const pad4 = (n: number) => (4 - (n % 4)) % 4;

function header(e: Entry, ino: number, mtime: number): Buffer {
  const name = Buffer.from(e.name + '\0');
  const fields = [
    '070701',
    hex(ino),
    hex(e.mode),
    hex(0),
    hex(0),
    hex((e.mode & 0o170000) === 0o040000 ? 2 : 1),
    hex(mtime),
    hex(e.data.length),
    hex(0),
    hex(0),
    hex(0),
    hex(0),
    hex(name.length),
    hex(0),
  ];
  const h = Buffer.concat([Buffer.from(fields.join('')), name]);
  return Buffer.concat([h, Buffer.alloc(pad4(h.length))]);
}

/** Collects a directory tree (files, dirs, symlinks) in sorted order, keeping permission bits. */
async function collect(root: string): Promise<Entry[]> {
  const out: Entry[] = [];
  const walk = async (rel: string): Promise<void> => {
    const names = (await fsp.readdir(path.join(root, rel))).sort();
    for (const n of names) {
      const r = rel ? `${rel}/${n}` : n;
      const p = path.join(root, r);
      const st = await fsp.lstat(p);
      if (st.isSymbolicLink())
        out.push({ name: r, mode: 0o120777, data: Buffer.from(await fsp.readlink(p)) });
      else if (st.isDirectory()) {
        out.push({ name: r, mode: 0o040000 | (st.mode & 0o7777), data: Buffer.alloc(0) });
        await walk(r);
      } else if (st.isFile())
        out.push({ name: r, mode: 0o100000 | (st.mode & 0o7777), data: await fsp.readFile(p) });
    }
  };
  await walk('');
  return out;
}

/** Serialises `root` as a newc archive; equal trees give equal bytes. */
export async function cpioOf(root: string, mtime: number): Promise<Buffer> {
  const parts: Buffer[] = [];
  let ino = 1;
  for (const e of await collect(root)) {
    parts.push(header(e, ino++, mtime), e.data, Buffer.alloc(pad4(e.data.length)));
  }
  parts.push(header({ name: 'TRAILER!!!', mode: 0, data: Buffer.alloc(0) }, 0, 0));
  const body = Buffer.concat(parts);
  return Buffer.concat([body, Buffer.alloc((512 - (body.length % 512)) % 512)]);
}
