/** The containers API through docker-py and dockerode, plus stats/update/top/info/df through the CLI. */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { PassThrough } from 'node:stream';
import { dockerode, dockerPy } from '../helpers/clients.js';
import { startContainerDaemon } from '../helpers/container-daemon.js';
import type { TestDaemon } from '../helpers/daemon.js';

describe('containers: docker-py, dockerode, stats/update/top/info/df', () => {
  let d: TestDaemon;
  const dk = (args: string[]) => d.docker(args, { timeoutMs: 60_000 });
  before(async () => {
    ({ d } = await startContainerDaemon());
  });
  after(async () => {
    await d.destroy();
  });

  it('docker-py: run, logs, exec, wait, archive, attach socket, list filters, remove', async () => {
    const r = await dockerPy(
      d,
      `
out = client.containers.run('busybox', ['sh', '-c', 'echo py-out; echo py-err >&2'], remove=True, stderr=True)
print(out.decode().strip().replace('\\n', ','))
c = client.containers.run('berth-app', ['sleep', '300'], detach=True, name='pyc', environment={'X': '1'}, labels={'k': 'v'})
c.reload(); print(c.status, c.attrs['Config']['WorkingDir'])
ec, o = c.exec_run(['sh', '-c', 'echo $X; exit 3'])
print(ec, o.decode().strip())
ec, o = c.exec_run('id -un', user='app')
print(ec, o.decode().strip())
print([x.name for x in client.containers.list(filters={'label': 'k=v'})])
import io, tarfile
buf = io.BytesIO()
with tarfile.open(fileobj=buf, mode='w') as t:
    data = b'from-py\\n'
    ti = tarfile.TarInfo('pyfile.txt'); ti.size = len(data); t.addfile(ti, io.BytesIO(data))
print(c.put_archive('/tmp', buf.getvalue()))
bits, stat = c.get_archive('/tmp/pyfile.txt')
raw = b''.join(bits)
print(stat['name'], stat['size'], tarfile.open(fileobj=io.BytesIO(raw)).extractfile('pyfile.txt').read().decode().strip())
c.kill()
print(c.wait()['StatusCode'])
c.reload(); print(c.status)
c.remove()
c2 = client.containers.create('busybox', ['cat'], stdin_open=True, name='pyatt')
s = c2.attach_socket(params={'stdin': 1, 'stdout': 1, 'stream': 1})
c2.start()
s._sock.sendall(b'echo-through-socket\\n')
s._sock.shutdown(1)
data = b''
while True:
    chunk = s._sock.recv(4096)
    if not chunk: break
    data += chunk
print(data[8:].decode().strip())
print(c2.wait()['StatusCode'])
c2.remove()
try:
    client.containers.get('pyc')
except docker.errors.NotFound as e:
    print('notfound')
`,
    );
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual(r.stdout.trim().split('\n'), [
      'py-out,py-err',
      'running /srv',
      '3 1',
      '0 app',
      "['pyc']",
      'True',
      'pyfile.txt 8 from-py',
      '137',
      'exited',
      'echo-through-socket',
      '0',
      'notfound',
    ]);
  });

  it('dockerode: create, attach (hijacked), start, wait, logs, exec, inspect, remove', async () => {
    const docker = dockerode(d);
    const c = await docker.createContainer({
      Image: 'busybox',
      Cmd: ['sh', '-c', 'echo node-out; echo node-err >&2; exit 2'],
      name: 'nodec',
    });
    const stream = await c.attach({ stream: true, stdout: true, stderr: true, hijack: true });
    const out = new PassThrough();
    const err = new PassThrough();
    let o = '';
    let e = '';
    out.on('data', (b: Buffer) => (o += b.toString()));
    err.on('data', (b: Buffer) => (e += b.toString()));
    docker.modem.demuxStream(stream, out, err);
    await c.start();
    const w = (await c.wait()) as { StatusCode: number };
    assert.equal(w.StatusCode, 2);
    await new Promise((r) => setTimeout(r, 100));
    assert.equal(o, 'node-out\n');
    assert.equal(e, 'node-err\n');
    const logs = await c.logs({ stdout: true, stderr: false });
    assert.equal(logs.subarray(8).toString(), 'node-out\n');
    const info = await c.inspect();
    assert.equal(info.State.ExitCode, 2);
    assert.equal(info.Name, '/nodec');
    await c.remove();
    const r = await docker.createContainer({ Image: 'busybox', Cmd: ['sleep', '300'], Tty: true });
    await r.start();
    const ex = await r.exec({ Cmd: ['sh', '-c', 'echo tty-exec'], AttachStdout: true, Tty: true });
    const es = await ex.start({ hijack: true, stdin: false, Tty: true });
    let eo = '';
    es.on('data', (b: Buffer) => (eo += b.toString()));
    await new Promise((res) => es.on('end', res));
    assert.equal(eo.trim(), 'tty-exec');
    const ei = await ex.inspect();
    assert.equal(ei.ExitCode, 0);
    await r.remove({ force: true });
    await assert.rejects(
      docker.getContainer('nodec').inspect(),
      (x: { statusCode?: number }) => x.statusCode === 404,
    );
  });

  it('stats (stream and no-stream), update, top, /info and /system/df', async () => {
    assert.equal(
      (
        await dk([
          'run',
          '-d',
          '--name',
          'st',
          '-m',
          '64m',
          '--cpus',
          '0.5',
          'busybox',
          'sh',
          '-c',
          'while true; do :; done',
        ])
      ).code,
      0,
    );
    const s = await dk([
      'stats',
      '--no-stream',
      '--format',
      '{{.Name}}|{{.CPUPerc}}|{{.MemUsage}}|{{.PIDs}}',
      'st',
    ]);
    assert.equal(s.code, 0, s.stderr);
    const [name, cpu, mem, pids] = s.stdout.trim().split('|');
    assert.equal(name, 'st');
    assert.ok(Number(cpu.replace('%', '')) > 5, `cpu ${cpu}`);
    assert.ok(Number(cpu.replace('%', '')) < 80, `cpu ${cpu} is capped by --cpus 0.5`);
    assert.match(mem, /\/ 64MiB$/);
    assert.equal(pids, '1');
    const raw = await d.request('GET', '/v1.44/containers/st/stats?stream=false');
    const j = JSON.parse(raw.body) as {
      cpu_stats: { online_cpus: number };
      precpu_stats: { cpu_usage: { total_usage: number } };
      memory_stats: { limit: number };
    };
    assert.equal(j.memory_stats.limit, 64 * 1024 * 1024);
    assert.ok(j.precpu_stats.cpu_usage.total_usage > 0);
    const u = await dk(['update', '-m', '128m', '--memory-swap', '256m', '--restart', 'on-failure:3', 'st']);
    assert.equal(u.code, 0, u.stderr);
    assert.equal(
      (
        await dk(['inspect', '--format', '{{.HostConfig.Memory}} {{.HostConfig.RestartPolicy.Name}}', 'st'])
      ).stdout.trim(),
      `${128 * 1024 * 1024} on-failure`,
    );
    assert.match((await dk(['stats', '--no-stream', '--format', '{{.MemUsage}}', 'st'])).stdout, /\/ 128MiB/);
    const top = await dk(['top', 'st', '-o', 'pid,comm']);
    assert.match(top.stdout, /PID\s+COMMAND[\s\S]*sh/);
    const info = await dk([
      'info',
      '--format',
      '{{.Containers}} {{.ContainersRunning}} {{.ContainersStopped}}',
    ]);
    assert.equal(info.stdout.trim(), '1 1 0');
    const df = await dk(['system', 'df', '--format', '{{.Type}} {{.TotalCount}}']);
    assert.match(df.stdout, /Containers 1/);
    assert.equal((await dk(['rm', '-f', 'st'])).code, 0);
  });
});
