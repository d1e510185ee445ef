/**
 * The dashboard's port forwards through `berth serve`'s `/cluster/port-forwards`: the host listens on 127.0.0.1 and
 * carries each connection to the pod through the API server's pods/portforward (v4.channel.k8s.io), with the
 * kubeconfig's credentials (the page never has them). Concurrent binary transfers arrive whole; a closed pod port,
 * a taken local port, a missing pod and a bad port each say what is wrong; stop closes the listener.
 */
import assert from 'node:assert/strict';
import type { ChildProcess } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import net from 'node:net';
import { after, before, describe, it } from 'node:test';
import type { PortForwardInfo } from '@berth/common';
import { IS_ROOT, requirement } from '../helpers/env.js';
import { echo, httpGet } from '../helpers/tcp.js';
import { startStreamCluster, until, type StreamCluster } from '../helpers/kube-streams.js';
import { startServe } from '../e2e/support/stack.js';

const skip = requirement(IS_ROOT, 'running pods needs root (berthd)');
const sha256 = (b: Buffer) => createHash('sha256').update(b).digest('hex');
const BLOB = 2_000_000;

describe('berth serve: port forwards to pods', { skip }, () => {
  let c: StreamCluster;
  let serve: ChildProcess;
  let base = '';
  let token = '';
  let context = '';
  let blobSum = '';

  const call = async (method: string, path: string, body?: unknown) => {
    const r = await fetch(`${base}cluster/port-forwards${path}`, {
      method,
      headers: {
        Authorization: `Bearer ${token}`,
        ...(body === undefined ? {} : { 'Content-Type': 'application/json' }),
      },
      ...(body === undefined ? {} : { body: typeof body === 'string' ? body : JSON.stringify(body) }),
    });
    const text = await r.text();
    return { status: r.status, json: (text ? JSON.parse(text) : undefined) as unknown };
  };
  const start = (o: Record<string, unknown>) => call('POST', '', { context, namespace: 'default', ...o });

  before(async () => {
    c = await startStreamCluster();
    await c.runPod('web', {
      containers: [
        {
          name: 'main',
          image: 'busybox',
          imagePullPolicy: 'IfNotPresent',
          command: [
            'sh',
            '-c',
            `mkdir -p /www; head -c ${BLOB} /dev/urandom > /www/blob; nc -ll -p 9090 -e cat & exec httpd -f -p 8080 -h /www`,
          ],
        },
      ],
    });
    blobSum = await until('the blob', async () => {
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
    const s = await startServe(c.env.d.socket, { ...process.env, KUBECONFIG: c.kubeconfig });
    serve = s.proc;
    base = s.url;
    token = s.token;
    const ctxs = (await (
      await fetch(`${base}cluster/contexts`, { headers: { Authorization: `Bearer ${token}` } })
    ).json()) as { contexts: { name: string }[] };
    context = ctxs.contexts[0].name;
  });
  after(async () => {
    serve?.kill('SIGTERM');
    await c?.stop();
  });

  it('forwards concurrent binary connections, lists them, and stops', async () => {
    const web = await start({ pod: 'web', port: 8080 });
    assert.equal(web.status, 201, JSON.stringify(web.json));
    const w = web.json as PortForwardInfo;
    assert.match(w.url, /^http:\/\/127\.0\.0\.1:\d+$/);
    const ech = await start({ pod: 'web', port: 9090 });
    assert.equal(ech.status, 201, JSON.stringify(ech.json));
    const e = ech.json as PortForwardInfo;

    const inputs = [0, 1, 2].map(() => randomBytes(512 * 1024));
    const [gets, echoes] = await Promise.all([
      Promise.all([0, 1, 2, 3].map(() => httpGet(w.localPort, '/blob'))),
      Promise.all(inputs.map((b) => echo(e.localPort, b))),
    ]);
    for (const g of gets) assert.equal(sha256(g), blobSum);
    echoes.forEach((got, i) => assert.ok(got.equals(inputs[i]), `echo ${i} came back changed`));
    // The page's own fetch goes the same way.
    const page = await fetch(`${w.url}/blob`);
    assert.equal(page.status, 200);
    assert.equal(sha256(Buffer.from(await page.arrayBuffer())), blobSum);

    const list = (await call('GET', '')).json as PortForwardInfo[];
    const mine = list.find((f) => f.id === w.id);
    assert.ok(mine, 'the forward is listed');
    assert.equal(mine.total, 5);
    assert.deepEqual([mine.pod, mine.port, mine.namespace], ['web', 8080, 'default']);

    assert.equal((await call('DELETE', `/${w.id}`)).status, 204);
    assert.equal((await call('DELETE', `/${e.id}`)).status, 204);
    await assert.rejects(httpGet(w.localPort, '/blob'), /ECONNREFUSED/);
    const again = await call('DELETE', `/${w.id}`);
    assert.equal(again.status, 404);
    assert.match((again.json as { message: string }).message, /no port forward/);
  });

  it('a closed pod port: the connection ends and the kubelet says why', async () => {
    const r = await start({ pod: 'web', port: 9999 });
    assert.equal(r.status, 201);
    const f = r.json as PortForwardInfo;
    try {
      await assert.rejects(httpGet(f.localPort, '/'));
      const err = await until('the forward error', async () => {
        const l = (await call('GET', '')).json as PortForwardInfo[];
        return l.find((x) => x.id === f.id)?.lastError;
      });
      assert.match(err, /9999/);
    } finally {
      await call('DELETE', `/${f.id}`);
    }
  });

  it("refusals in the user's words: taken local port, missing pod, bad ports, bad body", async () => {
    const taken = net.createServer();
    await new Promise<void>((r) => taken.listen(0, '127.0.0.1', r));
    const port = (taken.address() as net.AddressInfo).port;
    try {
      const r = await start({ pod: 'web', port: 8080, localPort: port });
      assert.equal(r.status, 409);
      assert.match((r.json as { message: string }).message, new RegExp(`port ${port} on 127.0.0.1 is taken`));
    } finally {
      taken.close();
    }
    const missing = await start({ pod: 'nope', port: 80 });
    assert.equal(missing.status, 404);
    assert.equal((missing.json as { message: string }).message, 'pods "nope" not found');
    const bad = await start({ pod: 'web', port: 70000 });
    assert.equal(bad.status, 400);
    assert.match((bad.json as { message: string }).message, /from 1 to 65535 \(got 70000\)/);
    const badLocal = await start({ pod: 'web', port: 80, localPort: 'x' });
    assert.equal(badLocal.status, 400);
    assert.match((badLocal.json as { message: string }).message, /local port/);
    const notJson = await call('POST', '', '{');
    assert.equal(notJson.status, 400);
    assert.equal((await call('PUT', '')).status, 405);
    assert.deepEqual((await call('GET', '')).json, []);
  });
});
