import assert from 'node:assert/strict';
import { beforeEach, test } from 'node:test';
import { createPinia, setActivePinia } from 'pinia';
import type { EventMessage } from '@berth/common';
import { setEngine } from '../src/api/index.js';
import { EngineClient } from '../src/api/engine-client.js';
import type { ContainerSummary } from '@berth/common';
import { COMPOSE_PROJECT, groupByProject, matches, useContainersStore } from '../src/stores/containers.js';
import { useImagesStore } from '../src/stores/images.js';
import { applyProgress, finishTransfer, newTransfer, overallFraction } from '../src/stores/progress.js';
import { parsePorts, splitCommand } from '../src/stores/run-config.js';
import { cpuPercent, memoryUsage } from '../src/stores/stats-math.js';
import { volumeUsers } from '../src/stores/volumes.js';
import { FakeTransport, route } from './fake-transport.js';

function c(id: string, name: string, state: ContainerSummary['State'], project?: string): ContainerSummary {
  return {
    Id: id,
    Names: [`/${name}`],
    Image: 'busybox',
    ImageID: 'sha256:1',
    Command: 'sh',
    Created: 0,
    Ports: [],
    Labels: project ? { [COMPOSE_PROJECT]: project } : {},
    State: state,
    Status: state,
    HostConfig: { NetworkMode: 'default' },
    NetworkSettings: { Networks: {} },
    Mounts: [],
  };
}

const ev = (Type: EventMessage['Type'], Action: string, ID: string): EventMessage => ({
  Type,
  Action,
  Actor: { ID, Attributes: {} },
  scope: 'local',
  time: 0,
  timeNano: 0,
});
/**
 * Lets every pending promise chain run to its end. The fake transport answers without I/O, so a store's
 * load finishes within microtasks, and a setImmediate callback runs only once those are drained.
 */
const settled = () => new Promise<void>((r) => setImmediate(r));

beforeEach(() => setActivePinia(createPinia()));

test('container filters: search by name, image, id prefix, project; running vs stopped', () => {
  const web = c('aaa111', 'web', 'running', 'shop');
  const db = c('bbb222', 'db', 'exited', 'shop');
  const solo = c('ccc333', 'solo', 'paused');
  assert.ok(matches(web, 'WE', 'all'));
  assert.ok(matches(db, 'bbb', 'stopped'));
  assert.ok(!matches(db, '', 'running'));
  assert.ok(matches(solo, '', 'running'));
  assert.ok(matches(db, 'sho', 'all'));
  assert.deepEqual(
    groupByProject([solo, web, db]).map((g) => [g.project, g.items.map((i) => i.Id)]),
    [
      ['shop', ['aaa111', 'bbb222']],
      [null, ['ccc333']],
    ],
  );
});

test('the containers store loads, refreshes once per burst of events, and drops destroyed ones at once', async (tc) => {
  // The burst window is a 60 ms timer: a mocked clock makes "once per burst" exact instead of a race.
  tc.mock.timers.enable({ apis: ['setTimeout'] });
  let list = [c('a', 'one', 'running'), c('b', 'two', 'exited')];
  const t = new FakeTransport([route('GET', '/v1.44/containers/json', () => ({ status: 200, body: list }))]);
  setEngine(new EngineClient(t));
  const s = useContainersStore();
  await s.load();
  assert.equal(s.items.length, 2);
  s.toggle('b');
  list = [c('a', 'one', 'exited')];
  s.onEvent(ev('container', 'destroy', 'b'));
  assert.deepEqual(
    s.items.map((x) => x.Id),
    ['a'],
  );
  s.onEvent(ev('container', 'die', 'a'));
  s.onEvent(ev('container', 'stop', 'a'));
  s.onEvent(ev('container', 'exec_start', 'a'));
  const lists = () => t.calls.filter((x) => x.path.startsWith('/v1.44/containers/json')).length;
  tc.mock.timers.tick(59);
  await settled();
  assert.equal(lists(), 1, 'no reload while the burst is still open');
  tc.mock.timers.tick(1);
  await settled();
  assert.equal(lists(), 2);
  assert.equal(s.items[0].State, 'exited');
  assert.equal(s.selected.size, 0);
});

test('bulk actions try every container and rethrow the engine error verbatim', async () => {
  const t = new FakeTransport([
    route('POST', '/v1.44/containers/a/stop', { status: 204 }),
    route('POST', '/v1.44/containers/b/stop', {
      status: 500,
      body: { message: 'cannot stop container: b: permission denied' },
    }),
  ]);
  setEngine(new EngineClient(t));
  const s = useContainersStore();
  await assert.rejects(
    s.act(['a', 'b'], 'stop'),
    /^Error: cannot stop container: b: permission denied$|cannot stop container: b: permission denied/,
  );
  assert.equal(t.calls.length, 2);
  assert.equal(s.busy.size, 0);
});

test('a list error is kept as the engine said it', async () => {
  setEngine(new EngineClient(new FakeTransport([])));
  const s = useContainersStore();
  await s.load();
  assert.equal(s.error, 'page not found');
  assert.ok(s.loaded);
});

test('pull progress: per-layer fractions, completion, overall, and errors', () => {
  const t = newTransfer('busybox:latest');
  applyProgress(t, { status: 'Pulling from library/busybox', id: 'latest' });
  applyProgress(t, { status: 'Pulling fs layer', id: 'l1' });
  applyProgress(t, { status: 'Pulling fs layer', id: 'l2' });
  applyProgress(t, { status: 'Downloading', id: 'l1', progressDetail: { current: 50, total: 100 } });
  assert.equal(t.layers[0].fraction, 0.25);
  applyProgress(t, { status: 'Extracting', id: 'l1', progressDetail: { current: 100, total: 100 } });
  applyProgress(t, { status: 'Pull complete', id: 'l1' });
  applyProgress(t, { status: 'Already exists', id: 'l2' });
  assert.deepEqual(
    t.layers.map((l) => [l.id, l.done]),
    [
      ['l1', true],
      ['l2', true],
    ],
  );
  assert.equal(overallFraction(t), 1);
  assert.deepEqual(t.messages, ['latest: Pulling from library/busybox']);
  finishTransfer(t);
  assert.equal(t.state, 'done');
  const bad = newTransfer('nope');
  applyProgress(bad, { errorDetail: { message: 'manifest unknown' }, error: 'manifest unknown' });
  finishTransfer(bad);
  assert.equal(bad.state, 'error');
  assert.equal(bad.error, 'manifest unknown');
});

test('images store: a pull runs to done and reloads the list', async () => {
  let images: unknown[] = [];
  const t = new FakeTransport([route('GET', '/v1.44/images/json', () => ({ status: 200, body: images }))]);
  setEngine(new EngineClient(t));
  const s = useImagesStore();
  const p = s.pull('127.0.0.1:5000/busybox:latest');
  const stream = t.streams[0];
  assert.match(
    stream.req.path,
    /^\/v1\.44\/images\/create\?fromImage=127\.0\.0\.1%3A5000%2Fbusybox&tag=latest$/,
  );
  stream.h.onHead?.(200, {});
  stream.h.onData(
    new TextEncoder().encode(
      '{"status":"Pulling fs layer","id":"l1"}\n{"status":"Pull complete","id":"l1"}\n',
    ),
  );
  images = [{ Id: 'sha256:1', RepoTags: ['127.0.0.1:5000/busybox:latest'] }];
  stream.h.onEnd();
  const done = await p;
  assert.equal(done.state, 'done');
  await settled();
  assert.equal(s.items.length, 1);
  assert.equal(s.transfers[0].layers[0].done, true);
});

test('run dialog ports become ExposedPorts and PortBindings', () => {
  const r = parsePorts(['8080:80', '127.0.0.1:5353:53/udp', '9000']);
  assert.deepEqual(r.ExposedPorts, { '80/tcp': {}, '53/udp': {}, '9000/tcp': {} });
  assert.deepEqual(r.bindings, {
    '80/tcp': [{ HostIp: '', HostPort: '8080' }],
    '53/udp': [{ HostIp: '127.0.0.1', HostPort: '5353' }],
  });
  assert.throws(() => parsePorts(['80:http']), /invalid port mapping/);
});

test('stats math matches the docker CLI formulas', () => {
  const s = {
    read: '',
    cpu_stats: { cpu_usage: { total_usage: 400 }, system_cpu_usage: 2000, online_cpus: 2 },
    precpu_stats: { cpu_usage: { total_usage: 200 }, system_cpu_usage: 1000 },
    memory_stats: { usage: 1000, limit: 4000, stats: { inactive_file: 300 } },
  };
  assert.equal(cpuPercent(s), 40);
  assert.equal(memoryUsage(s), 700);
});

test('volume users come from container mounts', () => {
  const a = c('a', 'app', 'running');
  a.Mounts = [
    { Type: 'volume', Name: 'data', Source: '', Destination: '/data', Mode: '', RW: true, Propagation: '' },
  ];
  const b = c('b', 'backup', 'exited');
  b.Mounts = [
    { Type: 'volume', Name: 'data', Source: '', Destination: '/d', Mode: '', RW: false, Propagation: '' },
    { Type: 'bind', Source: '/x', Destination: '/x', Mode: '', RW: true, Propagation: '' },
  ];
  const helper = c('h', 'browser', 'running');
  helper.Labels = { 'io.berth.helper': 'volume-browser' };
  helper.Mounts = a.Mounts;
  assert.deepEqual([...volumeUsers([a, b, helper])], [['data', ['app', 'backup']]]);
});

test('run dialog commands split like a shell', () => {
  assert.deepEqual(splitCommand(`sh -c 'trap "exit 0" TERM; sleep 1'`), [
    'sh',
    '-c',
    'trap "exit 0" TERM; sleep 1',
  ]);
  assert.deepEqual(splitCommand('echo "a \\"b\\" c" d\\ e ""'), ['echo', 'a "b" c', 'd e', '']);
  assert.throws(() => splitCommand('echo "open'), /unterminated/);
});
