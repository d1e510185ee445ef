/**
 * RUN steps and the built images, run for real: a follow-up build whose RUN executes inside the result checks
 * user, workdir, env, files, ownership and modes; entrypoint, labels and healthcheck through inspect; shell,
 * exec and heredoc forms; build args in RUN; a failing RUN (exit code, dockerd's message, no container left);
 * --rm=false; a 3-stage build whose artifacts move with COPY --from; RUN cache hits.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { cacheHits, contextFactory } from '../helpers/build-context.js';
import { startTestDaemon, type TestDaemon } from '../helpers/daemon.js';
import { inspectJson } from '../helpers/json.js';
import type { ImageInspect } from '@berth/common';

/** A busybox base built from the host's static busybox, so no registry is needed. */
const BASE = `FROM scratch AS bb
COPY busybox /bin/busybox
RUN ["/bin/busybox", "--install", "-s", "/bin"]
ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
`;

describe('docker build RUN steps', () => {
  let d: TestDaemon;
  const { ctx, cleanup } = contextFactory();
  /** Build containers left on disk (the build removes its own; none should remain). */
  const containers = () =>
    fs.readdirSync(path.join(d.dataRoot, 'containers')).filter((n) => !n.startsWith('.'));
  /** Runs `script` inside `image` through a RUN step; the build fails unless it exits 0. */
  const check = async (image: string, script: string) => {
    const r = await d.docker(['build', '--no-cache', '-'], { input: `FROM ${image}\nRUN ${script}\n` });
    assert.equal(r.code, 0, r.stdout + r.stderr);
    return r.stdout;
  };

  before(async () => {
    d = await startTestDaemon();
    const r = await d.docker(['build', '-t', 'bb:base', ctx({ Dockerfile: BASE }, { busybox: true })]);
    assert.equal(r.code, 0, r.stdout + r.stderr);
  });
  after(async () => {
    await d.destroy();
    cleanup();
  });

  it('builds an image whose user, workdir, env, files and config hold when it runs', async () => {
    const dir = ctx({
      Dockerfile: `FROM bb:base
ARG GREETING=hi
ENV APP_HOME=/srv/app MESSAGE="$GREETING there"
RUN mkdir -p /etc && echo 'app:x:1234:4321::/home/app:/bin/sh' >> /etc/passwd && echo 'app:x:4321:' >> /etc/group
WORKDIR $APP_HOME
COPY --chown=app:app data.txt ./
COPY --chmod=0640 data.txt ./mode.txt
RUN echo "built by $(id -u) with $GREETING" > built.txt && chown app built.txt
RUN <<EOF
echo heredoc-line-1 > /srv/app/heredoc.txt
echo heredoc-line-2 >> /srv/app/heredoc.txt
EOF
RUN ["/bin/sh", "-c", "echo exec-form > /srv/app/exec.txt"]
USER app
LABEL org.example.role=test
HEALTHCHECK --interval=30s --retries=2 CMD test -f /srv/app/data.txt
ENTRYPOINT ["/bin/sh", "-c"]
CMD ["echo $MESSAGE"]
`,
      'data.txt': 'payload\n',
    });
    const b = await d.docker(['build', '--build-arg', 'GREETING=hello', '-t', 'app:1', dir]);
    assert.equal(b.code, 0, b.stdout + b.stderr);
    assert.match(b.stdout, / ---> Running in [0-9a-f]{12}\n/);
    assert.match(b.stdout, /Removing intermediate container [0-9a-f]{12}\n/);
    assert.deepEqual(containers(), [], 'intermediate containers are removed');
    const out = await check(
      'app:1',
      `set -e; [ "$(id -u)" = 1234 ]; [ "$(pwd)" = /srv/app ]; [ "$MESSAGE" = "hello there" ]; ` +
        `[ "$(cat built.txt)" = "built by 0 with hello" ]; [ "$(stat -c '%u:%g %a' data.txt)" = "1234:4321 644" ]; ` +
        `[ "$(stat -c '%u:%g %a' mode.txt)" = "0:0 640" ]; [ "$(cat heredoc.txt)" = "$(printf 'heredoc-line-1\\nheredoc-line-2')" ]; ` +
        `[ "$(cat exec.txt)" = exec-form ]; [ -z "$GREETING" ]; echo verified-inside`,
    );
    assert.match(out, /verified-inside/);
    // And as a container: the entrypoint and CMD run as the image's user.
    const run = await d.docker(['run', '--rm', 'app:1']);
    assert.equal(run.code, 0, run.stderr);
    assert.equal(run.stdout, 'hello there\n');
    const who = await d.docker(['run', '--rm', '--entrypoint', 'id', 'app:1', '-u']);
    assert.equal(who.stdout.trim(), '1234');
    const i = inspectJson<ImageInspect>((await d.docker(['image', 'inspect', 'app:1'])).stdout)[0];
    assert.equal(i.Config.User, 'app');
    assert.deepEqual(i.Config.Entrypoint, ['/bin/sh', '-c']);
    assert.deepEqual(i.Config.Cmd, ['echo $MESSAGE']);
    assert.equal(i.Config.Labels?.['org.example.role'], 'test');
    assert.deepEqual(i.Config.Healthcheck, {
      Test: ['CMD-SHELL', 'test -f /srv/app/data.txt'],
      Interval: 30e9,
      Retries: 2,
    });
    const h = (await d.docker(['history', '--no-trunc', '--format', '{{.CreatedBy}}', 'app:1'])).stdout;
    assert.match(h, /^\|1 GREETING=hello \/bin\/sh -c echo "built by/m, 'build args show in RUN history');
  });

  it('reports a failing RUN with its exit code and leaves no container behind', async () => {
    const dir = ctx({
      Dockerfile: 'FROM bb:base\nRUN echo before\nRUN echo to-stderr >&2; exit 3\nRUN echo never\n',
    });
    const r = await d.docker(['build', dir]);
    assert.equal(r.code, 3, "the CLI exits with the step's code");
    assert.match(
      r.stderr,
      /The command '\/bin\/sh -c echo to-stderr >&2; exit 3' returned a non-zero code: 3/,
    );
    assert.match(r.stdout, /to-stderr/);
    assert.ok(!r.stdout.includes('never'));
    assert.deepEqual(containers(), []);
    const exec = await d.docker(['build', ctx({ Dockerfile: 'FROM bb:base\nRUN ["/bin/false"]\n' })]);
    assert.equal(exec.code, 1);
    assert.match(exec.stderr, /The command '\/bin\/false' returned a non-zero code: 1/);
    assert.deepEqual(containers(), []);
  });

  it('keeps intermediate containers with --rm=false', async () => {
    const dir = ctx({ Dockerfile: 'FROM bb:base\nRUN echo kept > /kept\n' });
    const r = await d.docker(['build', '--rm=false', '--no-cache', dir]);
    assert.equal(r.code, 0, r.stderr);
    assert.ok(!r.stdout.includes('Removing intermediate container'));
    const id = /Running in ([0-9a-f]{12})/.exec(r.stdout)![1];
    assert.ok(
      containers().some((c) => c.startsWith(id)),
      'the step container is still there',
    );
  });

  it('keeps deletions across RUN layers (whiteouts and opaque directories)', async () => {
    const dir = ctx({
      Dockerfile:
        'FROM bb:base\nRUN mkdir -p /d /e && touch /d/old /e/gone /e/stay\nRUN rm -rf /d && mkdir /d && touch /d/new && rm /e/gone\n',
    });
    const r = await d.docker(['build', '-t', 'deletions', dir]);
    assert.equal(r.code, 0, r.stdout + r.stderr);
    await check('deletions', '[ ! -e /d/old ] && [ -e /d/new ] && [ ! -e /e/gone ] && [ -e /e/stay ]');
    const copied = await d.docker(['build', '-t', 'copied', '-'], {
      input: 'FROM bb:base\nCOPY --from=deletions /d /copy/d\n',
    });
    assert.equal(copied.code, 0, copied.stderr);
    await check('copied', '[ "$(ls /copy/d)" = new ]');
  });

  it('builds 3 stages with RUN artifacts passed by COPY --from, and caches RUN steps', async () => {
    const dir = ctx({
      Dockerfile: `FROM bb:base AS build
COPY src/ /src/
RUN cat /src/*.txt | tr a-z A-Z > /out.txt

FROM bb:base AS test
COPY --from=build /out.txt /check/
RUN grep -q HELLO /check/out.txt

FROM bb:base
COPY --from=build /out.txt /app/result.txt
COPY --from=test /check /app/checked
CMD ["cat", "/app/result.txt", "/app/checked/out.txt"]
`,
      'src/a.txt': 'hello\n',
      'src/b.txt': 'world\n',
    });
    const first = await d.docker(['build', '-t', 'three', dir]);
    assert.equal(first.code, 0, first.stdout + first.stderr);
    await check(
      'three',
      `[ "$(cat /app/result.txt /app/checked/out.txt | tr '\\n' ' ')" = "HELLO WORLD HELLO WORLD " ]`,
    );
    const again = await d.docker(['build', '-t', 'three', dir]);
    assert.equal(cacheHits(again.stdout), 7);
    assert.ok(!again.stdout.includes('Running in'));
    fs.writeFileSync(path.join(dir, 'src/b.txt'), 'there\n');
    const changed = await d.docker(['build', '-t', 'three', dir]);
    assert.equal(cacheHits(changed.stdout), 0, 'the changed COPY re-runs and everything after it');
    await check('three', `[ "$(cat /app/result.txt | tr '\\n' ' ')" = "HELLO THERE " ]`);
  });
});
