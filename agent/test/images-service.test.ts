import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Readable } from 'node:stream';
import { after, describe, it } from 'node:test';
import { gzipSync } from 'node:zlib';
import { DEFAULTS } from '../src/config.js';
import type { Engine } from '../src/engine.js';
import { EventBus } from '../src/events/bus.js';
import { removeImage, pruneImages } from '../src/images/remove.js';
import { ImageService } from '../src/images/service.js';
import { createLogger } from '../src/log.js';
import { buildTar } from '../src/util/tar-writer.js';

const root = fs.mkdtempSync(path.join(os.tmpdir(), 'berth-images-'));
after(() => fs.rmSync(root, { recursive: true, force: true }));
const sha = (b: Buffer) => 'sha256:' + createHash('sha256').update(b).digest('hex');

function engine(): Engine {
  return {
    id: 'test',
    config: { ...DEFAULTS, dataRoot: root },
    log: createLogger({ test: true }),
    events: new EventBus(),
    startedAt: new Date(),
    version: 'test',
  };
}

describe('ImageService: import, create, layer dirs, remove, gc', () => {
  it('imports with the exact config (same ID), stacks a created layer on top, and cleans up fully', async () => {
    // Which containers use an image: the test changes it below, as containers come and go.
    let users: (id: string) => string[] = () => [];
    const svc = new ImageService(engine(), (id) => users(id));
    await svc.init();
    const base = buildTar([
      { entry: { name: 'etc', type: 'dir' } },
      { entry: { name: 'etc/hello', type: 'file' }, data: Buffer.from('hi\n') },
      { entry: { name: 'etc/gone', type: 'file' }, data: Buffer.from('x') },
    ]);
    const config = Buffer.from(
      JSON.stringify({
        architecture: 'amd64',
        os: 'linux',
        config: { Cmd: ['sh'] },
        rootfs: { type: 'layers', diff_ids: [sha(base)] },
      }),
    );
    const img = await svc.importImage({
      config,
      layers: [() => Readable.from([gzipSync(base)])],
      tags: ['loaded:1'],
    });
    assert.equal(img.id, sha(config));
    assert.equal(svc.resolve('loaded:1')?.id, img.id);
    assert.equal(svc.resolve(img.id.slice(7, 19))?.id, img.id);
    await assert.rejects(
      svc.importImage({
        config: Buffer.from(
          JSON.stringify({
            architecture: 'amd64',
            os: 'linux',
            rootfs: { type: 'layers', diff_ids: ['sha256:' + '1'.repeat(64)] },
          }),
        ),
        layers: [() => Readable.from([base])],
      }),
      /does not match the image config/,
    );

    const top = buildTar([
      { entry: { name: 'etc/.wh.gone', type: 'file' } },
      { entry: { name: 'new', type: 'file' }, data: Buffer.from('new') },
    ]);
    const child = await svc.createImage({
      parent: img,
      layerTar: Readable.from([top]),
      config: { config: { Cmd: ['echo'] } },
      history: { created_by: 'commit' },
      tags: ['child:latest'],
    });
    assert.equal(child.meta.parent, img.id);
    assert.equal(child.diffIds.length, 2);
    const dirs = svc.layerDirs(child);
    assert.equal(dirs.length, 2);
    assert.ok(fs.existsSync(path.join(dirs[0], 'new')));
    assert.equal(fs.readFileSync(path.join(dirs[1], 'etc/hello'), 'utf8'), 'hi\n');
    if (process.getuid?.() === 0) assert.ok(fs.statSync(path.join(dirs[0], 'etc/gone')).isCharacterDevice());
    // the plain tar was kept gzipped so a push has a compressed blob with a stable digest
    const blobs = svc.layerBlobs(child);
    assert.equal(blobs[1].mediaType, 'application/vnd.docker.image.rootfs.diff.tar.gzip');
    assert.equal(blobs[1].diffId, sha(top));
    assert.equal(
      (JSON.parse(svc.buildManifest(child).body.toString()) as { layers: unknown[] }).layers.length,
      2,
    );

    // a container using the image blocks rmi unless forced
    users = (id) => (id === child.id ? ['c0ffee000000aaaa'] : []);
    await assert.rejects(
      removeImage(svc, child.id),
      /must be forced\) - image is being used by stopped container c0ffee000000/,
    );
    users = () => [];
    await assert.rejects(removeImage(svc, img.id), /image has dependent child images/);
    const del = await removeImage(svc, 'child');
    assert.ok(del.some((d) => d.Deleted === child.id));
    await pruneImages(svc, { danglingOnly: false });
    assert.deepEqual(fs.readdirSync(path.join(root, 'layers')), []);
    assert.deepEqual(fs.readdirSync(path.join(root, 'blobs/sha256')), []);
  });
});
