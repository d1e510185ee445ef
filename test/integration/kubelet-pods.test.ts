/**
 * The kubelet proper (issue 12), held to the real kubectl 1.32 against a real berth-kube over a real berthd: the
 * Node (labels, capacity, nodeInfo, conditions, its Lease), a pod reaching Running with the status and events a
 * kubelet writes (`kubectl describe`), CrashLoopBackOff, a pod waiting on a missing ConfigMap, a ConfigMap volume
 * following an update, restartPolicy Never pods finishing Succeeded/Failed, activeDeadlineSeconds, and deletion
 * within a grace period. Pod network: a random /24 of 10.215.0.0/16.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { startContainerDaemon, type ContainerTestEnv } from '../helpers/container-daemon.js';
import { IS_ROOT, requirement } from '../helpers/env.js';
import { haveKubectl, KUBECTL, startKubeCluster, until, type KubeCluster } from '../helpers/kube-cluster.js';

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

const podYaml = (name: string, spec: object, meta: object = {}) =>
  JSON.stringify({
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name, namespace: 'default', labels: { app: name }, ...meta },
    spec: { nodeName: NODE, terminationGracePeriodSeconds: 2, ...spec },
  });

describe('kubelet: pods on berthd through kubectl', { skip }, () => {
  let env: ContainerTestEnv;
  let kube: KubeCluster;
  const net = `kubelet-${process.pid}`;
  const subnet = `10.215.${Math.floor(Math.random() * 250) + 1}.0/24`;

  const pod = (name: string) => kube.json<Pod>(['get', 'pod', name]);
  const events = async (name: string) =>
    (
      await kube.json<{ items: Event[] }>([
        'get',
        'events',
        '--field-selector',
        `involvedObject.name=${name},involvedObject.kind=Pod`,
      ])
    ).items;
  const apply = (yaml: string) => kube.k(['apply', '-f', '-'], { input: yaml });
  const phaseOf = (name: string, phase: string, ms = 30_000) =>
    until(`${name} ${phase}`, async () => ((await pod(name)).status.phase === phase ? pod(name) : undefined), ms);

  before(async () => {
    env = await startContainerDaemon();
    kube = await startKubeCluster({
      engineSocket: env.d.socket,
      port: 17900 + (process.pid % 50),
      nodeName: NODE,
      podCIDR: subnet,
      podNetwork: net,
    });
  });
  after(async () => {
    if (kube) {
      await kube.kubectl(['delete', 'pods', '--all', '--grace-period=0', '--force']);
      await kube.destroy();
    }
    if (env) {
      const ids = (await env.d.docker(['ps', '-aq', '--filter', 'label=io.kubernetes.pod.uid'])).stdout
        .split('\n')
        .filter(Boolean);
      if (ids.length) await env.d.docker(['rm', '-f', ...ids]);
      await env.d.request('DELETE', `/networks/${net}`);
      await env.d.destroy();
    }
  });

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
    const lease = await kube.json<{ spec: { holderIdentity: string; leaseDurationSeconds: number; renewTime: string } }>(
      ['get', 'lease', '-n', 'kube-node-lease', NODE],
    );
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
});
