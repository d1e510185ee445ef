/**
 * Classic-builder details real projects hit (issue 17), through the docker CLI, each as Debian's dockerd 20.10
 * answers the same build on this machine: a `!` re-include below an ignored directory keeps the file,
 * `--add-host` given twice reaches /etc/hosts twice, `--cache-from` naming only missing images turns the local
 * cache off.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import { after, before, describe, it } from 'node:test';
import { cacheHits, makeContext } from '../helpers/build-context.js';
import { startTestDaemon, type TestDaemon } from '../helpers/daemon.js';

const DOCKERFILE = `FROM scratch
COPY busybox /bin/busybox
COPY . /ctx/
RUN ["/bin/busybox", "sh", "-c", "/bin/busybox find /ctx | /bin/busybox sort; /bin/busybox cat /etc/hosts"]
`;

describe('docker build: dockerignore re-includes, extra hosts, cache-from', () => {
  let d: TestDaemon;
  let dir: string;
  before(async () => {
    d = await startTestDaemon();
    dir = makeContext(
      {
        Dockerfile: DOCKERFILE,
        '.dockerignore': 'ignored\n!ignored/subdir/file\n',
        'ignored/subdir/file': 'f\n',
        'ignored/other': 'o\n',
        'keep/k': 'k\n',
      },
      { busybox: true },
    );
  });
  after(async () => {
    await d.destroy();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  const build = async (...extra: string[]) => {
    const r = await d.docker(['build', ...extra, '-t', 'compat', dir], { timeoutMs: 60_000 });
    assert.equal(r.code, 0, r.stdout + r.stderr);
    return r.stdout;
  };

  it('keeps a file re-included below an ignored directory, and every --add-host', async () => {
    // dockerd 20.10 lists /ctx/ignored, /ctx/ignored/subdir and /ctx/ignored/subdir/file (not
    // /ctx/ignored/other), and /etc/hosts has both "10.1.2.3 a.test" and "10.4.5.6 b.test".
    const out = await build('--add-host', 'a.test:10.1.2.3', '--add-host', 'b.test:10.4.5.6');
    const listed = out.split('\n').filter((l) => l.startsWith('/ctx'));
    assert.ok(listed.includes('/ctx/ignored/subdir/file'), listed.join('\n'));
    assert.ok(listed.includes('/ctx/keep/k'));
    assert.ok(!listed.includes('/ctx/ignored/other'), 'the rest of the ignored directory stays out');
    assert.match(out, /^10\.1\.2\.3\s+a\.test$/m);
    assert.match(out, /^10\.4\.5\.6\s+b\.test$/m);
  });

  it('--cache-from naming only images that do not exist disables the local cache', async () => {
    // dockerd 20.10: a rebuild uses the cache for all 3 steps; with --cache-from nonexist:1, for none
    // (daemon/images/cache.go: with sources, only their chains count; a missing one is skipped).
    await build();
    assert.equal(cacheHits(await build()), 3);
    assert.equal(cacheHits(await build('--cache-from', 'nonexist:1')), 0);
    // A source that exists (the image itself) brings the cache back.
    assert.equal(cacheHits(await build('--cache-from', 'compat')), 3);
  });
});
