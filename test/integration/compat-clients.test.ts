/**
 * What real clients hit first (issue 17), through the clients themselves: docker-compose 1.29 (Debian's) with
 * a healthcheck that gives none of its durations, testcontainers-node publishing a port with HostPort "0"
 * and waiting for it, dockerode's attach (its options travel as a request body), and attach with logs and
 * stream before start (the hand-over between the log replay and the live stream).
 */
import assert from 'node:assert/strict';
import { promises as fsp } from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { dockerode } from '../helpers/clients.js';
import { startContainerDaemon } from '../helpers/container-daemon.js';
import type { TestDaemon } from '../helpers/daemon.js';
import { run } from '../helpers/exec.js';

const json = <T>(s: string): T => JSON.parse(s) as T;

/** Reads a hijacked attach/exec stream until it ends, returning everything after the HTTP head. */
function rawAttach(
  socket: string,
  urlPath: string,
  body: string | undefined,
  onOpen?: (s: net.Socket) => void,
): Promise<{ head: string; data: Buffer }> {
  return new Promise((resolve, reject) => {
    const s = net.connect(socket);
    const chunks: Buffer[] = [];
    const timer = setTimeout(() => {
      s.destroy();
      reject(new Error(`attach did not end: ${Buffer.concat(chunks).toString()}`));
    }, 20_000);
    s.on('connect', () => {
      const len =
        body === undefined
          ? ''
          : `Content-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\n`;
      s.write(
        `POST ${urlPath} HTTP/1.1\r\nHost: docker\r\nConnection: Upgrade\r\nUpgrade: tcp\r\n${len}\r\n${body ?? ''}`,
      );
      onOpen?.(s);
    });
    s.on('data', (d: Buffer) => chunks.push(d));
    s.on('error', reject);
    s.on('close', () => {
      clearTimeout(timer);
      const all = Buffer.concat(chunks);
      const at = all.indexOf('\r\n\r\n');
      resolve({ head: all.subarray(0, at).toString(), data: all.subarray(at + 4) });
    });
  });
}

/** Docker's multiplexed frames → the payload text. */
function demux(buf: Buffer): string {
  let out = '';
  for (let i = 0; i + 8 <= buf.length;) {
    const n = buf.readUInt32BE(i + 4);
    out += buf.subarray(i + 8, i + 8 + n).toString();
    i += 8 + n;
  }
  return out;
}

describe('engine compatibility: real clients', () => {
  let d: TestDaemon;
  before(async () => {
    ({ d } = await startContainerDaemon());
  });
  after(async () => {
    await d.destroy();
  });

  it('docker-compose 1.29 brings up a service whose healthcheck gives none of its durations', async () => {
    // compose sends Interval/Timeout/StartPeriod as JSON null when the file leaves them out; dockerd takes
    // null and 0 as "the default" (container/config.go), so `up` must not fail with "cannot be less than 1ms".
    const dir = path.join(d.dataRoot + '-run', 'compose-hc');
    await fsp.mkdir(dir, { recursive: true });
    await fsp.writeFile(
      path.join(dir, 'docker-compose.yml'),
      [
        "version: '3.8'",
        'services:',
        '  web:',
        '    image: busybox',
        '    command: ["sh", "-c", "touch /tmp/ready; sleep 300"]',
        '    healthcheck:',
        '      test: ["CMD", "test", "-f", "/tmp/ready"]',
        '',
      ].join('\n'),
    );
    const env = { ...process.env, DOCKER_HOST: `unix://${d.socket}`, COMPOSE_PROJECT_NAME: 'hc' };
    const up = await run('docker-compose', ['up', '-d'], { cwd: dir, env, timeoutMs: 60_000 });
    try {
      assert.equal(up.code, 0, up.stderr);
      const hc = json<{ Test: string[] }>(
        (await d.docker(['inspect', 'hc_web_1', '--format', '{{json .Config.Healthcheck}}'])).stdout,
      );
      assert.deepEqual(hc.Test, ['CMD', 'test', '-f', '/tmp/ready']);
      // The default interval is 30 s: the first probe runs then; starting is what a fresh container shows.
      const st = (
        await d.docker(['inspect', 'hc_web_1', '--format', '{{.State.Health.Status}}'])
      ).stdout.trim();
      assert.equal(st, 'starting');
    } finally {
      const down = await run('docker-compose', ['down', '-t', '1'], { cwd: dir, env, timeoutMs: 60_000 });
      assert.equal(down.code, 0, down.stderr);
    }
  });

  it('testcontainers-node: withExposedPorts (HostPort "0") and a wait strategy', async () => {
    // testcontainers asks for PortBindings {"8080/tcp":[{"HostPort":"0"}]}: dockerd picks an ephemeral port and
    // inspect's NetworkSettings.Ports reports it (docker 20.10 answers HostPort "32768" for it).
    process.env.DOCKER_HOST = `unix://${d.socket}`;
    process.env.TESTCONTAINERS_RYUK_DISABLED = 'true';
    const { GenericContainer, Wait } = await import('testcontainers');
    const c = await new GenericContainer('busybox')
      .withCommand([
        'sh',
        '-c',
        'echo hello-from-tc > /www/index.html 2>/dev/null || (mkdir -p /www && echo hello-from-tc > /www/index.html); httpd -f -p 8080 -h /www',
      ])
      .withExposedPorts(8080)
      .withWaitStrategy(Wait.forHttp('/index.html', 8080).forStatusCode(200))
      .withStartupTimeout(30_000)
      .start();
    try {
      const port = c.getMappedPort(8080);
      assert.ok(port > 0 && port !== 8080, `an ephemeral host port: ${port}`);
      const body = await new Promise<string>((resolve, reject) => {
        const s = net.connect(port, c.getHost(), () => s.write('GET /index.html HTTP/1.0\r\n\r\n'));
        let b = '';
        s.on('data', (x) => (b += x.toString()));
        s.on('end', () => resolve(b));
        s.on('error', reject);
      });
      assert.match(body, /hello-from-tc/);
      const pb = json<Record<string, { HostPort: string }[]>>(
        (await d.docker(['inspect', c.getId(), '--format', '{{json .HostConfig.PortBindings}}'])).stdout,
      );
      assert.equal(pb['8080/tcp']?.[0]?.HostPort, '0', 'HostConfig keeps what was asked, as dockerd');
    } finally {
      await c.stop({ timeout: 1 });
    }
  });

  it('dockerode attach: the request body (its options) never reaches stdin, only what follows the upgrade', async () => {
    const docker = dockerode(d);
    const c = await docker.createContainer({
      Image: 'busybox',
      Cmd: ['sh', '-c', 'head -c 5; echo'],
      OpenStdin: true,
      StdinOnce: true,
      AttachStdin: true,
      AttachStdout: true,
    });
    try {
      // dockerode sends {"stream":true,"stdin":true,...} as a JSON body with Content-Length (docker-modem).
      const stream = await c.attach({
        stream: true,
        stdin: true,
        stdout: true,
        hijack: true,
      });
      let raw = Buffer.alloc(0);
      stream.on('data', (b: Buffer) => (raw = Buffer.concat([raw, b])));
      const ended = new Promise((r) => stream.once('end', r));
      await c.start();
      stream.write('hello');
      assert.equal(((await c.wait()) as { StatusCode: number }).StatusCode, 0);
      await ended;
      assert.equal(demux(raw), 'hello\n', 'the container read exactly what followed the upgrade');
    } finally {
      await c.remove({ force: true });
    }
  });

  it('attach with logs=1&stream=1 before start: every line, and the connection ends with the container', async () => {
    // dockerd registers the attach before the start can run, so no output is lost and the stream closes
    // when the container exits; run it many times, since the loss was a race.
    for (let i = 0; i < 15; i++) {
      const id = json<{ Id: string }>(
        (
          await d.request('POST', '/v1.44/containers/create', {
            Image: 'busybox',
            Cmd: ['sh', '-c', 'echo one; echo two; echo three'],
            AttachStdout: true,
          })
        ).body,
      ).Id;
      const attached = rawAttach(
        d.socket,
        `/v1.44/containers/${id}/attach?logs=1&stream=1&stdout=1`,
        undefined,
        () => {
          void d.request('POST', `/v1.44/containers/${id}/start`);
        },
      );
      const r = await attached;
      assert.match(r.head, /^HTTP\/1.1 101/);
      assert.equal(demux(r.data), 'one\ntwo\nthree\n', `run ${i}`);
      await d.request('DELETE', `/v1.44/containers/${id}?force=1`);
    }
  });

  it('attach with logs=1&stream=1 to a container that already ran replays its log, then follows the next run', async () => {
    const id = json<{ Id: string }>(
      (await d.request('POST', '/v1.44/containers/create', { Image: 'busybox', Cmd: ['echo', 'again'] }))
        .body,
    ).Id;
    try {
      assert.equal((await d.request('POST', `/v1.44/containers/${id}/start`)).status, 204);
      await d.request('POST', `/v1.44/containers/${id}/wait`);
      const r = await rawAttach(
        d.socket,
        `/v1.44/containers/${id}/attach?logs=1&stream=1&stdout=1`,
        undefined,
        () => setTimeout(() => void d.request('POST', `/v1.44/containers/${id}/start`), 300),
      );
      assert.equal(demux(r.data), 'again\nagain\n', 'the old line once, then the new run, then the end');
    } finally {
      await d.request('DELETE', `/v1.44/containers/${id}?force=1`);
    }
  });
});
