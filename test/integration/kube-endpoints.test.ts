/**
 * The EndpointSlice and Endpoints controllers in a real berth-kube, driven and read with the real kubectl 1.32:
 * pods (their status written as a kubelet would, through pods/status) behind a Service with a named target port;
 * ready and not-ready addresses, a pod turning ready, a pod deleted, publishNotReadyAddresses, the labels,
 * owner and managed-by kube-controller-manager writes, and everything gone with the Service. Also the
 * Service allocations: cluster IPs and node ports, with kube-apiserver's errors for taken and out-of-range ones.
 */
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { after, before, describe, it } from 'node:test';
import { requirement } from '../helpers/env.js';
import { KUBECTL_132, startKube, type TestKube } from '../helpers/kube.js';

const skip = requirement(existsSync(KUBECTL_132), 'kubectl 1.32 is not installed');
const NS = 'knet-endpoints';
let k: TestKube;

const ok = async (args: string[], input?: string) => {
  const r = await k.kubectl(['-n', NS, ...args], input !== undefined ? { input } : {});
  assert.equal(r.code, 0, `kubectl ${args.join(' ')}: ${r.stderr}`);
  return r.stdout;
};

interface Slice {
  metadata: {
    name: string;
    labels: Record<string, string>;
    ownerReferences?: Array<{ kind: string; name: string; controller?: boolean }>;
  };
  addressType: string;
  endpoints: Array<{
    addresses: string[];
    conditions: { ready: boolean; serving: boolean; terminating: boolean };
    targetRef: { name: string };
  }> | null;
  ports: Array<{ name: string; port: number; protocol: string }> | null;
}

/** Polls `read` until `check` passes (its last failure is thrown after 10 s). */
async function eventually<T>(read: () => Promise<T>, check: (v: T) => void): Promise<T> {
  const deadline = performance.now() + 10_000;
  for (;;) {
    const v = await read();
    try {
      check(v);
      return v;
    } catch (e) {
      if (performance.now() > deadline) throw e;
      await new Promise((r) => setTimeout(r, 100));
    }
  }
}

const slices = async (svc: string) =>
  (
    JSON.parse(
      await ok(['get', 'endpointslices', '-l', `kubernetes.io/service-name=${svc}`, '-o', 'json']),
    ) as { items: Slice[] }
  ).items;
const ready = (s: Slice[]) =>
  s
    .flatMap((x) => x.endpoints ?? [])
    .filter((e) => e.conditions.ready)
    .map((e) => e.addresses[0])
    .sort();
const notReady = (s: Slice[]) =>
  s
    .flatMap((x) => x.endpoints ?? [])
    .filter((e) => !e.conditions.ready)
    .map((e) => e.addresses[0])
    .sort();

const pod = (name: string, port: number) => `apiVersion: v1
kind: Pod
metadata: {name: ${name}, labels: {app: web}}
spec:
  containers:
  - name: c
    image: busybox
    ports: [{name: web, containerPort: ${port}}]
`;
const setStatus = (name: string, ip: string, isReady: boolean) =>
  ok([
    'patch',
    'pod',
    name,
    '--subresource=status',
    '--type=merge',
    '-p',
    JSON.stringify({
      status: {
        phase: 'Running',
        podIP: ip,
        podIPs: [{ ip }],
        conditions: [{ type: 'Ready', status: isReady ? 'True' : 'False' }],
      },
    }),
  ]);

before(async () => {
  if (skip) return;
  k = await startKube();
  await k.kubectl(['create', 'namespace', NS]);
});
after(async () => {
  if (k) await k.destroy();
});

describe('EndpointSlice and Endpoints controllers', { skip }, () => {
  it('publishes ready and not-ready pods with the named port resolved per pod', async () => {
    await ok(
      ['apply', '-f', '-'],
      `apiVersion: v1
kind: Service
metadata: {name: web, labels: {team: knet}}
spec:
  selector: {app: web}
  ports: [{name: http, port: 80, targetPort: web}]
`,
    );
    // The placeholder: a Service whose selector matches nothing has one empty slice.
    const empty = await eventually(
      () => slices('web'),
      (s) => assert.equal(s.length, 1),
    );
    assert.equal(empty[0].endpoints, null);
    for (const [name, port] of [
      ['a', 8080],
      ['b', 8080],
      ['c', 9090],
    ] as const)
      await ok(['apply', '-f', '-'], pod(name, port));
    await setStatus('a', '10.218.5.1', true);
    await setStatus('b', '10.218.5.2', false);
    await setStatus('c', '10.218.5.3', true);
    const s = await eventually(
      () => slices('web'),
      (v) => {
        assert.deepEqual(ready(v), ['10.218.5.1', '10.218.5.3']);
        assert.deepEqual(notReady(v), ['10.218.5.2']);
      },
    );
    // Two port sets (8080 for a and b, 9090 for c): two slices, each owned by the Service.
    assert.deepEqual(s.map((x) => x.ports?.[0].port).sort(), [8080, 9090]);
    for (const x of s) {
      assert.equal(x.addressType, 'IPv4');
      assert.equal(
        x.metadata.labels['endpointslice.kubernetes.io/managed-by'],
        'endpointslice-controller.k8s.io',
      );
      assert.equal(x.metadata.labels.team, 'knet');
      assert.deepEqual(
        x.metadata.ownerReferences?.map((o) => [o.kind, o.name, o.controller]),
        [['Service', 'web', true]],
      );
      assert.equal(x.ports?.[0].name, 'http');
    }
    const ep = JSON.parse(await ok(['get', 'endpoints', 'web', '-o', 'json'])) as {
      subsets: Array<{
        addresses?: Array<{ ip: string }>;
        notReadyAddresses?: Array<{ ip: string }>;
        ports: Array<{ port: number }>;
      }>;
    };
    const flat = ep.subsets.map((x) => [
      x.ports[0].port,
      (x.addresses ?? []).map((a) => a.ip),
      (x.notReadyAddresses ?? []).map((a) => a.ip),
    ]);
    assert.deepEqual(flat.sort(), [
      [8080, ['10.218.5.1'], ['10.218.5.2']],
      [9090, ['10.218.5.3'], []],
    ]);
    const wide = await ok(['get', 'endpoints', 'web']);
    assert.match(wide, /10\.218\.5\.1:8080/);
  });

  it('follows readiness and deletion', async () => {
    await setStatus('b', '10.218.5.2', true);
    await eventually(
      () => slices('web'),
      (v) => assert.deepEqual(ready(v), ['10.218.5.1', '10.218.5.2', '10.218.5.3']),
    );
    await ok(['delete', 'pod', 'a', '--grace-period=0', '--force']);
    await eventually(
      () => slices('web'),
      (v) => assert.deepEqual(ready(v), ['10.218.5.2', '10.218.5.3']),
    );
  });

  it('publishes not-ready pods as ready with publishNotReadyAddresses', async () => {
    await setStatus('b', '10.218.5.2', false);
    await ok(['patch', 'service', 'web', '--type=merge', '-p', '{"spec":{"publishNotReadyAddresses":true}}']);
    await eventually(
      () => slices('web'),
      (v) => assert.deepEqual(ready(v), ['10.218.5.2', '10.218.5.3']),
    );
  });

  it('removes the slices and the Endpoints with the Service', async () => {
    await ok(['delete', 'service', 'web']);
    await eventually(
      () => slices('web'),
      (v) => assert.equal(v.length, 0),
    );
    const r = await k.kubectl(['-n', NS, 'get', 'endpoints', 'web']);
    assert.match(r.stderr, /NotFound|not found/);
  });
});

const svcYaml = (name: string, spec: string) =>
  `apiVersion: v1\nkind: Service\nmetadata: {name: ${name}}\nspec:\n  selector: {app: x}\n${spec}`;
const fails = async (args: string[], input: string) => {
  const r = await k.kubectl(['-n', NS, ...args], { input });
  assert.notEqual(r.code, 0, `kubectl ${args.join(' ')} should fail: ${r.stdout}`);
  return r.stderr.trim();
};

describe('Service allocations', { skip }, () => {
  it('gives NodePort Services node ports in 30000-32767, and keeps them across a replace', async () => {
    await ok(
      ['apply', '-f', '-'],
      svcYaml(
        'np',
        '  type: NodePort\n  ports: [{name: a, port: 80}, {name: b, port: 81, nodePort: 30555}]\n',
      ),
    );
    const s = JSON.parse(await ok(['get', 'service', 'np', '-o', 'json'])) as {
      spec: { ports: Array<{ nodePort: number }> };
    };
    const [a, b] = s.spec.ports.map((p) => p.nodePort);
    assert.ok(a >= 30000 && a <= 32767, String(a));
    assert.equal(b, 30555);
    await ok(
      ['replace', '-f', '-'],
      svcYaml('np', '  type: NodePort\n  ports: [{name: a, port: 80}, {name: b, port: 81}]\n'),
    );
    const again = JSON.parse(await ok(['get', 'service', 'np', '-o', 'json'])) as typeof s;
    assert.deepEqual(
      again.spec.ports.map((p) => p.nodePort),
      [a, b],
    );
    assert.match(await ok(['get', 'service', 'np']), new RegExp(`80:${a}/TCP,81:30555/TCP`));
  });

  it("refuses a taken or out-of-range node port with kube-apiserver's words", async () => {
    assert.equal(
      await fails(
        ['create', '-f', '-'],
        svcYaml('np2', '  type: NodePort\n  ports: [{port: 80, nodePort: 30555}]\n'),
      ),
      'The Service "np2" is invalid: spec.ports[0].nodePort: Invalid value: 30555: provided port is already allocated',
    );
    assert.equal(
      await fails(
        ['create', '-f', '-'],
        svcYaml('np3', '  type: NodePort\n  ports: [{port: 80, nodePort: 8080}]\n'),
      ),
      'The Service "np3" is invalid: spec.ports[0].nodePort: Invalid value: 8080: provided port is not in the valid range. The range of valid ports is 30000-32767',
    );
  });

  it('gives a type change to NodePort its node ports, and takes them back on the way to ClusterIP', async () => {
    await ok(['apply', '-f', '-'], svcYaml('tc', '  ports: [{port: 80}]\n'));
    await ok(['patch', 'service', 'tc', '--type=merge', '-p', '{"spec":{"type":"NodePort"}}']);
    const np = JSON.parse(await ok(['get', 'service', 'tc', '-o', 'json'])) as {
      spec: { ports: Array<{ nodePort?: number }> };
    };
    assert.ok((np.spec.ports[0].nodePort ?? 0) >= 30000);
    await ok(['patch', 'service', 'tc', '--type=merge', '-p', '{"spec":{"type":"ClusterIP"}}']);
    const cip = JSON.parse(await ok(['get', 'service', 'tc', '-o', 'json'])) as typeof np;
    assert.equal(cip.spec.ports[0].nodePort, undefined);
  });

  it("refuses a cluster IP that is taken or outside the service range with kube-apiserver's words", async () => {
    await ok(['apply', '-f', '-'], svcYaml('ip1', '  clusterIP: 10.43.200.7\n  ports: [{port: 80}]\n'));
    assert.equal(
      await fails(['create', '-f', '-'], svcYaml('ip2', '  clusterIP: 10.43.200.7\n  ports: [{port: 80}]\n')),
      'The Service "ip2" is invalid: spec.clusterIPs: Invalid value: []string{"10.43.200.7"}: failed to allocate IP 10.43.200.7: provided IP is already allocated',
    );
    assert.equal(
      await fails(['create', '-f', '-'], svcYaml('ip3', '  clusterIP: 10.0.0.7\n  ports: [{port: 80}]\n')),
      'The Service "ip3" is invalid: spec.clusterIPs: Invalid value: []string{"10.0.0.7"}: failed to allocate IP 10.0.0.7: the provided IP (10.0.0.7) is not in the valid range. The range of valid IPs is 10.43.0.0/16',
    );
  });

  it('hands out distinct cluster IPs and node ports to concurrent creates', async () => {
    const names = Array.from({ length: 8 }, (_, i) => `c${i}`);
    await Promise.all(
      names.map((n) => ok(['create', '-f', '-'], svcYaml(n, '  type: NodePort\n  ports: [{port: 80}]\n'))),
    );
    const list = JSON.parse(await ok(['get', 'services', '-o', 'json'])) as {
      items: Array<{
        metadata: { name: string };
        spec: { clusterIP: string; ports: Array<{ nodePort?: number }> };
      }>;
    };
    const mine = list.items.filter((s) => names.includes(s.metadata.name));
    assert.equal(new Set(mine.map((s) => s.spec.clusterIP)).size, 8);
    assert.equal(new Set(mine.map((s) => s.spec.ports[0].nodePort)).size, 8);
  });
});
