/** Named volumes through the real docker CLI, docker-py and dockerode: create, ls filters, inspect, rm, prune. */
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { dockerode, dockerPy } from '../helpers/clients.js';
import { startTestDaemon, type TestDaemon } from '../helpers/daemon.js';
import { apiMessage } from '../helpers/json.js';

describe('volumes', () => {
  let d: TestDaemon;
  before(async () => {
    d = await startTestDaemon();
  });
  after(async () => {
    await d.destroy();
  });

  it('creates, lists with filters, inspects and removes through the docker CLI', async () => {
    const c = await d.docker([
      'volume',
      'create',
      '--label',
      'tier=db',
      '--label',
      'x',
      '-o',
      'type=tmpfs',
      '-o',
      'device=tmpfs',
      'data1',
    ]);
    assert.equal(c.code, 0, c.stderr);
    assert.equal(c.stdout.trim(), 'data1');
    assert.equal((await d.docker(['volume', 'create', 'other'])).code, 0);
    // Creating the same name again is not an error (dockerd returns the existing volume).
    assert.equal((await d.docker(['volume', 'create', 'other'])).code, 0);
    const i = await d.docker([
      'volume',
      'inspect',
      'data1',
      '--format',
      '{{.Mountpoint}}|{{.Driver}}|{{.Labels.tier}}|{{.Options.type}}|{{.Scope}}',
    ]);
    assert.equal(i.code, 0, i.stderr);
    const [mp, driver, tier, type, scope] = i.stdout.trim().split('|');
    assert.equal(mp, path.join(d.dataRoot, 'volumes', 'data1', '_data'));
    assert.ok(existsSync(mp));
    assert.deepEqual([driver, tier, type, scope], ['local', 'db', 'tmpfs', 'local']);
    const byLabel = await d.docker(['volume', 'ls', '-q', '--filter', 'label=tier=db']);
    assert.equal(byLabel.stdout.trim(), 'data1');
    const byName = await d.docker(['volume', 'ls', '-q', '--filter', 'name=oth']);
    assert.equal(byName.stdout.trim(), 'other');
    const dangling = await d.docker(['volume', 'ls', '-q', '--filter', 'dangling=true']);
    assert.deepEqual(dangling.stdout.trim().split('\n').sort(), ['data1', 'other']);
    const bad = await d.docker(['volume', 'ls', '--filter', 'colour=red']);
    assert.notEqual(bad.code, 0);
    assert.match(bad.stderr, /invalid filter 'colour'/);
    const rm = await d.docker(['volume', 'rm', 'data1']);
    assert.equal(rm.code, 0, rm.stderr);
    assert.ok(!existsSync(mp));
    const gone = await d.docker(['volume', 'inspect', 'data1']);
    assert.notEqual(gone.code, 0);
    assert.match(gone.stderr, /no such volume/);
  });

  it('rejects invalid names, unknown drivers and bad bodies with Docker errors', async () => {
    const bad = await d.docker(['volume', 'create', 'bad/name']);
    assert.notEqual(bad.code, 0);
    assert.match(bad.stderr, /includes invalid characters for a local volume name/);
    const r = await d.request('POST', '/v1.44/volumes/create', { Name: 'v', Driver: 'nfs-plugin' });
    assert.equal(r.status, 404);
    const j = await d.request('POST', '/v1.44/volumes/create', '{"Name": ', {
      'Content-Type': 'application/json',
    });
    assert.equal(j.status, 400);
    assert.match(apiMessage(j), /invalid JSON/);
    const o = await d.request('POST', '/v1.44/volumes/create', { Name: 'v2', DriverOpts: { bogus: '1' } });
    assert.equal(o.status, 400);
    assert.match(apiMessage(o), /invalid option key: "bogus"/);
    assert.equal((await d.request('GET', '/v1.44/volumes/v2')).status, 404);
    assert.equal((await d.request('DELETE', '/v1.44/volumes/nope')).status, 404);
    assert.equal((await d.request('DELETE', '/v1.44/volumes/nope?force=1')).status, 204);
  });

  it('prunes only anonymous volumes unless --all (API >= 1.42)', async () => {
    const anon = await d.request('POST', '/v1.44/volumes/create', {});
    assert.equal(anon.status, 201);
    const anonName = (JSON.parse(anon.body) as { Name: string }).Name;
    assert.match(anonName, /^[0-9a-f]{64}$/);
    const p = await d.docker(['volume', 'prune', '-f']);
    assert.equal(p.code, 0, p.stderr);
    assert.match(p.stdout, new RegExp(anonName));
    assert.equal((await d.docker(['volume', 'inspect', 'other'])).code, 0);
    const all = await d.docker(['volume', 'prune', '-f', '--all', '--filter', 'label!=keep']);
    assert.equal(all.code, 0, all.stderr);
    assert.equal((await d.docker(['volume', 'ls', '-q'])).stdout.trim(), '');
  });

  it('serves docker-py and dockerode', async () => {
    const py = await dockerPy(
      d,
      `v = client.volumes.create(name='pyvol', labels={'a': 'b'})\nprint(v.attrs['Mountpoint'])\nprint(len(client.volumes.list(filters={'label': 'a=b'})))\nv.remove()\nprint(len(client.volumes.list()))`,
    );
    assert.equal(py.code, 0, py.stderr);
    const lines = py.stdout.trim().split('\n');
    assert.equal(lines[0], path.join(d.dataRoot, 'volumes', 'pyvol', '_data'));
    assert.deepEqual(lines.slice(1), ['1', '0']);
    const dock = dockerode(d);
    await dock.createVolume({ Name: 'nodevol', Labels: { k: 'v' } });
    const info = (await dock.getVolume('nodevol').inspect()) as { Labels: Record<string, string> };
    assert.deepEqual(info.Labels, { k: 'v' });
    const ls = await dock.listVolumes({ filters: { name: ['nodevol'] } });
    assert.equal(ls.Volumes.length, 1);
    await dock.getVolume('nodevol').remove();
    await assert.rejects(
      dock.getVolume('nodevol').inspect(),
      (e: { statusCode?: number }) => e.statusCode === 404,
    );
  });
});
