/** A layer rejected mid-stream while its plain tar is being gzipped must fail cleanly, not crash the process. */
import assert from 'node:assert/strict';
import { createCipheriv } from 'node:crypto';
import { mkdtempSync, promises as fsp } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Readable } from 'node:stream';
import { it } from 'node:test';
import { unpackLayer } from '../src/storage/unpack.js';
import { buildTar } from '../src/util/tar-writer.js';

it('gzipPlain: a ../ entry after a large file rejects, and the gzip copy stops writing', async () => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'berth-unpack-fail-'));
  try {
    await fsp.mkdir(path.join(dir, 'diff'));
    // Incompressible data keeps zlib busy when the bad entry arrives.
    const noise = createCipheriv('aes-256-ctr', Buffer.alloc(32, 7), Buffer.alloc(16)).update(
      Buffer.alloc(4 << 20),
    );
    const tar = buildTar([
      { entry: { name: 'big.bin', type: 'file' }, data: noise },
      { entry: { name: '../../escape.txt', type: 'file' }, data: Buffer.from('x') },
    ]);
    const chunks = Array.from({ length: Math.ceil(tar.length / 65536) }, (_, i) =>
      tar.subarray(i * 65536, (i + 1) * 65536),
    );
    await assert.rejects(
      unpackLayer(Readable.from(chunks), {
        dir: path.join(dir, 'diff'),
        blobFile: path.join(dir, 'blob'),
        gzipPlain: true,
      }),
      /escapes the layer root/,
    );
    // Late zlib output would surface here as an uncaught EBADF.
    await new Promise((r) => setTimeout(r, 300));
  } finally {
    await fsp.rm(dir, { recursive: true, force: true });
  }
});
