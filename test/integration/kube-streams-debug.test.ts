/**
 * `kubectl debug` (pods/ephemeralcontainers) against a real berth-kube with its kubelet over a test berthd: the
 * ephemeral container is added through the subresource, started by the kubelet, reported in
 * status.ephemeralContainerStatuses, attached to with stdin, and never restarted; the subresource refuses what
 * kube-apiserver refuses. Pod network: a random /24 of 10.217.0.0/16.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { IS_ROOT, requirement } from '../helpers/env.js';
import { haveKubectl, KUBECTL, until, type KubeCluster } from '../helpers/kube-cluster.js';
import { startPodCluster, type PodCluster } from '../helpers/kube-pods.js';

const skip =
  requirement(IS_ROOT, 'running pods needs root (berthd)') ??
  requirement(haveKubectl(), `${KUBECTL} is not installed`);
const NODE = 'kstreams-debug';

interface EphemeralStatus {
  name: string;
  state: { running?: unknown; terminated?: { exitCode: number; reason: string } };
  restartCount: number;
}
interface Pod {
  spec: { ephemeralContainers?: Array<{ name: string; image: string; stdin?: boolean }> };
  status: { phase: string; ephemeralContainerStatuses?: EphemeralStatus[] };
}

describe('kubectl debug', { skip }, () => {
  let c: PodCluster | undefined;
  let kube: KubeCluster | undefined;
  before(async () => {
    c = await startPodCluster({
      port: 18150 + (process.pid % 40),
      nodeName: NODE,
      podCIDR: `10.217.${200 + (process.pid % 50)}.0/24`,
      podNetwork: `kstreams-dbg-${process.pid}`,
    });
    kube = c.kube;
    await c.apply(
      c.podJson('app', {
        terminationGracePeriodSeconds: 1,
        containers: [
          { name: 'main', image: 'busybox', imagePullPolicy: 'IfNotPresent', command: ['sleep', '3600'] },
        ],
      }),
    );
    await kube.k(['wait', '--for=condition=Ready', 'pod/app', '--timeout=60s'], { timeoutMs: 70_000 });
  });
  after(() => c?.destroy());

  it('debug -i: an ephemeral container is added, started, attached to with stdin, and reported', async () => {
    const r = await kube!.kubectl(
      [
        'debug',
        '-i',
        'app',
        '--image=busybox',
        '--image-pull-policy=IfNotPresent',
        '-c',
        'dbg',
        '--',
        'sh',
        '-c',
        'read x; echo "got-$x"; hostname',
      ],
      { input: 'hello\n', timeoutMs: 90_000 },
    );
    assert.equal(r.code, 0, r.stderr);
    // It shares the pod's network namespace (and so its hostname).
    assert.match(r.stdout, /got-hello\napp\n/);
    const pod = await until(
      'the ephemeral container terminated',
      async () => {
        const p = await kube!.json<Pod>(['get', 'pod', 'app']);
        return p.status.ephemeralContainerStatuses?.[0]?.state.terminated ? p : undefined;
      },
      30_000,
    );
    assert.equal(pod.spec.ephemeralContainers?.[0]?.name, 'dbg');
    assert.equal(pod.spec.ephemeralContainers?.[0]?.stdin, true);
    const st = pod.status.ephemeralContainerStatuses![0];
    assert.equal(st.name, 'dbg');
    assert.equal(st.state.terminated!.exitCode, 0);
    assert.equal(st.restartCount, 0, 'ephemeral containers are not restarted');
    assert.equal(pod.status.phase, 'Running');
  });

  it("the subresource refuses in kube-apiserver's words; the pod itself cannot take ephemeral containers", async () => {
    const patch = (body: unknown) =>
      kube!.kubectl(['patch', 'pod', 'app', '--subresource=ephemeralcontainers', '-p', JSON.stringify(body)]);
    const dup = await patch({ spec: { ephemeralContainers: [{ name: 'main', image: 'busybox' }] } });
    assert.equal(dup.code, 1);
    assert.match(dup.stderr, /spec\.ephemeralContainers\[\d\]\.name: Duplicate value: "main"/);
    const ports = await patch({
      spec: { ephemeralContainers: [{ name: 'p', image: 'busybox', ports: [{ containerPort: 80 }] }] },
    });
    assert.match(
      ports.stderr,
      /spec\.ephemeralContainers\[\d\]\.ports: Forbidden: cannot be set for an Ephemeral Container/,
    );
    const changed = await patch({ spec: { ephemeralContainers: [{ name: 'dbg', image: 'busybox:1' }] } });
    assert.match(changed.stderr, /existing ephemeral containers "dbg" may not be changed/);
    // Through the pod itself, spec.ephemeralContainers is one more field an update may not change.
    const direct = await kube!.kubectl([
      'patch',
      'pod',
      'app',
      '-p',
      JSON.stringify({ spec: { ephemeralContainers: [{ name: 'x', image: 'busybox' }] } }),
    ]);
    assert.equal(direct.code, 1);
    assert.match(direct.stderr, /pod updates may not change fields other than/);
  });
});
