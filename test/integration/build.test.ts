/**
 * docker build through the real docker CLI 28 (no buildx plugin: the CLI falls back to the classic builder
 * API) against a real berthd: instructions end up in the image config, -f outside the context, tags, labels,
 * --iidfile, -q, multi-stage with COPY --from, --target skipping unused stages, ONBUILD, .dockerignore.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { contextFactory, steps } from '../helpers/build-context.js';
import { startTestDaemon, type TestDaemon } from '../helpers/daemon.js';

interface Inspect {
  Id: string;
  Author: string;
  RepoTags: string[];
  Config: {
    Env: string[];
    User: string;
    WorkingDir: string;
    Entrypoint: string[] | null;
    Cmd: string[] | null;
    Labels: Record<string, string>;
    ExposedPorts: Record<string, object>;
    Volumes: Record<string, object>;
    Healthcheck: { Test: string[]; Interval: number; Retries: number };
    StopSignal: string;
    OnBuild: string[] | null;
    Shell: string[];
  };
}

describe('docker build (classic builder API)', () => {
  let d: TestDaemon;
  const { ctx, cleanup } = contextFactory();
  const inspect = async (ref: string): Promise<Inspect> => {
    const r = await d.docker(['image', 'inspect', ref]);
    assert.equal(r.code, 0, r.stderr);
    return (JSON.parse(r.stdout) as Inspect[])[0];
  };
  const history = async (ref: string): Promise<string[]> => {
    const r = await d.request('GET', `/images/${ref}/history`);
    assert.equal(r.status, 200, r.body);
    return (JSON.parse(r.body) as { CreatedBy: string }[]).map((h) => h.CreatedBy);
  };

  before(async () => {
    d = await startTestDaemon();
  });
  after(async () => {
    await d.destroy();
    cleanup();
  });

  it('works with the CLI default (no buildx: classic builder) and reports that BuildKit needs buildx', async () => {
    const dir = ctx({ Dockerfile: 'FROM scratch\nCOPY a.txt /\n', 'a.txt': 'a' });
    const r = await d.docker(['build', '-t', 'plain', dir]);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /^Step 1\/2 : FROM scratch$/m);
    assert.match(r.stdout, /^Successfully built [0-9a-f]{12}$/m);
    assert.match(r.stdout, /^Successfully tagged plain:latest$/m);
    const bk = await d.docker(['build', dir], { env: { DOCKER_BUILDKIT: '1' } });
    assert.notEqual(bk.code, 0);
    assert.match(bk.stderr, /buildx component is missing/);
    const legacy = await d.docker(['build', '-q', dir], { env: { DOCKER_BUILDKIT: '0' } });
    assert.equal(legacy.code, 0, legacy.stderr);
  });

  it('puts every config instruction into the image (inspect and history)', async () => {
    const dir = ctx(
      {
        Dockerfile: `# escape=\\
ARG TAG_SUFFIX=x
FROM scratch AS base
MAINTAINER someone@example.com
COPY busybox /bin/busybox
ARG GREETING=hello
ENV PATH=/bin \\
    GREET="$GREETING world" OLD=\${GREETING:-none}
ENV LEGACY form with spaces
LABEL org.test.a=1 "org.test.b"="two words" multi=\${GREETING:+set}
EXPOSE 8080 53/udp 9000-9001
VOLUME ["/data", "/cache"]
WORKDIR /srv
WORKDIR app
USER 1000:1000
SHELL ["/bin/busybox", "sh", "-c"]
HEALTHCHECK --interval=5s --timeout=2s --retries=3 CMD busybox true
STOPSIGNAL SIGINT
ONBUILD COPY marker /marker
ENTRYPOINT ["/bin/busybox"]
CMD ["echo", "hi"]
`,
      },
      { busybox: true },
    );
    const r = await d.docker(['build', '-t', 'every:1', '--build-arg', 'GREETING=hey', dir]);
    assert.equal(r.code, 0, r.stdout + r.stderr);
    assert.equal(steps(r.stdout).length, 19);
    const i = await inspect('every:1');
    const c = i.Config;
    assert.deepEqual(c.Env, ['PATH=/bin', 'GREET=hey world', 'OLD=hey', 'LEGACY=form with spaces']);
    assert.deepEqual(c.Labels, { 'org.test.a': '1', 'org.test.b': 'two words', multi: 'set' });
    assert.deepEqual(Object.keys(c.ExposedPorts).sort(), ['53/udp', '8080/tcp', '9000/tcp', '9001/tcp']);
    assert.deepEqual(Object.keys(c.Volumes).sort(), ['/cache', '/data']);
    assert.equal(c.WorkingDir, '/srv/app');
    assert.equal(c.User, '1000:1000');
    assert.deepEqual(c.Shell, ['/bin/busybox', 'sh', '-c']);
    assert.deepEqual(c.Healthcheck.Test, ['CMD-SHELL', 'busybox true']);
    assert.equal(c.Healthcheck.Interval, 5e9);
    assert.equal(c.Healthcheck.Retries, 3);
    assert.equal(c.StopSignal, 'SIGINT');
    assert.deepEqual(c.OnBuild, ['COPY marker /marker']);
    assert.deepEqual(c.Entrypoint, ['/bin/busybox']);
    assert.deepEqual(c.Cmd, ['echo', 'hi']);
    assert.equal(i.Author, 'someone@example.com');
    const h = await history('every:1');
    assert.equal(h.length, 17, 'one history entry per instruction after FROM');
    assert.ok(h.includes('/bin/sh -c #(nop)  ENV LEGACY=form with spaces'), h.join('\n'));
    assert.ok(h.includes('/bin/sh -c #(nop) WORKDIR /srv/app'));
    assert.ok(h.includes('/bin/sh -c #(nop)  ARG GREETING=hello'));
    assert.ok(h.includes('/bin/busybox sh -c #(nop)  CMD ["echo" "hi"]'), 'history uses the SHELL in effect');
    assert.ok(h.some((x) => /^\/bin\/sh -c #\(nop\) COPY file:[0-9a-f]{64} in \/bin\/busybox $/.test(x)));
  });

  it('takes -f from outside the context, several -t, --label, --iidfile and -q', async () => {
    const dir = ctx({ 'f.txt': 'content' });
    const outside = ctx({ 'build.Dockerfile': 'FROM scratch\nCOPY f.txt /f.txt\nCOPY . /all/\n' });
    const iid = path.join(outside, 'iid');
    const r = await d.docker([
      'build',
      '-q',
      '-f',
      path.join(outside, 'build.Dockerfile'),
      '-t',
      'multi:a',
      '-t',
      'multi:b',
      '--label',
      'built.by=test',
      '--iidfile',
      iid,
      dir,
    ]);
    assert.equal(r.code, 0, r.stderr);
    const id = fs.readFileSync(iid, 'utf8').trim();
    assert.match(id, /^sha256:[0-9a-f]{64}$/);
    assert.equal(r.stdout.trim(), id, '-q prints only the image id');
    const i = await inspect('multi:a');
    assert.equal(i.Id, id);
    assert.deepEqual(i.RepoTags.sort(), ['multi:a', 'multi:b']);
    assert.equal(i.Config.Labels['built.by'], 'test');
    // The CLI adds the outside Dockerfile under a random name and lists it in .dockerignore: COPY . skips it.
    const check = ctx({ Dockerfile: `FROM scratch\nCOPY --from=multi:a /all/f.txt /ok\n` });
    assert.equal((await d.docker(['build', '-q', check])).code, 0);
    const leaked = ctx({ Dockerfile: `FROM scratch\nCOPY --from=multi:a /all/.dockerignore /x\n` });
    const lr = await d.docker(['build', '-q', leaked]);
    assert.notEqual(lr.code, 0);
    assert.match(lr.stderr, /stat \/all\/\.dockerignore: file does not exist/);
  });

  it('builds only the stages the target needs, with COPY --from between them', async () => {
    const dir = ctx(
      {
        Dockerfile: `FROM scratch AS tools
COPY busybox /bin/busybox
COPY src/ /src/

FROM scratch AS broken
COPY does-not-exist /x

FROM tools AS middle
COPY extra.txt /src/extra.txt
LABEL stage=middle

FROM scratch
COPY --from=middle /src /app
COPY --from=0 /bin/busybox /bin/busybox
LABEL stage=final
`,
        'src/a.txt': 'A',
        'src/sub/b.txt': 'B',
        'extra.txt': 'E',
      },
      { busybox: true },
    );
    const r = await d.docker(['build', '-t', 'stages:final', dir]);
    assert.equal(r.code, 0, r.stdout + r.stderr);
    assert.ok(!r.stdout.includes('does-not-exist'), 'the unused stage is skipped');
    assert.equal(steps(r.stdout).length, 10);
    assert.equal((await inspect('stages:final')).Config.Labels.stage, 'final');
    for (const f of ['/app/a.txt', '/app/sub/b.txt', '/app/extra.txt', '/bin/busybox']) {
      const probe = ctx({ Dockerfile: `FROM scratch\nCOPY --from=stages:final ${f} /probe\n` });
      const p = await d.docker(['build', '-q', probe]);
      assert.equal(p.code, 0, `${f}: ${p.stderr}`);
    }
    const t = await d.docker(['build', '--target', 'middle', '-t', 'stages:middle', dir]);
    assert.equal(t.code, 0, t.stderr);
    assert.equal((await inspect('stages:middle')).Config.Labels.stage, 'middle');
    assert.ok(!t.stdout.includes('stage=final'));
    const bad = await d.docker(['build', '--target', 'nope', dir]);
    assert.notEqual(bad.code, 0);
    assert.match(bad.stderr, /failed to reach build target nope in Dockerfile/);
  });

  it('runs ONBUILD triggers of the base image', async () => {
    const base = ctx({
      Dockerfile: 'FROM scratch\nONBUILD COPY marker /marker\nONBUILD LABEL triggered=yes\n',
    });
    assert.equal((await d.docker(['build', '-q', '-t', 'onbuild-base', base])).code, 0);
    const child = ctx({ Dockerfile: 'FROM onbuild-base\nLABEL child=1\n', marker: 'm' });
    const r = await d.docker(['build', '-t', 'onbuild-child', child]);
    assert.equal(r.code, 0, r.stdout + r.stderr);
    assert.match(r.stdout, /# Executing 2 build triggers/);
    const i = await inspect('onbuild-child');
    assert.equal(i.Config.Labels.triggered, 'yes');
    assert.equal(i.Config.OnBuild, null);
  });

  it('honours .dockerignore with ! exceptions and ** (CLI and raw API)', async () => {
    const dir = ctx({
      Dockerfile: 'FROM scratch\nCOPY . /ctx/\n',
      '.dockerignore': '**/*.log\nsecret\n!keep.log\n',
      'a.log': 'x',
      'deep/b.log': 'x',
      'keep.log': 'k',
      secret: 's',
      'ok.txt': 'o',
    });
    assert.equal((await d.docker(['build', '-q', '-t', 'ignored', dir])).code, 0);
    const has = async (p: string) =>
      (await d.docker(['build', '-q', ctx({ Dockerfile: `FROM scratch\nCOPY --from=ignored ${p} /x\n` })]))
        .code === 0;
    assert.equal(await has('/ctx/ok.txt'), true);
    assert.equal(await has('/ctx/keep.log'), true);
    assert.equal(await has('/ctx/a.log'), false);
    assert.equal(await has('/ctx/deep/b.log'), false);
    assert.equal(await has('/ctx/secret'), false);
    // A raw API client sending an unfiltered context: the daemon applies .dockerignore itself.
    const tar = await import('node:child_process').then((cp) =>
      cp.execFileSync('tar', ['-C', dir, '-cf', '-', '.']),
    );
    const raw = await d.request('POST', '/build?t=rawignored', tar, { 'Content-Type': 'application/x-tar' });
    assert.equal(raw.status, 200, raw.body);
    assert.match(raw.body, /Successfully tagged rawignored:latest/);
    const rawDf = 'FROM scratch\nCOPY secret /x\n';
    fs.writeFileSync(path.join(dir, 'Dockerfile'), rawDf);
    const tar2 = await import('node:child_process').then((cp) =>
      cp.execFileSync('tar', ['-C', dir, '-cf', '-', '.']),
    );
    const miss = await d.request('POST', '/build', tar2, { 'Content-Type': 'application/x-tar' });
    assert.match(
      miss.body,
      /COPY failed: file not found in build context or excluded by \.dockerignore: stat secret: file does not exist/,
    );
  });

  it('ADD extracts local tar archives and fetches URLs (from a loopback server)', async () => {
    const src = ctx({ 'inner/one.txt': '1', 'inner/two/three.txt': '3' });
    const { execFileSync } = await import('node:child_process');
    const tgz = execFileSync('tar', ['-C', src, '-czf', '-', 'inner']);
    const server = http.createServer((req, res) => {
      if (req.url === '/files/remote.txt') {
        res.writeHead(200, { 'Last-Modified': new Date(0).toUTCString() });
        res.end('remote body');
      } else {
        res.writeHead(404);
        res.end();
      }
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const port = (server.address() as AddressInfo).port;
    try {
      const dir = ctx({
        Dockerfile: `FROM scratch\nADD bundle.tar.gz /opt/\nADD http://127.0.0.1:${port}/files/remote.txt /dl/\nCOPY bundle.tar.gz /raw/\n`,
        'bundle.tar.gz': tgz,
      });
      const r = await d.docker(['build', '-t', 'adder', dir]);
      assert.equal(r.code, 0, r.stdout + r.stderr);
      const has = async (p: string) =>
        (await d.docker(['build', '-q', ctx({ Dockerfile: `FROM scratch\nCOPY --from=adder ${p} /x\n` })]))
          .code === 0;
      assert.equal(await has('/opt/inner/one.txt'), true);
      assert.equal(await has('/opt/inner/two/three.txt'), true);
      assert.equal(await has('/dl/remote.txt'), true);
      assert.equal(await has('/raw/bundle.tar.gz'), true, 'COPY does not extract');
      const bad = ctx({ Dockerfile: `FROM scratch\nADD http://127.0.0.1:${port}/missing /x\n` });
      const b = await d.docker(['build', bad]);
      assert.notEqual(b.code, 0);
      assert.match(b.stderr, /status 404/);
    } finally {
      server.close();
    }
  });

  it('reads a Dockerfile from stdin (docker build -) and COPY heredocs', async () => {
    const r = await d.docker(['build', '-t', 'stdin-df', '-'], {
      input: 'FROM scratch\nLABEL from=stdin\nCOPY <<EOF /etc/motd\nhello $NAME\nEOF\n',
    });
    assert.equal(r.code, 0, r.stdout + r.stderr);
    assert.equal((await inspect('stdin-df')).Config.Labels.from, 'stdin');
    const probe = ctx({ Dockerfile: 'FROM scratch\nCOPY --from=stdin-df /etc/motd /x\n' });
    assert.equal((await d.docker(['build', '-q', probe])).code, 0);
  });

  it("rejects a platform other than the daemon's with a clear error", async () => {
    const dir = ctx({ Dockerfile: 'FROM scratch\nLABEL a=b\n' });
    const other = os.arch() === 'arm64' ? 'linux/amd64' : 'linux/arm64';
    const r = await d.docker(['build', '--platform', other, dir]);
    assert.notEqual(r.code, 0);
    assert.match(
      r.stderr,
      new RegExp(`platform "${other}" is not supported: this daemon builds only for linux/`),
    );
  });
});
