/**
 * docker import: a container's exported root back in as a one-layer image, from stdin (what the CLI sends),
 * from a file, from a URL served on 127.0.0.1 and through docker-py; --change, -m, repo/tag and platform;
 * bad input answered with Docker's {message} and no image left behind.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, promises as fsp } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import zlib from 'node:zlib';
import { dockerPy } from '../helpers/clients.js';
import { startContainerDaemon } from '../helpers/container-daemon.js';
import type { TestDaemon } from '../helpers/daemon.js';

describe('images: docker import', () => {
  let d: TestDaemon;
  let tmp: string;
  let rootfs: Buffer;
  let server: http.Server;
  let base: string;
  const dk = (args: string[], input?: string | Buffer) =>
    d.docker(args, { timeoutMs: 60_000, ...(input !== undefined ? { input } : {}) });
  const imageIds = async () => (await dk(['images', '-aq', '--no-trunc'])).stdout.trim().split('\n').sort();

  before(async () => {
    ({ d } = await startContainerDaemon());
    tmp = mkdtempSync(path.join(os.tmpdir(), 'berth-import-'));
    assert.equal(
      (await dk(['run', '--name', 'src', 'busybox', 'sh', '-c', 'echo from-import > /hello'])).code,
      0,
    );
    // A container's exported root: the usual source of docker import.
    const file = path.join(tmp, 'rootfs.tar');
    assert.equal((await dk(['export', '-o', file, 'src'])).code, 0);
    rootfs = await fsp.readFile(file);
    server = http.createServer((req, res) => {
      if (req.url === '/rootfs.tar.gz') return res.end(zlib.gzipSync(rootfs));
      if (req.url === '/moved') {
        res.writeHead(302, { Location: '/rootfs.tar.gz' });
        return res.end();
      }
      res.writeHead(404);
      res.end('nope');
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  after(async () => {
    server.close();
    await d.destroy();
    await fsp.rm(tmp, { recursive: true, force: true });
  });

  it('imports stdin with --change and -m, and the image runs', async () => {
    const r = await dk(
      [
        'import',
        '--change',
        'CMD ["cat", "/etc/motd"]',
        '--change',
        'ENV GREETING=hi',
        '--change',
        'WORKDIR /srv',
        '-m',
        'from a tarball',
        '-',
        'imported:v1',
      ],
      rootfs,
    );
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout.trim(), /^sha256:[0-9a-f]{64}$/);
    const run = await dk(['run', '--rm', 'imported:v1', 'sh', '-c', 'cat /hello; echo $GREETING; pwd']);
    assert.equal(run.stdout, 'from-import\nhi\n/srv\n', run.stderr);
    const insp = JSON.parse((await dk(['image', 'inspect', 'imported:v1'])).stdout) as Array<{
      Comment: string;
      Parent: string;
      Config: { Cmd: string[]; Env: string[] };
      RootFS: { Layers: string[] };
      Os: string;
    }>;
    assert.equal(insp[0].Comment, 'from a tarball');
    assert.equal(insp[0].Parent, '');
    assert.deepEqual(insp[0].Config.Cmd, ['cat', '/etc/motd']);
    assert.deepEqual(insp[0].Config.Env, ['GREETING=hi']);
    assert.equal(insp[0].RootFS.Layers.length, 1);
    const hist = await dk(['history', '--no-trunc', '--format', '{{.Comment}}', 'imported:v1']);
    assert.equal(hist.stdout.trim(), 'from a tarball');
  });

  it('imports a file without a name ("Imported from -"), a URL on 127.0.0.1, and through docker-py', async () => {
    const file = path.join(tmp, 'rootfs.tar');
    const r = await dk(['import', file]);
    assert.equal(r.code, 0, r.stderr);
    const id = r.stdout.trim();
    assert.equal(
      (await dk(['image', 'inspect', '-f', '{{.Comment}} {{len .RepoTags}}', id])).stdout.trim(),
      'Imported from - 0',
    );

    const u = await dk(['import', `${base}/moved`, 'fromurl']);
    assert.equal(u.code, 0, u.stderr);
    assert.equal((await dk(['run', '--rm', 'fromurl', 'cat', '/hello'])).stdout, 'from-import\n');
    assert.equal(
      (await dk(['image', 'inspect', '-f', '{{.Comment}}', 'fromurl'])).stdout.trim(),
      `Imported from ${base}/moved`,
    );

    const py = await dockerPy(
      d,
      `data = open(${JSON.stringify(file)}, 'rb').read()
out = client.api.import_image_from_data(data, repository='pyimport', tag='t1', changes=['CMD ["cat", "/hello"]'])
print(client.containers.run('pyimport:t1', remove=True).decode().strip(), client.images.get('pyimport:t1').attrs['Architecture'])`,
    );
    assert.equal(py.code, 0, py.stderr);
    assert.match(py.stdout.trim(), /^from-import (amd64|arm64)$/);

    const arm = await d.request(
      'POST',
      '/v1.44/images/create?fromSrc=-&repo=armroot&platform=linux/arm64',
      rootfs,
      { 'Content-Type': 'application/x-tar' },
    );
    assert.equal(arm.status, 200, arm.body);
    assert.equal(
      (await dk(['image', 'inspect', '-f', '{{.Os}}/{{.Architecture}}', 'armroot'])).stdout.trim(),
      'linux/arm64',
    );
  });

  it('answers bad input with {message} and leaves no image behind', async () => {
    const before = await imageIds();
    const cases: Array<{ q: string; body: Buffer; status: number; msg: RegExp }> = [
      { q: 'fromSrc=-&repo=UPPER', body: rootfs, status: 400, msg: /must be lowercase/ },
      { q: 'fromSrc=-&repo=ok&tag=b%3Ac', body: rootfs, status: 400, msg: /invalid tag format/ },
      {
        q: 'fromSrc=-&repo=ok&changes=RUN+rm',
        body: rootfs,
        status: 400,
        msg: /run is not a valid change command/,
      },
      {
        q: 'fromSrc=-&repo=ok&platform=windows/amd64',
        body: rootfs,
        status: 400,
        msg: /operating system is not supported/,
      },
      { q: 'fromSrc=-&repo=ok&platform=linux', body: rootfs, status: 400, msg: /invalid platform/ },
      { q: 'fromSrc=-&repo=ok', body: Buffer.alloc(2048, 'x'), status: 400, msg: /invalid tar archive/ },
      {
        q: 'fromSrc=-&repo=ok',
        body: Buffer.concat([Buffer.from([0x1f, 0x8b]), Buffer.alloc(3000, 'x')]),
        status: 400,
        msg: /invalid tar archive/,
      },
      {
        q: 'fromSrc=-&repo=ok',
        body: rootfs.subarray(0, 4096 + 100),
        status: 400,
        msg: /invalid tar archive/,
      },
      {
        q: 'fromSrc=ftp%3A%2F%2F127.0.0.1%2Fx&repo=ok',
        body: Buffer.alloc(0),
        status: 400,
        msg: /only http and https/,
      },
      {
        q: `fromSrc=${encodeURIComponent(base + '/missing.tar')}&repo=ok`,
        body: Buffer.alloc(0),
        status: 500,
        msg: /failed to GET .*missing\.tar with status 404/,
      },
    ];
    for (const c of cases) {
      const r = await d.request('POST', `/v1.44/images/create?${c.q}`, c.body, {
        'Content-Type': 'application/x-tar',
      });
      assert.equal(r.status, c.status, `${c.q}: ${r.body}`);
      assert.match((JSON.parse(r.body) as { message: string }).message, c.msg, c.q);
    }
    assert.deepEqual(await imageIds(), before, 'no image (and no tag) was created by a failed import');
    assert.equal((await dk(['image', 'inspect', 'ok'])).code, 1);
    // The images that were there still run.
    assert.equal((await dk(['run', '--rm', 'imported:v1', 'cat', '/hello'])).stdout, 'from-import\n');
  });
});
