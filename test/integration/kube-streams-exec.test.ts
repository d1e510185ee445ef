/**
 * pods/exec and pods/attach against the real kubectl 1.32 over berthd pods: exit codes through kubectl's own exit
 * status, binary stdin piped to EOF, a large binary stdout, both transports (WebSocket v5 and the SPDY fallback), a
 * terminal (kubectl under a pty: size, resize, exit code), attach with stdin, and the errors kube-apiserver gives.
 */
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import https from 'node:https';
import { after, before, describe, it } from 'node:test';
import { KubeConfig } from '@kubernetes/client-node';
import WebSocket from 'ws';
import { IS_ROOT, requirement } from '../helpers/env.js';
import { run } from '../helpers/exec.js';
import { KUBECTL, startStreamCluster, type StreamCluster } from '../helpers/kube-streams.js';

const skip = requirement(IS_ROOT, 'running pods needs root (berthd)');
const SPDY = { KUBECTL_REMOTE_COMMAND_WEBSOCKETS: 'false' };
const TRANSPORTS = [
  ['websocket', {}],
  ['spdy', SPDY],
] as const;
const sha256 = (b: Buffer) => createHash('sha256').update(b).digest('hex');

/** Connection options (server, CA, client certificate) from the cluster's kubeconfig. */
async function connection(kubeconfig: string): Promise<{ server: string; opts: https.RequestOptions }> {
  const kc = new KubeConfig();
  kc.loadFromFile(kubeconfig);
  const opts: https.RequestOptions = {};
  await kc.applyToHTTPSOptions(opts);
  return { server: kc.getCurrentCluster()!.server, opts };
}

/** An exec over WebSocket with `protocol`: every message received, until the server closes. */
function wsExec(
  c: { server: string; opts: https.RequestOptions },
  query: string,
  protocol: string,
  send: (ws: WebSocket) => void,
): Promise<Buffer[]> {
  return new Promise((resolve, reject) => {
    const url = `${c.server.replace(/^https/, 'wss')}/api/v1/namespaces/default/pods/sh/exec?${query}`;
    const ws = new WebSocket(url, [protocol], c.opts);
    const got: Buffer[] = [];
    ws.on('open', () => send(ws));
    ws.on('message', (d: Buffer) => got.push(Buffer.from(d)));
    ws.on('error', reject);
    ws.on('close', () => resolve(got));
  });
}

/** A raw HTTP/1.1 upgrade request: the status line, headers and body the server answers with. */
function rawUpgrade(
  c: { server: string; opts: https.RequestOptions },
  p: string,
  headers: Record<string, string>,
): Promise<{ status: number; body: string; type: string }> {
  return new Promise((resolve, reject) => {
    const req = https.request(`${c.server}${p}`, {
      ...c.opts,
      headers: { Connection: 'Upgrade', ...headers },
    });
    req.on('response', (res) => {
      let body = '';
      res.on('data', (d: Buffer) => (body += d.toString()));
      res.on('end', () =>
        resolve({ status: res.statusCode!, body, type: String(res.headers['content-type']) }),
      );
    });
    req.on('upgrade', (res, socket) => {
      socket.destroy();
      resolve({ status: res.statusCode!, body: '', type: '' });
    });
    req.on('error', reject);
    req.end();
  });
}

/**
 * Runs kubectl on a pty of rows x cols (set before kubectl starts), answering `input` once `waitFor` shows, and
 * resizing to `resize` once `resizeAfter` shows; prints everything read, then the exit code on the last line.
 */
const PTY_DRIVER = `
import os, pty, sys, fcntl, termios, struct, json, select, time
cfg = json.loads(sys.argv[1])
pid, fd = pty.fork()
if pid == 0:
    fcntl.ioctl(0, termios.TIOCSWINSZ, struct.pack('HHHH', cfg['rows'], cfg['cols'], 0, 0))
    os.execvp(cfg['argv'][0], cfg['argv'])
out = b''
steps = cfg['steps']
deadline = time.time() + 25
while time.time() < deadline:
    r, _, _ = select.select([fd], [], [], 0.2)
    if r:
        try:
            chunk = os.read(fd, 65536)
        except OSError:
            break
        if not chunk:
            break
        out += chunk
    while steps and steps[0]['after'].encode() in out:
        s = steps.pop(0)
        if 'resize' in s:
            fcntl.ioctl(fd, termios.TIOCSWINSZ, struct.pack('HHHH', s['resize'][0], s['resize'][1], 0, 0))
        if 'send' in s:
            os.write(fd, s['send'].encode())
done, status = os.waitpid(pid, os.WNOHANG)
if not done:
    os.kill(pid, 9)
    _, status = os.waitpid(pid, 0)
sys.stdout.write(out.decode('utf-8', 'replace'))
sys.stdout.write('\\nEXIT %d\\n' % (os.WEXITSTATUS(status) if os.WIFEXITED(status) else 128))
`;

describe('kubectl exec and attach', { skip }, () => {
  let c: StreamCluster;
  before(async () => {
    c = await startStreamCluster();
    await c.runPod('sh', {
      containers: [
        {
          name: 'main',
          image: 'busybox',
          imagePullPolicy: 'IfNotPresent',
          command: ['sleep', '3600'],
        },
        { name: 'side', image: 'busybox', imagePullPolicy: 'IfNotPresent', command: ['sleep', '3600'] },
      ],
    });
    const big = await c.kubectl([
      'exec',
      'sh',
      '-c',
      'main',
      '--',
      'sh',
      '-c',
      'head -c 12000000 /dev/urandom >/tmp/big',
    ]);
    assert.equal(big.code, 0, big.stderr);
  });
  after(async () => {
    await c?.stop();
  });

  for (const [transport, env] of TRANSPORTS) {
    it(`exec: output, stderr apart and exit codes (${transport})`, async () => {
      const ok = await c.kubectl(['exec', 'sh', '-c', 'main', '--', 'sh', '-c', 'echo out; echo err >&2'], {
        env,
      });
      assert.equal(ok.code, 0, ok.stderr);
      assert.equal(ok.stdout, 'out\n');
      assert.equal(ok.stderr, 'err\n');
      const bad = await c.kubectl(['exec', 'sh', '-c', 'side', '--', 'sh', '-c', 'exit 7'], { env });
      assert.equal(bad.code, 7, bad.stderr);
      assert.match(bad.stderr, /command terminated with exit code 7/);
    });

    it(`exec: binary stdin to EOF and a 12 MB binary stdout (${transport})`, async () => {
      // Bytes the engine's detach keys (ctrl-p ctrl-q) are made of must pass a non-terminal stdin.
      const input = Buffer.concat([Buffer.from([0x10, 0x11, 0, 0xff]), randomBytes(3 * 1024 * 1024)]);
      const got = await c.kubectl(['exec', '-i', 'sh', '-c', 'main', '--', 'sha256sum'], { env, input });
      assert.equal(got.code, 0, got.stderr);
      assert.equal(got.stdout.split(' ')[0], sha256(input));
      const inPod = await c.kubectl(['exec', 'sh', '-c', 'main', '--', 'sha256sum', '/tmp/big'], { env });
      const piped = await c.sh('"$KUBECTL" exec sh -c main -- cat /tmp/big | sha256sum', { env });
      assert.equal(piped.code, 0, piped.stderr);
      assert.equal(piped.stdout.split(' ')[0], inPod.stdout.split(' ')[0]);
    });

    it(`exec -it: a terminal of the client's size, resized, input echoed, exit code (${transport})`, async () => {
      const cfg = {
        rows: 33,
        cols: 111,
        argv: [
          KUBECTL,
          'exec',
          '-it',
          'sh',
          '-c',
          'main',
          '--',
          'sh',
          '-c',
          'stty size; read x; echo "got-$x"; while [ "$(stty size)" = "33 111" ]; do sleep 0.1; done; stty size; exit 3',
        ],
        steps: [
          { after: '33 111', send: 'hello\r' },
          { after: 'got-hello', resize: [40, 120] },
        ],
      };
      const r = await run('python3', ['-c', PTY_DRIVER, JSON.stringify(cfg)], {
        env: { ...process.env, ...env, KUBECONFIG: c.kubeconfig, HOME: c.dir },
        timeoutMs: 60_000,
      });
      assert.equal(r.code, 0, r.stderr);
      assert.match(r.stdout, /33 111\r\n/);
      assert.match(
        r.stdout,
        /hello\r\ngot-hello\r\n/,
        'the remote terminal echoes input and ends lines with \\r\\n',
      );
      assert.match(r.stdout, /40 120\r\n/, 'a resize reaches the process');
      assert.match(r.stdout, /EXIT 3\n$/);
    });
  }

  it('attach -i: stdin reaches the container, its EOF closes a stdinOnce stdin, output to the end (both transports)', async () => {
    for (const [transport, env] of TRANSPORTS) {
      const name = `att-${transport}`;
      await c.runPod(name, {
        containers: [
          {
            name: 'main',
            image: 'busybox',
            imagePullPolicy: 'IfNotPresent',
            stdin: true,
            stdinOnce: true,
            command: ['sh', '-c', 'while read l; do echo "got:$l"; echo "err:$l" >&2; done; echo bye'],
          },
        ],
      });
      const r = await c.kubectl(['attach', '-i', name], { env, input: 'a\nb\n' });
      assert.equal(r.code, 0, `${transport}: ${r.stderr}`);
      assert.equal(r.stdout, 'got:a\ngot:b\nbye\n', transport);
      assert.match(r.stderr, /err:a\nerr:b\n/, transport);
    }
  });

  it("attach -it: a terminal container takes the client's size and input; its exit ends the session (both transports)", async () => {
    for (const [transport, env] of TRANSPORTS) {
      const name = `tty-${transport}`;
      await c.runPod(name, {
        containers: [
          {
            name: 'main',
            image: 'busybox',
            imagePullPolicy: 'IfNotPresent',
            stdin: true,
            tty: true,
            command: ['sh'],
          },
        ],
      });
      const wait = 'while [ "$(stty size)" != "33 111" ]; do sleep 0.1; done; echo sized-$((40+2))';
      const cfg = {
        rows: 33,
        cols: 111,
        argv: [KUBECTL, 'attach', '-it', name],
        steps: [
          { after: 'pressing enter', send: `${wait}\r` },
          { after: 'sized-42', send: 'exit 5\r' },
        ],
      };
      const r = await run('python3', ['-c', PTY_DRIVER, JSON.stringify(cfg)], {
        env: { ...process.env, ...env, KUBECONFIG: c.kubeconfig, HOME: c.dir },
        timeoutMs: 60_000,
      });
      assert.equal(r.code, 0, r.stderr);
      assert.match(r.stdout, /sized-42/, `${transport}: the size reached the container's terminal`);
      assert.doesNotMatch(r.stdout, /EXIT 128/, `${transport}: the container's exit ended kubectl`);
    }
  });

  it("refusals in kube-apiserver's words", async () => {
    const noContainer = await c.kubectl(['exec', 'sh', '-c', 'nope', '--', 'true']);
    assert.equal(noContainer.code, 1);
    assert.match(
      noContainer.stderr,
      /Error from server \(BadRequest\): container nope is not valid for pod sh/,
    );
    const noPod = await c.kubectl(['exec', 'missing', '--', 'true']);
    assert.match(noPod.stderr, /Error from server \(NotFound\): pods "missing" not found/);
    // A plain GET (no upgrade) is refused with 400 as kube-apiserver does.
    const plain = await c.kubectl([
      'get',
      '--raw',
      '/api/v1/namespaces/default/pods/sh/exec?container=main&command=true&stdout=1',
    ]);
    assert.equal(plain.code, 1);
    assert.match(plain.stderr, /Upgrade request required/);
  });

  it('the wire protocols: v4 base64 frames and Status, the v5 close signal ends stdin, refusals before the upgrade', async () => {
    const conn = await connection(c.kubeconfig);
    const q = (cmd: string[], extra: string) =>
      `container=main&${cmd.map((x) => `command=${encodeURIComponent(x)}`).join('&')}&${extra}`;
    // v4.base64: the channel as an ASCII digit, the payload base64; a success Status on channel 3.
    const b64 = await wsExec(
      conn,
      q(['sh', '-c', 'printf hi; exit 0'], 'stdout=1'),
      'v4.base64.channel.k8s.io',
      () => {},
    );
    const frames = b64.map((m) => ({
      ch: m.toString()[0],
      data: Buffer.from(m.toString().slice(1), 'base64'),
    }));
    assert.equal(Buffer.concat(frames.filter((f) => f.ch === '1').map((f) => f.data)).toString(), 'hi');
    const status = frames.find((f) => f.ch === '3');
    assert.deepEqual(JSON.parse(status!.data.toString()), { metadata: {}, status: 'Success' });
    // v5: [255, 0] closes stdin, so cat ends; its exit code comes as the kubelet's NonZeroExitCode Status.
    const v5 = await wsExec(
      conn,
      q(['sh', '-c', 'cat; exit 9'], 'stdin=1&stdout=1'),
      'v5.channel.k8s.io',
      (ws) => {
        ws.send(Buffer.from('\x00piped'));
        ws.send(Buffer.from([255, 0]));
      },
    );
    const out = Buffer.concat(v5.filter((m) => m[0] === 1).map((m) => m.subarray(1))).toString();
    assert.equal(out, 'piped');
    const st = JSON.parse(
      Buffer.concat(v5.filter((m) => m[0] === 3).map((m) => m.subarray(1))).toString(),
    ) as {
      reason: string;
      details: { causes: Array<{ reason: string; message: string }> };
    };
    assert.equal(st.reason, 'NonZeroExitCode');
    assert.deepEqual(st.details.causes, [{ reason: 'ExitCode', message: '9' }]);
    // SPDY without X-Stream-Protocol-Version, or with none we speak; no stream asked for: the kubelet's texts.
    const exec = `/api/v1/namespaces/default/pods/sh/exec?${q(['true'], 'stdout=1')}`;
    const missing = await rawUpgrade(conn, exec, { Upgrade: 'SPDY/3.1' });
    assert.equal(missing.status, 400);
    assert.match(missing.body, /^unable to upgrade: header X-Stream-Protocol-Version does not exist/);
    const unknown = await rawUpgrade(conn, exec, {
      Upgrade: 'SPDY/3.1',
      'X-Stream-Protocol-Version': 'v9.channel.k8s.io',
    });
    assert.equal(unknown.status, 403);
    assert.match(unknown.body, /unable to negotiate protocol: client supports \[v9\.channel\.k8s\.io\]/);
    const none = await rawUpgrade(conn, `/api/v1/namespaces/default/pods/sh/exec?${q(['true'], '')}`, {
      Upgrade: 'SPDY/3.1',
      'X-Stream-Protocol-Version': 'v4.channel.k8s.io',
    });
    assert.equal(none.status, 400);
    assert.equal(none.body, 'you must specify at least 1 of stdin, stdout, stderr\n');
  });
});
