/** Staging of untrusted load archives: names never become paths, links resolve inside the archive only. */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, promises as fsp, readdirSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { PassThrough, Readable } from 'node:stream';
import { after, describe, it } from 'node:test';
import { gzipSync } from 'node:zlib';
import { ArchiveError, cleanName, StagedArchive } from '../src/images/archive/staging.js';
import { buildTar, TarStreamWriter, type TarEntry } from '../src/util/tar-writer.js';

const dirs: string[] = [];
function stagingDir(): string {
  const d = mkdtempSync(path.join(os.tmpdir(), 'berth-staging-test-'));
  dirs.push(d);
  return d;
}
after(async () => {
  for (const d of dirs) await fsp.rm(d, { recursive: true, force: true });
});

const f = (name: string, data: string): { entry: TarEntry; data: Buffer } => ({
  entry: { name, type: 'file' },
  data: Buffer.from(data),
});
const stage = (buf: Buffer, dir = stagingDir()) => StagedArchive.fromStream(Readable.from([buf]), dir);

describe('load archive staging', () => {
  it('cleans names and refuses absolute and escaping ones', () => {
    assert.equal(cleanName('./a//b/'), 'a/b');
    assert.throws(() => cleanName('/etc/passwd'), /is an absolute path/);
    assert.throws(() => cleanName('a/../../b'), /points outside the archive/);
  });

  it('stores files under flat names and follows symlinks and hardlinks within the archive', async () => {
    const dir = stagingDir();
    const tar = buildTar([
      { entry: { name: 'a', type: 'dir' } },
      f('a/layer.tar', 'L1'),
      { entry: { name: 'b/layer.tar', type: 'symlink', linkname: '../a/layer.tar' } },
      { entry: { name: 'c', type: 'hardlink', linkname: 'a/layer.tar' } },
      f('manifest.json', '[]'),
    ]);
    const s = await stage(gzipSync(tar), dir);
    assert.deepEqual(readdirSync(dir).sort(), ['f-0', 'f-1']);
    assert.equal((await s.read('b/layer.tar', 'layer')).toString(), 'L1');
    assert.equal((await s.read('./c', 'layer')).toString(), 'L1');
    assert.equal(s.has('nope'), false);
    await assert.rejects(s.readJson('a/layer.tar', 'file'), /is not valid JSON/);
    assert.throws(() => s.need('missing.tar', 'layer'), /layer "missing.tar" is missing/);
  });

  it('refuses escaping links, device nodes, link loops, truncation, empty bodies and bzip2', async () => {
    await assert.rejects(
      stage(buildTar([{ entry: { name: 'x', type: 'symlink', linkname: '../../etc/passwd' } }])),
      /points outside the archive/,
    );
    await assert.rejects(
      stage(buildTar([{ entry: { name: 'x', type: 'symlink', linkname: '/etc/passwd' } }])),
      /is an absolute path/,
    );
    await assert.rejects(
      stage(buildTar([{ entry: { name: 'null', type: 'char', devmajor: 1, devminor: 3 } }])),
      /is a char device or fifo/,
    );
    const loop = await stage(
      buildTar([
        { entry: { name: 'a', type: 'symlink', linkname: 'b' } },
        { entry: { name: 'b', type: 'symlink', linkname: 'a' } },
      ]),
    );
    assert.throws(() => loop.lookup('a'), /too many levels of links/);
    const whole = buildTar([f('big', 'x'.repeat(5000))]);
    await assert.rejects(
      stage(whole.subarray(0, 2000)),
      (e: Error) => e instanceof ArchiveError && /truncated/.test(e.message),
    );
    await assert.rejects(stage(Buffer.alloc(0)), /request body is empty/);
    await assert.rejects(
      stage(Buffer.from('BZh91AY&SY')),
      /bzip2 and xz compressed archives are not supported/,
    );
    await assert.rejects(stage(gzipSync(whole).subarray(0, 40)), /not a valid tar file|gzip data is corrupt/);
  });

  it('reads a refused body to its end, so the request can still be answered (plain and gzip)', async () => {
    for (const gzip of [false, true]) {
      // The refused entry comes first; 4 MiB follows after the refusal, more than any buffer holds.
      const tar = buildTar([
        { entry: { name: 'x/layer.tar', type: 'symlink', linkname: '../../../../etc/passwd' } },
        { entry: { name: 'filler', type: 'file' }, data: randomBytes(4 << 20) },
      ]);
      const body = gzip ? gzipSync(tar) : tar;
      const src = new PassThrough({ highWaterMark: 16 << 10 });
      const staging = StagedArchive.fromStream(src, stagingDir());
      src.write(body.subarray(0, 64 << 10));
      await assert.rejects(staging, /points outside the archive/);
      const ended = new Promise<void>((ok) => src.once('end', ok));
      for (let off = 64 << 10; off < body.length; off += 64 << 10)
        if (!src.write(body.subarray(off, off + (64 << 10))))
          await Promise.race([
            new Promise((ok) => src.once('drain', ok)),
            new Promise((_, no) =>
              setTimeout(() => no(new Error(`gzip=${gzip}: nobody reads the body`)), 2000),
            ),
          ]);
      src.end();
      await ended;
      assert.equal(src.readableEnded, true);
    }
  });

  it('TarStreamWriter streams file data of the declared size and refuses a mismatch', async () => {
    const collect = (): { out: PassThrough; bytes: () => Buffer } => {
      const out = new PassThrough();
      const chunks: Buffer[] = [];
      out.on('data', (c: Buffer) => chunks.push(c));
      return { out, bytes: () => Buffer.concat(chunks) };
    };
    const a = collect();
    const w = new TarStreamWriter(a.out);
    await w.add(
      { name: 'a.txt', type: 'file', size: 5 },
      Readable.from([Buffer.from('hel'), Buffer.from('lo')]),
    );
    await w.add({ name: 'd', type: 'dir' });
    await w.add({ name: 'b.txt', type: 'file' }, Buffer.from('in memory'));
    await w.finish();
    const s = await stage(a.bytes());
    assert.equal((await s.read('a.txt', 'file')).toString(), 'hello');
    assert.equal((await s.read('b.txt', 'file')).toString(), 'in memory');
    const b = collect();
    await assert.rejects(
      new TarStreamWriter(b.out).add(
        { name: 'c.txt', type: 'file', size: 9 },
        Readable.from([Buffer.from('short')]),
      ),
      /has 5 bytes, declared 9/,
    );
  });
});
