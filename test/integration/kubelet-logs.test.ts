/**
 * pods/log and metrics.k8s.io through the real kubectl 1.32 against berth-kube over a real berthd: the container
 * picker and its errors in kube-apiserver's words, --tail, --limit-bytes, --timestamps, --since, --previous, a
 * 100 KB line, `logs -f` streaming (and ending with the container), PodLogOptions validation, `kubectl exec`,
 * `port-forward` and `cp` through the stream routes berth-kube --engine registers, a projected service-account
 * token that authenticates until its pod is gone, and `kubectl top pod` and `top node`.
 * Pod network: a random /24 of 10.215.0.0/16.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { promises as fsp } from 'node:fs';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { IS_ROOT, requirement } from '../helpers/env.js';
import { haveKubectl, KUBECTL, until, type KubeCluster } from '../helpers/kube-cluster.js';
import { busybox, startPodCluster, type PodCluster, type RunningPod } from '../helpers/kube-pods.js';

const skip =
  requirement(IS_ROOT, 'running pods needs root (berthd)') ??
  requirement(haveKubectl(), `${KUBECTL} is not installed`);
const NODE = 'logs-node';

describe('kubelet: logs, streams and metrics through kubectl', { skip }, () => {
  let c: PodCluster;
  let kube: KubeCluster;
  const net = `klogs-${process.pid}`;
  const subnet = `10.215.${Math.floor(Math.random() * 250) + 1}.0/24`;

  const podJson = (name: string, spec: object) =>
    c.podJson(name, { terminationGracePeriodSeconds: 1, ...spec });
  const apply = (json: string) => c.apply(json);
  const running = (name: string, restarts = 0) =>
    c.running<RunningPod & { metadata: { uid: string } }>(name, restarts);
  const fails = async (args: string[]) => {
    const r = await kube.kubectl(args);
    assert.notEqual(r.code, 0, `kubectl ${args.join(' ')} should fail`);
    return r.stderr.trim();
  };

  before(async () => {
    c = await startPodCluster({
      port: 17920 + (process.pid % 30),
      nodeName: NODE,
      podCIDR: subnet,
      podNetwork: net,
    });
    kube = c.kube;
    await apply(
      podJson('two', {
        containers: [
          busybox('a', 'for i in 1 2 3 4 5; do echo line$i; done; exec sleep 3600'),
          busybox('b', 'echo from-b >&2; exec sleep 3600'),
        ],
      }),
    );
    await running('two');
  });
  after(() => c?.destroy());

  it('picks containers as kubectl and kube-apiserver do', async () => {
    const r = await kube.kubectl(['logs', 'two']);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout, 'line1\nline2\nline3\nline4\nline5\n');
    assert.match(r.stderr, /Defaulted container "a" out of: a, b/);
    assert.equal(await kube.k(['logs', 'two', '-c', 'b']), 'from-b\n');
    assert.equal(
      await fails(['get', '--raw', '/api/v1/namespaces/default/pods/two/log']),
      'Error from server (BadRequest): a container name must be specified for pod two, choose one of: [a b]',
    );
    assert.equal(
      await fails(['get', '--raw', '/api/v1/namespaces/default/pods/two/log?container=nope']),
      'Error from server (BadRequest): container nope is not valid for pod two',
    );
    assert.equal(
      await fails(['logs', 'two', '-c', 'a', '--previous']),
      'Error from server (BadRequest): previous terminated container "a" in pod "two" not found',
    );
    assert.match(await fails(['logs', 'missing']), /pods "missing" not found/);
  });

  it('applies --tail, --limit-bytes, --timestamps, --since and --since-time', async () => {
    assert.equal(await kube.k(['logs', 'two', '-c', 'a', '--tail=2']), 'line4\nline5\n');
    assert.equal(await kube.k(['logs', 'two', '-c', 'a', '--tail=0']), '');
    assert.equal(await kube.k(['logs', 'two', '-c', 'a', '--limit-bytes=8']), 'line1\nli');
    const stamped = (await kube.k(['logs', 'two', '-c', 'a', '--timestamps'])).trim().split('\n');
    assert.equal(stamped.length, 5);
    for (const [i, l] of stamped.entries())
      assert.match(l, new RegExp(`^\\d{4}-\\d\\d-\\d\\dT\\d\\d:\\d\\d:\\d\\d(\\.\\d+)?Z line${i + 1}$`));
    assert.equal((await kube.k(['logs', 'two', '-c', 'a', '--since=1h'])).split('\n').length, 6);
    const future = new Date(Date.now() + 3600_000).toISOString().replace(/\.\d+Z$/, 'Z');
    assert.equal(await kube.k(['logs', 'two', '-c', 'a', `--since-time=${future}`]), '');
    assert.equal(
      await fails(['get', '--raw', '/api/v1/namespaces/default/pods/two/log?container=a&tailLines=-1']),
      'The PodLogOptions "two" is invalid: tailLines: Invalid value: -1: must be greater than or equal to 0',
    );
    assert.match(
      await fails([
        'get',
        '--raw',
        '/api/v1/namespaces/default/pods/two/log?container=a&sinceSeconds=5&sinceTime=2024-01-01T00:00:00Z',
      ]),
      /at most one of `sinceTime` or `sinceSeconds` may be specified/,
    );
  });

  it('reads the previous instance after a restart, and a 100 KB line whole', async () => {
    await apply(
      podJson('restarts', {
        containers: [
          busybox(
            'main',
            'echo run-$(cat /proc/sys/kernel/random/uuid); head -c 100000 /dev/zero | tr "\\0" x; echo; sleep 1; exit 1',
          ),
        ],
      }),
    );
    await running('restarts', 1);
    const prev = await kube.k(['logs', 'restarts', '--previous']);
    const cur = await kube.k(['logs', 'restarts']);
    const [prevRun, prevLine] = prev.split('\n');
    const [curRun] = cur.split('\n');
    assert.match(prevRun, /^run-[0-9a-f-]{36}$/);
    assert.match(curRun, /^run-[0-9a-f-]{36}$/);
    assert.notEqual(prevRun, curRun);
    assert.equal(prevLine.length, 100_000);
    assert.ok(/^x+$/.test(prevLine));
  });

  it('streams with -f and stops when the container ends', async () => {
    await apply(
      podJson('ticker', {
        restartPolicy: 'Never',
        containers: [busybox('main', 'for i in 1 2 3 4 5 6 7 8; do echo tick$i; sleep 0.4; done')],
      }),
    );
    await running('ticker');
    const home = kube.dataDir;
    const child = spawn(
      KUBECTL,
      ['--kubeconfig', kube.kubeconfig, '--cache-dir', path.join(home, 'cache'), 'logs', '-f', 'ticker'],
      {
        env: { ...process.env, HOME: home },
      },
    );
    const seen: { at: number; text: string }[] = [];
    child.stdout.on('data', (d: Buffer) => seen.push({ at: Date.now(), text: d.toString() }));
    const code = await new Promise<number | null>((r) => child.on('exit', r));
    assert.equal(code, 0);
    const text = seen.map((s) => s.text).join('');
    assert.equal(text, 'tick1\ntick2\ntick3\ntick4\ntick5\ntick6\ntick7\ntick8\n');
    // Lines arrived as they were written, not all at the end.
    assert.ok(seen.length >= 3 && seen[seen.length - 1].at - seen[0].at >= 1000, `chunks: ${seen.length}`);
  });

  it('runs kubectl exec in a pod container with its stdin and exit code (berth-kube --engine serves the streams)', async () => {
    const r = await kube.kubectl(['exec', 'two', '-c', 'b', '--', 'sh', '-c', 'echo in-$(hostname); exit 3']);
    assert.equal(r.code, 3, r.stderr);
    assert.equal(r.stdout, 'in-two\n');
    const piped = await kube.k(['exec', '-i', 'two', '-c', 'a', '--', 'wc', '-c'], {
      input: 'x'.repeat(70_000),
    });
    assert.equal(piped.trim(), '70000');
    assert.match(
      await fails(['exec', 'two', '-c', 'nope', '--', 'true']),
      /container nope is not valid for pod two/,
    );
  });

  it('forwards a port to a pod and copies files both ways with kubectl port-forward and cp', async () => {
    await apply(
      podJson('web', {
        containers: [
          busybox(
            'httpd',
            'mkdir -p /www; head -c 300000 /dev/urandom > /www/blob; exec httpd -f -p 8080 -h /www',
          ),
        ],
      }),
    );
    await running('web');
    const home = kube.dataDir;
    const pf = spawn(
      KUBECTL,
      [
        '--kubeconfig',
        kube.kubeconfig,
        '--cache-dir',
        path.join(home, 'cache'),
        'port-forward',
        'pod/web',
        ':8080',
      ],
      { env: { ...process.env, HOME: home } },
    );
    try {
      let out = '';
      pf.stdout.on('data', (d: Buffer) => (out += d.toString()));
      const port = await until(
        'port-forward listening',
        async () => /127\.0\.0\.1:(\d+) -> 8080/.exec(out)?.[1],
      );
      const local = path.join(home, 'blob');
      await kube.k(['cp', 'web:/www/blob', local, '-c', 'httpd']);
      const want = await fsp.readFile(local);
      assert.equal(want.length, 300_000);
      // Two requests at once over the one forward, the binary body intact.
      const bodies = await Promise.all(
        [1, 2].map(async () =>
          Buffer.from(await (await fetch(`http://127.0.0.1:${port}/blob`)).arrayBuffer()),
        ),
      );
      for (const b of bodies) assert.ok(b.equals(want));
      // And back into the pod.
      await fsp.writeFile(local, 'from the host\n');
      await kube.k(['cp', local, 'web:/tmp/in', '-c', 'httpd']);
      assert.equal(await kube.k(['exec', 'web', '--', 'cat', '/tmp/in']), 'from the host\n');
    } finally {
      pf.kill();
    }
  });

  it('projects a service-account token (TokenRequest bound to the pod) that authenticates while the pod exists', async () => {
    const dir = '/var/run/secrets/kubernetes.io/serviceaccount';
    await apply(JSON.stringify({ apiVersion: 'v1', kind: 'ServiceAccount', metadata: { name: 'robot' } }));
    // The volume the ServiceAccount admission plugin adds (kube-api-access-*), with the CA ConfigMap it names.
    const kc = await fsp.readFile(kube.kubeconfig, 'utf8');
    const ca = Buffer.from(/certificate-authority-data: (\S+)/.exec(kc)![1], 'base64').toString();
    await apply(
      JSON.stringify({
        apiVersion: 'v1',
        kind: 'ConfigMap',
        metadata: { name: 'kube-root-ca.crt' },
        data: { 'ca.crt': ca },
      }),
    );
    await apply(
      podJson('tokened', {
        serviceAccountName: 'robot',
        containers: [
          {
            ...busybox('main', 'exec sleep 3600'),
            volumeMounts: [{ name: 'kube-api-access-x7k2p', mountPath: dir, readOnly: true }],
          },
        ],
        volumes: [
          {
            name: 'kube-api-access-x7k2p',
            projected: {
              defaultMode: 420,
              sources: [
                { serviceAccountToken: { expirationSeconds: 3607, path: 'token' } },
                { configMap: { name: 'kube-root-ca.crt', items: [{ key: 'ca.crt', path: 'ca.crt' }] } },
                {
                  downwardAPI: {
                    items: [{ path: 'namespace', fieldRef: { fieldPath: 'metadata.namespace' } }],
                  },
                },
              ],
            },
          },
        ],
      }),
    );
    const p = await running('tokened');
    const token = await kube.k(['exec', 'tokened', '--', 'cat', `${dir}/token`]);
    assert.equal(await kube.k(['exec', 'tokened', '--', 'cat', `${dir}/namespace`]), 'default');
    assert.equal(await kube.k(['exec', 'tokened', '--', 'cat', `${dir}/ca.crt`]), ca);
    assert.equal(await kube.k(['exec', 'tokened', '--', 'stat', '-L', '-c', '%a', `${dir}/token`]), '644\n');
    const claims = JSON.parse(Buffer.from(token.split('.')[1], 'base64url').toString()) as {
      sub: string;
      'kubernetes.io': { pod: { name: string; uid: string }; serviceaccount: { name: string } };
    };
    assert.equal(claims.sub, 'system:serviceaccount:default:robot');
    assert.deepEqual(claims['kubernetes.io'].pod, { name: 'tokened', uid: p.metadata.uid });
    // A kubeconfig with only that token.
    const cfg = path.join(kube.dataDir, 'robot-kubeconfig');
    await fsp.writeFile(
      cfg,
      JSON.stringify({
        apiVersion: 'v1',
        kind: 'Config',
        clusters: [
          {
            name: 'c',
            cluster: {
              server: /server: (\S+)/.exec(kc)![1],
              'certificate-authority-data': /certificate-authority-data: (\S+)/.exec(kc)![1],
            },
          },
        ],
        users: [{ name: 'robot', user: { token } }],
        contexts: [{ name: 'robot', context: { cluster: 'c', user: 'robot' } }],
        'current-context': 'robot',
      }),
    );
    // Authenticated as the account (which may not list pods), until the pod it is bound to is gone.
    const asRobot = ['--kubeconfig', cfg, 'get', 'pods'];
    assert.match(
      await fails(asRobot),
      /User "system:serviceaccount:default:robot" cannot list resource "pods"/,
    );
    await kube.k(['delete', 'pod', 'tokened', '--grace-period=0', '--force']);
    assert.match(await fails(asRobot), /Unauthorized/);
  });

  it('serves metrics.k8s.io for kubectl top pod and top node', async () => {
    await apply(podJson('busy', { containers: [busybox('spin', 'while true; do :; done')] }));
    await running('busy');
    const pods = await until('top pod', async () => {
      const r = await kube.kubectl(['top', 'pod', 'busy', '--containers']);
      return r.code === 0 ? r.stdout : undefined;
    });
    const row = /busy\s+spin\s+(\d+)m\s+(\d+)Mi/.exec(pods);
    assert.ok(row, pods);
    assert.ok(Number(row[1]) > 100, `a spinning shell uses CPU (${row[1]}m)`);
    const all = await kube.k(['top', 'pod']);
    assert.match(all, /^NAME\s+CPU\(cores\)\s+MEMORY\(bytes\)/);
    assert.match(all, /\ntwo\s+\d+m\s+\d+Mi/);
    const node = await kube.k(['top', 'node']);
    assert.match(node, new RegExp(`${NODE}\\s+\\d+m\\s+\\d+%\\s+\\d+Mi\\s+\\d+%`));
    assert.match(await fails(['top', 'pod', 'nope']), /podmetrics.metrics.k8s.io "default\/nope" not found/);
    const disc = await kube.k(['api-resources', '--api-group=metrics.k8s.io']);
    assert.match(disc, /nodes\s+metrics\.k8s\.io\/v1beta1\s+false\s+NodeMetrics/);
    assert.match(disc, /pods\s+metrics\.k8s\.io\/v1beta1\s+true\s+PodMetrics/);
  });
});
