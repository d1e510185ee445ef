/** Container lifecycle through the real docker CLI: run/create/start/stop/kill/restart/pause/rm/wait/rename/ps/inspect. */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { startContainerDaemon } from '../helpers/container-daemon.js';
import type { TestDaemon } from '../helpers/daemon.js';
import { apiMessage } from '../helpers/json.js';

describe('containers: lifecycle through the docker CLI', () => {
  let d: TestDaemon;
  const dk = (args: string[], input?: string) =>
    d.docker(args, { timeoutMs: 30_000, ...(input !== undefined ? { input } : {}) });
  before(async () => {
    ({ d } = await startContainerDaemon());
  });
  after(async () => {
    await d.destroy();
  });

  it('runs a command, passes stdout and stderr apart and returns its exit code', async () => {
    const r = await dk(['run', '--rm', 'busybox', 'sh', '-c', 'echo out; echo err >&2; exit 3']);
    assert.equal(r.code, 3, r.stderr);
    assert.equal(r.stdout, 'out\n');
    assert.equal(r.stderr, 'err\n');
    assert.equal((await dk(['ps', '-aq'])).stdout.trim(), '', '--rm removed the container');
  });

  it('pipes stdin with -i and closes it at EOF', async () => {
    const r = await dk(['run', '--rm', '-i', 'busybox', 'sh', '-c', 'cat; echo done'], 'hi\n');
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout, 'hi\ndone\n');
  });

  it('maps start failures to 127 (not found), 126 (not executable) and 125 (daemon error)', async () => {
    const nf = await dk(['run', '--rm', 'busybox', 'nonexistent-cmd']);
    assert.equal(nf.code, 127);
    assert.match(nf.stderr, /executable file not found in \$PATH/);
    const ne = await dk(['run', '--rm', 'busybox', '/etc/passwd']);
    assert.equal(ne.code, 126);
    assert.match(ne.stderr, /permission denied/);
    const bad = await dk(['run', '--rm', '--memory', '1k', 'busybox', 'true']);
    assert.equal(bad.code, 125);
    assert.match(bad.stderr, /Minimum memory limit allowed is 6MB/);
    const img = await dk(['create', 'no-such-image-here']);
    assert.notEqual(img.code, 0);
    assert.equal((await d.request('POST', '/v1.44/containers/create', { Image: 'nope:latest' })).status, 404);
    assert.match(
      (await d.request('POST', '/v1.44/containers/create', { Image: 'nope:latest' })).body,
      /No such image: nope:latest/,
    );
    assert.equal((await dk(['ps', '-aq'])).stdout.trim(), '');
  });

  it('creates, starts, lists, inspects, stops and removes a named container', async () => {
    const c = await dk([
      'create',
      '--name',
      'web',
      '--label',
      'tier=front',
      '-e',
      'FOO=bar',
      'busybox',
      'sleep',
      '300',
    ]);
    assert.equal(c.code, 0, c.stderr);
    const id = c.stdout.trim();
    assert.match(id, /^[0-9a-f]{64}$/);
    let ps = await dk(['ps', '-a', '--format', '{{.Names}}|{{.Status}}|{{.Command}}']);
    assert.equal(ps.stdout.trim(), 'web|Created|"sleep 300"');
    assert.equal((await dk(['start', 'web'])).code, 0);
    ps = await dk(['ps', '--format', '{{.ID}}|{{.Names}}|{{.Status}}']);
    assert.match(ps.stdout.trim(), new RegExp(`^${id.slice(0, 12)}\\|web\\|Up `));
    const i = await dk([
      'inspect',
      '--format',
      '{{.State.Status}}|{{.State.Running}}|{{.State.Pid}}|{{.Name}}|{{.Config.Hostname}}|{{index .Config.Labels "tier"}}|{{.HostConfig.NetworkMode}}|{{.Path}}',
      'web',
    ]);
    const [status, running, pid, name, hostname, tier, net, p] = i.stdout.trim().split('|');
    assert.deepEqual(
      [status, running, name, hostname, tier, net, p],
      ['running', 'true', '/web', id.slice(0, 12), 'front', 'bridge', 'sleep'],
    );
    assert.ok(Number(pid) > 1);
    const envs = await dk(['inspect', '--format', '{{json .Config.Env}}', 'web']);
    assert.ok((JSON.parse(envs.stdout) as string[]).includes('FOO=bar'));
    // Filters.
    assert.equal((await dk(['ps', '-q', '--filter', 'label=tier=front'])).stdout.trim(), id.slice(0, 12));
    assert.equal((await dk(['ps', '-q', '--filter', 'status=exited'])).stdout.trim(), '');
    assert.equal((await dk(['ps', '-q', '--filter', 'name=^/we'])).stdout.trim(), id.slice(0, 12));
    assert.equal((await dk(['ps', '-q', '--filter', 'ancestor=busybox'])).stdout.trim(), id.slice(0, 12));
    assert.equal((await dk(['ps', '-q', '--filter', `id=${id.slice(0, 5)}`])).stdout.trim(), id.slice(0, 12));
    const bad = await dk(['ps', '--filter', 'colour=red']);
    assert.notEqual(bad.code, 0);
    assert.match(bad.stderr, /invalid filter 'colour'/);
    // Duplicate names.
    const dup = await dk(['create', '--name', 'web', 'busybox']);
    assert.notEqual(dup.code, 0);
    assert.match(
      dup.stderr,
      new RegExp(
        `Conflict\\. The container name "/web" is already in use by container "${id}"\\. You have to remove \\(or rename\\) that container to be able to reuse that name\\.`,
      ),
    );
    // rm of a running container needs -f.
    const rm = await dk(['rm', 'web']);
    assert.notEqual(rm.code, 0);
    assert.match(rm.stderr, /container is running: stop the container before removing or force remove/);
    const t0 = Date.now();
    const stop = await dk(['stop', '-t', '1', 'web']);
    assert.equal(stop.code, 0, stop.stderr);
    assert.ok(Date.now() - t0 < 8000);
    const st = await dk(['inspect', '--format', '{{.State.Status}} {{.State.ExitCode}}', 'web']);
    assert.equal(st.stdout.trim(), 'exited 137', 'sleep as pid 1 ignores SIGTERM: killed after the timeout');
    assert.equal((await dk(['rm', 'web'])).code, 0);
    const gone = await dk(['inspect', 'web']);
    assert.notEqual(gone.code, 0);
    assert.match(gone.stderr, /No such (object|container): web/);
  });

  it('stops with the stop signal before the timeout when the process handles it', async () => {
    assert.equal(
      (
        await dk([
          'run',
          '-d',
          '--name',
          'trap',
          '--stop-signal',
          'SIGUSR1',
          'busybox',
          'sh',
          '-c',
          'trap "exit 42" USR1; while true; do sleep 0.1; done',
        ])
      ).code,
      0,
    );
    const t0 = Date.now();
    assert.equal((await dk(['stop', '-t', '20', 'trap'])).code, 0);
    assert.ok(Date.now() - t0 < 5000, 'exited on SIGUSR1, not after the timeout');
    assert.equal((await dk(['inspect', '--format', '{{.State.ExitCode}}', 'trap'])).stdout.trim(), '42');
    assert.equal((await dk(['rm', 'trap'])).code, 0);
  });

  it('kills with a signal, waits, restarts, pauses and unpauses', async () => {
    assert.equal((await dk(['run', '-d', '--name', 'kk', 'busybox', 'sleep', '300'])).code, 0);
    const pause = await dk(['pause', 'kk']);
    assert.equal(pause.code, 0, pause.stderr);
    assert.match((await dk(['ps', '--format', '{{.Status}}', '--filter', 'name=kk'])).stdout, /\(Paused\)/);
    const ex = await dk(['exec', 'kk', 'true']);
    assert.notEqual(ex.code, 0);
    assert.match(ex.stderr, /is paused, unpause the container before exec/);
    assert.equal((await dk(['unpause', 'kk'])).code, 0);
    const un = await dk(['unpause', 'kk']);
    assert.match(un.stderr, /is not paused/);
    const waiter = dk(['wait', 'kk']);
    // pid 1 has no handler for TERM, so only KILL ends it (as with runc).
    assert.equal((await dk(['kill', '-s', 'TERM', 'kk'])).code, 0);
    assert.equal((await dk(['inspect', '--format', '{{.State.Running}}', 'kk'])).stdout.trim(), 'true');
    assert.equal((await dk(['kill', 'kk'])).code, 0);
    const w = await waiter;
    assert.equal(w.stdout.trim(), '137');
    const k2 = await dk(['kill', 'kk']);
    assert.notEqual(k2.code, 0);
    assert.match(k2.stderr, /is not running/);
    const r = await dk(['restart', '-t', '0', 'kk']);
    assert.equal(r.code, 0, r.stderr);
    assert.equal((await dk(['inspect', '--format', '{{.State.Running}}', 'kk'])).stdout.trim(), 'true');
    assert.equal((await dk(['rm', '-f', 'kk'])).code, 0);
  });

  it('renames, and refuses bad names with dockerd wording', async () => {
    assert.equal((await dk(['create', '--name', 'old', 'busybox'])).code, 0);
    assert.equal((await dk(['rename', 'old', 'new'])).code, 0);
    assert.equal((await dk(['inspect', '--format', '{{.Name}}', 'new'])).stdout.trim(), '/new');
    assert.equal((await dk(['create', '--name', 'old', 'busybox'])).code, 0, 'the old name is free again');
    const bad = await dk(['create', '--name', 'bad name!', 'busybox']);
    assert.match(
      bad.stderr,
      /Invalid container name \(bad name!\), only \[a-zA-Z0-9\]\[a-zA-Z0-9_.-\] are allowed/,
    );
    const taken = await dk(['rename', 'new', 'old']);
    assert.match(taken.stderr, /is already in use by container/);
    assert.equal((await dk(['rm', 'new', 'old'])).code, 0);
  });

  it('prunes stopped containers', async () => {
    assert.equal((await dk(['run', '--name', 'p1', 'busybox', 'true'])).code, 0);
    assert.equal((await dk(['run', '-d', '--name', 'p2', 'busybox', 'sleep', '300'])).code, 0);
    const p = await dk(['container', 'prune', '-f']);
    assert.equal(p.code, 0, p.stderr);
    const names = (await dk(['ps', '-a', '--format', '{{.Names}}'])).stdout.trim();
    assert.equal(names, 'p2');
    assert.equal((await dk(['rm', '-f', 'p2'])).code, 0);
  });

  it('answers bad bodies and unknown containers with Docker errors', async () => {
    const r = await d.request('POST', '/v1.44/containers/create', '{"Image": ', {
      'Content-Type': 'application/json',
    });
    assert.equal(r.status, 400);
    const m = await d.request('POST', '/v1.44/containers/create', {
      Image: 'busybox',
      HostConfig: { Memory: '1g' },
    });
    assert.equal(m.status, 400);
    assert.match(apiMessage(m), /Memory/);
    const e = await d.request('POST', '/v1.44/containers/create', { Image: 'busybox', Env: 'FOO=1' });
    assert.equal(e.status, 400);
    assert.equal((await d.request('POST', '/v1.44/containers/nope/start')).status, 404);
    assert.equal((await d.request('POST', '/v1.44/containers/nope/wait')).status, 404);
    const c = await d.request('POST', '/v1.44/containers/create', { Image: 'busybox', Cmd: ['true'] });
    const id = (JSON.parse(c.body) as { Id: string }).Id;
    assert.equal((await d.request('POST', `/v1.44/containers/${id}/wait?condition=bogus`)).status, 400);
    assert.equal((await d.request('POST', `/v1.44/containers/${id}/stop`)).status, 304);
    assert.equal((await d.request('DELETE', `/v1.44/containers/${id}`)).status, 204);
  });
});
