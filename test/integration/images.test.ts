/** Images through the real docker CLI against real registries: pull, mirror, inspect, history, tag, push, login, rmi, prune. */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, promises as fsp, readdirSync, rmSync, statSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { startTestDaemon, type TestDaemon } from '../helpers/daemon.js';
import { IS_ROOT, skipUnless } from '../helpers/env.js';
import { MULTILAYER_EXPECT } from '../fixtures/images.js';
import type { ImageIndex, ImageManifest } from '../fixtures/oci.js';
import { pushImage, registryRequest } from '../fixtures/push.js';
import { seedRegistry, TEST_AUTH, type SeededRegistry } from '../fixtures/seed.js';

const json = <T>(s: string): T => JSON.parse(s) as T;

interface Inspect {
  Id: string;
  RepoTags: string[];
  RepoDigests: string[];
  Config: { Cmd?: string[]; Env?: string[]; Labels?: Record<string, string>; WorkingDir?: string };
  RootFS: { Layers: string[] };
  Size: number;
  Created: string;
  Architecture: string;
  GraphDriver: { Name: string; Data: Record<string, string> };
}

describe('images: pull, inspect, tag, push, rmi, prune through the docker CLI', () => {
  let reg: SeededRegistry;
  let authReg: SeededRegistry;
  let d: TestDaemon;
  const inspect = async (ref: string): Promise<Inspect> => {
    const r = await d.docker(['image', 'inspect', ref]);
    assert.equal(r.code, 0, r.stderr);
    return json<Inspect[]>(r.stdout)[0];
  };

  before(async () => {
    reg = await seedRegistry();
    authReg = await seedRegistry({ auth: TEST_AUTH });
    // The mirror serves docker.io names: library/busybox.
    await pushImage(reg.host, 'library/busybox', 'latest', reg.images.get('busybox:latest')!);
    d = await startTestDaemon({ args: ['--registry-mirror', reg.url] });
  });
  after(async () => {
    await d?.destroy();
  });

  it('pulls a schema2 image with dockerd progress lines, then reports it up to date', async () => {
    const img = reg.images.get('busybox:latest') as ImageManifest;
    const r = await d.docker(['pull', reg.ref('busybox:latest')]);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /latest: Pulling from busybox/);
    assert.match(r.stdout, /: Pull complete/);
    assert.match(r.stdout, new RegExp(`Digest: ${img.digest}`));
    assert.match(r.stdout, new RegExp(`Status: Downloaded newer image for ${reg.host}/busybox:latest`));
    const again = await d.docker(['pull', reg.ref('busybox:latest')]);
    assert.equal(again.code, 0, again.stderr);
    assert.match(again.stdout, /Status: Image is up to date/);
    const i = await inspect(reg.ref('busybox:latest'));
    assert.equal(i.Id, img.config.digest);
    assert.deepEqual(i.RepoTags, [`${reg.host}/busybox:latest`]);
    assert.deepEqual(i.RepoDigests, [`${reg.host}/busybox@${img.digest}`]);
    assert.deepEqual(
      i.RootFS.Layers,
      img.layers.map((l) => l.diffId),
    );
    assert.deepEqual(i.Config.Cmd, ['sh']);
    assert.equal(i.GraphDriver.Name, 'overlay2');
    assert.ok(i.Size > 500_000, `size ${i.Size}`);
    assert.ok(existsSync(path.join(i.GraphDriver.Data.UpperDir, 'bin/busybox')));
  });

  it('resolves `docker pull busybox` through --registry-mirror', async () => {
    const r = await d.docker(['pull', 'busybox']);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /latest: Pulling from library\/busybox/);
    assert.match(r.stdout, /Already exists/);
    assert.match(r.stdout, /docker\.io\/library\/busybox:latest/);
    const i = await inspect('busybox');
    assert.ok(i.RepoTags.includes('busybox:latest'));
    assert.ok(i.RepoDigests.some((x) => x.startsWith('busybox@sha256:')));
  });

  it('pulls OCI manifests, OCI indexes and Docker manifest lists for the daemon platform', async () => {
    const arch = process.arch === 'arm64' ? 'arm64' : 'amd64';
    for (const tag of ['multiarch:latest', 'multiarch:list']) {
      const index = reg.images.get(tag) as ImageIndex;
      const want = index.manifests.find(
        (m) => m.platform?.architecture === arch && m.platform.os === 'linux',
      )!;
      const r = await d.docker(['pull', reg.ref(tag)]);
      assert.equal(r.code, 0, r.stderr);
      const i = await inspect(reg.ref(tag));
      assert.equal(i.Id, want.config.digest, tag);
      assert.equal(i.Architecture, arch);
      assert.ok(i.RepoDigests.includes(`${reg.host}/multiarch@${index.digest}`), tag);
    }
    const oci = reg.images.get('busybox:oci') as ImageManifest;
    const r = await d.docker(['pull', reg.ref('busybox:oci')]);
    assert.equal(r.code, 0, r.stderr);
    assert.equal((await inspect(reg.ref('busybox:oci'))).Id, oci.config.digest);
    const byDigest = await d.docker(['pull', `${reg.host}/busybox@${oci.digest}`]);
    assert.equal(byDigest.code, 0, byDigest.stderr);
    assert.match(byDigest.stdout, new RegExp(`Status: .* for ${reg.host}/busybox@${oci.digest}`));
  });

  it('unpacks layers once with whiteouts and opaque dirs that overlayfs applies', async (t) => {
    const r = await d.docker(['pull', reg.ref('multilayer:latest')]);
    assert.equal(r.code, 0, r.stderr);
    const i = await inspect(reg.ref('multilayer:latest'));
    assert.equal(i.Config.WorkingDir, '/data');
    const lowers = [
      i.GraphDriver.Data.UpperDir,
      ...(i.GraphDriver.Data.LowerDir ?? '').split(':').filter(Boolean),
    ];
    assert.equal(lowers.length, 4);
    if (skipUnless(t, IS_ROOT, 'mounting overlayfs needs root')) return;
    const mnt = mkdtempSync(path.join(os.tmpdir(), 'berth-ovl-'));
    execFileSync('mount', ['-t', 'overlay', 'overlay', '-o', `ro,lowerdir=${lowers.join(':')}`, mnt]);
    try {
      for (const [p, e] of Object.entries(MULTILAYER_EXPECT.files)) {
        const st = statSync(path.join(mnt, p));
        assert.equal(st.mode & 0o7777, e.mode, p);
        assert.equal(st.uid, e.uid, p);
        if (e.content !== undefined)
          assert.equal(await fsp.readFile(path.join(mnt, p), 'utf8'), e.content, p);
      }
      for (const [p, e] of Object.entries(MULTILAYER_EXPECT.dirs))
        assert.equal(statSync(path.join(mnt, p)).mode & 0o7777, e.mode, p);
      for (const [p, target] of Object.entries(MULTILAYER_EXPECT.symlinks))
        assert.equal(await fsp.readlink(path.join(mnt, p)), target, p);
      for (const [a, b] of MULTILAYER_EXPECT.hardlinks)
        assert.equal(statSync(path.join(mnt, a)).ino, statSync(path.join(mnt, b)).ino);
      for (const p of MULTILAYER_EXPECT.absent)
        assert.ok(!existsSync(path.join(mnt, p)), `${p} should be hidden`);
      assert.deepEqual(readdirSync(path.join(mnt, 'opaque')), ['new.txt']);
    } finally {
      execFileSync('umount', [mnt]);
      rmSync(mnt, { recursive: true, force: true });
    }
  });

  it('shows history, lists with filters and reports counts in info and df', async () => {
    const h = await d.docker([
      'history',
      '--no-trunc',
      '--format',
      '{{.CreatedBy}}|{{.Size}}',
      reg.ref('multilayer:latest'),
    ]);
    assert.equal(h.code, 0, h.stderr);
    const lines = h.stdout.trim().split('\n');
    assert.equal(lines.length, 5);
    assert.match(lines[0], /layer 3 long name/);
    assert.match(lines[2], /^ENV MULTILAYER=1\|0B$/);
    const lbl = await d.docker([
      'images',
      '--filter',
      'label=org.berth.fixture=multilayer',
      '--format',
      '{{.Repository}}:{{.Tag}}',
    ]);
    assert.equal(lbl.stdout.trim(), `${reg.host}/multilayer:latest`);
    const ref = await d.docker([
      'images',
      '--filter',
      `reference=${reg.host}/multi*`,
      '--format',
      '{{.Repository}}:{{.Tag}}',
    ]);
    assert.deepEqual(ref.stdout.trim().split('\n').sort(), [
      `${reg.host}/multiarch:latest`,
      `${reg.host}/multiarch:list`,
      `${reg.host}/multilayer:latest`,
    ]);
    const bad = await d.request('GET', '/images/json?filters=' + encodeURIComponent('{"nope":["x"]}'));
    assert.equal(bad.status, 400);
    const info = await d.docker(['info', '--format', '{{.Images}}']);
    assert.ok(Number(info.stdout.trim()) >= 3, info.stdout);
    const df = await d.docker(['system', 'df', '--format', '{{.Type}} {{.TotalCount}}']);
    assert.match(df.stdout, /^Images [3-9]/m);
  });

  it('tags and pushes (mount from another repo, then layer exists), with the aux digest line', async () => {
    assert.equal((await d.docker(['tag', reg.ref('busybox:latest'), `${reg.host}/pushed/bb:v1`])).code, 0);
    const p = await d.docker(['push', `${reg.host}/pushed/bb:v1`]);
    assert.equal(p.code, 0, p.stderr);
    assert.match(p.stdout, new RegExp(`The push refers to repository \\[${reg.host}/pushed/bb\\]`));
    assert.match(p.stdout, /Mounted from|Pushed/);
    const img = reg.images.get('busybox:latest') as ImageManifest;
    assert.match(p.stdout, new RegExp(`v1: digest: ${img.digest} size: ${img.bytes.length}`));
    const again = await d.docker(['push', `${reg.host}/pushed/bb:v1`]);
    assert.match(again.stdout, /Layer already exists/);
    const m = await registryRequest(`${reg.url}/v2/pushed/bb/manifests/v1`, 'GET', {
      headers: { Accept: img.mediaType },
    });
    assert.equal(m.status, 200);
    assert.equal(m.body.toString(), img.bytes.toString());
    const missing = await d.docker(['push', `${reg.host}/never/tagged:x`]);
    assert.notEqual(missing.code, 0);
    assert.match(missing.stderr, /An image does not exist locally with the tag/);
  });

  it('logs in (401 on a wrong password), then pulls and pushes to an htpasswd registry', async () => {
    const anon = await d.docker(['pull', authReg.ref('busybox:latest')]);
    assert.notEqual(anon.code, 0);
    assert.match(anon.stderr, /no basic auth credentials/);
    const wrong = await d.docker(['login', '-u', TEST_AUTH.username, '--password-stdin', authReg.host], {
      input: 'wrong\n',
    });
    assert.notEqual(wrong.code, 0);
    assert.match(wrong.stderr, /401 Unauthorized/);
    const ok = await d.docker(['login', '-u', TEST_AUTH.username, '--password-stdin', authReg.host], {
      input: TEST_AUTH.password + '\n',
    });
    assert.equal(ok.code, 0, ok.stderr);
    assert.match(ok.stdout, /Login Succeeded/);
    const pull = await d.docker(['pull', authReg.ref('busybox:latest')]);
    assert.equal(pull.code, 0, pull.stderr);
    assert.equal((await d.docker(['tag', authReg.ref('busybox:latest'), `${authReg.host}/mine:1`])).code, 0);
    const push = await d.docker(['push', `${authReg.host}/mine:1`]);
    assert.equal(push.code, 0, push.stderr);
    assert.match(push.stdout, /1: digest: sha256:/);
  });

  it('untags vs deletes like dockerd: 409 for multiple repositories, force, and events', async () => {
    const id = (await inspect(reg.ref('busybox:latest'))).Id;
    const conflict = await d.request('DELETE', `/images/${id}`);
    assert.equal(conflict.status, 409);
    assert.match(
      json<{ message: string }>(conflict.body).message,
      /unable to delete [0-9a-f]{12} \(must be forced\) - image is referenced in multiple repositories/,
    );
    const untag = await d.docker(['rmi', `${reg.host}/pushed/bb:v1`]);
    assert.equal(untag.code, 0, untag.stderr);
    assert.match(untag.stdout, new RegExp(`Untagged: ${reg.host}/pushed/bb:v1`));
    assert.doesNotMatch(untag.stdout, /Deleted/);
    const forced = await d.docker(['rmi', '-f', id]);
    assert.equal(forced.code, 0, forced.stderr);
    assert.match(forced.stdout, new RegExp(`Deleted: ${id}`));
    const gone = await d.docker(['image', 'inspect', id]);
    assert.notEqual(gone.code, 0);
    assert.match(gone.stderr, /No such image/);
    const ev = await d.docker([
      'events',
      '--since',
      '0',
      '--until',
      String(Math.ceil(Date.now() / 1000) + 1),
      '--filter',
      'type=image',
      '--format',
      '{{.Action}}',
    ]);
    for (const a of ['pull', 'tag', 'push', 'untag', 'delete'])
      assert.match(ev.stdout, new RegExp(`^${a}$`, 'm'), a);
    const search = await d.docker(['search', 'busybox']);
    assert.notEqual(search.code, 0);
    assert.match(search.stderr, /search is not supported by Berth/);
  });

  it('prunes dangling images, then everything unused, leaving no layers or blobs behind', async () => {
    const ml = await inspect(reg.ref('multilayer:latest'));
    const rmi = await d.docker(['rmi', reg.ref('multilayer:latest')]);
    assert.equal(rmi.code, 0, rmi.stderr);
    // Untagged but still present? No: the last tag went, so it was deleted. Make a dangling one instead.
    const pull = await d.docker(['pull', reg.ref('multilayer:latest')]);
    assert.equal(pull.code, 0, pull.stderr);
    const tag = await d.docker(['tag', reg.ref('multiarch:latest'), reg.ref('multilayer:latest')]);
    assert.equal(tag.code, 0, tag.stderr);
    const dangling = await d.docker(['images', '--filter', 'dangling=true', '--format', '{{.ID}}']);
    assert.equal(dangling.stdout.trim(), ml.Id.slice(7, 19));
    const p = await d.docker(['image', 'prune', '-f']);
    assert.equal(p.code, 0, p.stderr);
    assert.match(p.stdout, new RegExp(`deleted: ${ml.Id}`));
    const all = await d.docker(['image', 'prune', '-a', '-f']);
    assert.equal(all.code, 0, all.stderr);
    const left = await d.docker(['images', '-a', '-q']);
    assert.equal(left.stdout.trim(), '');
    assert.deepEqual(readdirSync(path.join(d.dataRoot, 'layers')), []);
    assert.deepEqual(readdirSync(path.join(d.dataRoot, 'blobs/sha256')), []);
  });
});
