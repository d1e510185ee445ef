/** A RUN container's upper dir as a layer: whiteout devices and opaque directories in Docker's form. */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { PassThrough } from 'node:stream';
import { after, describe, it } from 'node:test';
import { writeTree } from '../src/containers/archive.js';
import { readOpaqueDirs } from '../src/storage/opaque.js';
import { TarParser } from '../src/storage/tar-parse.js';
import { tarHeader, TAR_END } from '../src/util/tar-writer.js';
import { IS_ROOT, unmet } from './preconditions.js';

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'berth-runlayer-'));
after(() => fs.rmSync(tmp, { recursive: true, force: true }));

describe('RUN step layer', () => {
  it(
    'marks opaque directories and turns whiteout devices into .wh. files',
    { skip: unmet(IS_ROOT, 'needs root (mknod, trusted xattrs)') },
    async () => {
      const upper = path.join(tmp, 'upper');
      fs.mkdirSync(path.join(upper, 'etc'), { recursive: true });
      fs.writeFileSync(path.join(upper, 'etc/new.conf'), 'x=1\n');
      execFileSync('mknod', [path.join(upper, 'etc/gone'), 'c', '0', '0']);
      // An opaque directory as overlayfs leaves it (the xattr set through tar, as the layer store does).
      const opq = Buffer.concat([
        tarHeader({
          name: 'var/cache/',
          type: 'dir',
          mode: 0o755,
          pax: { 'SCHILY.xattr.trusted.overlay.opaque': 'y' },
        }),
        TAR_END,
      ]);
      execFileSync('tar', ['--xattrs', '--xattrs-include=*', '-x', '-f', '-', '-C', upper], { input: opq });
      assert.deepEqual([...readOpaqueDirs(upper)], ['var/cache']);
      const out = new PassThrough();
      const names: string[] = [];
      const parser = new TarParser({
        entry: (e) => names.push(`${e.type}:${e.name}`),
        data: () => {},
        entryEnd: () => {},
      });
      const done = (async () => {
        for await (const c of out) parser.write(c as Buffer);
        parser.end();
      })();
      await writeTree(out, upper, '', { whiteouts: true, opaqueDirs: readOpaqueDirs(upper) });
      await done;
      assert.ok(names.includes('file:etc/.wh.gone'), names.join(' '));
      assert.ok(names.includes('file:etc/new.conf'));
      assert.ok(names.includes('dir:var/cache/'));
      assert.ok(names.includes('file:var/cache/.wh..wh..opq'));
    },
  );
});
