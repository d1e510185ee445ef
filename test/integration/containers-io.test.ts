/** Container IO through the real docker CLI: logs (tail/since/timestamps/follow/streams), exec, attach, TTY in a PTY. */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { startContainerDaemon } from '../helpers/container-daemon.js';
import type { TestDaemon } from '../helpers/daemon.js';

/** Runs a docker command inside a PTY (util-linux `script`), feeding `input` slowly, as a person would. */
function inPty(
  d: TestDaemon,
  cmd: string,
  input: string[],
  delayMs = 300,
): Promise<{ code: number; out: string }> {
  return new Promise((resolve, reject) => {
    const full = `docker -H unix://${d.socket} ${cmd}`;
    void (async () => {
      const { spawn } = await import('node:child_process');
      const p = spawn('script', ['-qfec', full, '/dev/null'], {
        stdio: ['pipe', 'pipe', 'pipe'],
        env: { ...process.env, TERM: 'xterm' },
      });
      let out = '';
      p.stdout.on('data', (b: Buffer) => (out += b.toString()));
      p.stderr.on('data', (b: Buffer) => (out += b.toString()));
      const timer = setTimeout(() => p.kill('SIGKILL'), 20_000);
      p.on('close', (code) => {
        clearTimeout(timer);
        resolve({ code: code ?? -1, out });
      });
      p.on('error', reject);
      for (const chunk of input) {
        await new Promise((r) => setTimeout(r, delayMs));
        p.stdin.write(chunk);
      }
    })();
  });
}

describe('containers: logs, exec, attach, TTY', () => {
  let d: TestDaemon;
  const dk = (args: string[], input?: string) =>
    d.docker(args, { timeoutMs: 30_000, ...(input !== undefined ? { input } : {}) });
  before(async () => {
    ({ d } = await startContainerDaemon());
  });
  after(async () => {
    await d.destroy();
  });

  it('logs: streams apart, tail, timestamps, since/until', async () => {
    assert.equal(
      (
        await dk([
          'run',
          '--name',
          'lg',
          'busybox',
          'sh',
          '-c',
          'for i in 1 2 3 4 5; do echo out$i; echo err$i >&2; done',
        ])
      ).code,
      0,
    );
    const all = await dk(['logs', 'lg']);
    assert.equal(all.stdout, 'out1\nout2\nout3\nout4\nout5\n');
    assert.equal(all.stderr, 'err1\nerr2\nerr3\nerr4\nerr5\n');
    const tail = await dk(['logs', '--tail', '2', 'lg']);
    assert.equal(
      tail.stdout.split('\n').filter(Boolean).length + tail.stderr.split('\n').filter(Boolean).length,
      2,
    );
    const ts = await dk(['logs', '-t', '--tail', '1', 'lg']);
    assert.match(ts.stdout + ts.stderr, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d+Z (out|err)5\n$/);
    const future = await dk(['logs', '--since', String(Math.floor(Date.now() / 1000) + 3600), 'lg']);
    assert.equal(future.stdout + future.stderr, '');
    const until = await dk(['logs', '--until', '1', 'lg']);
    assert.equal(until.stdout + until.stderr, '');
    const bad = await d.request('GET', '/v1.44/containers/lg/logs');
    assert.equal(bad.status, 400);
    assert.match(bad.body, /You must choose at least one stream/);
    assert.equal((await dk(['rm', 'lg'])).code, 0);
  });

  it('logs: max-size/max-file rotation keeps the newest lines, read across the rotated files', async () => {
    assert.equal(
      (
        await dk([
          'run',
          '--name',
          'rot',
          '--log-opt',
          'max-size=1k',
          '--log-opt',
          'max-file=3',
          'busybox',
          'seq',
          '1',
          '500',
        ])
      ).code,
      0,
    );
    const lines = (await dk(['logs', 'rot'])).stdout.trim().split('\n').map(Number);
    assert.ok(lines.length > 20 && lines.length < 100, `kept ${lines.length} lines`);
    assert.equal(lines[lines.length - 1], 500);
    assert.deepEqual(
      lines,
      lines.map((_, i) => lines[0] + i),
      'contiguous, oldest rotated away',
    );
    assert.equal((await dk(['logs', '--tail', '2', 'rot'])).stdout, '499\n500\n');
    assert.equal((await dk(['rm', 'rot'])).code, 0);
  });

  it('logs -f follows until the container exits', async () => {
    assert.equal(
      (
        await dk([
          'run',
          '-d',
          '--name',
          'fl',
          'busybox',
          'sh',
          '-c',
          'echo a; sleep 1; echo b; sleep 0.5; echo c',
        ])
      ).code,
      0,
    );
    const t0 = Date.now();
    const f = await dk(['logs', '-f', 'fl']);
    assert.equal(f.stdout, 'a\nb\nc\n');
    assert.ok(Date.now() - t0 >= 1000, 'waited for the later lines');
    assert.equal((await dk(['rm', 'fl'])).code, 0);
  });

  it('exec runs in the container with env, workdir, user and exit code', async () => {
    assert.equal((await dk(['run', '-d', '--name', 'ex', '-e', 'A=1', 'berth-app', 'sleep', '300'])).code, 0);
    const r = await dk([
      'exec',
      '-e',
      'B=2',
      '-w',
      '/tmp',
      '-u',
      'www',
      'ex',
      'sh',
      '-c',
      'echo $A $B $APP_MODE $(pwd) $(id -u) $(id -g) $HOME',
    ]);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout.trim(), '1 2 image /tmp 33 33 /var/www');
    assert.equal((await dk(['exec', 'ex', 'sh', '-c', 'exit 5'])).code, 5);
    const nf = await dk(['exec', 'ex', 'no-such-binary']);
    assert.equal(nf.code, 127, nf.stdout + nf.stderr);
    const i = await dk(['exec', '-i', 'ex', 'sh', '-c', 'tr a-z A-Z'], 'piped input\n');
    assert.equal(i.stdout, 'PIPED INPUT\n');
    const dt = await dk(['exec', '-d', 'ex', 'sh', '-c', 'echo detached > /tmp/d.txt']);
    assert.equal(dt.code, 0);
    await new Promise((r2) => setTimeout(r2, 300));
    assert.equal((await dk(['exec', 'ex', 'cat', '/tmp/d.txt'])).stdout, 'detached\n');
    const top = await dk(['top', 'ex']);
    assert.match(top.stdout, /sleep 300/);
    assert.equal((await dk(['rm', '-f', 'ex'])).code, 0);
    const stopped = await dk(['exec', 'ex', 'true']);
    assert.notEqual(stopped.code, 0);
  });

  it('docker run -it and exec -it get a real terminal; ctrl-p ctrl-q detaches', async () => {
    const it1 = await inPty(d, 'run -it --rm busybox sh', ['tty; stty size; echo $TERM\r', 'exit 4\r']);
    assert.equal(it1.code, 4, it1.out);
    assert.match(it1.out, /\/dev\/pts\/0/);
    assert.match(it1.out, /xterm/);
    assert.equal((await dk(['run', '-d', '-it', '--name', 'tt', 'busybox', 'sh'])).code, 0);
    const ex = await inPty(d, 'exec -it tt sh', ['tty && echo in-exec-$((6*7))\r', 'exit\r']);
    assert.equal(ex.code, 0, ex.out);
    assert.match(ex.out, /in-exec-42/);
    const at = await inPty(d, 'attach tt', ['echo attached-$((2+3))\r', '\x10', '\x11']);
    // The CLI reports a detach from `docker attach` as "read escape sequence" (exit 1), as with dockerd.
    assert.match(at.out, /attached-5/);
    assert.match(at.out, /read escape sequence/);
    assert.equal(
      (await dk(['inspect', '--format', '{{.State.Running}}', 'tt'])).stdout.trim(),
      'true',
      'detaching left it running',
    );
    assert.equal((await dk(['rm', '-f', 'tt'])).code, 0);
  });

  it('attach without a TTY demultiplexes streams and ends with the container', async () => {
    assert.equal(
      (await dk(['run', '-d', '--name', 'at', 'busybox', 'sh', '-c', 'sleep 1; echo late; echo laterr >&2']))
        .code,
      0,
    );
    const a = await dk(['attach', 'at']);
    assert.equal(a.stdout, 'late\n');
    assert.equal(a.stderr, 'laterr\n');
    assert.equal((await dk(['start', '-a', 'at'])).stdout, 'late\n');
    assert.equal((await dk(['rm', 'at'])).code, 0);
  });
});
