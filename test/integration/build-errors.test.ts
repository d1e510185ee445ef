/**
 * Bad build input gets dockerd's answers: syntax errors with the line number, COPY of a missing file named,
 * a context symlink pointing outside is not followed out, hostile tar names refused, a missing Dockerfile,
 * bad parameters as 400s.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import { after, before, describe, it } from 'node:test';
import { execFileSync } from 'node:child_process';
import { contextFactory } from '../helpers/build-context.js';
import { startTestDaemon, type TestDaemon } from '../helpers/daemon.js';
import { apiMessage } from '../helpers/json.js';

describe('docker build errors', () => {
  let d: TestDaemon;
  const { ctx, cleanup } = contextFactory();
  before(async () => {
    d = await startTestDaemon();
  });
  after(async () => {
    await d.destroy();
    cleanup();
  });

  it('reports a syntax error with its line number, before any step runs', async () => {
    const r = await d.docker(['build', ctx({ Dockerfile: 'FROM scratch\nLABEL a=b\nFOO bar\n' })]);
    assert.equal(r.code, 1);
    assert.match(
      r.stderr,
      /Error response from daemon: dockerfile parse error line 3: unknown instruction: FOO/,
    );
    assert.ok(!r.stdout.includes('Step 1/'), 'nothing ran');
    const raw = await d.request(
      'POST',
      '/build',
      execFileSync('tar', ['-C', ctx({ Dockerfile: 'FROM scratch\nENV\n' }), '-cf', '-', '.']),
      { 'Content-Type': 'application/x-tar' },
    );
    assert.equal(raw.status, 400);
    assert.deepEqual(JSON.parse(raw.body), {
      message: 'dockerfile parse error line 2: ENV requires at least one argument',
    });
  });

  it('names the missing file of a COPY', async () => {
    const r = await d.docker(['build', ctx({ Dockerfile: 'FROM scratch\nCOPY nope.txt /x\n' })]);
    assert.equal(r.code, 1);
    assert.match(r.stdout, /Step 2\/2 : COPY nope\.txt \/x/);
    assert.match(
      r.stderr,
      /COPY failed: file not found in build context or excluded by \.dockerignore: stat nope\.txt: file does not exist/,
    );
  });

  it('does not follow a context symlink out of the context', async () => {
    const dir = ctx({
      Dockerfile: 'FROM scratch\nCOPY escape /x\n',
      escape: { symlink: '/etc/hostname' },
      up: { symlink: '../../../../etc' },
    });
    const r = await d.docker(['build', dir]);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /stat escape: file does not exist/);
    fs.writeFileSync(`${dir}/Dockerfile`, 'FROM scratch\nCOPY up/passwd /x\n');
    const r2 = await d.docker(['build', dir]);
    assert.equal(r2.code, 1);
    assert.match(r2.stderr, /stat up\/passwd: file does not exist/);
    // Copying a directory copies links as links; one climbing above the image root is refused cleanly.
    fs.writeFileSync(`${dir}/Dockerfile`, 'FROM scratch\nCOPY . /ctx/\n');
    const r3 = await d.docker(['build', '-q', dir]);
    assert.equal(r3.code, 1);
    assert.match(r3.stderr, /symlink \/ctx\/up -> \.\.\/\.\.\/\.\.\/\.\.\/etc points above the image root/);
    fs.rmSync(`${dir}/up`);
    assert.equal((await d.docker(['build', '-q', dir])).code, 0);
    assert.equal((await d.request('GET', '/_ping')).status, 200);
  });

  it('refuses hostile context archives and a missing Dockerfile with 400', async () => {
    const evil = Buffer.alloc(1536);
    evil.write('../../evil', 0);
    evil.write('0000644\0', 100);
    evil.write('0000000\0', 108);
    evil.write('0000000\0', 116);
    evil.write('00000000001\0', 124);
    evil.write('00000000000\0', 136);
    evil.write('0', 156);
    evil.write('ustar\x0000', 257);
    evil.fill(0x20, 148, 156);
    let sum = 0;
    for (let i = 0; i < 512; i++) sum += evil[i];
    evil.write(sum.toString(8).padStart(6, '0') + '\0 ', 148);
    evil.write('x', 512);
    const r = await d.request('POST', '/build', evil, { 'Content-Type': 'application/x-tar' });
    assert.equal(r.status, 400);
    assert.match(apiMessage(r), /points outside the context/);
    const none = await d.docker(['build', '-f', 'Missing.Dockerfile', ctx({ 'a.txt': 'a' })]);
    assert.notEqual(none.code, 0);
    const api = await d.request(
      'POST',
      '/build?dockerfile=Nope',
      execFileSync('tar', ['-C', ctx({ 'a.txt': 'a' }), '-cf', '-', '.']),
      { 'Content-Type': 'application/x-tar' },
    );
    assert.equal(api.status, 400);
    assert.equal(apiMessage(api), 'Cannot locate specified Dockerfile: Nope');
  });

  it('answers bad parameters with 400', async () => {
    const body = execFileSync('tar', ['-C', ctx({ Dockerfile: 'FROM scratch\n' }), '-cf', '-', '.']);
    for (const [q, msg] of [
      ['buildargs=%7Bnope', /invalid buildargs parameter/],
      ['labels=%5B1%5D', /invalid labels parameter/],
      ['t=UPPER%3Acase', /invalid reference format/],
      ['version=2', /BuildKit/],
      ['nocache=maybe', /invalid boolean value for nocache/],
    ] as const) {
      const r = await d.request('POST', `/build?${q}`, body, { 'Content-Type': 'application/x-tar' });
      assert.equal(r.status, 400, `${q}: ${r.body}`);
      assert.match(apiMessage(r), msg);
    }
  });
});
