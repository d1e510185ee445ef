/** Writes planned COPY/ADD entries as an uncompressed layer tar at a fresh path (the image store adds it). */
import { randomBytes } from 'node:crypto';
import fs, { promises as fsp } from 'node:fs';
import path from 'node:path';
import { padding, tarHeader, TAR_END } from '../storage/tar-write.js';
import type { LayerEntry } from './copy.js';

const CHUNK = 1 << 20;

export async function writeLayerTar(entries: readonly LayerEntry[], tmpDir: string): Promise<string> {
  await fsp.mkdir(tmpDir, { recursive: true, mode: 0o700 });
  const file = path.join(tmpDir, `layer-${randomBytes(8).toString('hex')}.tar`);
  const out = fs.openSync(file, 'wx', 0o600);
  const buf = Buffer.allocUnsafe(CHUNK);
  try {
    const write = (b: Buffer): void => {
      let off = 0;
      while (off < b.length) off += fs.writeSync(out, b, off);
    };
    for (const e of entries) {
      const name = e.type === 'dir' ? `${e.name}/` : e.name;
      if (e.type !== 'file') {
        write(tarHeader({ name, type: e.type, mode: e.mode, uid: e.uid, gid: e.gid, mtime: e.mtime, linkname: e.linkname }));
        continue;
      }
      if (e.content) {
        write(tarHeader({ name, type: 'file', mode: e.mode, uid: e.uid, gid: e.gid, mtime: e.mtime, size: e.content.length }));
        write(e.content);
        write(Buffer.alloc(padding(e.content.length)));
        continue;
      }
      // A context file is a range of the context's data file; an image file is read whole, its size taken
      // from the file as it is now.
      const fd = fs.openSync(e.hostPath!, fs.constants.O_RDONLY | fs.constants.O_NOFOLLOW);
      try {
        const size = e.offset !== undefined ? e.size : fs.fstatSync(fd).size;
        let pos = e.offset ?? 0;
        write(tarHeader({ name, type: 'file', mode: e.mode, uid: e.uid, gid: e.gid, mtime: e.mtime, size }));
        let left = size;
        while (left > 0) {
          const n = fs.readSync(fd, buf, 0, Math.min(CHUNK, left), pos);
          if (n === 0) throw new Error(`${e.name}: the source shrank while it was being copied`);
          write(buf.subarray(0, n));
          left -= n;
          pos += n;
        }
        write(Buffer.alloc(padding(size)));
      } finally {
        fs.closeSync(fd);
      }
    }
    write(TAR_END);
  } catch (err) {
    fs.closeSync(out);
    await fsp.rm(file, { force: true });
    throw err;
  }
  fs.closeSync(out);
  return file;
}
