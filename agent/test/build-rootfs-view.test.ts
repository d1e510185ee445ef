/** The merged view of overlay-form layers: whiteout devices, opaque directories, symlinks kept in scope. */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, describe, it } from 'node:test';
import { lookupUser, RootfsView } from '../src/image-builder/rootfs-view.js';
import { tarHeader, TAR_END } from '../src/util/tar-writer.js';
import { IS_ROOT, unmet } from './preconditions.js';

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'berth-view-'));
after(() => fs.rmSync(tmp, { recursive: true, force: true }));

function put(root: string, rel: string, data = 'x'): void {
  fs.mkdirSync(path.dirname(path.join(root, rel)), { recursive: true });
  fs.writeFileSync(path.join(root, rel), data);
}

describe('RootfsView', () => {
  it(
    'hides whiteouts and what opaque directories cover; resolves links inside the root',
    { skip: unmet(IS_ROOT, 'needs root (mknod, trusted xattrs)') },
    () => {
      const lower = path.join(tmp, 'lower');
      const upper = path.join(tmp, 'upper');
      put(lower, 'd/old.txt');
      put(lower, 'd/sub/deep.txt');
      put(lower, 'x/gone');
      put(lower, 'x/kept');
      put(lower, 'etc/passwd', 'root:x:0:0::/root:/bin/sh\napp:x:1234:4321::/home/app:/bin/sh\n');
      put(lower, 'etc/group', 'root:x:0:\nstaff:x:50:\n');
      fs.symlinkSync('../../../../etc', path.join(lower, 'up'));
      fs.mkdirSync(path.join(upper, 'x'), { recursive: true });
      execFileSync('mknod', [path.join(upper, 'x/gone'), 'c', '0', '0']);
      const opq = Buffer.concat([
        tarHeader({
          name: 'd/',
          type: 'dir',
          mode: 0o755,
          pax: { 'SCHILY.xattr.trusted.overlay.opaque': 'y' },
        }),
        TAR_END,
      ]);
      execFileSync('tar', ['--xattrs', '--xattrs-include=*', '-x', '-f', '-', '-C', upper], { input: opq });
      put(upper, 'd/new.txt');
      const v = new RootfsView([upper, lower]);
      assert.deepEqual(v.list('d'), ['new.txt']);
      assert.equal(v.lstat('d/old.txt'), undefined);
      assert.equal(v.lstat('d/sub/deep.txt'), undefined);
      assert.deepEqual(v.list('x'), ['kept']);
      assert.equal(v.lstat('x/gone'), undefined);
      assert.ok(v.lstat('x/kept'));
      assert.equal(v.resolve('up/passwd'), 'etc/passwd', 'a climbing link stops at the root');
      assert.deepEqual(lookupUser(v, 'app'), { uid: 1234, gid: 4321 });
      assert.deepEqual(lookupUser(v, 'app:staff'), { uid: 1234, gid: 50 });
      assert.deepEqual(lookupUser(v, '7:8'), { uid: 7, gid: 8 });
      assert.throws(() => lookupUser(v, 'nobody'), /unable to find user nobody/);
    },
  );
});
