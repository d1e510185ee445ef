import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Readable } from 'node:stream';
import { after, describe, it } from 'node:test';
import zlib from 'node:zlib';
import { IS_ROOT, unmet } from './preconditions.js';
import { unpackLayer } from '../src/storage/unpack.js';
import { tarHeader, tarPadding, TAR_END, type TarEntry as HeaderInput } from '../src/util/tar-writer.js';

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'berth-extract-'));
after(() => fs.rmSync(tmp, { recursive: true, force: true }));
let n = 0;

function tar(entries: (HeaderInput & { body?: string })[], end = true): Buffer {
  const parts: Buffer[] = [];
  for (const e of entries) {
    const body = Buffer.from(e.body ?? '');
    parts.push(tarHeader({ ...e, size: e.type === 'file' ? body.length : 0 }));
    if (e.type === 'file') parts.push(body, tarPadding(body.length));
  }
  if (end) parts.push(TAR_END);
  return Buffer.concat(parts);
}

function truncated(b: Buffer): Buffer {
  return b.subarray(0, b.length - 10);
}

async function extract(buf: Buffer) {
  const dir = path.join(tmp, `l${n++}`);
  fs.mkdirSync(dir);
  // a sentinel outside the layer root that escapes would hit
  const res = await unpackLayer(Readable.from([buf]), { dir }).then(
    (r) => ({ ok: true as const, r }),
    (e: Error) => ({ ok: false as const, e }),
  );
  return { dir, ...res };
}

describe('layer extraction', () => {
  it('extracts files, dirs, symlinks, hardlinks with modes and owners; plain, gzip and zstd', async () => {
    const t = tar([
      { name: 'etc/', type: 'dir', mode: 0o755, mtime: 1000 },
      { name: 'etc/hello', type: 'file', body: 'hi\n', mode: 0o4755, uid: 12, gid: 34, mtime: 2000 },
      { name: 'etc/link', type: 'symlink', linkname: 'hello' },
      { name: 'etc/abs', type: 'symlink', linkname: '/etc/hello' },
      { name: 'etc/hard', type: 'hardlink', linkname: 'etc/hello' },
      { name: 'a/very/' + 'long/'.repeat(30) + 'name.txt', type: 'file', body: 'x' },
    ]);
    const zst = execFileSync('zstd', ['-q', '-c'], { input: t });
    for (const buf of [t, zlib.gzipSync(t), zst]) {
      const { dir, ok } = await extract(buf);
      assert.ok(ok);
      const st = fs.statSync(path.join(dir, 'etc/hello'));
      assert.equal(fs.readFileSync(path.join(dir, 'etc/hello'), 'utf8'), 'hi\n');
      assert.equal(st.mode & 0o7777, 0o4755);
      assert.equal(st.mtimeMs, 2000_000);
      if (process.getuid?.() === 0) assert.equal(st.uid, 12);
      assert.equal(fs.readlinkSync(path.join(dir, 'etc/link')), 'hello');
      assert.equal(fs.statSync(path.join(dir, 'etc/hard')).ino, st.ino);
      assert.equal(fs.statSync(path.join(dir, 'etc')).mtimeMs, 1000_000);
      assert.ok(fs.existsSync(path.join(dir, 'a/very/' + 'long/'.repeat(30) + 'name.txt')));
    }
  });

  it('turns .wh. files into 0/0 char devices and opaque markers into the overlay xattr', async (t) => {
    const why = unmet(IS_ROOT, 'needs root for mknod and trusted xattrs');
    if (why) return t.skip(why);
    const { dir, ok } = await extract(
      tar([
        { name: 'd/', type: 'dir', mode: 0o750 },
        { name: 'd/.wh..wh..opq', type: 'file' },
        { name: 'd/keep', type: 'file', body: 'k' },
        { name: 'e/.wh.gone', type: 'file' },
        { name: 'fifo', type: 'fifo' },
      ]),
    );
    assert.ok(ok);
    const wh = fs.statSync(path.join(dir, 'e/gone'));
    assert.ok(wh.isCharacterDevice());
    assert.equal(wh.rdev, 0);
    assert.ok(!fs.existsSync(path.join(dir, 'e/.wh.gone')));
    assert.ok(!fs.existsSync(path.join(dir, 'd/.wh..wh..opq')));
    assert.equal(fs.statSync(path.join(dir, 'd')).mode & 0o777, 0o750);
    assert.ok(fs.statSync(path.join(dir, 'fifo')).isFIFO());
    const x = execFileSync('tar', ['--xattrs', '--xattrs-include=trusted.*', '-cf', '-', '-C', dir, 'd'], {
      encoding: 'latin1',
    });
    assert.match(x, /SCHILY\.xattr\.trusted\.overlay\.opaque=y/);
  });

  it('refuses escapes and writes nothing outside the root', async () => {
    const outside = path.join(tmp, 'outside');
    fs.mkdirSync(outside, { recursive: true });
    const cases: [string, Buffer, RegExp][] = [
      ['dotdot', tar([{ name: '../outside/pwned', type: 'file', body: 'x' }]), /escapes the layer root/],
      [
        'nested dotdot',
        tar([{ name: 'a/../../outside/pwned', type: 'file', body: 'x' }]),
        /escapes the layer root/,
      ],
      [
        'symlink escape',
        tar([{ name: 'up', type: 'symlink', linkname: '../../outside' }]),
        /invalid symlink/,
      ],
      [
        'hardlink escape',
        tar([{ name: 'h', type: 'hardlink', linkname: '../outside/secret' }]),
        /escapes the layer root/,
      ],
      [
        'hardlink to missing',
        tar([{ name: 'h', type: 'hardlink', linkname: 'etc/shadow' }]),
        /not in the layer/,
      ],
      ['device node', tar([{ name: 'dev/sda', type: 'block', devmajor: 8, devminor: 0 }]), /device node/],
      ['char device', tar([{ name: 'dev/mem', type: 'char', devmajor: 1, devminor: 1 }]), /device node/],
      [
        'truncated tar',
        tar([{ name: 'f', type: 'file', body: 'x'.repeat(2000) }], false).subarray(0, 1200),
        /truncated|unexpected EOF/,
      ],
      [
        'truncated gzip',
        truncated(zlib.gzipSync(tar([{ name: 'f', type: 'file', body: 'y'.repeat(100000) }]))),
        /gzip decompression failed: unexpected end of file/,
      ],
      ['bad checksum', Buffer.concat([Buffer.from('garbage'.repeat(100)), TAR_END]), /checksum/],
    ];
    for (const [label, buf, re] of cases) {
      const r = await extract(buf);
      assert.equal(r.ok, false, label);
      if (!r.ok) assert.match(r.e.message, re, label);
    }
    // absolute paths land inside the root; a symlink to / is never followed on the host
    const abs = await extract(
      tar([
        { name: '/etc/abs', type: 'file', body: 'inside' },
        { name: 'root', type: 'symlink', linkname: '/' },
        { name: 'root/outside-via-link', type: 'file', body: 'x' },
        { name: 'tmpl', type: 'symlink', linkname: outside },
        { name: 'tmpl/pwned', type: 'file', body: 'x' },
      ]),
    );
    assert.ok(abs.ok, abs.ok ? '' : abs.e.message);
    assert.equal(fs.readFileSync(path.join(abs.dir, 'etc/abs'), 'utf8'), 'inside');
    assert.ok(fs.existsSync(path.join(abs.dir, 'outside-via-link')));
    assert.ok(fs.existsSync(path.join(abs.dir, outside, 'pwned')));
    assert.deepEqual(fs.readdirSync(outside), []);
    assert.ok(!fs.existsSync('/outside-via-link'));
  });

  it('refuses huge sizes before writing and checks digests', async () => {
    const h = tarHeader({ name: 'big', type: 'file', size: 2 ** 50 });
    const r = await extract(Buffer.concat([h, Buffer.alloc(1024)]));
    assert.equal(r.ok, false);
    const t = tar([{ name: 'f', type: 'file', body: 'z' }]);
    const dir = path.join(tmp, 'dg');
    fs.mkdirSync(dir);
    await assert.rejects(
      unpackLayer(Readable.from([t]), { dir, digest: 'sha256:' + '0'.repeat(64) }),
      /digest mismatch/,
    );
    const dir2 = path.join(tmp, 'dg2');
    fs.mkdirSync(dir2);
    await assert.rejects(
      unpackLayer(Readable.from([t]), { dir: dir2, size: 10 }),
      /larger than its declared size/,
    );
  });
});
