/** docker cp (both ways, confined to the container root), export, diff and commit through the real CLI. */
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, promises as fsp } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { startContainerDaemon } from '../helpers/container-daemon.js';
import type { TestDaemon } from '../helpers/daemon.js';
import { run } from '../helpers/exec.js';

describe('containers: cp, export, diff, commit', () => {
  let d: TestDaemon;
  let tmp: string;
  const dk = (args: string[], input?: string | Buffer) =>
    d.docker(args, { timeoutMs: 60_000, ...(input !== undefined ? { input } : {}) });
  before(async () => {
    ({ d } = await startContainerDaemon());
    tmp = mkdtempSync(path.join(os.tmpdir(), 'berth-cp-'));
  });
  after(async () => {
    await d.destroy();
    await fsp.rm(tmp, { recursive: true, force: true });
  });

  for (const running of [true, false]) {
    it(`copies files and directories both ways (${running ? 'running' : 'stopped'} container)`, async () => {
      const name = running ? 'cpr' : 'cps';
      assert.equal(
        (
          await dk([
            'run',
            '-d',
            '--name',
            name,
            'berth-app',
            'sh',
            '-c',
            'mkdir -p /work/sub; echo inner > /work/sub/f.txt; ln -sf /etc/passwd /work/link; sleep 300',
          ])
        ).code,
        0,
      );
      await new Promise((r) => setTimeout(r, 300));
      if (!running) assert.equal((await dk(['stop', '-t', '0', name])).code, 0);
      const out = path.join(tmp, name);
      await fsp.mkdir(out);
      let r = await dk(['cp', `${name}:/work`, out]);
      assert.equal(r.code, 0, r.stderr);
      assert.equal(await fsp.readFile(path.join(out, 'work/sub/f.txt'), 'utf8'), 'inner\n');
      assert.equal(await fsp.readlink(path.join(out, 'work/link')), '/etc/passwd');
      r = await dk(['cp', `${name}:/srv/hello.txt`, path.join(out, 'h.txt')]);
      assert.equal(r.code, 0, r.stderr);
      assert.equal(await fsp.readFile(path.join(out, 'h.txt'), 'utf8'), 'hello\n');
      // -L follows the link inside the container: the container's passwd, not the host's.
      r = await dk(['cp', '-L', `${name}:/work/link`, path.join(out, 'pw')]);
      assert.equal(r.code, 0, r.stderr);
      assert.match(await fsp.readFile(path.join(out, 'pw'), 'utf8'), /^app:x:1000/m);
      await fsp.mkdir(path.join(tmp, `${name}-in/d`), { recursive: true });
      await fsp.writeFile(path.join(tmp, `${name}-in/d/new.txt`), 'pushed\n');
      r = await dk(['cp', path.join(tmp, `${name}-in/d`), `${name}:/srv/`]);
      assert.equal(r.code, 0, r.stderr);
      if (!running) assert.equal((await dk(['start', name])).code, 0);
      const check = await dk(['exec', name, 'sh', '-c', 'cat /srv/d/new.txt; stat -c %u /srv/d/new.txt']);
      assert.equal(check.stdout, 'pushed\n0\n');
      const missing = await dk(['cp', `${name}:/nope`, out]);
      assert.notEqual(missing.code, 0);
      assert.match(missing.stderr, /Could not find the file \/nope in container/);
      assert.equal((await dk(['rm', '-f', name])).code, 0);
    });
  }

  it('confines paths: .. and symlinks inside the container cannot reach the host', async () => {
    const marker = path.join(tmp, 'host-secret');
    await fsp.writeFile(marker, 'HOST\n');
    assert.equal(
      (
        await dk([
          'run',
          '-d',
          '--name',
          'esc',
          'busybox',
          'sh',
          '-c',
          `mkdir -p ${tmp}; ln -s / /rootlink; ln -s ${tmp} /tmplink; ln -s ../../../../.. /up; sleep 300`,
        ])
      ).code,
      0,
    );
    await new Promise((r) => setTimeout(r, 300));
    const out = path.join(tmp, 'esc-out');
    await fsp.mkdir(out);
    // Reading through links: they resolve inside the container (no host-secret there).
    for (const p of [`/tmplink/host-secret`, `/up${marker}`, `/../../../../${marker}`]) {
      const r = await dk(['cp', `esc:${p}`, out]);
      assert.notEqual(r.code, 0, `${p} must not be found`);
    }
    // Writing through links lands inside the container.
    const src = path.join(tmp, 'payload');
    await fsp.writeFile(src, 'payload\n');
    const w = await dk(['cp', src, `esc:/tmplink/`]);
    assert.equal(w.code, 0, w.stderr);
    assert.ok(!existsSync(path.join(tmp, 'tmplink')));
    assert.equal(await fsp.readFile(marker, 'utf8'), 'HOST\n');
    assert.equal(
      (await dk(['exec', 'esc', 'cat', `${tmp}/payload`])).stdout,
      'payload\n',
      'written under the container path the link names',
    );
    // A hostile archive (.. entries, absolute symlink then a file through it) stays inside too.
    const evil = path.join(tmp, 'evil');
    await fsp.mkdir(path.join(evil, 'x'), { recursive: true });
    await fsp.symlink(tmp, path.join(evil, 'x', 'lnk'));
    const tarFile = path.join(tmp, 'evil.tar');
    await run('tar', ['-C', evil, '-cf', tarFile, 'x/lnk']);
    await fsp.writeFile(path.join(evil, 'file'), 'evil\n');
    await run('tar', ['-C', evil, '-rf', tarFile, '--transform', 's,^file,x/lnk/owned,', 'file']);
    await run('tar', [
      '-C',
      evil,
      '-rf',
      tarFile,
      '--transform',
      `s,^file,../../../../${tmp.slice(1)}/dotdot,`,
      '-P',
      'file',
    ]);
    const put = await d.request(
      'PUT',
      '/v1.44/containers/esc/archive?path=/tmp',
      await fsp.readFile(tarFile),
      { 'Content-Type': 'application/x-tar' },
    );
    assert.equal(put.status, 200, put.body);
    assert.ok(
      !existsSync(path.join(tmp, 'owned')),
      'nothing written through the archive symlink on the host',
    );
    assert.ok(!existsSync(path.join(tmp, 'dotdot')), 'nothing written through .. on the host');
    assert.equal((await dk(['exec', 'esc', 'cat', `${tmp}/owned`])).stdout, 'evil\n');
    assert.equal((await dk(['rm', '-f', 'esc'])).code, 0);
  });

  it('export, diff and commit with --change', async () => {
    assert.equal(
      (
        await dk([
          'run',
          '--name',
          'chg',
          'berth-app',
          'sh',
          '-c',
          'echo new > /srv/new.txt; rm /srv/hello.txt; echo x >> /etc/group; mkdir /made',
        ])
      ).code,
      0,
    );
    const diff = await dk(['diff', 'chg']);
    assert.equal(diff.code, 0, diff.stderr);
    const lines = diff.stdout.trim().split('\n').sort();
    assert.deepEqual(
      lines,
      ['A /made', 'A /srv/new.txt', 'C /etc', 'C /etc/group', 'C /srv', 'D /srv/hello.txt'].sort(),
    );
    const exp = path.join(tmp, 'export.tar');
    const e = await dk(['export', '-o', exp, 'chg']);
    assert.equal(e.code, 0, e.stderr);
    const list = (await run('tar', ['-tf', exp])).stdout.split('\n');
    assert.ok(list.includes('srv/new.txt'));
    assert.ok(!list.includes('srv/hello.txt'));
    assert.ok(list.includes('bin/busybox'));
    const c = await dk([
      'commit',
      '--change',
      'CMD ["cat", "/srv/new.txt"]',
      '--change',
      'ENV COMMITTED=yes',
      '-m',
      'msg',
      'chg',
      'committed:v1',
    ]);
    assert.equal(c.code, 0, c.stderr);
    assert.match(c.stdout.trim(), /^sha256:[0-9a-f]{64}$/);
    assert.equal((await dk(['run', '--rm', 'committed:v1'])).stdout, 'new\n');
    const after2 = await dk([
      'run',
      '--rm',
      'committed:v1',
      'sh',
      '-c',
      'echo $COMMITTED; ls /srv; ls -d /made',
    ]);
    assert.equal(after2.stdout, 'yes\nnew.txt\n/made\n');
    const rmi = await dk(['rmi', 'berth-app']);
    assert.notEqual(rmi.code, 0, 'an image used by a container cannot be removed');
    assert.match(rmi.stderr, /container [0-9a-f]{12} is using its referenced image|being used by/);
    assert.equal((await dk(['rm', 'chg'])).code, 0);
  });
});
