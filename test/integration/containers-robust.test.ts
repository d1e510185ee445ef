/** Restart policies (also across berthd restarts), healthchecks, kill -9 of berthd with running containers, leaks. */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { readdirSync, readFileSync, existsSync } from 'node:fs';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { ContainerWaitResponse } from '@berth/common';
import { startContainerDaemon } from '../helpers/container-daemon.js';
import { startTestDaemon, type TestDaemon } from '../helpers/daemon.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function until<T>(fn: () => Promise<T | undefined>, ms = 15_000): Promise<T> {
  const deadline = performance.now() + ms;
  for (;;) {
    const v = await fn();
    if (v !== undefined) return v;
    if (performance.now() > deadline) throw new Error('condition not reached in time');
    await sleep(100);
  }
}

function countFiles(dir: string): number {
  let n = 0;
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    n++;
    if (e.isDirectory()) n += countFiles(path.join(dir, e.name));
  }
  return n;
}

describe('containers: restart policies, health, recovery, leaks', () => {
  let d: TestDaemon;
  let mirror: string;
  const dk = (args: string[]) => d.docker(args, { timeoutMs: 60_000 });
  const state = async (name: string) =>
    (
      await dk(['inspect', '--format', '{{.State.Status}} {{.RestartCount}} {{.State.ExitCode}}', name])
    ).stdout.trim();
  before(async () => {
    const env = await startContainerDaemon();
    d = env.d;
    mirror = env.reg.url;
  });
  after(async () => {
    await d.destroy();
  });

  it('on-failure:N retries N times; always restarts until stopped; unless-stopped honours docker stop', async () => {
    assert.equal(
      (await dk(['run', '-d', '--name', 'of', '--restart', 'on-failure:2', 'busybox', 'sh', '-c', 'exit 3']))
        .code,
      0,
    );
    assert.equal(await until(async () => ((await state('of')) === 'exited 2 3' ? 'ok' : undefined)), 'ok');
    await sleep(700);
    assert.equal(await state('of'), 'exited 2 3', 'no third restart');
    assert.equal(
      (
        await dk([
          'run',
          '-d',
          '--name',
          'al',
          '--restart',
          'always',
          'busybox',
          'sh',
          '-c',
          'sleep 0.2; exit 0',
        ])
      ).code,
      0,
    );
    await until(async () => (Number((await state('al')).split(' ')[1]) >= 2 ? true : undefined));
    assert.equal((await dk(['stop', '-t', '1', 'al'])).code, 0);
    const after1 = await state('al');
    await sleep(800);
    assert.equal(await state('al'), after1, 'a stopped always-container stays stopped');
    assert.match(after1, /^exited /);
    const bad = await dk(['run', '-d', '--rm', '--restart', 'always', 'busybox', 'true']);
    assert.notEqual(bad.code, 0);
    assert.match(bad.stderr, /conflicting options|AutoRemove/);
    assert.equal((await dk(['rm', '-f', 'of', 'al'])).code, 0);
  });

  it('healthchecks: starting → healthy → unhealthy, with log and events', async () => {
    // The probe runs as the container's user: it only passes while `id -u` is 65534.
    const r = await dk([
      'run',
      '-d',
      '--name',
      'hc',
      '-u',
      'nobody',
      '--health-cmd',
      'test -f /tmp/ok && test $(id -u) = 65534',
      '--health-interval',
      '200ms',
      '--health-retries',
      '2',
      '--health-start-period',
      '0s',
      'busybox',
      'sh',
      '-c',
      'touch /tmp/ok; sleep 300',
    ]);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(
      await until(async () =>
        (await dk(['inspect', '--format', '{{.State.Health.Status}}', 'hc'])).stdout.trim() === 'healthy'
          ? 'ok'
          : undefined,
      ),
      'ok',
    );
    assert.match((await dk(['ps', '--filter', 'name=hc', '--format', '{{.Status}}'])).stdout, /\(healthy\)/);
    assert.equal((await dk(['ps', '-q', '--filter', 'health=healthy'])).stdout.trim().length, 12);
    assert.equal((await dk(['exec', 'hc', 'rm', '/tmp/ok'])).code, 0);
    assert.equal(
      await until(async () =>
        (await dk(['inspect', '--format', '{{.State.Health.Status}}', 'hc'])).stdout.trim() === 'unhealthy'
          ? 'ok'
          : undefined,
      ),
      'ok',
    );
    const h = JSON.parse((await dk(['inspect', '--format', '{{json .State.Health}}', 'hc'])).stdout) as {
      FailingStreak: number;
      Log: { ExitCode: number }[];
    };
    assert.ok(h.FailingStreak >= 2);
    assert.ok(h.Log.length >= 3 && h.Log.length <= 5);
    assert.equal(h.Log[h.Log.length - 1].ExitCode, 1);
    const ev = await dk([
      'events',
      '--since',
      '0',
      '--until',
      String(Math.ceil(Date.now() / 1000) + 1),
      '--filter',
      'container=hc',
      '--filter',
      'event=health_status',
      '--format',
      '{{.Action}}',
    ]);
    assert.match(ev.stdout, /health_status: healthy\n[\s\S]*health_status: unhealthy/);
    assert.equal((await dk(['rm', '-f', 'hc'])).code, 0);
  });

  it('kill -9 of berthd: running containers are re-adopted, exited ones recorded, policies resume', async () => {
    assert.equal(
      (
        await dk([
          'run',
          '-d',
          '--name',
          'survivor',
          'busybox',
          'sh',
          '-c',
          'i=0; while true; do echo tick$i; i=$((i+1)); sleep 0.2; done',
        ])
      ).code,
      0,
    );
    assert.equal(
      (await dk(['run', '-d', '--name', 'dier', 'busybox', 'sh', '-c', 'sleep 1; exit 7'])).code,
      0,
    );
    assert.equal(
      (await dk(['run', '-d', '--name', 'pol', '--restart', 'unless-stopped', 'busybox', 'sleep', '1'])).code,
      0,
    );
    const pid = (await dk(['inspect', '--format', '{{.State.Pid}}', 'survivor'])).stdout.trim();
    const dataRoot = d.dataRoot;
    const socket = d.socket;
    await d.stop('SIGKILL');
    await sleep(1500); // dier exits and pol's process ends while berthd is away
    d = await startTestDaemon({ dataRoot, socket, args: ['--registry-mirror', mirror] });
    assert.equal(await state('survivor'), 'running 0 0');
    assert.equal(
      (await dk(['inspect', '--format', '{{.State.Pid}}', 'survivor'])).stdout.trim(),
      pid,
      'same process, re-adopted',
    );
    assert.equal(await state('dier'), 'exited 0 7', 'exit code recorded by the shim while berthd was down');
    await until(async () => ((await state('pol')).startsWith('running') ? true : undefined));
    const logs = await dk(['logs', '--tail', '1', 'survivor']);
    assert.match(logs.stdout, /^tick\d+\n$/);
    const ex = await dk(['exec', 'survivor', 'echo', 'still-here']);
    assert.equal(ex.stdout, 'still-here\n');
    assert.equal((await dk(['stop', '-t', '0', 'survivor'])).code, 0);
    assert.equal(await state('survivor'), 'exited 0 137');
    assert.equal((await dk(['rm', '-f', 'survivor', 'dier', 'pol'])).code, 0);
  });

  it('200 run/rm cycles leave no mounts, cgroups, processes or data-root files behind', async () => {
    // This daemon's names, as runtimeOptionsFor derives them from the data root (other daemons share the host).
    const tag = createHash('sha256').update(path.resolve(d.dataRoot)).digest('hex').slice(0, 10);
    const stateRoot = `/run/berth/rt-${tag}`;
    const cgroupDirs = () => {
      let n = 0;
      for (const ctl of readdirSync('/sys/fs/cgroup')) {
        const base = path.join('/sys/fs/cgroup', ctl, `berth-${tag}`);
        if (existsSync(base))
          n += readdirSync(base, { withFileTypes: true }).filter((x) => x.isDirectory()).length;
      }
      return n;
    };
    const snapshot = () => ({
      mounts: readFileSync('/proc/self/mountinfo', 'utf8')
        .split('\n')
        .filter((l) => l.includes(d.dataRoot) || l.includes(stateRoot)).length,
      cgroups: cgroupDirs(),
      procs: readdirSync('/proc')
        .filter((p) => /^\d+$/.test(p))
        .filter((p) => {
          try {
            return readFileSync(`/proc/${p}/cmdline`, 'utf8').includes(stateRoot);
          } catch {
            return false;
          }
        }).length,
      files:
        countFiles(path.join(d.dataRoot, 'containers')) +
        countFiles(path.join(d.dataRoot, 'volumes')) +
        (existsSync(stateRoot) ? countFiles(stateRoot) : 0),
    });
    const before0 = snapshot();
    const N = 200;
    const t0 = Date.now();
    for (let i = 0; i < N; i += 4) {
      await Promise.all(
        [0, 1, 2, 3].map(async () => {
          const c = await d.request('POST', '/v1.44/containers/create', {
            Image: 'busybox',
            Cmd: ['true'],
            HostConfig: { NetworkMode: 'none' },
          });
          assert.equal(c.status, 201, c.body);
          const id = (JSON.parse(c.body) as { Id: string }).Id;
          assert.equal((await d.request('POST', `/v1.44/containers/${id}/start`)).status, 204);
          const w = await d.request('POST', `/v1.44/containers/${id}/wait`);
          assert.equal((JSON.parse(w.body) as ContainerWaitResponse).StatusCode, 0);
          assert.equal((await d.request('DELETE', `/v1.44/containers/${id}?v=1&force=1`)).status, 204);
        }),
      );
    }
    const took = Date.now() - t0;
    assert.deepEqual(snapshot(), before0);
    console.log(`# ${N} run/rm cycles in ${took} ms`);
  });
});
