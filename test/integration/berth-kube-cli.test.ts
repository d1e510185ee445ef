/**
 * `berth kube enable|disable|status|kubeconfig|reset` with the native driver: a real berthd and berth-kube under a
 * private BERTH_HOME, a user kubeconfig that already has another context (it must survive), the real kubectl 1.32
 * through the merged context, and nothing left running after disable. Ports 18500-18599, pods in 10.221.0.0/16.
 */
import assert from 'node:assert/strict';
import { existsSync, promises as fsp, statSync } from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { parse } from 'yaml';
import { busyboxImage } from '../fixtures/images.js';
import { pushImage } from '../fixtures/push.js';
import { startRegistry, type Registry } from '../fixtures/registry.js';
import { alive, berthHome, type BerthHome } from '../helpers/berth-cli.js';
import { run } from '../helpers/exec.js';
import { IS_ROOT, requirement } from '../helpers/env.js';
import { haveKubectl, KUBECTL, until } from '../helpers/kube-cluster.js';

const skip =
  requirement(IS_ROOT, 'berthd and the kubelet need root') ??
  requirement(haveKubectl(), `${KUBECTL} is not installed`);

// Two ports of 18500-18599 (one for the API server, one held by "another program"), a random /24 of 10.221/16.
const base = 18500 + 2 * Math.floor(Math.random() * 50);
const PORT = base;
const TAKEN = base + 1;
const POD_CIDR = `10.221.${Math.floor(Math.random() * 256)}.0/24`;

const OTHER = `apiVersion: v1
kind: Config
clusters:
- cluster:
    server: https://other.example:6443
    insecure-skip-tls-verify: true
  name: other
contexts:
- context:
    cluster: other
    user: other-user
    namespace: team
  name: other
current-context: other
users:
- name: other-user
  user:
    token: other-token
`;

interface KubeStatus {
  state: string;
  enabled: boolean;
  pid?: number;
  apiServer?: string;
  nodes: { name: string; ready: boolean }[];
  kubeconfig: string;
  context: boolean;
}

describe('berth kube, native driver', { skip }, () => {
  let h: BerthHome;
  let kubeconfig: string;
  let reg: Registry;
  const kubectl = (args: string[]) =>
    run(KUBECTL, args, { env: { ...h.env, KUBECONFIG: kubeconfig }, timeoutMs: 60_000 });
  const status = async () => JSON.parse((await h.berth(['kube', 'status', '--json'])).stdout) as KubeStatus;

  before(async () => {
    h = berthHome('berth-kube-cli-');
    kubeconfig = path.join(h.home, 'user-kube', 'config');
    h.env.KUBECONFIG = kubeconfig;
    await fsp.mkdir(path.dirname(kubeconfig));
    await fsp.writeFile(kubeconfig, OTHER, { mode: 0o644 });
    reg = await startRegistry();
    await pushImage(reg.host, 'kcli/busybox', '1', busyboxImage('docker'));
    const r = await h.berth(['start', '--driver', 'native']);
    assert.equal(r.code, 0, r.stderr);
  });
  after(async () => {
    await h?.berth(['kube', 'disable']);
    await h?.berth(['stop', '-t', '5']);
    await reg?.stop();
    await h?.remove();
  });

  it('refuses bad flags and a taken port in words a user can act on, starting nothing', async () => {
    const badPort = await h.berth(['kube', 'enable', '--port', '70000']);
    assert.equal(badPort.code, 2);
    assert.match(badPort.stderr, /--port must be 1-65535/);
    const badCidr = await h.berth(['kube', 'enable', '--pod-cidr', '10.221.0.0']);
    assert.equal(badCidr.code, 2);
    assert.match(badCidr.stderr, /--pod-cidr wants an IPv4 CIDR/);
    assert.equal((await h.berth(['kube', 'frobnicate'])).code, 2);
    const holder = net.createServer();
    await new Promise<void>((r) => holder.listen(TAKEN, '127.0.0.1', r));
    try {
      const taken = await h.berth(['kube', 'enable', '--port', String(TAKEN)]);
      assert.equal(taken.code, 1);
      assert.match(taken.stderr, new RegExp(`port ${TAKEN} on 127.0.0.1 is taken.*--port N`));
    } finally {
      holder.close();
    }
    const st = await h.berth(['kube', 'status']);
    assert.equal(st.code, 3);
    assert.match(st.stdout, /Cluster: {4}stopped/);
    assert.equal(await fsp.readFile(kubeconfig, 'utf8'), OTHER, 'the kubeconfig is untouched');
    const reset = await h.berth(['kube', 'reset']);
    assert.equal(reset.code, 2);
    assert.match(reset.stderr, /confirm with --force/);
  });

  it('enable: node Ready, context "berth" merged beside the other one, which stays current', async () => {
    const r = await h.berth(['kube', 'enable', '--port', String(PORT), '--pod-cidr', POD_CIDR]);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stderr, /Node \S+ is Ready/);
    assert.match(r.stderr, /current stays "other"/);
    const doc = parse(await fsp.readFile(kubeconfig, 'utf8')) as {
      'current-context': string;
      contexts: { name: string; context: { cluster: string; user: string; namespace?: string } }[];
      users: { name: string; user: Record<string, string> }[];
    };
    assert.equal(doc['current-context'], 'other');
    assert.deepEqual(doc.contexts.map((c) => c.name).sort(), ['berth', 'other']);
    assert.deepEqual(doc.contexts.find((c) => c.name === 'other')?.context, {
      cluster: 'other',
      user: 'other-user',
      namespace: 'team',
    });
    assert.equal(doc.users.find((u) => u.name === 'other-user')?.user.token, 'other-token');
    assert.equal(statSync(kubeconfig).mode & 0o777, 0o600);
    assert.equal(await fsp.readFile(`${kubeconfig}.berth-backup`, 'utf8'), OTHER);

    const nodes = await kubectl(['--context', 'berth', 'get', 'nodes', '-o', 'json']);
    assert.equal(nodes.code, 0, nodes.stderr);
    const items = (
      JSON.parse(nodes.stdout) as {
        items: { status: { conditions: { type: string; status: string }[] } }[];
      }
    ).items;
    assert.equal(items.length, 1);
    assert.ok(items[0].status.conditions.some((c) => c.type === 'Ready' && c.status === 'True'));
    const ctxs = await kubectl(['config', 'get-contexts', '-o', 'name']);
    assert.deepEqual(ctxs.stdout.trim().split('\n').sort(), ['berth', 'other']);
    assert.equal((await kubectl(['config', 'current-context'])).stdout.trim(), 'other');

    const s = await status();
    assert.equal(s.state, 'running');
    assert.equal(s.enabled, true);
    assert.equal(s.apiServer, `https://127.0.0.1:${PORT}`);
    assert.equal(s.kubeconfig, kubeconfig);
    assert.equal(s.context, true);
    assert.deepEqual(
      s.nodes.map((n) => n.ready),
      [true],
    );
    const text = await h.berth(['kube', 'status']);
    assert.equal(text.code, 0);
    assert.match(text.stdout, /Node: {7}\S+ Ready/);
    const own = await h.berth(['kube', 'kubeconfig']);
    assert.match(own.stdout, new RegExp(`server: https://127.0.0.1:${PORT}`));
    // A second enable keeps the running cluster and, with --use, switches the current context.
    const again = await h.berth(['kube', 'enable', '--use']);
    assert.equal(again.code, 0, again.stderr);
    assert.equal((await status()).pid, s.pid);
    assert.equal((await kubectl(['config', 'current-context'])).stdout.trim(), 'berth');
  });

  it('disable: no berth-kube process, no pod container; the context stays', async () => {
    const image = `${reg.host}/kcli/busybox:1`;
    const run1 = await kubectl([
      'run',
      'sleeper',
      `--image=${image}`,
      '--restart=Never',
      '--',
      'sleep',
      '3600',
    ]);
    assert.equal(run1.code, 0, run1.stderr);
    await until(
      'the pod to run',
      async () =>
        (await kubectl(['get', 'pod', 'sleeper', '-o', 'jsonpath={.status.phase}'])).stdout.trim() ===
        'Running',
      60_000,
    );
    const podContainers = async () =>
      (
        await h.docker(['--context', 'berth', 'ps', '-aq', '--filter', 'label=io.kubernetes.pod.uid'])
      ).stdout.trim();
    assert.notEqual(await podContainers(), '');
    const networks = async () =>
      (await h.docker(['--context', 'berth', 'network', 'ls', '--format', '{{.Name}}'])).stdout;
    assert.match(await networks(), /berth-pods/);
    const pid = (await status()).pid!;
    const r = await h.berth(['kube', 'disable']);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(alive(pid), false);
    assert.equal(await podContainers(), '');
    assert.doesNotMatch(await networks(), /berth-pods/);
    const s = await status();
    assert.equal(s.state, 'stopped');
    assert.equal(s.enabled, false);
    assert.equal(s.context, true);
    const ctxs = await kubectl(['config', 'get-contexts', '-o', 'name']);
    assert.deepEqual(ctxs.stdout.trim().split('\n').sort(), ['berth', 'other']);
  });

  it('remembered: `berth start` brings an enabled cluster back; reset --force wipes its state', async () => {
    assert.equal((await h.berth(['kube', 'enable'])).code, 0);
    const stop = await h.berth(['stop', '-t', '10']);
    assert.equal(stop.code, 0, stop.stderr);
    const off = await h.berth(['kube', 'enable']);
    assert.equal(off.code, 1);
    assert.match(off.stderr, /the engine is not running: start it with `berth start`/);
    const start = await h.berth(['start']);
    assert.equal(start.code, 0, start.stderr);
    assert.match(start.stderr, /Node \S+ is Ready/);
    const s = await status();
    assert.equal(s.state, 'running');
    assert.equal(s.apiServer, `https://127.0.0.1:${PORT}`, 'the chosen port is remembered');
    // The pod object survived the restart on the same data dir.
    assert.equal((await kubectl(['--context', 'berth', 'get', 'pod', 'sleeper', '-o', 'name'])).code, 0);
    const reset = await h.berth(['kube', 'reset', '--force']);
    assert.equal(reset.code, 0, reset.stderr);
    assert.equal(alive(s.pid!), false);
    assert.equal(existsSync(path.join(h.home, 'kube')), false);
    assert.equal((await status()).state, 'stopped');
  });
});
