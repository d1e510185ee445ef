/**
 * Base images from a registry (a real docker-registry on 127.0.0.1, seeded with the offline busybox): FROM
 * pulls what is missing with dockerd's progress lines, --pull re-pulls, and credentials from `docker login`
 * reach the daemon through X-Registry-Config.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { contextFactory } from '../helpers/build-context.js';
import { startTestDaemon, type TestDaemon } from '../helpers/daemon.js';
import { seedRegistry, TEST_AUTH, type SeededRegistry } from '../fixtures/seed.js';

describe('docker build with registry base images', () => {
  let d: TestDaemon;
  let reg: SeededRegistry;
  let authReg: SeededRegistry;
  const { ctx, cleanup } = contextFactory();
  before(async () => {
    reg = await seedRegistry();
    authReg = await seedRegistry({ auth: TEST_AUTH });
    d = await startTestDaemon();
  });
  after(async () => {
    await d.destroy();
    cleanup();
  });

  it('pulls a missing base image during FROM, and again with --pull', async () => {
    const ref = reg.ref('busybox:latest');
    const dir = ctx({ Dockerfile: `FROM ${ref}\nLABEL built=1\n` });
    const r = await d.docker(['build', '-t', 'pulled', dir]);
    assert.equal(r.code, 0, r.stdout + r.stderr);
    assert.match(r.stdout, /Step 1\/2 : FROM 127\.0\.0\.1:\d+\/busybox:latest/);
    assert.match(r.stdout, /Pulling from busybox/);
    const again = await d.docker(['build', '-t', 'pulled', dir]);
    assert.ok(!again.stdout.includes('Pulling from'), 'present images are not pulled');
    const forced = await d.docker(['build', '--pull', '-t', 'pulled', dir]);
    assert.equal(forced.code, 0, forced.stderr);
    assert.match(forced.stdout, /Pulling from busybox/);
    const missing = await d.docker(['build', ctx({ Dockerfile: `FROM ${reg.ref('nosuch:latest')}\n` })]);
    assert.notEqual(missing.code, 0);
    assert.match(missing.stderr, /nosuch/);
  });

  it('uses the credentials of docker login for a private base image', async () => {
    const dir = ctx({ Dockerfile: `FROM ${authReg.ref('busybox:latest')}\nLABEL private=1\n` });
    const anon = await d.docker(['build', dir]);
    assert.notEqual(anon.code, 0, 'anonymous pull is refused');
    const login = await d.docker(['login', '-u', TEST_AUTH.username, '--password-stdin', authReg.host], {
      input: TEST_AUTH.password,
    });
    assert.equal(login.code, 0, login.stderr);
    const r = await d.docker(['build', '-t', 'private', dir]);
    assert.equal(r.code, 0, r.stdout + r.stderr);
  });
});
