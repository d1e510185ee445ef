/**
 * The kubelet proper (issue 12), held to the real kubectl 1.32 against a real berth-kube over a real berthd: the
 * Node (labels, capacity, nodeInfo, conditions, its Lease), a pod reaching Running with the status and events a
 * kubelet writes (`kubectl describe`), CrashLoopBackOff, a pod waiting on a missing ConfigMap, a ConfigMap volume
 * following an update, image pulls (ErrImagePull, the local-image fallback, imagePullSecrets), restartPolicy Never
 * pods finishing Succeeded/Failed, activeDeadlineSeconds, and deletion within a grace period. Pod network: a random
 * /24 of 10.215.0.0/16.
 */
import assert from 'node:assert/strict';
import { promises as fsp } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { busyboxImage } from '../fixtures/images.js';
import { pushImage } from '../fixtures/push.js';
import { startRegistry } from '../fixtures/registry.js';
import { TEST_AUTH } from '../fixtures/seed.js';
import type { ContainerTestEnv } from '../helpers/container-daemon.js';
import { IS_ROOT, requirement } from '../helpers/env.js';
import { haveKubectl, KUBECTL, until, type KubeCluster } from '../helpers/kube-cluster.js';
import { startPodCluster, type PodCluster } from '../helpers/kube-pods.js';

const skip =
  requirement(IS_ROOT, 'running pods needs root (berthd)') ??
  requirement(haveKubectl(), `${KUBECTL} is not installed`);
const NODE = 'kubelet-node';

interface Condition {
  type: string;
  status: string;
  reason?: string;
  message?: string;
  lastTransitionTime?: string;
}
interface ContainerStatus {
  name: string;
  ready: boolean;
  started?: boolean;
  restartCount: number;
  image: string;
  imageID: string;
  containerID?: string;
  state: {
    running?: { startedAt: string };
    waiting?: { reason: string; message?: string };
    terminated?: { exitCode: number; reason: string; containerID?: string };
  };
  lastState: { terminated?: { exitCode: number; reason: string } };
}
interface Pod {
  metadata: { name: string; uid: string; deletionTimestamp?: string };
  status: {
    phase: string;
    reason?: string;
    message?: string;
    conditions?: Condition[];
    podIP?: string;
    podIPs?: { ip: string }[];
    hostIP?: string;
    hostIPs?: { ip: string }[];
    startTime?: string;
    qosClass?: string;
    containerStatuses?: ContainerStatus[];
  };
}
interface Event {
  reason: string;
  message: string;
  type: string;
  count: number;
  source: { component: string; host: string };
  reportingComponent: string;
  involvedObject: { name: string; fieldPath?: string; uid: string };
}

describe('kubelet: pods on berthd through kubectl', { skip }, () => {
  let c: PodCluster;
  let env: ContainerTestEnv;
  let kube: KubeCluster;
  const net = `kubelet-${process.pid}`;
  const subnet = `10.215.${Math.floor(Math.random() * 250) + 1}.0/24`;

  const podYaml = (name: string, spec: object, meta: object = {}) => c.podJson(name, spec, meta);
  const pod = (name: string) => kube.json<Pod>(['get', 'pod', name]);
  const events = (name: string) => c.events<Event>(name);
  const apply = (yaml: string) => c.apply(yaml);
  const phaseOf = (name: string, phase: string, ms = 30_000) =>
    until(
      `${name} ${phase}`,
      async () => ((await pod(name)).status.phase === phase ? pod(name) : undefined),
      ms,
    );

  before(async () => {
    c = await startPodCluster({
      port: 17900 + (process.pid % 50),
      nodeName: NODE,
      podCIDR: subnet,
      podNetwork: net,
    });
    ({ env, kube } = c);
  });
  after(() => c?.destroy());

  it('registers a Ready node with its labels, capacity, nodeInfo and Lease', async () => {
    const node = await until('node Ready', async () => {
      const n = await kube.json<{
        metadata: { labels: Record<string, string> };
        spec: { podCIDR?: string };
        status: {
          conditions: Condition[];
          capacity: Record<string, string>;
          allocatable: Record<string, string>;
          nodeInfo: Record<string, string>;
          addresses: { type: string; address: string }[];
        };
      }>(['get', 'node', NODE]);
      return n.status.conditions?.find((c) => c.type === 'Ready')?.status === 'True' ? n : undefined;
    });
    assert.equal(node.metadata.labels['kubernetes.io/hostname'], NODE);
    assert.equal(node.metadata.labels['kubernetes.io/os'], 'linux');
    assert.ok('node-role.kubernetes.io/control-plane' in node.metadata.labels);
    assert.equal(node.spec.podCIDR, subnet);
    assert.deepEqual(
      node.status.conditions.map((c) => [c.type, c.status, c.reason]),
      [
        ['MemoryPressure', 'False', 'KubeletHasSufficientMemory'],
        ['DiskPressure', 'False', 'KubeletHasNoDiskPressure'],
        ['PIDPressure', 'False', 'KubeletHasSufficientPID'],
        ['Ready', 'True', 'KubeletReady'],
      ],
    );
    assert.equal(node.status.capacity.pods, '110');
    assert.ok(Number(node.status.capacity.cpu) >= 1);
    assert.match(node.status.capacity.memory, /^\d+Ki$/);
    assert.match(node.status.nodeInfo.kubeletVersion, /^v1\.32\./);
    assert.match(node.status.nodeInfo.containerRuntimeVersion, /^docker:\/\/\S+/);
    assert.equal(node.status.nodeInfo.operatingSystem, 'linux');
    assert.deepEqual(node.status.addresses, [
      { type: 'InternalIP', address: '127.0.0.1' },
      { type: 'Hostname', address: NODE },
    ]);
    const wide = await kube.k(['get', 'nodes', '-o', 'wide']);
    assert.match(wide, new RegExp(`${NODE}\\s+Ready\\s+control-plane\\s+\\S+\\s+v1\\.32`));
    const lease = await kube.json<{
      spec: { holderIdentity: string; leaseDurationSeconds: number; renewTime: string };
    }>(['get', 'lease', '-n', 'kube-node-lease', NODE]);
    assert.equal(lease.spec.holderIdentity, NODE);
    assert.equal(lease.spec.leaseDurationSeconds, 40);
    assert.match(lease.spec.renewTime, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z$/);
  });

  it('runs a pod to Running with the status and events a kubelet writes', async () => {
    await apply(
      podYaml('web', {
        containers: [
          {
            name: 'web',
            image: 'busybox',
            imagePullPolicy: 'IfNotPresent',
            command: ['sh', '-c', 'echo started; exec sleep 3600'],
          },
        ],
      }),
    );
    const p = await phaseOf('web', 'Running');
    const st = p.status;
    assert.equal(st.hostIP, '127.0.0.1');
    assert.deepEqual(st.hostIPs, [{ ip: '127.0.0.1' }]);
    assert.ok(st.podIP && st.podIP.startsWith(subnet.split('.').slice(0, 3).join('.')));
    assert.deepEqual(st.podIPs, [{ ip: st.podIP }]);
    assert.equal(st.qosClass, 'BestEffort');
    assert.ok(st.startTime);
    const ready = await until('web Ready', async () => {
      const x = await pod('web');
      return x.status.conditions?.find((c) => c.type === 'Ready')?.status === 'True' ? x : undefined;
    });
    assert.deepEqual(
      ready.status.conditions!.map((c) => [c.type, c.status]),
      [
        ['PodReadyToStartContainers', 'True'],
        ['Initialized', 'True'],
        ['Ready', 'True'],
        ['ContainersReady', 'True'],
        ['PodScheduled', 'True'],
      ],
    );
    const cs = ready.status.containerStatuses![0];
    assert.equal(cs.name, 'web');
    assert.equal(cs.ready, true);
    assert.equal(cs.started, true);
    assert.equal(cs.restartCount, 0);
    assert.equal(cs.image, 'busybox');
    assert.match(cs.imageID, /sha256:[0-9a-f]{64}/);
    assert.match(cs.containerID ?? '', /^docker:\/\/[0-9a-f]{64}$/);
    assert.ok(cs.state.running?.startedAt);
    // docker ps shows what the cluster runs, with cri-dockerd's names.
    const names = (await env.d.docker(['ps', '--format', '{{.Names}}'])).stdout;
    assert.match(names, new RegExp(`k8s_web_web_default_${ready.metadata.uid}_0`));
    assert.match(names, new RegExp(`k8s_POD_web_default_${ready.metadata.uid}_0`));
    const ev = await until('Started event', async () => {
      const list = await events('web');
      return list.some((e) => e.reason === 'Started') ? list : undefined;
    });
    const byReason = (r: string) => ev.find((e) => e.reason === r);
    assert.equal(byReason('Pulled')?.message, 'Container image "busybox" already present on machine');
    assert.equal(byReason('Created')?.message, 'Created container web');
    assert.equal(byReason('Started')?.message, 'Started container web');
    for (const e of ev) {
      assert.deepEqual(e.source, { component: 'kubelet', host: NODE });
      assert.equal(e.reportingComponent, 'kubelet');
      assert.equal(e.involvedObject.fieldPath, 'spec.containers{web}');
      assert.equal(e.involvedObject.uid, ready.metadata.uid);
    }
    const describeOut = await kube.k(['describe', 'pod', 'web']);
    assert.match(describeOut, /Status:\s+Running/);
    assert.match(describeOut, new RegExp(`Node:\\s+${NODE}/127\\.0\\.0\\.1`));
    assert.match(describeOut, /Normal\s+Started\s+\S+\s+kubelet\s+Started container web/);
    const get = await kube.k(['get', 'pod', 'web']);
    assert.match(get, /web\s+1\/1\s+Running\s+0\s+/);
  });

  it('backs off a failing container: CrashLoopBackOff, lastState, the BackOff event, its logs', async () => {
    await apply(
      podYaml('crash', {
        containers: [
          {
            name: 'crash',
            image: 'busybox',
            imagePullPolicy: 'IfNotPresent',
            command: ['sh', '-c', 'echo oops; exit 3'],
          },
        ],
      }),
    );
    const p = await until('CrashLoopBackOff', async () => {
      const x = await pod('crash');
      return x.status.containerStatuses?.[0]?.state.waiting?.reason === 'CrashLoopBackOff' ? x : undefined;
    });
    const cs = p.status.containerStatuses![0];
    assert.equal(
      cs.state.waiting!.message,
      `back-off 10s restarting failed container=crash pod=crash_default(${p.metadata.uid})`,
    );
    assert.equal(cs.lastState.terminated?.exitCode, 3);
    assert.equal(cs.lastState.terminated?.reason, 'Error');
    assert.ok(cs.restartCount >= 1);
    assert.equal(cs.ready, false);
    assert.equal(p.status.phase, 'Running');
    assert.match(await kube.k(['get', 'pod', 'crash']), /crash\s+0\/1\s+CrashLoopBackOff\s+\d+ \(\S+ ago\)/);
    const backoff = (await events('crash')).find((e) => e.reason === 'BackOff');
    assert.equal(backoff?.type, 'Warning');
    assert.equal(
      backoff?.message,
      `Back-off restarting failed container crash in pod crash_default(${p.metadata.uid})`,
    );
    assert.equal((await kube.k(['logs', 'crash'])).trim(), 'oops');
    // The back-off expires and the kubelet tries again by itself (10 s after the first restart's exit).
    await until(
      'a restart after the back-off',
      async () => ((await pod('crash')).status.containerStatuses![0].restartCount >= 2 ? true : undefined),
      25_000,
    );
  });

  it("holds a pod whose ConfigMap is missing, with the kubelet's event, and starts it when it appears", async () => {
    await kube.kubectl(['delete', 'configmap', 'settings']);
    await apply(
      podYaml('needs-cm', {
        containers: [
          {
            name: 'app',
            image: 'busybox',
            imagePullPolicy: 'IfNotPresent',
            command: ['sh', '-c', 'echo "greeting=$GREETING"; exec sleep 3600'],
            envFrom: [{ configMapRef: { name: 'settings' } }],
          },
        ],
      }),
    );
    const waiting = await until('CreateContainerConfigError', async () => {
      const x = await pod('needs-cm');
      const w = x.status.containerStatuses?.[0]?.state.waiting;
      return w?.reason === 'CreateContainerConfigError' ? w : undefined;
    });
    assert.equal(waiting.message, 'configmap "settings" not found');
    const failed = await until('the Failed event', async () =>
      (await events('needs-cm')).find((e) => e.reason === 'Failed'),
    );
    assert.equal(failed.type, 'Warning');
    assert.equal(failed.message, 'Error: configmap "settings" not found');
    assert.equal(failed.involvedObject.fieldPath, 'spec.containers{app}');
    assert.match(await kube.k(['get', 'pod', 'needs-cm']), /0\/1\s+CreateContainerConfigError/);
    const created = Date.now();
    await apply(
      JSON.stringify({
        apiVersion: 'v1',
        kind: 'ConfigMap',
        metadata: { name: 'settings' },
        data: { GREETING: 'hello' },
      }),
    );
    await phaseOf('needs-cm', 'Running', 8000);
    // The ConfigMap's watch starts the pod, not the 10 s retry.
    assert.ok(Date.now() - created < 8000);
    await until('the variable in the logs', async () =>
      (await kube.k(['logs', 'needs-cm'])).includes('greeting=hello') ? true : undefined,
    );
  });

  it('mounts a ConfigMap volume (FailedMount while missing) and follows its updates', async () => {
    await apply(
      podYaml('cm-vol', {
        containers: [
          {
            name: 'app',
            image: 'busybox',
            imagePullPolicy: 'IfNotPresent',
            command: ['sleep', '3600'],
            volumeMounts: [{ name: 'files', mountPath: '/cfg' }],
          },
        ],
        volumes: [{ name: 'files', configMap: { name: 'files' } }],
      }),
    );
    const mount = await until('FailedMount', async () =>
      (await events('cm-vol')).find((e) => e.reason === 'FailedMount'),
    );
    assert.equal(mount.type, 'Warning');
    assert.equal(mount.message, 'MountVolume.SetUp failed for volume "files" : configmap "files" not found');
    assert.equal(
      (await pod('cm-vol')).status.containerStatuses?.[0]?.state.waiting?.reason,
      'ContainerCreating',
    );
    const cm = (msg: string) =>
      JSON.stringify({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'files' }, data: { msg } });
    await apply(cm('one'));
    const p = await phaseOf('cm-vol', 'Running');
    const id = p.status.containerStatuses![0].containerID!.replace('docker://', '');
    const cat = async () => (await env.d.docker(['exec', id, 'cat', '/cfg/msg'])).stdout;
    assert.equal(await cat(), 'one');
    await apply(cm('two'));
    await until(
      'the new content in the container',
      async () => ((await cat()) === 'two' ? true : undefined),
      10_000,
    );
    // The same container: a volume update does not restart anything.
    assert.equal((await pod('cm-vol')).status.containerStatuses![0].containerID, `docker://${id}`);
  });

  it('finishes restartPolicy Never pods as Succeeded or Failed', async () => {
    const job = (name: string, code: number) =>
      podYaml(name, {
        restartPolicy: 'Never',
        containers: [
          {
            name: 'main',
            image: 'busybox',
            imagePullPolicy: 'IfNotPresent',
            command: ['sh', '-c', `exit ${code}`],
          },
        ],
      });
    await apply(job('job-ok', 0));
    await apply(job('job-bad', 1));
    const ok = await phaseOf('job-ok', 'Succeeded');
    const bad = await phaseOf('job-bad', 'Failed');
    const term = (p: Pod) => p.status.containerStatuses![0].state.terminated!;
    assert.equal(term(ok).reason, 'Completed');
    assert.equal(term(ok).exitCode, 0);
    assert.equal(term(bad).reason, 'Error');
    assert.equal(term(bad).exitCode, 1);
    const cond = (p: Pod, t: string) => p.status.conditions!.find((c) => c.type === t)!;
    assert.equal(cond(ok, 'Ready').reason, 'PodCompleted');
    assert.equal(cond(ok, 'Initialized').reason, 'PodCompleted');
    assert.equal(cond(bad, 'Ready').reason, 'PodFailed');
    const table = await kube.k(['get', 'pods', 'job-ok', 'job-bad']);
    assert.match(table, /job-ok\s+0\/1\s+Completed\s+0/);
    assert.match(table, /job-bad\s+0\/1\s+Error\s+0/);
    // Nothing of theirs runs any more (the sandbox is stopped too), and nothing was restarted.
    await until('sandboxes stopped', async () => {
      const running = (
        await env.d.docker(['ps', '-q', '--filter', `label=io.kubernetes.pod.uid=${ok.metadata.uid}`])
      ).stdout.trim();
      return running === '' ? true : undefined;
    });
    assert.equal((await pod('job-bad')).status.containerStatuses![0].restartCount, 0);
  });

  it('pulls as the policy says: a missing image is ErrImagePull/ImagePullBackOff, a local-only one runs with a Warning', async () => {
    const missing = `${env.reg.host}/nope:1.0`;
    await kube.k(['run', 'noimg', `--image=${missing}`, `--overrides={"spec":{"nodeName":"${NODE}"}}`]);
    const waiting = await until('noimg waiting on its image', async () => {
      const w = (await pod('noimg')).status.containerStatuses?.[0]?.state.waiting;
      return w && /^(ErrImagePull|ImagePullBackOff)$/.test(w.reason) ? w : undefined;
    });
    assert.equal((await pod('noimg')).status.phase, 'Pending');
    if (waiting.reason === 'ErrImagePull')
      assert.match(waiting.message!, new RegExp(`^Failed to pull image "${missing}": `));
    const failed = await until('a Failed event', async () =>
      (await events('noimg')).find(
        (e) => e.reason === 'Failed' && e.message.startsWith('Failed to pull image'),
      ),
    );
    assert.equal(failed.type, 'Warning');
    assert.match(failed.message, /not found|unknown/i);
    assert.match(await kube.k(['get', 'pod', 'noimg']), /noimg\s+0\/1\s+(ErrImagePull|ImagePullBackOff)\s+0/);

    // `docker build -t kubelet-localapp .` (here a tag): untagged means Always, the pull fails, the local image runs.
    await env.d.docker(['tag', 'busybox', 'kubelet-localapp']);
    await kube.k([
      'run',
      'localapp',
      '--image=kubelet-localapp',
      '--command',
      `--overrides={"spec":{"nodeName":"${NODE}"}}`,
      '--',
      'sleep',
      '3600',
    ]);
    await phaseOf('localapp', 'Running');
    const warn = (await events('localapp')).find((e) => e.reason === 'PullFailedUsingLocalImage');
    assert.equal(warn?.type, 'Warning');
    assert.match(warn.message, /^Failed to pull image "kubelet-localapp": .*local store instead$/);
  });

  it("pulls from a registry that wants credentials with the pod's imagePullSecrets", async () => {
    const reg = await startRegistry({ auth: TEST_AUTH });
    try {
      await pushImage(reg.host, 'private/busybox', '1', busyboxImage('docker'), TEST_AUTH);
      const image = `${reg.host}/private/busybox:1`;
      const spec = (secrets: object[]) => ({
        imagePullSecrets: secrets,
        containers: [{ name: 'main', image, command: ['sleep', '3600'] }],
      });
      await apply(podYaml('anon', spec([])));
      const failed = await until('a Failed pull', async () =>
        (await events('anon')).find((e) => e.reason === 'Failed' && e.message.startsWith('Failed to pull')),
      );
      assert.match(failed.message, /no basic auth credentials|unauthorized/i);
      // What `kubectl create secret docker-registry` makes (that command sends protobuf, not served yet).
      const auth = Buffer.from(`${TEST_AUTH.username}:${TEST_AUTH.password}`).toString('base64');
      const config = {
        auths: { [reg.host]: { username: TEST_AUTH.username, password: TEST_AUTH.password, auth } },
      };
      await apply(
        JSON.stringify({
          apiVersion: 'v1',
          kind: 'Secret',
          metadata: { name: 'regcred', namespace: 'default' },
          type: 'kubernetes.io/dockerconfigjson',
          data: { '.dockerconfigjson': Buffer.from(JSON.stringify(config)).toString('base64') },
        }),
      );
      await apply(podYaml('authed', spec([{ name: 'regcred' }])));
      const p = await phaseOf('authed', 'Running');
      assert.match(p.status.containerStatuses![0].imageID, /^docker-pullable:\/\/.*@sha256:[0-9a-f]{64}$/);
      assert.ok(
        (await events('authed')).some((e) => e.reason === 'Pulled' && /^Successfully pulled/.test(e.message)),
      );
    } finally {
      await kube.kubectl(['delete', 'pod', 'anon', 'authed', '--grace-period=0', '--force']);
      await reg.stop();
    }
  });

  it('fails a pod past its activeDeadlineSeconds with DeadlineExceeded', async () => {
    await apply(
      podYaml('deadline', {
        activeDeadlineSeconds: 2,
        containers: [
          { name: 'main', image: 'busybox', imagePullPolicy: 'IfNotPresent', command: ['sleep', '3600'] },
        ],
      }),
    );
    const p = await phaseOf('deadline', 'Failed', 20_000);
    assert.equal(p.status.reason, 'DeadlineExceeded');
    assert.equal(p.status.message, 'Pod was active on the node longer than the specified deadline');
    const e = (await events('deadline')).find((x) => x.reason === 'DeadlineExceeded');
    assert.equal(e?.message, 'Pod was active on the node longer than the specified deadline');
  });

  it('deletes a pod within its grace period: preStop, SIGTERM, SIGKILL, then containers and object gone', async () => {
    const dir = await fsp.mkdtemp(path.join(os.tmpdir(), 'kubelet-grace-'));
    try {
      await apply(
        podYaml('graceful', {
          terminationGracePeriodSeconds: 10,
          containers: [
            {
              name: 'polite',
              image: 'busybox',
              imagePullPolicy: 'IfNotPresent',
              command: [
                'sh',
                '-c',
                "trap 'echo term >> /h/log; exit 0' TERM; while true; do sleep 0.2; done",
              ],
              lifecycle: { preStop: { exec: { command: ['sh', '-c', 'echo prestop >> /h/log'] } } },
              volumeMounts: [{ name: 'h', mountPath: '/h' }],
            },
          ],
          volumes: [{ name: 'h', hostPath: { path: dir } }],
        }),
      );
      await apply(
        podYaml('stubborn', {
          terminationGracePeriodSeconds: 3,
          containers: [
            { name: 'deaf', image: 'busybox', imagePullPolicy: 'IfNotPresent', command: ['sleep', '3600'] },
          ],
        }),
      );
      const polite = await phaseOf('graceful', 'Running');
      const stubborn = await phaseOf('stubborn', 'Running');
      let t = Date.now();
      await kube.k(['delete', 'pod', 'graceful'], { timeoutMs: 30_000 });
      const politeMs = Date.now() - t;
      assert.equal(await fsp.readFile(path.join(dir, 'log'), 'utf8'), 'prestop\nterm\n');
      assert.ok(politeMs < 8000, `a pod that exits on SIGTERM goes at once (${politeMs} ms)`);
      t = Date.now();
      await kube.k(['delete', 'pod', 'stubborn'], { timeoutMs: 30_000 });
      const stubbornMs = Date.now() - t;
      assert.ok(
        stubbornMs >= 2500 && stubbornMs < 12_000,
        `SIGKILL after the 3 s grace period (${stubbornMs} ms)`,
      );
      for (const p of [polite, stubborn]) {
        const left = await env.d.docker([
          'ps',
          '-aq',
          '--filter',
          `label=io.kubernetes.pod.uid=${p.metadata.uid}`,
        ]);
        assert.equal(left.stdout.trim(), '', 'the kubelet removed the containers');
      }
      const killing = await kube.json<{ items: Event[] }>([
        'get',
        'events',
        '--field-selector',
        `involvedObject.uid=${stubborn.metadata.uid},reason=Killing`,
      ]);
      assert.equal(killing.items[0]?.message, 'Stopping container deaf');
    } finally {
      await fsp.rm(dir, { recursive: true, force: true });
    }
  });
});
