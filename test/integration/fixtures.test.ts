/** The offline fixtures against the real docker-registry, GNU tar and (when installed) skopeo. */
import assert from 'node:assert/strict';
import { existsSync, promises as fsp } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { gunzipSync } from 'node:zlib';
import { run } from '../helpers/exec.js';
import { requirement } from '../helpers/env.js';
import { ESCAPE_MARKER } from '../fixtures/bad-images.js';
import { MULTILAYER_EXPECT } from '../fixtures/images.js';
import { largeImage } from '../fixtures/large-image.js';
import { MEDIA, sha256, type FixtureImage, type ImageManifest } from '../fixtures/oci.js';
import { registryRequest } from '../fixtures/push.js';
import { seedRegistry, TEST_AUTH, type SeededRegistry } from '../fixtures/seed.js';

const ACCEPT = [MEDIA.dockerManifest, MEDIA.dockerList, MEDIA.ociManifest, MEDIA.ociIndex].join(', ');

describe('test fixtures', () => {
  let reg: SeededRegistry;
  let tmp: string;
  before(async () => {
    reg = await seedRegistry();
    tmp = await fsp.mkdtemp(path.join(os.tmpdir(), 'berth-fixtures-test-'));
  });
  after(async () => {
    await reg.stop();
    await fsp.rm(tmp, { recursive: true, force: true });
  });

  async function getVerified(url: string, digest: string, accept?: string): Promise<Buffer> {
    const r = await registryRequest(url, 'GET', accept ? { headers: { Accept: accept } } : {});
    assert.equal(r.status, 200, `${url}: ${r.body.toString()}`);
    assert.equal(sha256(r.body), digest, url);
    assert.equal(r.headers['docker-content-digest'], digest);
    return r.body;
  }

  it('serves every pushed manifest and blob with the right media type and digest', async () => {
    for (const [repoTag, image] of reg.images) {
      const [repo, tag] = repoTag.split(':') as [string, string];
      const r = await registryRequest(`${reg.url}/v2/${repo}/manifests/${tag}`, 'GET', {
        headers: { Accept: ACCEPT },
      });
      assert.equal(r.status, 200, repoTag);
      assert.equal(r.headers['content-type'], image.mediaType, repoTag);
      assert.equal(sha256(r.body), image.digest, repoTag);
      const manifests: ImageManifest[] = image.kind === 'index' ? image.manifests : [image];
      for (const m of manifests) {
        const doc = JSON.parse(
          (await getVerified(`${reg.url}/v2/${repo}/manifests/${m.digest}`, m.digest, ACCEPT)).toString(),
        ) as {
          config: { digest: string };
          layers: Array<{ digest: string; mediaType: string }>;
        };
        const cfg = JSON.parse(
          (
            await getVerified(`${reg.url}/v2/${repo}/blobs/${doc.config.digest}`, doc.config.digest)
          ).toString(),
        ) as { rootfs: { diff_ids: string[] } };
        assert.equal(cfg.rootfs.diff_ids.length, doc.layers.length);
        for (const l of doc.layers) {
          assert.equal(l.mediaType, m.format === 'oci' ? MEDIA.ociLayer : MEDIA.dockerLayer);
          await getVerified(`${reg.url}/v2/${repo}/blobs/${l.digest}`, l.digest);
        }
      }
    }
  });

  it('index and manifest list name three platforms whose configs differ', () => {
    for (const tag of ['multiarch:latest', 'multiarch:list']) {
      const idx = reg.images.get(tag) as FixtureImage;
      assert.equal(idx.kind, 'index');
      if (idx.kind !== 'index') return;
      const doc = JSON.parse(idx.bytes.toString()) as {
        mediaType: string;
        manifests: Array<{ platform: { architecture: string } }>;
      };
      assert.deepEqual(
        doc.manifests.map((m) => m.platform.architecture),
        ['unknown', 'arm64', 'amd64'],
      );
      assert.equal(new Set(idx.manifests.map((m) => m.config.digest)).size, 3);
    }
  });

  it('busybox layer is a tar GNU tar reads: static busybox, applet symlinks, sticky /tmp', async () => {
    const img = reg.images.get('busybox:latest') as ImageManifest;
    const layer = path.join(tmp, 'busybox.tar.gz');
    await fsp.writeFile(layer, img.layers[0].data);
    const list = await run('tar', ['-tzvf', layer]);
    assert.equal(list.code, 0, list.stderr);
    assert.match(list.stdout, /^-rwxr-xr-x 0\/0 .* bin\/busybox$/m);
    assert.match(list.stdout, /^lrwxrwxrwx .* bin\/sh -> \/bin\/busybox$/m);
    assert.match(list.stdout, /^drwxrwxrwt .* tmp\/$/m);
    assert.match(list.stdout, /^drwx------ .* root\/$/m);
    const out = path.join(tmp, 'bb');
    await fsp.mkdir(out);
    const x = await run('tar', ['-xzf', layer, '-C', out]);
    assert.equal(x.code, 0, x.stderr);
    const sh = await run(path.join(out, 'bin/busybox'), ['sh', '-c', 'echo ok']);
    assert.equal(sh.stdout, 'ok\n');
    assert.match(await fsp.readFile(path.join(out, 'etc/passwd'), 'utf8'), /^nobody:x:65534:/m);
  });

  it('multilayer layers unpack with GNU tar to the documented owners, modes, links and long names', async () => {
    const img = reg.images.get('multilayer:latest') as ImageManifest;
    const out = path.join(tmp, 'ml');
    await fsp.mkdir(out);
    // Layers applied naively one after another (no whiteout handling): the files must be there.
    for (const l of img.layers) {
      const x = await run('tar', ['-xf', '-', '-C', out, '--same-owner', '-p'], {
        input: gunzipSync(l.data),
      });
      assert.equal(x.code, 0, x.stderr);
    }
    for (const [p, want] of Object.entries(MULTILAYER_EXPECT.files)) {
      const st = await fsp.lstat(path.join(out, p));
      assert.equal(st.mode & 0o7777, want.mode, p);
      if (process.getuid?.() === 0) assert.deepEqual([st.uid, st.gid], [want.uid, want.gid], p);
      if (want.content !== undefined)
        assert.equal(await fsp.readFile(path.join(out, p), 'utf8'), want.content, p);
    }
    for (const [p, target] of Object.entries(MULTILAYER_EXPECT.symlinks))
      assert.equal(await fsp.readlink(path.join(out, p)), target);
    for (const [a, b] of MULTILAYER_EXPECT.hardlinks)
      assert.equal((await fsp.stat(path.join(out, a))).ino, (await fsp.stat(path.join(out, b))).ino);
    // The whiteout markers are plain entries in the upper layers.
    assert.ok(existsSync(path.join(out, 'data/.wh.gone.txt')));
    assert.ok(existsSync(path.join(out, 'opaque/.wh..wh..opq')));
    assert.ok(existsSync(path.join(out, 'usr/bin/.wh.wget')));
  });

  it('bad layers say what they are: escapes, devices, a truncated gzip', async () => {
    const list = async (repoTag: string): Promise<string> => {
      const img = reg.images.get(repoTag) as ImageManifest;
      const r = await run('tar', ['-tvf', '-'], { input: gunzipSync(img.layers[0].data) });
      return r.stdout;
    };
    assert.match(await list('bad:dotdot'), new RegExp(`(\\.\\./){12}tmp/${ESCAPE_MARKER}-dotdot`));
    assert.match(await list('bad:absolute'), new RegExp(`/tmp/${ESCAPE_MARKER}-abs`));
    assert.match(await list('bad:hardlink-escape'), /^h.* passwd-link link to /m);
    assert.ok(
      (reg.images.get('bad:hardlink-escape') as ImageManifest).layers[0].tar!.includes(
        '../'.repeat(12) + 'etc/passwd',
      ),
    );
    assert.match(
      await list('bad:symlink-escape'),
      new RegExp(`escape -> (\\.\\./){12}tmp[\\s\\S]*escape/${ESCAPE_MARKER}-symlink`),
    );
    assert.match(await list('bad:device'), /^crw-rw-rw- .* 1,3 .*dev\/berth-null$/m);
    const trunc = reg.images.get('bad:truncated-gzip') as ImageManifest;
    assert.throws(() => gunzipSync(trunc.layers[0].data), /unexpected end of file/);
    const mismatch = reg.images.get('bad:diffid-mismatch') as ImageManifest;
    assert.notEqual(mismatch.configJson.rootfs.diff_ids[0], sha256(gunzipSync(mismatch.layers[0].data)));
  });

  it('an htpasswd registry refuses anonymous requests and serves authenticated ones', async () => {
    const authed = await seedRegistry({ auth: TEST_AUTH });
    assert.notEqual(authed.host, reg.host);
    const anon = await registryRequest(`${authed.url}/v2/`, 'GET');
    assert.equal(anon.status, 401);
    assert.match(String(anon.headers['www-authenticate']), /^Basic realm="berth-test-registry"/);
    const wrong = await registryRequest(`${authed.url}/v2/`, 'GET', {
      auth: { ...TEST_AUTH, password: 'nope' },
    });
    assert.equal(wrong.status, 401);
    const img = authed.images.get('busybox:latest') as ImageManifest;
    const r = await registryRequest(`${authed.url}/v2/busybox/manifests/latest`, 'GET', {
      auth: TEST_AUTH,
      headers: { Accept: ACCEPT },
    });
    assert.equal(r.status, 200);
    assert.equal(sha256(r.body), img.digest);
  });

  it('skopeo reads the images, picks platforms from the index, and logs in', async (t) => {
    const skip = requirement(existsSync('/usr/bin/skopeo'), 'skopeo not installed');
    if (skip) return t.skip(skip);
    const inspect = async (
      args: string[],
    ): Promise<{ Digest: string; Env: string[]; Architecture: string }> => {
      const r = await run('skopeo', ['inspect', '--tls-verify=false', ...args]);
      assert.equal(r.code, 0, r.stderr);
      return JSON.parse(r.stdout) as { Digest: string; Env: string[]; Architecture: string };
    };
    assert.equal(
      (await inspect([`docker://${reg.ref('busybox:oci')}`])).Digest,
      reg.images.get('busybox:oci')!.digest,
    );
    const arm = await inspect(['--override-arch', 'arm64', `docker://${reg.ref('multiarch:list')}`]);
    assert.ok(arm.Env.includes('BERTH_PLATFORM=linux/arm64/v8'), arm.Env.join());
    const amd = await inspect([
      '--override-arch',
      'amd64',
      '--override-os',
      'linux',
      `docker://${reg.ref('multiarch:latest')}`,
    ]);
    assert.ok(amd.Env.includes('BERTH_PLATFORM=linux/amd64'), amd.Env.join());
    const authed = await seedRegistry({ auth: TEST_AUTH });
    const withCreds = await inspect([
      '--creds',
      `${TEST_AUTH.username}:${TEST_AUTH.password}`,
      `docker://${authed.ref('multilayer:latest')}`,
    ]);
    assert.equal(withCreds.Digest, authed.images.get('multilayer:latest')!.digest);
  });

  it('the large image is about 100 MB over several layers and rebuilds identically from its cache', () => {
    const a = largeImage();
    const total = a.layers.reduce((n, l) => n + l.size, 0);
    assert.ok(a.layers.length >= 4);
    assert.ok(total > 80e6 && total < 130e6, `total ${total}`);
    assert.equal(largeImage().digest, a.digest);
  });
});
