/** docker save / docker load through the real docker CLI: round trips, OCI layouts, corrupt and hostile archives. */
import assert from 'node:assert/strict';
import { existsSync, promises as fsp } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { gzipSync } from 'node:zlib';
import { buildTar } from '@berth/agent/util/tar-writer';
import { startTestDaemon, type TestDaemon } from '../helpers/daemon.js';
import { requirement } from '../helpers/env.js';
import { run } from '../helpers/exec.js';
import { dockerArchiveTar, legacyDockerArchiveTar, ociLayoutTar } from '../fixtures/archives.js';
import { badImage, ESCAPE_TARGETS } from '../fixtures/bad-images.js';
import { busyboxImage, multiarchImage, multilayerImage } from '../fixtures/images.js';
import type { ImageManifest } from '../fixtures/oci.js';
import { seedRegistry, type SeededRegistry } from '../fixtures/seed.js';

async function dirCount(dir: string): Promise<number> {
  return (await fsp.readdir(dir).catch(() => [] as string[])).filter((n) => !n.startsWith('.')).length;
}

describe('docker save and docker load', () => {
  let reg: SeededRegistry;
  let d: TestDaemon;
  let tmp: string;
  let bbRef: string;
  let mlRef: string;
  const ids = new Map<string, string>();

  const state = async (): Promise<{ images: string; layers: number; blobs: number; staging: number }> => ({
    images: (
      await d.docker(['images', '-a', '--no-trunc', '--format', '{{.ID}} {{.Repository}}:{{.Tag}}'])
    ).stdout
      .split('\n')
      .sort()
      .join('\n'),
    layers: await dirCount(path.join(d.dataRoot, 'layers')),
    blobs: await dirCount(path.join(d.dataRoot, 'blobs/sha256')),
    staging: await dirCount(path.join(d.dataRoot, 'tmp')),
  });

  before(async () => {
    reg = await seedRegistry();
    d = await startTestDaemon();
    tmp = await fsp.mkdtemp(path.join(os.tmpdir(), 'berth-archive-test-'));
    bbRef = reg.ref('busybox:latest');
    mlRef = reg.ref('multilayer:latest');
    for (const ref of [bbRef, mlRef]) {
      const p = await d.docker(['pull', '-q', ref]);
      assert.equal(p.code, 0, p.stderr);
      ids.set(ref, (await d.docker(['image', 'inspect', '--format', '{{.Id}}', ref])).stdout.trim());
    }
    assert.equal(ids.get(bbRef), (reg.images.get('busybox:latest') as ImageManifest).config.digest);
  });
  after(async () => {
    await d?.destroy();
    await fsp.rm(tmp, { recursive: true, force: true });
  });

  it('saves in the dockerd 25 layout: manifest.json, repositories, index.json, oci-layout, diff-id layer tars', async () => {
    const out = path.join(tmp, 'both.tar');
    const s = await d.docker(['save', '-o', out, bbRef, mlRef]);
    assert.equal(s.code, 0, s.stderr);
    const list = (await run('tar', ['-tf', out])).stdout.split('\n').filter(Boolean);
    for (const f of ['manifest.json', 'repositories', 'index.json', 'oci-layout'])
      assert.ok(list.includes(f), `${f} in ${list.join(' ')}`);
    const x = path.join(tmp, 'both');
    await fsp.mkdir(x);
    assert.equal((await run('tar', ['-xf', out, '-C', x])).code, 0);
    const manifest = JSON.parse(await fsp.readFile(path.join(x, 'manifest.json'), 'utf8')) as Array<{
      Config: string;
      RepoTags: string[];
      Layers: string[];
    }>;
    const ml = reg.images.get('multilayer:latest') as ImageManifest;
    const mlItem = manifest.find((m) => m.RepoTags.includes(mlRef))!;
    assert.equal(mlItem.Config, `blobs/sha256/${ml.config.digest.slice(7)}`);
    assert.deepEqual(
      mlItem.Layers,
      ml.layers.map((l) => `blobs/sha256/${l.diffId.slice(7)}`),
    );
    // Each layer file is the uncompressed tar whose sha256 is its diff id.
    for (const l of ml.layers)
      assert.ok((await fsp.readFile(path.join(x, 'blobs/sha256', l.diffId.slice(7)))).equals(l.tar!));
    const index = JSON.parse(await fsp.readFile(path.join(x, 'index.json'), 'utf8')) as {
      manifests: Array<{ annotations: Record<string, string> }>;
    };
    assert.deepEqual(
      index.manifests.map((m) => m.annotations['io.containerd.image.name']).sort(),
      [bbRef, mlRef].sort(),
    );
    const repos = JSON.parse(await fsp.readFile(path.join(x, 'repositories'), 'utf8')) as Record<
      string,
      Record<string, string>
    >;
    assert.equal(repos[`${reg.host}/multilayer`].latest, ml.layers[ml.layers.length - 1].diffId.slice(7));
    if (existsSync('/usr/bin/skopeo')) {
      // Another implementation reads both views of the same archive.
      const a = await run('skopeo', ['inspect', `docker-archive:${out}:${mlRef}`]);
      assert.equal(a.code, 0, a.stderr);
      const o = await run('skopeo', ['inspect', `oci-archive:${out}:latest`]);
      assert.equal(o.code, 0, o.stderr);
    }
  });

  it('round-trips: rmi then load gives the same IDs and tags; loading again reuses every layer', async () => {
    const out = path.join(tmp, 'rt.tar');
    assert.equal((await d.docker(['save', '-o', out, bbRef, mlRef])).code, 0);
    const rm = await d.docker(['rmi', bbRef, mlRef]);
    assert.equal(rm.code, 0, rm.stderr);
    const l = await d.docker(['load', '-i', out]);
    assert.equal(l.code, 0, l.stderr);
    assert.match(l.stdout, new RegExp(`Loaded image: ${bbRef.replace(/[.]/g, '\\.')}`));
    assert.match(l.stdout, new RegExp(`Loaded image: ${mlRef.replace(/[.]/g, '\\.')}`));
    for (const ref of [bbRef, mlRef])
      assert.equal(
        (await d.docker(['image', 'inspect', '--format', '{{.Id}}', ref])).stdout.trim(),
        ids.get(ref),
      );
    const before = await state();
    const again = await d.docker(['load'], { input: await fsp.readFile(out) });
    assert.equal(again.code, 0, again.stderr);
    assert.deepEqual(await state(), before);
    // The loaded image saves to identical bytes (deterministic output).
    const out2 = path.join(tmp, 'rt2.tar');
    assert.equal((await d.docker(['save', '-o', out2, bbRef, mlRef])).code, 0);
    assert.ok((await fsp.readFile(out)).equals(await fsp.readFile(out2)));
  });

  it('loads a gzipped save into a fresh daemon with equal IDs, layers and config', async () => {
    const out = path.join(tmp, 'ml.tar');
    assert.equal((await d.docker(['save', '-o', out, mlRef])).code, 0);
    const byId = path.join(tmp, 'ml-id.tar');
    assert.equal((await d.docker(['save', '-o', byId, ids.get(mlRef)!])).code, 0);
    const d2 = await startTestDaemon();
    try {
      const untagged = await d2.docker(['load', '-i', byId]);
      assert.equal(untagged.stdout, `Loaded image ID: ${ids.get(mlRef)}\n`);
      const l = await d2.docker(['load', '-q'], { input: gzipSync(await fsp.readFile(out)) });
      assert.equal(l.code, 0, l.stderr);
      const fmt = '{{.Id}} {{json .RootFS.Layers}} {{json .Config.Env}} {{.Config.WorkingDir}}';
      const a = await d.docker(['image', 'inspect', '--format', fmt, mlRef]);
      const b = await d2.docker(['image', 'inspect', '--format', fmt, mlRef]);
      assert.equal(b.stdout, a.stdout);
      const hist = await d2.docker(['history', '-q', mlRef]);
      assert.equal(hist.code, 0, hist.stderr);
    } finally {
      await d2.destroy();
    }
  });

  it('loads an OCI image layout: index → platform manifest, names from annotations, untagged otherwise', async () => {
    const multi = multiarchImage('oci');
    const bbOci = busyboxImage('oci');
    const tar = ociLayoutTar([
      { image: multi, imageName: 'docker.io/library/ocimulti:v1', refName: 'v1' },
      { image: bbOci, refName: 'latest' },
    ]);
    const l = await d.docker(['load'], { input: tar });
    assert.equal(l.code, 0, l.stderr);
    assert.match(l.stdout, /Loaded image: ocimulti:v1/);
    assert.match(l.stdout, new RegExp(`Loaded image ID: ${bbOci.config.digest}`));
    const amd = multi.manifests.find(
      (m) => m.platform?.architecture === (process.arch === 'arm64' ? 'arm64' : 'amd64'),
    )!;
    const i = await d.docker(['image', 'inspect', '--format', '{{.Id}} {{.Architecture}}', 'ocimulti:v1']);
    assert.equal(i.stdout.trim(), `${amd.config.digest} ${amd.platform!.architecture}`);
    assert.equal((await d.docker(['image', 'inspect', '--format', '{{.Id}}', bbOci.config.digest])).code, 0);
  });

  it('streams Loading layer progress when not quiet, pushes what it loaded, and 404s a save of an unknown image', async () => {
    const bb = busyboxImage('docker');
    const tar = dockerArchiveTar([{ image: { ...bb }, repoTags: ['progress/busybox:1'] }]);
    const fresh = await startTestDaemon();
    try {
      const r = await fresh.request('POST', '/v1.44/images/load?quiet=0', tar, {
        'Content-Type': 'application/x-tar',
      });
      assert.equal(r.status, 200);
      const lines = r.body
        .trim()
        .split(/\r?\n/)
        .map(
          (s) => JSON.parse(s) as { status?: string; stream?: string; progressDetail?: { total: number } },
        );
      assert.ok(lines.some((m) => m.status === 'Loading layer' && m.progressDetail!.total > 0));
      assert.equal(lines[lines.length - 1].stream, 'Loaded image: progress/busybox:1\n');
      const g = await fresh.request('GET', '/v1.44/images/progress/busybox:1/get');
      assert.equal(g.status, 200);
      assert.equal(g.headers['content-type'], 'application/x-tar');
      // Loaded layers are kept as plain tars: they still push, and pull back to the same image.
      const pushed = reg.ref('loaded/busybox:1');
      assert.equal((await fresh.docker(['tag', 'progress/busybox:1', pushed])).code, 0);
      const push = await fresh.docker(['push', pushed]);
      assert.equal(push.code, 0, push.stderr);
      const pull = await d.docker(['pull', '-q', pushed]);
      assert.equal(pull.code, 0, pull.stderr);
      assert.equal(
        (await d.docker(['image', 'inspect', '--format', '{{.Id}}', pushed])).stdout.trim(),
        bb.config.digest,
      );
    } finally {
      await fresh.destroy();
    }
    const nf = await d.request('GET', '/images/get?names=nosuch:image');
    assert.equal(nf.status, 404);
    assert.match((JSON.parse(nf.body) as { message: string }).message, /No such image: nosuch:image/);
    const cli = await d.docker(['save', '-o', path.join(tmp, 'x.tar'), 'nosuch']);
    assert.notEqual(cli.code, 0);
    assert.match(cli.stderr, /No such image: nosuch/);
  });

  it('loads the pre-25 docker save layout (<id>/layer.tar, a symlinked shared layer)', async () => {
    const bb = busyboxImage('docker');
    const ml = multilayerImage('docker');
    const fresh = await startTestDaemon();
    try {
      const l = await fresh.docker(['load'], {
        input: legacyDockerArchiveTar(
          [
            { image: bb, repoTags: ['old/busybox:1'] },
            { image: ml, repoTags: ['old/multilayer:1', 'old/multilayer:2'] },
          ],
          true,
        ),
      });
      assert.equal(l.code, 0, l.stderr);
      assert.match(
        l.stdout,
        /Loaded image: old\/busybox:1\nLoaded image: old\/multilayer:1\nLoaded image: old\/multilayer:2/,
      );
      assert.equal(
        (await fresh.docker(['image', 'inspect', '--format', '{{.Id}}', 'old/multilayer:2'])).stdout.trim(),
        ml.config.digest,
      );
      assert.equal(await dirCount(path.join(fresh.dataRoot, 'layers')), ml.layers.length);
    } finally {
      await fresh.destroy();
    }
  });

  it('works for docker-py: Image.save() and images.load(), and the APIClient progress stream', async (t) => {
    const py = await run('python3', ['-c', 'import docker']);
    const skip = requirement(py.code === 0, 'python3 docker (docker-py) not installed');
    if (skip) return t.skip(skip);
    const script = [
      'import docker, json, sys',
      `c = docker.DockerClient(base_url='unix://${d.socket}')`,
      `data = b''.join(c.images.get(sys.argv[1]).save(named=True))`,
      'ids = [i.id for i in c.images.load(data)]',
      'msgs = list(c.api.load_image(data, quiet=False))',
      'print(json.dumps({"ids": ids, "msgs": msgs}))',
    ].join('\n');
    const r = await run('python3', ['-c', script, mlRef]);
    assert.equal(r.code, 0, r.stderr);
    const out = JSON.parse(r.stdout) as { ids: string[]; msgs: Array<{ stream?: string }> };
    assert.deepEqual(out.ids, [ids.get(mlRef)]);
    assert.deepEqual(
      out.msgs.map((m) => m.stream),
      [`Loaded image: ${mlRef}\n`],
    );
  });

  it('refuses a corrupt or truncated archive with a clear error and leaves nothing behind', async () => {
    const good = await fsp.readFile(path.join(tmp, 'ml.tar'));
    const d2 = await startTestDaemon();
    try {
      const snap = async () => ({
        images: (await d2.docker(['images', '-aq'])).stdout,
        layers: await dirCount(path.join(d2.dataRoot, 'layers')),
        blobs: await dirCount(path.join(d2.dataRoot, 'blobs/sha256')),
        staging: await dirCount(path.join(d2.dataRoot, 'tmp')),
      });
      const empty = await snap();
      // Cut inside the last layer: the manifest that names the layers is never reached.
      const cut = await d2.docker(['load'], { input: good.subarray(0, Math.floor(good.length * 0.9)) });
      assert.notEqual(cut.code, 0);
      assert.match(
        cut.stderr,
        /invalid archive: not a valid tar file \(unexpected EOF: the archive is truncated\)/,
      );
      const garbage = await d2.docker(['load'], { input: Buffer.alloc(4096, 'not a tar at all ') });
      assert.notEqual(garbage.code, 0);
      assert.match(garbage.stderr, /invalid archive: not a valid tar file/);
      const notImage = await d2.docker(['load'], {
        input: buildTar([{ entry: { name: 'hello.txt', type: 'file' }, data: Buffer.from('hi') }]),
      });
      assert.match(
        notImage.stderr,
        /no manifest\.json \(docker save\) or index\.json \(OCI image layout\) found/,
      );
      // A complete archive whose top layer is damaged: the layers below get unpacked, then must be rolled back.
      const ml = multilayerImage('docker');
      const top = ml.layers[ml.layers.length - 1];
      const tampered = Buffer.from(top.tar!);
      const at = tampered.indexOf('long\n');
      tampered[at] = 'L'.charCodeAt(0);
      const broken = dockerArchiveTar([
        {
          image: { ...ml, layers: [...ml.layers.slice(0, -1), { ...top, tar: tampered }] },
          repoTags: ['broken:1'],
        },
      ]);
      const bad = await d2.docker(['load'], { input: broken });
      assert.notEqual(bad.code, 0);
      assert.match(
        bad.stderr,
        /invalid archive: layer sha256:[0-9a-f]{64}: .*does not match the image config/,
      );
      assert.deepEqual(await snap(), empty);
    } finally {
      await d2.destroy();
    }
  });

  it('rejects hostile archives: ../ in a layer, ../ and absolute names in the archive itself', async () => {
    const snap = async () => ({ ...(await state()) });
    const start = await snap();
    const evil = badImage('dotdot');
    const r = await d.docker(['load'], {
      input: dockerArchiveTar([{ image: evil, repoTags: ['evil:dotdot'] }]),
    });
    assert.notEqual(r.code, 0);
    assert.match(r.stderr, /invalid archive: layer sha256:[0-9a-f]{64}: .*escapes the layer root/);
    const bb = busyboxImage('docker');
    const outer = await d.docker(['load'], {
      input: dockerArchiveTar(
        [{ image: bb, repoTags: ['evil:outer'] }],
        [{ entry: { name: '../../escape.txt', type: 'file' }, data: Buffer.from('x') }],
      ),
    });
    assert.notEqual(outer.code, 0);
    assert.match(outer.stderr, /invalid archive: entry "\.\.\/\.\.\/escape\.txt" points outside the archive/);
    const abs = await d.docker(['load'], {
      input: ociLayoutTar(
        [{ image: bb, imageName: 'docker.io/library/evil:abs' }],
        [{ entry: { name: '/tmp/berth-fixture-escaped-abs', type: 'file' }, data: Buffer.from('x') }],
      ),
    });
    assert.notEqual(abs.code, 0);
    assert.match(abs.stderr, /is an absolute path/);
    const link = await d.docker(['load'], {
      input: dockerArchiveTar(
        [{ image: bb, repoTags: ['evil:link'] }],
        [{ entry: { name: 'x/layer.tar', type: 'symlink', linkname: '../../../../etc/passwd' } }],
      ),
    });
    assert.match(
      link.stderr,
      /invalid archive: entry "\.\.\/\.\.\/\.\.\/etc\/passwd" points outside the archive/,
    );
    for (const t of ESCAPE_TARGETS) assert.equal(existsSync(t), false, t);
    assert.equal(existsSync(path.join(d.dataRoot, 'escape.txt')), false);
    assert.deepEqual(await snap(), start);
  });
});
