/** Build context receiving (tar, gzip, bare Dockerfile, the CLI's unpadded -f archive, hostile names) and COPY planning. */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Readable } from 'node:stream';
import zlib from 'node:zlib';
import { after, describe, it } from 'node:test';
import { readContextFile, receiveContext, type BuildContext } from '../src/image-builder/context/receive.js';
import { copyDigestText, findSources, planCopy } from '../src/image-builder/copy.js';
import { RootfsView } from '../src/image-builder/rootfs-view.js';
import { ContextSource, globToRegExp } from '../src/image-builder/sources.js';
import { cacheKey } from '../src/image-builder/cache.js';
import { tarHeader, tarPadding, TAR_END } from '../src/util/tar-writer.js';

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'berth-ctx-test-'));
after(() => fs.rmSync(tmp, { recursive: true, force: true }));

type E = { name: string; type?: 'file' | 'dir' | 'symlink'; data?: string; mode?: number; linkname?: string };
function tar(entries: E[], { end = true, pad = true } = {}): Buffer {
  const parts: Buffer[] = [];
  entries.forEach((e, i) => {
    const data = Buffer.from(e.data ?? '');
    const type = e.type ?? 'file';
    parts.push(
      tarHeader({
        name: e.name,
        type,
        size: type === 'file' ? data.length : 0,
        mode: e.mode ?? (type === 'dir' ? 0o755 : 0o644),
        ...(e.linkname ? { linkname: e.linkname } : {}),
      }),
    );
    if (type === 'file') {
      parts.push(data);
      if (pad || i < entries.length - 1) parts.push(tarPadding(data.length));
    }
  });
  if (end) parts.push(TAR_END);
  return Buffer.concat(parts);
}

function chunks(b: Buffer, size = 700): Readable {
  const arr: Buffer[] = [];
  for (let i = 0; i < b.length; i += size) arr.push(b.subarray(i, i + size));
  return Readable.from(arr);
}

const sha = (s: string) => createHash('sha256').update(s).digest('hex');

describe('build context', () => {
  let ctx: BuildContext;
  it('extracts files, dirs and symlinks and hashes while receiving', async () => {
    ctx = await receiveContext(
      chunks(
        tar([
          { name: 'Dockerfile', data: 'FROM scratch\n' },
          { name: 'src/', type: 'dir' },
          { name: 'src/a.txt', data: 'hello' },
          { name: 'src/deep/b.txt', data: 'b', mode: 0o755 },
          { name: 'out', type: 'symlink', linkname: '/etc/passwd' },
          { name: 'up', type: 'symlink', linkname: '../../etc' },
          { name: 'in', type: 'symlink', linkname: 'src/a.txt' },
        ]),
      ),
      tmp,
    );
    assert.equal(ctx.entries.get('src/a.txt')!.hash, sha('hello'));
    assert.equal(ctx.entries.get('src/deep')!.type, 'dir');
    assert.equal(ctx.entries.get('src/deep/b.txt')!.mode, 0o755);
    assert.equal((await readContextFile(ctx, ctx.entries.get('src/a.txt')!)).toString(), 'hello');
    assert.equal(ctx.entries.get('out')!.linkname, '/etc/passwd');
    assert.deepEqual(fs.readdirSync(ctx.root), ['data'], 'one data file, no host paths for entries');
    assert.equal(ctx.size, 'FROM scratch\n'.length + 6);
  });

  it('never follows a symlink out of the context when resolving COPY sources', () => {
    const src = new ContextSource(ctx);
    assert.throws(() => findSources(src, ['out'], 'COPY'), {
      message:
        'COPY failed: file not found in build context or excluded by .dockerignore: stat out: file does not exist',
    });
    assert.throws(() => findSources(src, ['up/passwd'], 'COPY'), /file not found in build context/);
    assert.throws(() => findSources(src, ['../../etc/passwd'], 'COPY'), /file not found in build context/);
    assert.equal(findSources(src, ['in'], 'COPY')[0].rel, 'src/a.txt');
    assert.throws(() => findSources(src, ['nope.txt'], 'COPY'), /stat nope\.txt: file does not exist/);
    assert.deepEqual(
      findSources(src, ['src/*/*.txt'], 'COPY').map((s) => s.rel),
      ['src/deep/b.txt'],
    );
    assert.throws(() => findSources(src, ['*.none'], 'COPY'), /no source files were specified/);
  });

  it('plans COPY with trailing-slash, directory and multi-source rules', () => {
    const src = new ContextSource(ctx);
    const target = new RootfsView([]);
    const base = { instruction: 'COPY' as const, workdir: '/w', chown: undefined, chmod: undefined, target };
    const names = (dest: string, srcs: string[]) =>
      planCopy({ ...base, dest, sources: findSources(src, srcs, 'COPY') }).map(
        (e) => `${e.type[0]}:${e.name}`,
      );
    assert.deepEqual(names('/x', ['src/a.txt']), ['f:x']);
    assert.deepEqual(names('/x/', ['src/a.txt']), ['d:x', 'f:x/a.txt']);
    assert.deepEqual(names('rel', ['src/a.txt']), ['d:w', 'f:w/rel']);
    assert.deepEqual(names('/d', ['src']), ['d:d', 'f:d/a.txt', 'd:d/deep', 'f:d/deep/b.txt']);
    assert.throws(
      () => names('/x', ['src/a.txt', 'Dockerfile']),
      /more than one source file, the destination must be a directory and end with a \//,
    );
    const owned = planCopy({
      ...base,
      dest: '/o/',
      chown: { uid: 7, gid: 8 },
      chmod: 0o600,
      sources: findSources(src, ['src/a.txt'], 'COPY'),
    });
    assert.deepEqual(
      owned.map((e) => [e.name, e.uid, e.gid, e.mode]),
      [
        ['o', 7, 8, 0o755],
        ['o/a.txt', 7, 8, 0o600],
      ],
    );
  });

  it('keys the cache on content: changing one file changes only its digest', async () => {
    const mk = async (a: string) =>
      new ContextSource(
        await receiveContext(
          chunks(
            tar([
              { name: 'a', data: a },
              { name: 'b', data: 'same' },
            ]),
          ),
          tmp,
        ),
      );
    const one = await mk('1');
    const two = await mk('2');
    const text = (s: ContextSource, f: string) =>
      copyDigestText({ sources: findSources(s, [f], 'COPY'), dest: '/' }, '');
    assert.equal(text(one, 'b'), text(two, 'b'));
    assert.notEqual(text(one, 'a'), text(two, 'a'));
    assert.notEqual(text(one, '.'), text(two, '.'));
    assert.match(text(one, 'a'), /^file:[0-9a-f]{64} in \/ $/);
    assert.notEqual(cacheKey('sha256:p', 'x'), cacheKey(undefined, 'x'));
  });

  it("accepts gzip, a bare Dockerfile, and the CLI's unpadded archive", async () => {
    const gz = await receiveContext(
      chunks(zlib.gzipSync(tar([{ name: 'Dockerfile', data: 'FROM a' }]))),
      tmp,
    );
    assert.equal(gz.entries.get('Dockerfile')!.hash, sha('FROM a'));
    const bare = await receiveContext(Readable.from([Buffer.from('FROM busybox\nRUN true\n')]), tmp);
    assert.equal(
      (await readContextFile(bare, bare.entries.get('Dockerfile')!)).toString(),
      'FROM busybox\nRUN true\n',
    );
    const cli = await receiveContext(
      chunks(
        tar(
          [
            { name: 'x', data: 'abc' },
            { name: '.dockerfile.0123', data: 'FROM b\n' },
          ],
          { end: false, pad: false },
        ),
      ),
      tmp,
    );
    assert.equal(cli.entries.get('.dockerfile.0123')!.hash, sha('FROM b\n'));
    const empty = await receiveContext(Readable.from([]), tmp);
    assert.equal(empty.entries.size, 1);
  });

  it('refuses names that climb out and writes nothing through symlinks', async () => {
    const dirs = () => fs.readdirSync(tmp).filter((n) => n.startsWith('ctx-')).length;
    const before = dirs();
    await assert.rejects(
      receiveContext(chunks(tar([{ name: '../evil', data: 'x' }])), tmp),
      /points outside the context/,
    );
    await assert.rejects(
      receiveContext(
        chunks(
          tar([
            { name: 'l', type: 'symlink', linkname: '/tmp' },
            { name: 'l/pwned', data: 'x' },
          ]),
        ),
        tmp,
      ),
      /which is not a directory/,
    );
    await assert.rejects(
      receiveContext(chunks(tar([{ name: 'a', data: 'x'.repeat(2000) }]).subarray(0, 1000)), tmp),
      /failed to read the build context/,
    );
    // Every failed receive removed its directory.
    assert.equal(dirs(), before);
  });

  it('translates Go filepath.Match patterns', () => {
    assert.ok(globToRegExp('*.go').test('a.go'));
    assert.ok(!globToRegExp('*.go').test('d/a.go'));
    assert.ok(globToRegExp('f[0-9]?').test('f1x'));
    assert.ok(globToRegExp('f[^0-9]').test('fa'));
    assert.ok(!globToRegExp('f[^0-9]').test('f1'));
    assert.ok(globToRegExp('a\\*').test('a*'));
    assert.ok(globToRegExp('a.(b)').test('a.(b)'));
  });
});
