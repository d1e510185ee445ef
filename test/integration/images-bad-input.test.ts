/**
 * Hostile and broken input to pulls: malformed references, unreachable registries, unknown manifests,
 * digest mismatches, truncated gzip, escaping layers, device nodes, absurd sizes. Each gets a clear error,
 * nothing is written outside the data root and no half layer or image is left. Also: the stream format
 * as docker-py reads it.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, readdirSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { buildTar, tarHeader, TAR_END } from '@berth/agent/util/tar-writer';
import { startTestDaemon, type TestDaemon } from '../helpers/daemon.js';
import { skipUnless } from '../helpers/env.js';
import { apiMessage, inspectJson } from '../helpers/json.js';
import { freePort } from '../helpers/ports.js';
import type { ImageInspect } from '@berth/common';
import { BAD_LAYER_KINDS, ESCAPE_TARGETS, type BadLayerKind } from '../fixtures/bad-images.js';
import { seedRegistry, type SeededRegistry } from '../fixtures/seed.js';

const sha = (b: Buffer | string) => 'sha256:' + createHash('sha256').update(b).digest('hex');

/** A registry that serves exactly what it is given (for what docker-registry refuses to store). */
async function evilRegistry(
  blobs: Map<string, Buffer>,
  manifests: Map<string, { type: string; body: Buffer }>,
): Promise<{ host: string; close(): Promise<void> }> {
  const server = http.createServer((req, res) => {
    const m = /^\/v2\/[^]+?\/(manifests|blobs)\/([^/?]+)$/.exec(req.url ?? '');
    if (req.url === '/v2/') return res.end('{}');
    const body = m && (m[1] === 'blobs' ? blobs.get(m[2]) : manifests.get(m[2])?.body);
    if (!m || !body) {
      res.writeHead(404, { 'Content-Type': 'application/json' });
      return res.end(
        JSON.stringify({
          errors: [{ code: m?.[1] === 'blobs' ? 'BLOB_UNKNOWN' : 'MANIFEST_UNKNOWN', message: 'unknown' }],
        }),
      );
    }
    res.writeHead(200, {
      'Content-Type': m[1] === 'manifests' ? manifests.get(m[2])!.type : 'application/octet-stream',
      'Content-Length': body.length,
    });
    res.end(body);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return {
    host: `127.0.0.1:${(server.address() as AddressInfo).port}`,
    close: () => new Promise((r) => server.close(() => r())),
  };
}

/** An image whose only layer is `layer` (served raw), with `diffId` in its config. */
function imageAround(
  layer: Buffer,
  diffId: string,
  layerDigest = sha(layer),
  layerType = 'application/vnd.docker.image.rootfs.diff.tar',
) {
  const config = Buffer.from(
    JSON.stringify({
      architecture: process.arch === 'arm64' ? 'arm64' : 'amd64',
      os: 'linux',
      rootfs: { type: 'layers', diff_ids: [diffId] },
      config: {},
    }),
  );
  const manifest = Buffer.from(
    JSON.stringify({
      schemaVersion: 2,
      mediaType: 'application/vnd.docker.distribution.manifest.v2+json',
      config: {
        mediaType: 'application/vnd.docker.container.image.v1+json',
        digest: sha(config),
        size: config.length,
      },
      layers: [{ mediaType: layerType, digest: layerDigest, size: layer.length }],
    }),
  );
  return { config, manifest };
}

const EXPECT: Record<BadLayerKind, RegExp | null> = {
  dotdot: /escapes the layer root/,
  absolute: null, // Docker's rule: an absolute path lands inside the layer root
  'hardlink-escape': /invalid hardlink target|escapes the layer root|invalid hardlink/,
  'symlink-escape': /invalid symlink/,
  device: /device node .* is not allowed/,
  'truncated-gzip': /gzip decompression failed: unexpected end of file/,
  'diffid-mismatch': /does not match the image config/,
};

describe('images: bad input is refused cleanly', () => {
  let reg: SeededRegistry;
  let d: TestDaemon;
  const leftovers = () => [
    ...readdirSync(path.join(d.dataRoot, 'layers')).filter((n) => n.startsWith('.')),
    ...readdirSync(path.join(d.dataRoot, 'blobs/sha256')).filter((n) => n.startsWith('.')),
  ];

  before(async () => {
    reg = await seedRegistry();
    d = await startTestDaemon();
  });
  after(async () => {
    await d?.destroy();
  });

  it('answers malformed references and parameters with 400 and Docker wording', async () => {
    for (const [q, re] of [
      ['fromImage=Bad%20Name', /invalid reference format/],
      ['fromImage=user/UPPER', /invalid reference format: repository name \(user\/UPPER\) must be lowercase/],
      ['fromImage=x%40sha256%3A123', /invalid reference format/],
      ['fromImage=busybox&tag=bad%20tag', /invalid tag format|invalid reference format/],
      ['fromImage=' + 'a'.repeat(64), /cannot specify 64-byte hexadecimal strings/],
      ['tag=latest', /fromImage must be set/],
    ] as const) {
      const r = await d.request('POST', `/images/create?${q}`);
      assert.equal(r.status, 400, q);
      assert.match(apiMessage(r), re, q);
    }
    const tag = await d.request('POST', '/images/nothing/tag?repo=x');
    assert.equal(tag.status, 404);
    const cli = await d.docker(['pull', 'a//b']);
    assert.notEqual(cli.code, 0);
    assert.match(cli.stderr, /invalid reference format/);
  });

  it('reports an unreachable registry, an unknown manifest and a repository with no such tag', async () => {
    const port = await freePort();
    const r = await d.request('POST', `/images/create?fromImage=127.0.0.1:${port}/x&tag=latest`);
    assert.equal(r.status, 500);
    assert.match(apiMessage(r), new RegExp(`dial tcp 127\\.0\\.0\\.1:${port}: connect: connection refused`));
    const cli = await d.docker(['pull', `127.0.0.1:${port}/x`]);
    assert.notEqual(cli.code, 0);
    assert.match(cli.stderr, /connection refused/);
    const unknown = await d.request('POST', `/images/create?fromImage=${reg.host}/busybox&tag=nope`);
    assert.equal(unknown.status, 404);
    assert.equal(
      apiMessage(unknown),
      `manifest for ${reg.host}/busybox:nope not found: manifest unknown: manifest unknown`,
    );
    const missing = await d.docker(['pull', `${reg.host}/no-such-repo:1`]);
    assert.notEqual(missing.code, 0);
    assert.match(missing.stderr, /not found|repository does not exist/);
  });

  for (const kind of BAD_LAYER_KINDS) {
    it(`handles a ${kind} layer without writing outside the data root`, async () => {
      const r = await d.docker(['pull', reg.ref(`bad:${kind}`)]);
      const re = EXPECT[kind];
      if (re) {
        assert.notEqual(r.code, 0, `${kind} should fail:\n${r.stdout}`);
        assert.match(r.stderr + r.stdout, re);
        const ls = await d.docker(['images', '-q', reg.ref(`bad:${kind}`)]);
        assert.equal(ls.stdout.trim(), '', 'no image recorded');
      } else {
        assert.equal(r.code, 0, r.stderr);
        const i = inspectJson<ImageInspect>(
          (await d.docker(['image', 'inspect', reg.ref(`bad:${kind}`)])).stdout,
        )[0];
        assert.ok(existsSync(path.join(i.GraphDriver.Data.UpperDir, 'tmp/berth-fixture-escaped-abs')));
      }
      for (const t of ESCAPE_TARGETS) assert.ok(!existsSync(t), `${t} was written outside the data root`);
      assert.deepEqual(leftovers(), [], 'no temp layer or blob left behind');
    });
  }

  it('refuses a blob whose bytes do not match its digest, and absurd entry sizes', async () => {
    const good = buildTar([{ entry: { name: 'a.txt', type: 'file' }, data: Buffer.from('hello\n') }]);
    const evil = buildTar([{ entry: { name: 'a.txt', type: 'file' }, data: Buffer.from('jello\n') }]);
    const img = imageAround(good, sha(good));
    const huge = Buffer.concat([
      tarHeader({ name: 'huge', type: 'file', size: 2 ** 45 }),
      Buffer.alloc(4096),
      TAR_END,
    ]);
    const hugeImg = imageAround(huge, sha(huge));
    const blobs = new Map([
      [sha(good), evil],
      [sha(img.config), img.config],
      [sha(huge), huge],
      [sha(hugeImg.config), hugeImg.config],
    ]);
    const mt = 'application/vnd.docker.distribution.manifest.v2+json';
    const srv = await evilRegistry(
      blobs,
      new Map([
        ['mismatch', { type: mt, body: img.manifest }],
        ['huge', { type: mt, body: hugeImg.manifest }],
      ]),
    );
    try {
      const r = await d.docker(['pull', `${srv.host}/evil:mismatch`]);
      assert.notEqual(r.code, 0);
      assert.match(r.stderr, /digest mismatch for layer sha256:/);
      const h = await d.docker(['pull', `${srv.host}/evil:huge`]);
      assert.notEqual(h.code, 0);
      assert.match(h.stderr, /is too large/);
      assert.deepEqual(leftovers(), []);
    } finally {
      await srv.close();
    }
  });

  it('streams progress and in-band errors in the format docker-py decodes', async (t) => {
    let hasPy = false;
    try {
      execFileSync('python3', ['-c', 'import docker'], { stdio: 'ignore' });
      hasPy = true;
    } catch {
      /* absent */
    }
    if (skipUnless(t, hasPy, 'python3 with the docker package (docker-py) is not installed')) return;
    const script = `
import docker, json, sys
c = docker.APIClient(base_url='unix://${d.socket}')
out = []
for ref in sys.argv[1:]:
    repo, tag = ref.rsplit(':', 1)
    out.append(list(c.pull(repo, tag=tag, stream=True, decode=True)))
print(json.dumps(out))
`;
    await d.docker(['rmi', '-f', reg.ref('busybox:latest')]);
    const raw = execFileSync(
      'python3',
      ['-c', script, reg.ref('busybox:latest'), reg.ref('bad:truncated-gzip')],
      { encoding: 'utf8' },
    );
    const [ok, bad] = JSON.parse(raw) as [Record<string, unknown>[], Record<string, unknown>[]];
    const statuses = ok.map((m) => m.status);
    for (const s of [
      'Pulling fs layer',
      'Downloading',
      'Verifying Checksum',
      'Download complete',
      'Extracting',
      'Pull complete',
    ])
      assert.ok(statuses.includes(s), `missing ${s}: ${statuses.join(', ')}`);
    const dl = ok.find((m) => m.status === 'Downloading')!;
    assert.match(String(dl.progress), /^\[=*>\s*\]\s+\S+\/\S+$/);
    assert.ok(typeof (dl.progressDetail as { total: number }).total === 'number');
    assert.match(String(ok[ok.length - 2].status), /^Digest: sha256:[0-9a-f]{64}$/);
    assert.match(String(ok[ok.length - 1].status), /^Status: Downloaded newer image for /);
    const last = bad[bad.length - 1];
    assert.match(String(last.error), /unexpected end of file/);
    assert.equal((last.errorDetail as { message: string }).message, last.error);
  });
});
