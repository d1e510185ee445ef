/**
 * StatefulSets, DaemonSets and the node lifecycle against a real berth-kube over a real berthd, driven by the real
 * kubectl 1.32: ordered start with stable names and hostnames, scale-down in reverse, a partitioned rolling update,
 * rollout history/undo through ControllerRevisions, claims from volumeClaimTemplates kept on scale-down; a
 * DaemonSet's one pod, its rolling update, a taint it does not tolerate; cordon, drain (DaemonSet pods need
 * --ignore-daemonsets), NoExecute eviction and the DefaultTolerationSeconds tolerations. Bad input: a StatefulSet
 * whose selector does not match its template. Pod network: a random /24 of 10.223.0.0/16.
 */
import assert from 'node:assert/strict';
import { connect } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { startContainerDaemon, type ContainerTestEnv } from '../helpers/container-daemon.js';
import { IS_ROOT, requirement } from '../helpers/env.js';
import { haveKubectl, KUBECTL, startKubeCluster, until, type KubeCluster } from '../helpers/kube-cluster.js';

const skip =
  requirement(IS_ROOT, 'running pods needs root (berthd)') ??
  requirement(haveKubectl(), `${KUBECTL} is not installed`);
const NODE = 'sets-node';

interface Cond {
  type: string;
  status: string;
  lastTransitionTime?: string;
}
interface Pod {
  metadata: {
    name: string;
    creationTimestamp: string;
    deletionTimestamp?: string;
    labels?: Record<string, string>;
    ownerReferences?: { kind: string; name: string }[];
  };
  spec: {
    hostname?: string;
    subdomain?: string;
    nodeName?: string;
    tolerations?: { key?: string; effect?: string; tolerationSeconds?: number }[];
    containers: { env?: { name: string; value: string }[] }[];
    volumes?: { name: string; persistentVolumeClaim?: { claimName: string } }[];
  };
  status: { phase: string; conditions?: Cond[] };
}
interface Event {
  metadata: { resourceVersion: string };
  reason: string;
  message: string;
  involvedObject: { name: string; kind: string };
}

// The shell is PID 1: it exits on TERM so deletions do not wait out the grace period.
const container = (env: Record<string, string> = {}) => ({
  name: 'app',
  image: 'busybox',
  imagePullPolicy: 'IfNotPresent',
  command: ['sh', '-c', "trap 'exit 0' TERM; sleep 3600 & wait"],
  env: Object.entries(env).map(([name, value]) => ({ name, value })),
});

const statefulSet = (name: string, o: { replicas: number; parallel?: boolean; claims?: boolean }) =>
  JSON.stringify({
    apiVersion: 'apps/v1',
    kind: 'StatefulSet',
    metadata: { name, annotations: { 'kubernetes.io/change-cause': 'first' } },
    spec: {
      serviceName: name,
      replicas: o.replicas,
      ...(o.parallel ? { podManagementPolicy: 'Parallel' } : {}),
      selector: { matchLabels: { app: name } },
      template: {
        metadata: { labels: { app: name } },
        spec: {
          terminationGracePeriodSeconds: 2,
          containers: [
            {
              ...container({ MODE: 'one' }),
              ...(o.claims ? { volumeMounts: [{ name: 'data', mountPath: '/data' }] } : {}),
            },
          ],
        },
      },
      ...(o.claims
        ? {
            volumeClaimTemplates: [
              {
                metadata: { name: 'data' },
                spec: { accessModes: ['ReadWriteOnce'], resources: { requests: { storage: '1Mi' } } },
              },
            ],
          }
        : {}),
    },
  });

const daemonSet = (name: string, env: Record<string, string>, tolerations: object[] = []) =>
  JSON.stringify({
    apiVersion: 'apps/v1',
    kind: 'DaemonSet',
    metadata: { name },
    spec: {
      selector: { matchLabels: { ds: name } },
      template: {
        metadata: { labels: { ds: name } },
        spec: { terminationGracePeriodSeconds: 2, tolerations, containers: [container(env)] },
      },
    },
  });

describe('StatefulSets, DaemonSets and node lifecycle against berth-kube on berthd', { skip }, () => {
  let env: ContainerTestEnv;
  let kube: KubeCluster;
  const net = `sets-${process.pid}`;
  const subnet = `10.223.${Math.floor(Math.random() * 250) + 1}.0/24`;

  const pods = async (selector: string) =>
    (await kube.json<{ items: Pod[] }>(['get', 'pods', '-l', selector])).items.filter(
      (p) => !p.metadata.deletionTimestamp,
    );
  const names = (ps: Pod[]) => ps.map((p) => p.metadata.name).sort();
  /** Events about `name`, in the order they were written. */
  const events = async (name: string, reason: string) =>
    (
      await kube.json<{ items: Event[] }>([
        'get',
        'events',
        '--field-selector',
        `involvedObject.name=${name},reason=${reason}`,
      ])
    ).items
      .sort((a, b) => Number(a.metadata.resourceVersion) - Number(b.metadata.resourceVersion))
      .map((e) => e.message);
  const rolloutStatus = (what: string) =>
    kube.k(['rollout', 'status', what, '--timeout=90s'], { timeoutMs: 100_000 });
  const ready = (p: Pod) => p.status.conditions?.find((c) => c.type === 'Ready' && c.status === 'True');
  const node = () =>
    kube.json<{ spec: { unschedulable?: boolean; taints?: { key: string; effect: string }[] } }>([
      'get',
      'node',
      NODE,
    ]);

  before(async () => {
    env = await startContainerDaemon();
    kube = await startKubeCluster({
      engineSocket: env.d.socket,
      port: 18700 + (process.pid % 50),
      nodeName: NODE,
      podCIDR: subnet,
      podNetwork: net,
    });
    await until('node Ready', async () => {
      const n = await kube.json<{ status: { conditions?: Cond[] } }>(['get', 'node', NODE]);
      return n.status.conditions?.some((c) => c.type === 'Ready' && c.status === 'True');
    });
  });
  after(async () => {
    if (kube) {
      await kube.kubectl(['uncordon', NODE]);
      for (const kind of ['statefulset', 'daemonset', 'deployment'])
        await kube.kubectl(['delete', kind, '--all', '--wait=false']);
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

  it('refuses a StatefulSet whose selector does not match its template labels (422)', async () => {
    const bad = JSON.parse(statefulSet('bad', { replicas: 1 })) as {
      spec: { selector: { matchLabels: Record<string, string> } };
    };
    bad.spec.selector.matchLabels = { app: 'other' };
    const r = await kube.kubectl(['create', '-f', '-'], { input: JSON.stringify(bad) });
    assert.notEqual(r.code, 0);
    assert.match(
      r.stderr,
      /The StatefulSet "bad" is invalid: spec\.template\.metadata\.labels: Invalid value: .*"app":"bad".*: `selector` does not match template `labels`/,
    );
  });

  it('starts an OrderedReady StatefulSet one pod at a time, with stable names, labels and hostnames', async () => {
    await kube.k(['create', 'service', 'clusterip', 'web', '--clusterip=None']);
    await kube.k(['apply', '-f', '-'], { input: statefulSet('web', { replicas: 3 }) });
    assert.match(
      await rolloutStatus('sts/web'),
      /partitioned roll out complete: 3 new pods have been updated\.\.\.\n$/,
    );
    const ps = await pods('app=web');
    assert.deepEqual(names(ps), ['web-0', 'web-1', 'web-2']);
    for (const [i, p] of ps.entries()) {
      assert.equal(p.metadata.labels?.['statefulset.kubernetes.io/pod-name'], `web-${i}`);
      assert.equal(p.metadata.labels?.['apps.kubernetes.io/pod-index'], String(i));
      assert.match(p.metadata.labels?.['controller-revision-hash'] ?? '', /^web-\w+$/);
      assert.equal(p.spec.hostname, `web-${i}`);
      assert.equal(p.spec.subdomain, 'web');
      assert.equal(p.status.phase, 'Running');
    }
    // Each pod was created only once the one before it was Running and Ready.
    for (let i = 1; i < 3; i++) {
      const prevReady = Date.parse(ready(ps[i - 1])!.lastTransitionTime!);
      assert.ok(
        Date.parse(ps[i].metadata.creationTimestamp) >= prevReady,
        `web-${i} after web-${i - 1} Ready`,
      );
    }
    assert.deepEqual(await events('web', 'SuccessfulCreate'), [
      'create Pod web-0 in StatefulSet web successful',
      'create Pod web-1 in StatefulSet web successful',
      'create Pod web-2 in StatefulSet web successful',
    ]);
    assert.equal((await kube.k(['exec', 'web-1', '--', 'hostname'])).trim(), 'web-1');
    const table = await kube.k(['get', 'sts', 'web']);
    assert.match(table, /^NAME\s+READY\s+AGE\nweb\s+3\/3\s+/);
  });

  it('scales down from the highest ordinal, one pod at a time', async () => {
    await kube.k(['scale', 'sts/web', '--replicas=1']);
    await until(
      'web scaled to 1',
      async () => names(await pods('app=web')).join() === 'web-0' || undefined,
      60_000,
    );
    assert.deepEqual(await events('web', 'SuccessfulDelete'), [
      'delete Pod web-2 in StatefulSet web successful',
      'delete Pod web-1 in StatefulSet web successful',
    ]);
    await kube.k(['scale', 'sts/web', '--replicas=3']);
    assert.match(await rolloutStatus('sts/web'), /roll out complete: 3 new pods/);
  });

  it('rolls an update out above the partition only, then all the way down; history and undo', async () => {
    const sts = () =>
      kube.json<{
        status: { currentRevision: string; updateRevision: string; updatedReplicas?: number };
      }>(['get', 'sts', 'web']);
    const first = (await sts()).status.currentRevision;
    await kube.k(['patch', 'sts/web', '-p', '{"spec":{"updateStrategy":{"rollingUpdate":{"partition":2}}}}']);
    await kube.k(['set', 'env', 'sts/web', 'MODE=two']);
    assert.match(
      await rolloutStatus('sts/web'),
      /partitioned roll out complete: 1 new pods have been updated\.\.\.\n$/,
    );
    const modes = async () =>
      Object.fromEntries(
        (await pods('app=web')).map((p) => [
          p.metadata.name,
          p.spec.containers[0].env?.find((e) => e.name === 'MODE')?.value,
        ]),
      );
    assert.deepEqual(await modes(), { 'web-0': 'one', 'web-1': 'one', 'web-2': 'two' });
    const mid = await sts();
    assert.equal(mid.status.currentRevision, first);
    assert.notEqual(mid.status.updateRevision, first);
    assert.equal(mid.status.updatedReplicas, 1);

    await kube.k(['patch', 'sts/web', '-p', '{"spec":{"updateStrategy":{"rollingUpdate":{"partition":0}}}}']);
    assert.match(
      await rolloutStatus('sts/web'),
      /partitioned roll out complete: 3 new pods have been updated\.\.\.\n$/,
    );
    assert.deepEqual(await modes(), { 'web-0': 'two', 'web-1': 'two', 'web-2': 'two' });
    // From the top down, each after the one above was back (an event repeated moves to the newest version).
    assert.deepEqual(await events('web', 'SuccessfulDelete'), [
      'delete Pod web-2 in StatefulSet web successful',
      'delete Pod web-1 in StatefulSet web successful',
      'delete Pod web-0 in StatefulSet web successful',
    ]);
    assert.equal((await sts()).status.currentRevision, mid.status.updateRevision);

    const history = await kube.k(['rollout', 'history', 'sts/web']);
    assert.match(history, /^statefulset\.apps\/web \nREVISION\s+CHANGE-CAUSE\n1\s+first\n2\s+first\n/);
    assert.match(await kube.k(['rollout', 'history', 'sts/web', '--revision=1']), /MODE:\s+one/);
    assert.equal(await kube.k(['rollout', 'undo', 'sts/web']), 'statefulset.apps/web rolled back\n');
    assert.match(await rolloutStatus('sts/web'), /roll out complete: 3 new pods/);
    assert.equal((await sts()).status.currentRevision, first);
    assert.deepEqual(await modes(), { 'web-0': 'one', 'web-1': 'one', 'web-2': 'one' });
    // The old revision came back as revision 3, not as a copy.
    const revs = await kube.json<{ items: { metadata: { name: string }; revision: number }[] }>([
      'get',
      'controllerrevisions',
      '-l',
      'app=web',
    ]);
    assert.deepEqual(
      revs.items.map((r) => [r.metadata.name, r.revision]).sort((a, b) => Number(a[1]) - Number(b[1])),
      [
        [mid.status.updateRevision, 2],
        [first, 3],
      ],
    );
    const bad = await kube.kubectl(['rollout', 'undo', 'sts/web', '--to-revision=9']);
    assert.notEqual(bad.code, 0);
    assert.match(bad.stderr, /unable to find specified revision 9 in history/);
  });

  it('gives each pod its own claim from volumeClaimTemplates, kept across pod restarts and scale-down', async () => {
    await kube.k(['apply', '-f', '-'], {
      input: statefulSet('db', { replicas: 2, parallel: true, claims: true }),
    });
    // Parallel: both pods at once, each mounting its own claim, provisioned by local-path.
    assert.match(await rolloutStatus('sts/db'), /roll out complete: 2 new pods/);
    interface Claim {
      metadata: { name: string; labels?: Record<string, string>; ownerReferences?: { kind: string }[] };
      spec: { resources: object; storageClassName?: string };
      status: { phase: string };
    }
    const claims = async () =>
      (await kube.json<{ items: Claim[] }>(['get', 'pvc', '-l', 'app=db'])).items.sort((a, b) =>
        a.metadata.name.localeCompare(b.metadata.name),
      );
    const two = await claims();
    assert.deepEqual(
      two.map((c) => [c.metadata.name, c.status.phase, c.spec.storageClassName]),
      [
        ['data-db-0', 'Bound', 'local-path'],
        ['data-db-1', 'Bound', 'local-path'],
      ],
    );
    assert.deepEqual(two[0].spec.resources, { requests: { storage: '1Mi' } });
    assert.equal(two[0].metadata.ownerReferences, undefined, 'Retain: nobody owns the claim');
    const claimOf = (p: Pod) =>
      p.spec.volumes?.find((v) => v.name === 'data')?.persistentVolumeClaim?.claimName;
    assert.deepEqual((await pods('app=db')).map(claimOf).sort(), ['data-db-0', 'data-db-1']);

    // Stable storage: db-0 deleted comes back with the same name and the same data.
    await kube.k(['exec', 'db-0', '--', 'sh', '-c', 'echo kept > /data/f']);
    const uid = (await kube.json<{ metadata: { uid: string } }>(['get', 'pod', 'db-0'])).metadata.uid;
    await kube.k(['delete', 'pod', 'db-0']);
    await until('db-0 back', async () => {
      const p = await kube.json<Pod & { metadata: { uid: string } }>(['get', 'pod', 'db-0']);
      return p.metadata.uid !== uid && p.status.phase === 'Running';
    });
    assert.equal(await kube.k(['exec', 'db-0', '--', 'cat', '/data/f']), 'kept\n');

    // Retain (the default): the claim outlives its pod, for when the set grows again.
    await kube.k(['scale', 'sts/db', '--replicas=1']);
    await until('db-1 gone', async () => names(await pods('app=db')).join() === 'db-0' || undefined, 60_000);
    assert.deepEqual(
      (await claims()).map((c) => c.metadata.name),
      ['data-db-0', 'data-db-1'],
    );
    // whenScaled Delete: the claim of a pod scaled away goes with it.
    await kube.k([
      'patch',
      'sts/db',
      '-p',
      '{"spec":{"persistentVolumeClaimRetentionPolicy":{"whenScaled":"Delete"},"replicas":2}}',
    ]);
    assert.match(await rolloutStatus('sts/db'), /roll out complete: 2 new pods/);
    await kube.k(['scale', 'sts/db', '--replicas=1']);
    await until(
      'data-db-1 deleted with db-1',
      async () => (await claims()).map((c) => c.metadata.name).join() === 'data-db-0' || undefined,
      60_000,
    );
    await kube.k(['delete', 'sts/db', '--wait=false']);
  });

  it('runs one DaemonSet pod on the node, rolls it on a template change, and reports status', async () => {
    await kube.k(['apply', '-f', '-'], { input: daemonSet('agent', { V: '1' }) });
    assert.match(await rolloutStatus('ds/agent'), /daemon set "agent" successfully rolled out\n$/);
    const [first] = await pods('ds=agent');
    assert.equal(first.spec.nodeName, NODE);
    assert.equal(first.status.phase, 'Running');
    // The daemon tolerations, and no 300 s default: daemons tolerate not-ready/unreachable forever.
    const tol = (key: string) => first.spec.tolerations?.find((t) => t.key === key);
    assert.equal(tol('node.kubernetes.io/unschedulable')?.effect, 'NoSchedule');
    assert.equal(tol('node.kubernetes.io/not-ready')?.tolerationSeconds, undefined);
    await kube.k(['apply', '-f', '-'], { input: daemonSet('agent', { V: '2' }) });
    assert.match(await rolloutStatus('ds/agent'), /successfully rolled out/);
    const now = await until('one new daemon pod', async () => {
      const l = await pods('ds=agent');
      return l.length === 1 && l[0].metadata.name !== first.metadata.name ? l : undefined;
    });
    assert.equal(now[0].spec.containers[0].env?.[0]?.value, '2');
    assert.notEqual(
      now[0].metadata.labels?.['controller-revision-hash'],
      first.metadata.labels?.['controller-revision-hash'],
    );
    const table = await kube.k(['get', 'ds', 'agent']);
    assert.match(table, /\nagent\s+1\s+1\s+1\s+1\s+1\s+<none>\s+/);
  });

  it('does not run a DaemonSet on a node whose taint it does not tolerate, until it does', async () => {
    await kube.k(['taint', 'node', NODE, 'dedicated=infra:NoSchedule']);
    try {
      await kube.k(['apply', '-f', '-'], { input: daemonSet('picky', {}) });
      const st = await until('picky observed', async () => {
        const d = await kube.json<{
          status: { observedGeneration?: number; desiredNumberScheduled: number };
        }>(['get', 'ds', 'picky']);
        return d.status.observedGeneration ? d.status : undefined;
      });
      assert.equal(st.desiredNumberScheduled, 0);
      assert.equal((await pods('ds=picky')).length, 0);
      const tolerant = [{ key: 'dedicated', operator: 'Equal', value: 'infra', effect: 'NoSchedule' }];
      await kube.k(['apply', '-f', '-'], { input: daemonSet('picky', {}, tolerant) });
      assert.match(await rolloutStatus('ds/picky'), /successfully rolled out/);
      assert.equal((await pods('ds=picky')).length, 1);
    } finally {
      await kube.k(['taint', 'node', NODE, 'dedicated-']);
      await kube.k(['delete', 'ds', 'picky', '--wait=false']);
    }
  });

  it('cordons (taint and unschedulable pods) and drains, leaving DaemonSet pods only with --ignore-daemonsets', async () => {
    assert.equal(await kube.k(['cordon', NODE]), `node/${NODE} cordoned\n`);
    await until('unschedulable taint', async () =>
      (await node()).spec.taints?.some(
        (t) => t.key === 'node.kubernetes.io/unschedulable' && t.effect === 'NoSchedule',
      ),
    );
    const refused = await kube.kubectl(['drain', NODE, '--timeout=60s']);
    assert.notEqual(refused.code, 0);
    assert.match(
      refused.stderr,
      /cannot delete DaemonSet-managed Pods \(use --ignore-daemonsets to ignore\): default\/agent-/,
    );
    const r = await kube.kubectl(['drain', NODE, '--ignore-daemonsets', '--timeout=90s'], {
      timeoutMs: 100_000,
    });
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stderr, /Warning: ignoring DaemonSet-managed Pods: default\/agent-/);
    assert.match(r.stdout, /evicting pod default\/web-0\n/);
    assert.match(r.stdout, new RegExp(`node/${NODE} drained\\n$`));
    // The set puts its pods back, but they cannot be scheduled on a cordoned node; the daemon stays.
    const back = await until('web-0 recreated and Pending', async () => {
      const p = (await pods('app=web')).find((x) => x.metadata.name === 'web-0');
      return p && !p.spec.nodeName ? p : undefined;
    });
    assert.equal(back.status.phase, 'Pending');
    assert.equal((await pods('ds=agent')).length, 1);
    assert.equal(await kube.k(['uncordon', NODE]), `node/${NODE} uncordoned\n`);
    await until('taint gone', async () => !(await node()).spec.taints?.length);
    assert.match(await rolloutStatus('sts/web'), /roll out complete: 3 new pods/);
  });

  it('adds the 300 s not-ready/unreachable tolerations and evicts pods that do not tolerate a NoExecute taint', async () => {
    await kube.k([
      'run',
      'plain',
      '--image=busybox',
      '--image-pull-policy=IfNotPresent',
      '--',
      'sleep',
      '3600',
    ]);
    const p = await kube.json<Pod>(['get', 'pod', 'plain']);
    const secs = (key: string) =>
      p.spec.tolerations?.find((t) => t.key === key && t.effect === 'NoExecute')?.tolerationSeconds;
    assert.equal(secs('node.kubernetes.io/not-ready'), 300);
    assert.equal(secs('node.kubernetes.io/unreachable'), 300);
    await until(
      'plain running',
      async () => (await kube.json<Pod>(['get', 'pod', 'plain'])).status.phase === 'Running',
    );
    await kube.k(['taint', 'node', NODE, 'evict=now:NoExecute']);
    try {
      await until('plain evicted', async () => {
        const r = await kube.kubectl(['get', 'pod', 'plain', '-o', 'json']);
        return r.code !== 0 || !!(JSON.parse(r.stdout) as Pod).metadata.deletionTimestamp;
      });
      assert.deepEqual(await events('plain', 'TaintManagerEviction'), [
        'Marking for deletion Pod default/plain',
      ]);
    } finally {
      await kube.k(['taint', 'node', NODE, 'evict-']);
    }
  });

  // Last: it stops the cluster. A connection that never finishes its TLS handshake used to hold server.close().
  it('stops on SIGTERM at once, even with a client connected that never said anything', async () => {
    const port = Number(/:(\d+)$/.exec(kube.current().server)![1]);
    const idle = connect({ host: '127.0.0.1', port });
    await new Promise((resolve, reject) => idle.once('connect', resolve).once('error', reject));
    idle.on('error', () => undefined);
    try {
      const started = Date.now();
      assert.equal(await kube.current().stop('SIGTERM'), 0);
      assert.ok(Date.now() - started < 8000, `stopped in ${Date.now() - started} ms`);
      assert.match(kube.logs(), /"msg":"stopped"/);
      assert.doesNotMatch(kube.logs(), /shutdown step did not finish/);
    } finally {
      idle.destroy();
    }
  });
});
