/**
 * Planned COPY/ADD entries as an uncompressed layer tar stream, fed straight into the image store (no temp
 * copy of the data): context files are ranges of the context's data file, image files are read whole.
 */
import { promises as fsp } from 'node:fs';
import type { FileHandle } from 'node:fs/promises';
import { Readable } from 'node:stream';
import { tarHeader, tarPadding, TAR_END } from '../util/tar-writer.js';
import type { LayerEntry } from './copy.js';

const CHUNK = 1 << 20;

async function* tarChunks(entries: readonly LayerEntry[]): AsyncGenerator<Buffer> {
  // Context files are ranges of one data file: keep it open across entries instead of once per file.
  let shared: { path: string; fh: FileHandle } | undefined;
  try {
    for (const e of entries) {
      const name = e.type === 'dir' ? `${e.name}/` : e.name;
      if (e.type !== 'file') {
        yield tarHeader({
          name,
          type: e.type,
          mode: e.mode,
          uid: e.uid,
          gid: e.gid,
          mtime: e.mtime,
          linkname: e.linkname,
        });
        continue;
      }
      if (e.content) {
        yield tarHeader({
          name,
          type: 'file',
          mode: e.mode,
          uid: e.uid,
          gid: e.gid,
          mtime: e.mtime,
          size: e.content.length,
        });
        yield e.content;
        yield tarPadding(e.content.length);
        continue;
      }
      let fh: FileHandle;
      let own = false;
      if (e.offset !== undefined) {
        if (shared === undefined || shared.path !== e.hostPath) {
          await shared?.fh.close();
          shared = { path: e.hostPath!, fh: await fsp.open(e.hostPath!, 'r') };
        }
        fh = shared.fh;
      } else {
        // O_NOFOLLOW: an image file that is a symlink was planned as one; never read through a link here.
        fh = await fsp.open(e.hostPath!, fsp.constants.O_RDONLY | fsp.constants.O_NOFOLLOW);
        own = true;
      }
      try {
        const size = e.offset !== undefined ? e.size : (await fh.stat()).size;
        yield tarHeader({ name, type: 'file', mode: e.mode, uid: e.uid, gid: e.gid, mtime: e.mtime, size });
        let pos = e.offset ?? 0;
        let left = size;
        while (left > 0) {
          const buf = Buffer.allocUnsafe(Math.min(CHUNK, left));
          const { bytesRead } = await fh.read(buf, 0, buf.length, pos);
          if (bytesRead === 0) throw new Error(`${e.name}: the source shrank while it was being copied`);
          yield bytesRead === buf.length ? buf : buf.subarray(0, bytesRead);
          left -= bytesRead;
          pos += bytesRead;
        }
        yield tarPadding(size);
      } finally {
        if (own) await fh.close();
      }
    }
    yield TAR_END;
  } finally {
    await shared?.fh.close();
  }
}

export function layerTarStream(entries: readonly LayerEntry[]): Readable {
  return Readable.from(tarChunks(entries), { objectMode: false, highWaterMark: 4 * CHUNK });
}
