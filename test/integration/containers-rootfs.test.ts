/**
 * A running container's whole root through docker cp / export / docker-py's get_archive, as dockerd shows it:
 * the rootfs with volumes and network files, /proc, /sys, /dev and tmpfs mounts as the empty entries they
 * cover, never the kernel's pseudo-filesystems; complete even while files change under the walk.
 */
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, promises as fsp, readdirSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { dockerPy } from '../helpers/clients.js';
import { startContainerDaemon } from '../helpers/container-daemon.js';
import type { TestDaemon } from '../helpers/daemon.js';
import { run } from '../helpers/exec.js';
import { buildTar } from '@berth/agent/util/tar-writer';

describe("containers: a running container's root as an archive", () => {
  let d: TestDaemon;
  let tmp: string;
  const dk = (args: string[], input?: string | Buffer) =>
    d.docker(args, { timeoutMs: 60_000, ...(input !== undefined ? { input } : {}) });
  before(async () => {
    ({ d } = await startContainerDaemon());
    tmp = mkdtempSync(path.join(os.tmpdir(), 'berth-rootfs-'));
  });
  after(async () => {
    await dk(['rm', '-f', 'live']);
    await d.destroy();
    await fsp.rm(tmp, { recursive: true, force: true });
  });

  it('docker cp CONTAINER:/ walks the rootfs, volumes included, pseudo-filesystems as empty mount points', async () => {
    const vol = path.join(tmp, 'vol');
    await fsp.mkdir(vol);
    const r = await dk([
      'run',
      '-d',
      '--name',
      'live',
      '--tmpfs',
      '/tm',
      '-v',
      `${vol}:/vol`,
      'busybox',
      'sh',
      '-c',
      'echo t > /tm/a; echo v > /vol/b; mkdir -p /x /zz; echo hi > /x/f; echo end > /zz/last; touch /ready; while :; do echo grow >> /x/grow; done',
    ]);
    assert.equal(r.code, 0, r.stderr);
    for (let i = 0; i < 50 && (await dk(['exec', 'live', 'test', '-e', '/ready'])).code !== 0; i++)
      await new Promise((res) => setTimeout(res, 100));
    const out = path.join(tmp, 'root');
    const cp = await dk(['cp', 'live:/', out]);
    assert.equal(cp.code, 0, cp.stderr);
    assert.equal(await fsp.readFile(path.join(out, 'x/f'), 'utf8'), 'hi\n');
    assert.equal(
      await fsp.readFile(path.join(out, 'zz/last'), 'utf8'),
      'end\n',
      'the archive goes on past /proc to the last entry',
    );
    assert.equal(
      await fsp.readFile(path.join(out, 'vol/b'), 'utf8'),
      'v\n',
      'volumes are read as dockerd binds them in',
    );
    assert.match(await fsp.readFile(path.join(out, 'etc/hosts'), 'utf8'), /localhost/);
    assert.ok(existsSync(path.join(out, 'bin/busybox')));
    for (const p of ['proc', 'sys', 'dev', 'tm'])
      assert.deepEqual(
        readdirSync(path.join(out, p)),
        [],
        `${p} is an empty mount point, as dockerd's rootfs shows it`,
      );
    assert.match(
      await fsp.readFile(path.join(out, 'x/grow'), 'utf8'),
      /^(grow\n)+$/,
      'a file growing during the walk is archived whole up to its size at open',
    );

    // A path inside a pseudo-filesystem is not in the rootfs, as with dockerd.
    const cpu = await dk(['cp', 'live:/proc/cpuinfo', path.join(tmp, 'cpuinfo')]);
    assert.notEqual(cpu.code, 0);
    assert.match(cpu.stderr, /Could not find the file \/proc\/cpuinfo in container/);
    const procOnly = await dk(['cp', 'live:/proc', path.join(tmp, 'proc')]);
    assert.equal(procOnly.code, 0, procOnly.stderr);
    assert.deepEqual(readdirSync(path.join(tmp, 'proc')), []);

    // export leaves volumes and network files out (their mount points stay).
    const exp = path.join(tmp, 'export.tar');
    const e = await dk(['export', '-o', exp, 'live']);
    assert.equal(e.code, 0, e.stderr);
    const list = (await run('tar', ['-tvf', exp])).stdout;
    assert.match(list, / zz\/last\n/);
    assert.match(list, / vol\/\n/);
    assert.doesNotMatch(list, / vol\/b\n| tm\/a\n| proc\/[^\n]| dev\/null/);
    assert.match(list, /-rw-r--r-- 0\/0 +0 [^\n]* etc\/hosts\n/);
  });

  it('docker-py get_archive of / is a complete tar while the container writes', async () => {
    const py = await dockerPy(
      d,
      `import tarfile, io
c = client.containers.get('live')
bits, stat = c.get_archive('/')
data = b''.join(bits)
names = tarfile.open(fileobj=io.BytesIO(data)).getnames()
print(stat['name'], 'zz/last' in [n.lstrip('./') for n in names] or './zz/last' in names, any(n.startswith('./proc/') or n.startswith('proc/') for n in names))`,
    );
    assert.equal(py.code, 0, py.stderr);
    assert.equal(py.stdout.trim(), '/ True False');
  });

  it('PUT archive answers bad input with {message} and keeps what was there', async () => {
    const put = (q: string, body: Buffer) =>
      d.request('PUT', `/v1.44/containers/live/archive?${q}`, body, { 'Content-Type': 'application/x-tar' });
    const msg = (b: string) => (JSON.parse(b) as { message: string }).message;
    const fileEntry = buildTar([
      { entry: { name: 'x', type: 'file', mode: 0o644 }, data: Buffer.from('clobber\n') },
    ]);
    let r = await put('path=/x/f', fileEntry);
    assert.equal(r.status, 400);
    assert.match(msg(r.body), /extraction point is not a directory/);
    r = await put('path=/nowhere', fileEntry);
    assert.equal(r.status, 404);
    assert.match(msg(r.body), /Could not find the file \/nowhere in container/);
    r = await put('path=/', Buffer.alloc(1536, 'x'));
    assert.equal(r.status, 400);
    assert.match(msg(r.body), /invalid archive/);
    r = await put('path=/&noOverwriteDirNonDir=1', fileEntry);
    assert.equal(r.status, 400);
    assert.match(msg(r.body), /cannot overwrite directory "\/x" with non-directory/);
    r = await put(
      'path=/',
      buildTar([{ entry: { name: 'zz/hard', type: 'hardlink', linkname: 'no/such' } }]),
    );
    assert.equal(r.status, 400);
    assert.match(msg(r.body), /invalid hardlink/);
    assert.equal((await dk(['exec', 'live', 'cat', '/x/f'])).stdout, 'hi\n', 'nothing was lost');
    const head = await d.request('HEAD', '/v1.44/containers/live/archive?path=/nowhere');
    assert.equal(head.status, 404);
  });

  it('diff and commit see a directory removed and made again (overlay opaque directory)', async () => {
    const r = await dk([
      'run',
      '--name',
      'opq',
      'busybox',
      'sh',
      '-c',
      'rm -rf /var && mkdir /var && echo x > /var/new; rm -rf /home; mkdir /home',
    ]);
    assert.equal(r.code, 0, r.stderr);
    // dockerd's answer for the same container: the image's children of /var are deleted, /home had none.
    const diff = await dk(['diff', 'opq']);
    assert.equal(diff.code, 0, diff.stderr);
    assert.deepEqual(diff.stdout.trim().split('\n'), ['C /var', 'A /var/new', 'D /var/spool', 'D /var/www']);
    const py = await dockerPy(
      d,
      `print(sorted((c['Path'], c['Kind']) for c in client.containers.get('opq').diff()))`,
    );
    assert.equal(py.code, 0, py.stderr);
    assert.equal(py.stdout.trim(), "[('/var', 0), ('/var/new', 1), ('/var/spool', 2), ('/var/www', 2)]");
    const c = await dk(['commit', 'opq', 'opq:v1']);
    assert.equal(c.code, 0, c.stderr);
    const ls = await dk([
      'run',
      '--rm',
      'opq:v1',
      'sh',
      '-c',
      'ls -A /var; echo --; ls -A /home; echo --; ls -d /etc',
    ]);
    assert.equal(ls.stdout, 'new\n--\n--\n/etc\n', "the committed layer hides the image's /var content");
    const layer = path.join(tmp, 'opq.tar');
    assert.equal((await dk(['save', '-o', layer, 'opq:v1'])).code, 0);
    const manifest = JSON.parse((await run('tar', ['-xOf', layer, 'manifest.json'])).stdout) as Array<{
      Layers: string[];
    }>;
    const top = manifest[0].Layers.at(-1)!;
    const inner = (await run('sh', ['-c', `tar -xOf ${layer} ${top} | tar -t`])).stdout;
    assert.match(inner, /^var\/\.wh\.\.wh\.\.opq$/m);
    assert.equal((await dk(['rm', 'opq'])).code, 0);
  });

  it('docker rm removes a tree deeper than PATH_MAX made in the container', async () => {
    const r = await dk([
      'run',
      '--name',
      'deep',
      'busybox',
      'sh',
      '-c',
      'i=0; while [ $i -lt 1500 ]; do mkdir dd; cd dd; i=$((i+1)); done; echo bottom > f',
    ]);
    assert.equal(r.code, 0, r.stderr);
    const id = (await dk(['inspect', '-f', '{{.Id}}', 'deep'])).stdout.trim();
    const rm = await dk(['rm', 'deep']);
    assert.equal(rm.code, 0, rm.stderr);
    const left = readdirSync(path.join(d.dataRoot, 'containers')).filter((n) => n.includes(id));
    assert.deepEqual(left, [], 'nothing of the container is left in the data root');
  });
});
