/**
 * docker build --cache-from with the classic builder: an image built, pushed to the local registry, removed
 * with every local image and the cache index, then pulled back serves as the cache (steps matched by parent
 * chain and instruction, the final image is the pulled one); a changed file stops the match at its COPY.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { dockerPy } from '../helpers/clients.js';
import { cacheHits, makeContext } from '../helpers/build-context.js';
import { startContainerDaemon, type ContainerTestEnv } from '../helpers/container-daemon.js';

const DOCKERFILE = `FROM busybox
ENV STAGE=cached
COPY f.txt /f.txt
RUN echo built-once > /built && cat /f.txt
WORKDIR /work
LABEL x=y
CMD ["cat", "/built"]
`;

describe('docker build --cache-from', () => {
  let env: ContainerTestEnv;
  let dir: string;
  let ref: string;
  const dk = (args: string[]) => env.d.docker(args, { timeoutMs: 120_000 });
  before(async () => {
    env = await startContainerDaemon();
    dir = makeContext({ Dockerfile: DOCKERFILE, 'f.txt': 'content v1\n' });
    ref = env.reg.ref('cachesrc:v1');
  });
  after(async () => {
    await env.d.destroy();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('uses a pulled image as the cache after everything local is gone', async () => {
    let r = await dk(['build', '-t', ref, dir]);
    assert.equal(r.code, 0, r.stdout + r.stderr);
    const push = await dk(['push', ref]);
    assert.equal(push.code, 0, push.stdout + push.stderr);
    const pushedId = (await dk(['image', 'inspect', '-f', '{{.Id}}', ref])).stdout.trim();
    // Removing the tagged images removes their untagged build parents too.
    const tagged = (await dk(['images', '--format', '{{.Repository}}:{{.Tag}}'])).stdout.trim().split('\n');
    const rmi = await dk(['rmi', ...tagged]);
    assert.equal(rmi.code, 0, rmi.stderr);
    assert.equal((await dk(['builder', 'prune', '-f'])).code, 0);
    assert.equal((await dk(['images', '-aq'])).stdout.trim(), '', 'nothing local is left');
    assert.equal((await dk(['pull', '-q', ref])).code, 0);

    r = await dk(['build', '--cache-from', ref, '--cache-from', 'not-here:latest', '-t', 'rebuilt', dir]);
    assert.equal(r.code, 0, r.stdout + r.stderr);
    assert.equal(cacheHits(r.stdout), 6, `every step after FROM comes from the pulled image:\n${r.stdout}`);
    assert.doesNotMatch(r.stdout, /Running in/, 'the RUN step did not run again');
    assert.equal(
      (await dk(['image', 'inspect', '-f', '{{.Id}}', 'rebuilt'])).stdout.trim(),
      pushedId,
      'the last step is the cache source itself',
    );
    assert.equal((await dk(['run', '--rm', 'rebuilt'])).stdout, 'built-once\n');
    const hist = await dk(['history', '-q', 'rebuilt']);
    assert.equal(hist.code, 0, hist.stderr);
  });

  it('stops matching at a changed COPY, through docker-py too', async () => {
    fs.writeFileSync(path.join(dir, 'f.txt'), 'content v2\n');
    const py = await dockerPy(
      env.d,
      `img, logs = client.images.build(path=${JSON.stringify(dir)}, cache_from=[${JSON.stringify(ref)}], tag='changed')
text = ''.join(l.get('stream', '') for l in logs)
print(text.count('Using cache'), 'Running in' in text)
print(client.containers.run('changed', 'cat /f.txt', remove=True).decode().strip())`,
      120_000,
    );
    assert.equal(py.code, 0, py.stderr);
    assert.equal(
      py.stdout.trim(),
      '1 True\ncontent v2',
      'ENV came from the cache source; COPY and everything after it were built',
    );
  });

  it('rejects a malformed cachefrom parameter with {message}', async () => {
    const r = await env.d.request(
      'POST',
      '/v1.44/build?cachefrom=%5Bnot-json',
      fs.readFileSync(path.join(dir, 'Dockerfile')),
      { 'Content-Type': 'application/x-tar' },
    );
    assert.equal(r.status, 400, r.body);
    assert.match((JSON.parse(r.body) as { message: string }).message, /invalid cachefrom parameter/);
  });
});
