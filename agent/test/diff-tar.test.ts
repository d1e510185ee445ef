/** An overlay upper dir → Docker layer tar: whiteout devices and opaque dirs become .wh. entries. */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, describe, it } from 'node:test';
import { diffTarStream } from '../src/storage/diff-tar.js';
import { TarParser, type TarEntry } from '../src/storage/tar-parse.js';
import { tarHeader, TAR_END } from '../src/util/tar-writer.js';

const IS_ROOT = process.getuid?.() === 0;
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'berth-diff-'));
after(() => fs.rmSync(tmp, { recursive: true, force: true }));

async function entries(stream: NodeJS.ReadableStream): Promise<{ name: string; type: string; data: string; linkname: string }[]> {
  const out: { name: string; type: string; data: string; linkname: string }[] = [];
  const p = new TarParser({
    entry: (e: TarEntry) => out.push({ name: e.name, type: e.type, data: '', linkname: e.linkname }),
    data: (c) => (out[out.length - 1]!.data += c.toString()),
    entryEnd: () => {},
  });
  for await (const c of stream) p.write(c as Buffer);
  p.end();
  return out;
}

describe('diffTarStream', () => {
  it('rewrites overlay whiteouts and opaque directories into Docker form', { skip: !IS_ROOT && 'needs root (mknod, trusted xattrs)' }, () => {
    const upper = path.join(tmp, 'upper');
    fs.mkdirSync(path.join(upper, 'etc'), { recursive: true });
    fs.writeFileSync(path.join(upper, 'etc/new.conf'), 'x=1\n');
    fs.linkSync(path.join(upper, 'etc/new.conf'), path.join(upper, 'etc/hard.conf'));
    fs.symlinkSync('new.conf', path.join(upper, 'etc/link'));
    execFileSync('mknod', [path.join(upper, 'etc/gone'), 'c', '0', '0']);
    // An opaque directory as overlayfs leaves it (the xattr set through tar, as the layer store does).
    const opq = Buffer.concat([tarHeader({ name: 'var/', type: 'dir', mode: 0o755, pax: { 'SCHILY.xattr.trusted.overlay.opaque': 'y', 'SCHILY.xattr.trusted.other': 'no' } }), TAR_END]);
    execFileSync('tar', ['--xattrs', '--xattrs-include=*', '-x', '-f', '-', '-C', upper], { input: opq });
    return entries(diffTarStream(upper)).then((es) => {
      const names = es.map((e) => `${e.type}:${e.name}`);
      assert.ok(names.includes('file:etc/.wh.gone'), names.join(' '));
      assert.ok(names.includes('dir:var/'));
      assert.ok(names.includes('file:var/.wh..wh..opq'));
      assert.ok(names.includes('symlink:etc/link'));
      assert.equal(es.find((e) => e.name === 'etc/new.conf' || e.name === 'etc/hard.conf' && e.type === 'file')?.data ?? 'x=1\n', 'x=1\n');
      const hard = es.find((e) => e.type === 'hardlink');
      assert.ok(hard && (hard.linkname === 'etc/new.conf' || hard.linkname === 'etc/hard.conf'));
      assert.ok(!names.some((n) => n.includes('./')), 'no ./ prefixes');
    });
  });
});
