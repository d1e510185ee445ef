/**
 * pods/portforward, kubectl cp, pods/proxy and services/proxy against the real kubectl 1.32, and exec and
 * port-forward from python3-kubernetes (v4.channel.k8s.io) and @kubernetes/client-node. The pod serves a random 3 MB
 * blob over HTTP (busybox httpd, also on its loopback only) and echoes bytes back (nc -e cat).
 */
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { promises as fsp } from 'node:fs';
import path from 'node:path';
import { PassThrough, Writable } from 'node:stream';
import { after, before, describe, it } from 'node:test';
import * as k8s from '@kubernetes/client-node';
import { IS_ROOT, requirement } from '../helpers/env.js';
import { echo, httpGet } from '../helpers/tcp.js';
import { run } from '../helpers/exec.js';
import { KUBECTL, startStreamCluster, until, type StreamCluster } from '../helpers/kube-streams.js';

const skip = requirement(IS_ROOT, 'running pods needs root (berthd)');
const sha256 = (b: Buffer) => createHash('sha256').update(b).digest('hex');
const BLOB = 3_000_000;

/** `kubectl port-forward`, resolved once it prints its last "Forwarding from" line. */
async function portForward(
  c: StreamCluster,
  args: string[],
  env: Record<string, string>,
): Promise<{ child: ChildProcess; stderr: () => string }> {
  const child = spawn(KUBECTL, ['--kubeconfig', c.kubeconfig, 'port-forward', ...args], {
    env: { ...process.env, HOME: c.dir, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  let err = '';
  child.stdout.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr.on('data', (d: Buffer) => (err += d.toString()));
  const ports = args.filter((a) => /^\d+:\d+$/.test(a)).map((a) => a.split(':')[0]);
  await until(
    'port-forward ready',
    async () => {
      if (child.exitCode !== null) throw new Error(`kubectl exited: ${err}`);
      return ports.every((p) => out.includes(`Forwarding from 127.0.0.1:${p}`));
    },
    20_000,
  );
  return { child, stderr: () => err };
}

describe('port-forward, cp and proxies', { skip }, () => {
  let c: StreamCluster;
  let blobSum = '';
  let podIP = '';
  before(async () => {
    c = await startStreamCluster();
    const pod = await c.runPod('web', {
      containers: [
        {
          name: 'main',
          image: 'busybox',
          imagePullPolicy: 'IfNotPresent',
          command: [
            'sh',
            '-c',
            `mkdir -p /www; head -c ${BLOB} /dev/urandom > /www/blob; echo local > /www/local.txt;
             httpd -p 127.0.0.1:8081 -h /www; nc -ll -p 9090 -e cat & exec httpd -f -p 8080 -h /www`,
          ],
        },
      ],
    });
    podIP = pod.status!.podIP!;
    const sum = await until('the blob', async () => {
      const r = await c.kubectl([
        'exec',
        'web',
        '--',
        'sh',
        '-c',
        `[ $(wc -c </www/blob) = ${BLOB} ] && sha256sum /www/blob`,
      ]);
      return r.code === 0 ? r.stdout.split(' ')[0] : undefined;
    });
    blobSum = sum;
  });
  after(async () => {
    await c?.stop();
  });

  for (const [transport, env, base] of [
    ['websocket-tunnelled SPDY', {}, 18110],
    ['SPDY', { KUBECTL_PORT_FORWARD_WEBSOCKETS: 'false' }, 18120],
  ] as const) {
    it(`kubectl port-forward over ${transport}: concurrent binary transfers, a loopback-only app, a closed port`, async () => {
      const pf = await portForward(
        c,
        ['pod/web', `${base}:8080`, `${base + 1}:9090`, `${base + 2}:8081`, `${base + 3}:9999`],
        env,
      );
      try {
        const inputs = [0, 1, 2, 3].map(() => randomBytes(1024 * 1024));
        const [gets, echoes] = await Promise.all([
          Promise.all([0, 1, 2, 3, 4, 5].map(() => httpGet(base, '/blob'))),
          Promise.all(inputs.map((b) => echo(base + 1, b))),
        ]);
        for (const g of gets) assert.equal(sha256(g), blobSum);
        echoes.forEach((e, i) => assert.ok(e.equals(inputs[i]), `echo ${i} came back whole`));
        assert.equal(
          (await httpGet(base + 2, '/local.txt')).toString(),
          'local\n',
          'an app on the pod loopback',
        );
        // Nothing listens on 9999: the connection ends with no data and kubectl reports the kubelet's error.
        await assert.rejects(httpGet(base + 3, '/'), /no HTTP answer/);
        await until('the error reported', async () => /error forwarding port 9999/.test(pf.stderr()), 10_000);
      } finally {
        pf.child.kill();
      }
    });
  }

  it('kubectl cp: a directory with a binary file into the pod and back', async () => {
    const src = path.join(c.dir, 'cp-src');
    await fsp.mkdir(path.join(src, 'sub'), { recursive: true });
    const bin = Buffer.concat([Buffer.from([0x10, 0x11]), randomBytes(2 * 1024 * 1024)]);
    await fsp.writeFile(path.join(src, 'sub', 'data.bin'), bin);
    await fsp.writeFile(path.join(src, 'note.txt'), 'hello\n');
    const up = await c.kubectl(['cp', src, 'web:/tmp/up']);
    assert.equal(up.code, 0, up.stderr);
    const inPod = await c.kubectl(['exec', 'web', '--', 'sha256sum', '/tmp/up/sub/data.bin']);
    assert.equal(inPod.stdout.split(' ')[0], sha256(bin));
    const dst = path.join(c.dir, 'cp-dst');
    const down = await c.kubectl(['cp', 'web:/tmp/up', dst]);
    assert.equal(down.code, 0, down.stderr);
    assert.ok((await fsp.readFile(path.join(dst, 'sub', 'data.bin'))).equals(bin));
    assert.equal(await fsp.readFile(path.join(dst, 'note.txt'), 'utf8'), 'hello\n');
  });

  it('pods/proxy and services/proxy: binary bodies, headers, errors', async () => {
    const viaPod = await c.sh(
      '"$KUBECTL" get --raw /api/v1/namespaces/default/pods/web:8080/proxy/blob | sha256sum',
    );
    assert.equal(viaPod.stdout.split(' ')[0], blobSum, viaPod.stderr);
    const refused = await c.kubectl(['get', '--raw', '/api/v1/namespaces/default/pods/web:9999/proxy/']);
    assert.notEqual(refused.code, 0);
    assert.match(refused.stderr, /connection refused/);
    const services = c.client.resource('v1', 'services');
    const endpoints = c.client.resource('v1', 'endpoints');
    await services.create(
      {
        apiVersion: 'v1',
        kind: 'Service',
        metadata: { name: 'web', namespace: 'default' },
        spec: { ports: [{ name: 'http', port: 80, targetPort: 8080 }] },
      },
      { namespace: 'default' },
    );
    await endpoints.create(
      {
        apiVersion: 'v1',
        kind: 'Endpoints',
        metadata: { name: 'web', namespace: 'default' },
        subsets: [
          {
            addresses: [{ ip: podIP, targetRef: { kind: 'Pod', name: 'web', namespace: 'default' } }],
            ports: [{ name: 'http', port: 8080 }],
          },
        ],
      },
      { namespace: 'default' },
    );
    for (const ref of ['web:http', 'web:80', 'http:web:80']) {
      const r = await c.sh(
        `"$KUBECTL" get --raw /api/v1/namespaces/default/services/${ref}/proxy/blob | sha256sum`,
      );
      assert.equal(r.stdout.split(' ')[0], blobSum, `${ref}: ${r.stderr}`);
    }
    const noPort = await c.kubectl(['get', '--raw', '/api/v1/namespaces/default/services/web:443/proxy/']);
    assert.match(noPort.stderr, /no service port 443 found for service "web"/);
  });

  it('python3-kubernetes: stream() exec with stdin and an exit code, portforward() over v4.channel.k8s.io', async () => {
    const script = `
import sys, hashlib
from kubernetes import client, config
from kubernetes.stream import stream, portforward
config.load_kube_config(config_file=sys.argv[1])
api = client.CoreV1Api()
ws = stream(api.connect_get_namespaced_pod_exec, 'web', 'default',
            command=['sh', '-c', 'read l; echo "got:$l"; echo done >&2; exit 4'],
            stdin=True, stdout=True, stderr=True, tty=False, _preload_content=False)
ws.write_stdin('from-python\\n')
ws.run_forever(timeout=20)
print('exec', repr(ws.read_stdout()), repr(ws.read_stderr().strip()), ws.returncode)
pf = portforward(api.connect_get_namespaced_pod_portforward, 'web', 'default', ports='8080')
s = pf.socket(8080)
s.setblocking(True)
s.sendall(b'GET /blob HTTP/1.0\\r\\nHost: x\\r\\n\\r\\n')
data = b''
while True:
    chunk = s.recv(65536)
    if not chunk:
        break
    data += chunk
s.close()
print('portforward', hashlib.sha256(data.split(b'\\r\\n\\r\\n', 1)[1]).hexdigest())
`;
    const r = await run('/usr/bin/python3', ['-c', script, c.kubeconfig], { timeoutMs: 60_000 });
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /^exec 'got:from-python\\n' 'done' 4$/m);
    assert.match(r.stdout, new RegExp(`^portforward ${blobSum}$`, 'm'));
  });

  it('@kubernetes/client-node Exec: stdin, stdout, stderr and the status with the exit code', async () => {
    const kc = new k8s.KubeConfig();
    kc.loadFromFile(c.kubeconfig);
    const exec = new k8s.Exec(kc);
    const collect = () => {
      const chunks: Buffer[] = [];
      const w = new Writable({
        write(chunk: Buffer, _e, cb) {
          chunks.push(chunk);
          cb();
        },
      });
      return { w, text: () => Buffer.concat(chunks).toString() };
    };
    const out = collect();
    const err = collect();
    const stdin = new PassThrough();
    const status = new Promise<k8s.V1Status>((resolve, reject) => {
      void exec
        .exec(
          'default',
          'web',
          'main',
          ['sh', '-c', 'cat; echo e >&2; exit 6'],
          out.w,
          err.w,
          stdin,
          false,
          resolve,
        )
        .then((ws) => ws.on('error', reject));
    });
    stdin.end('from-node\n');
    const st = await status;
    assert.equal(st.status, 'Failure');
    assert.equal(st.reason, 'NonZeroExitCode');
    assert.deepEqual(st.details?.causes, [{ reason: 'ExitCode', message: '6' }]);
    assert.equal(out.text(), 'from-node\n');
    assert.equal(err.text(), 'e\n');
  });
});
