/**
 * The kubelet's loops against a real berthd, through the real kubectl 1.32: readiness (httpGet against busybox
 * httpd), liveness (exec) and startup probes (liveness held until started; probe-level grace) with their events,
 * a Deployment of a local image scheduled and healed, a `docker rm -f` of a pod's container or sandbox healed at
 * once, a `kill -9` of berth-kube leaving pods running and the next start adopting them (same containers) and
 * removing an orphan, and a killed berthd turning the node NotReady until it is back. Pod network: a random /24 of
 * 10.215.0.0/16.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { ContainerTestEnv } from '../helpers/container-daemon.js';
import { startTestDaemon } from '../helpers/daemon.js';
import { IS_ROOT, requirement } from '../helpers/env.js';
import { haveKubectl, KUBECTL, until, type KubeCluster } from '../helpers/kube-cluster.js';
import { startPodCluster, type PodCluster } from '../helpers/kube-pods.js';

const skip =
  requirement(IS_ROOT, 'running pods needs root (berthd)') ??
  requirement(haveKubectl(), `${KUBECTL} is not installed`);
const NODE = 'heal-node';

interface ContainerStatus {
  name: string;
  ready: boolean;
  restartCount: number;
  containerID?: string;
  started?: boolean;
  state: { running?: object; waiting?: { reason: string } };
  lastState: { terminated?: { exitCode: number; reason: string } };
}
interface Pod {
  metadata: { name: string; uid: string };
  status: {
    phase: string;
    conditions?: { type: string; status: string; reason?: string; message?: string }[];
    containerStatuses?: ContainerStatus[];
  };
}
interface Event {
  reason: string;
  message: string;
  type: string;
  involvedObject: { fieldPath?: string };
}

describe('kubelet: probes, healing and adoption', { skip }, () => {
  let c: PodCluster;
  let env: ContainerTestEnv;
  let kube: KubeCluster;
  const net = `kheal-${process.pid}`;
  const subnet = `10.215.${Math.floor(Math.random() * 250) + 1}.0/24`;

  const podJson = (name: string, spec: object) => c.podJson(name, spec);
  const pod = (name: string) => kube.json<Pod>(['get', 'pod', name]);
  const events = (name: string) => c.events<Event>(name, null);
  const apply = (json: string) => c.apply(json);
  const running = (name: string) => c.running<Pod>(name);
  const cond = (p: Pod, t: string) => p.status.conditions?.find((c) => c.type === t);
  const podContainers = async (uid: string, all = false) =>
    (
      await env.d.docker([
        'ps',
        ...(all ? ['-a'] : []),
        '-q',
        '--no-trunc',
        '--filter',
        `label=io.kubernetes.pod.uid=${uid}`,
      ])
    ).stdout
      .split('\n')
      .filter(Boolean)
      .sort();

  before(async () => {
    c = await startPodCluster({
      port: 17950 + (process.pid % 40),
      nodeName: NODE,
      podCIDR: subnet,
      podNetwork: net,
    });
    ({ env, kube } = c);
  });
  after(async () => {
    // A test that failed with berthd down leaves it down: bring it back to clean up.
    if (env && (env.d.proc.exitCode !== null || env.d.proc.signalCode !== null))
      env.d = await startTestDaemon({
        dataRoot: env.d.dataRoot,
        socket: env.d.socket,
        args: ['--registry-mirror', env.reg.url],
      });
    await c?.destroy();
  });

  it('keeps a pod unready until its httpGet readiness probe passes', async () => {
    await apply(
      podJson('ready-web', {
        containers: [
          {
            name: 'web',
            image: 'busybox',
            imagePullPolicy: 'IfNotPresent',
            command: [
              'sh',
              '-c',
              'mkdir -p /www; (sleep 3; echo ok > /www/ready) & exec httpd -f -p 8080 -h /www',
            ],
            ports: [{ containerPort: 8080, name: 'http' }],
            readinessProbe: {
              httpGet: { path: '/ready', port: 'http' },
              periodSeconds: 1,
              failureThreshold: 1,
            },
          },
        ],
      }),
    );
    const early = await running('ready-web');
    assert.equal(cond(early, 'Ready')?.status, 'False');
    assert.equal(cond(early, 'ContainersReady')?.message, 'containers with unready status: [web]');
    assert.equal(early.status.containerStatuses![0].ready, false);
    const unhealthy = await until('an Unhealthy event', async () =>
      (await events('ready-web')).find((e) => e.reason === 'Unhealthy'),
    );
    assert.equal(unhealthy.type, 'Warning');
    assert.equal(unhealthy.message, 'Readiness probe failed: HTTP probe failed with statuscode: 404');
    assert.equal(unhealthy.involvedObject.fieldPath, 'spec.containers{web}');
    const ready = await until('Ready', async () => {
      const p = await pod('ready-web');
      return cond(p, 'Ready')?.status === 'True' ? p : undefined;
    });
    assert.equal(ready.status.containerStatuses![0].ready, true);
    assert.match(await kube.k(['get', 'pod', 'ready-web']), /ready-web\s+1\/1\s+Running\s+0/);
  });

  it('restarts a container whose liveness probe fails', async () => {
    await apply(
      podJson('live', {
        containers: [
          {
            name: 'live',
            image: 'busybox',
            imagePullPolicy: 'IfNotPresent',
            command: ['sh', '-c', 'touch /tmp/healthy; sleep 2; rm /tmp/healthy; exec sleep 3600'],
            livenessProbe: {
              exec: { command: ['cat', '/tmp/healthy'] },
              periodSeconds: 1,
              failureThreshold: 2,
            },
          },
        ],
      }),
    );
    const first = await running('live');
    const restarted = await until(
      'a restart',
      async () => {
        const p = await pod('live');
        return (p.status.containerStatuses?.[0]?.restartCount ?? 0) >= 1 ? p : undefined;
      },
      30_000,
    );
    const cs = restarted.status.containerStatuses![0];
    assert.notEqual(cs.containerID, first.status.containerStatuses![0].containerID);
    assert.equal(cs.lastState.terminated?.exitCode, 137);
    const ev = await events('live');
    const unhealthy = ev.find((e) => e.reason === 'Unhealthy');
    assert.equal(
      unhealthy?.message,
      "Liveness probe failed: cat: can't open '/tmp/healthy': No such file or directory",
    );
    const killing = ev.find((e) => e.reason === 'Killing');
    assert.equal(killing?.message, 'Container live failed liveness probe, will be restarted');
  });

  it('holds liveness until a startup probe passes, and restarts a container that never starts', async () => {
    const slow = (name: string, startsAfter: number) => ({
      name,
      image: 'busybox',
      imagePullPolicy: 'IfNotPresent',
      command: ['sh', '-c', `sleep ${startsAfter}; touch /tmp/up; exec sleep 3600`],
      startupProbe: {
        exec: { command: ['cat', '/tmp/up'] },
        periodSeconds: 1,
        failureThreshold: 3,
        terminationGracePeriodSeconds: 1,
      },
      // Would kill the container at once if it ran before the startup probe passed.
      livenessProbe: { exec: { command: ['cat', '/tmp/up'] }, periodSeconds: 1, failureThreshold: 1 },
    });
    await apply(podJson('starts', { containers: [slow('slow', 1)] }));
    await apply(podJson('never', { containers: [slow('stuck', 3600)] }));
    const early = await running('starts');
    const started = await until('started', async () => {
      const p = await pod('starts');
      return p.status.containerStatuses?.[0]?.started ? p : undefined;
    });
    assert.equal(started.status.containerStatuses![0].restartCount, 0);
    assert.equal(
      early.status.containerStatuses![0].containerID,
      started.status.containerStatuses![0].containerID,
    );
    assert.ok(!(await events('starts')).some((e) => e.message.startsWith('Liveness probe failed')));

    const restarted = await until('a restart of the stuck one', async () => {
      const p = await pod('never');
      return (p.status.containerStatuses?.[0]?.restartCount ?? 0) >= 1 ? p : undefined;
    });
    const cs = restarted.status.containerStatuses![0];
    assert.equal(cs.started, false);
    assert.equal(cs.lastState.terminated?.exitCode, 137);
    const ev = await events('never');
    assert.ok(ev.some((e) => e.reason === 'Unhealthy' && e.message.startsWith('Startup probe failed: cat:')));
    assert.ok(!ev.some((e) => e.message.startsWith('Liveness probe failed')));
    assert.ok(
      ev.some(
        (e) =>
          e.reason === 'Killing' && e.message === 'Container stuck failed startup probe, will be restarted',
      ),
    );
    await kube.k(['delete', 'pod', 'starts', 'never', '--wait=false']);
  });

  it('runs a Deployment of a local image (scheduled, no push) and replaces a deleted pod', async () => {
    // `docker build -t heal-app .` stands for a tag here: not in any registry, so the desktop rule runs it.
    await env.d.docker(['tag', 'busybox', 'heal-app:dev']);
    await kube.k([
      'create',
      'deployment',
      'app',
      '--image=heal-app:dev',
      '--replicas=2',
      '--',
      'sleep',
      '3600',
    ]);
    await kube.k(['rollout', 'status', 'deployment/app', '--timeout=60s'], { timeoutMs: 70_000 });
    const pods = () =>
      kube.json<{ items: (Pod & { spec: { nodeName?: string } })[] }>(['get', 'pods', '-l', 'app=app']);
    const first = (await pods()).items;
    assert.equal(first.length, 2);
    for (const p of first) {
      assert.equal(p.spec.nodeName, NODE);
      assert.equal(cond(p, 'Ready')?.status, 'True');
      assert.ok((await events(p.metadata.name)).some((e) => e.reason === 'Scheduled'));
    }
    await kube.k(['delete', 'pod', first[0].metadata.name, '--wait=false']);
    await until('a replacement Ready', async () => {
      const now = (await pods()).items.filter(
        (p) => !first.some((f) => f.metadata.uid === p.metadata.uid) && cond(p, 'Ready')?.status === 'True',
      );
      return now.length === 1 ? now : undefined;
    });
    await kube.k(['rollout', 'status', 'deployment/app', '--timeout=60s'], { timeoutMs: 70_000 });
    // sleep ignores SIGTERM as pid 1: force the pods away rather than wait out their 30 s grace.
    await kube.k(['delete', 'deployment', 'app']);
    await kube.k(['delete', 'pods', '-l', 'app=app', '--grace-period=0', '--force']);
    await until('the pods gone', async () => ((await pods()).items.length === 0 ? true : undefined));
  });

  it('heals a docker rm -f of a pod container and of its sandbox', async () => {
    await apply(
      podJson('victim', {
        containers: [
          { name: 'main', image: 'busybox', imagePullPolicy: 'IfNotPresent', command: ['sleep', '3600'] },
        ],
      }),
    );
    const p = await running('victim');
    const old = p.status.containerStatuses![0].containerID!.replace('docker://', '');
    const t = Date.now();
    assert.equal((await env.d.docker(['rm', '-f', old])).code, 0);
    const healed = await until('a new container', async () => {
      const x = await pod('victim');
      const id = x.status.containerStatuses?.[0]?.containerID;
      return id && id !== `docker://${old}` && x.status.containerStatuses![0].state.running ? x : undefined;
    });
    assert.ok(Date.now() - t < 5000, `noticed through berthd events, not a resync (${Date.now() - t} ms)`);
    assert.equal(healed.status.containerStatuses![0].restartCount, 1);
    // The sandbox: the pod gets a new one and its containers are re-created in it.
    const sandboxOf = async () =>
      (
        await env.d.docker([
          'ps',
          '-q',
          '--filter',
          `label=io.kubernetes.pod.uid=${p.metadata.uid}`,
          '--filter',
          'label=io.kubernetes.docker.type=podsandbox',
        ])
      ).stdout.trim();
    const sandbox = await sandboxOf();
    assert.ok(sandbox, 'the pod has a running sandbox');
    assert.equal((await env.d.docker(['rm', '-f', sandbox])).code, 0);
    const before = (await pod('victim')).status.containerStatuses![0].containerID!;
    const fresh = await until('a new sandbox and container', async () => {
      const now = await sandboxOf();
      const x = await pod('victim');
      const cs = x.status.containerStatuses?.[0];
      return now && now !== sandbox && cs?.state.running && cs.containerID !== before
        ? { now, cs }
        : undefined;
    });
    // The container was re-created inside the new sandbox's namespaces, not left in the removed one's.
    const mode = (
      await env.d.docker(['inspect', '-f', '{{.HostConfig.NetworkMode}}', fresh.cs.containerID!.slice(9)])
    ).stdout.trim();
    assert.match(mode, new RegExp(`^container:${fresh.now}`));
  });

  it('survives kill -9: pods keep running, the next start adopts them and removes orphans', async () => {
    await apply(
      podJson('keeper', {
        containers: [
          { name: 'main', image: 'busybox', imagePullPolicy: 'IfNotPresent', command: ['sleep', '3600'] },
        ],
      }),
    );
    const p = await running('keeper');
    const before = await podContainers(p.metadata.uid, true);
    await kube.kill9();
    const orphan = await env.d.docker([
      'run',
      '-d',
      '--label',
      'io.kubernetes.pod.uid=orphan-0000',
      '--label',
      'io.kubernetes.docker.type=container',
      '--label',
      'io.kubernetes.pod.name=orphan',
      '--label',
      'io.kubernetes.pod.namespace=default',
      '--label',
      'io.kubernetes.container.name=main',
      'busybox',
      'sleep',
      '3600',
    ]);
    assert.equal(orphan.code, 0, orphan.stderr);
    // Nothing of the pod stopped while the control plane was gone.
    assert.deepEqual(await podContainers(p.metadata.uid), before.filter(Boolean).sort());
    await kube.start();
    await until('the orphan removed', async () =>
      (
        await env.d.docker(['ps', '-aq', '--filter', 'label=io.kubernetes.pod.uid=orphan-0000'])
      ).stdout.trim() === ''
        ? true
        : undefined,
    );
    const after = await pod('keeper');
    assert.equal(after.status.containerStatuses![0].containerID, p.status.containerStatuses![0].containerID);
    assert.equal(after.status.containerStatuses![0].restartCount, 0);
    assert.deepEqual(await podContainers(p.metadata.uid, true), before);
  });

  it('turns the node NotReady while berthd is down and Ready again when it is back', async () => {
    const keeper = await pod('keeper');
    await env.d.stop('SIGKILL');
    const down = await until('NotReady', async () => {
      const n = await kube.json<{
        status: { conditions: { type: string; status: string; message: string }[] };
      }>(['get', 'node', NODE]);
      const r = n.status.conditions.find((c) => c.type === 'Ready');
      return r?.status === 'False' ? r : undefined;
    });
    assert.match(down.message, /^container runtime is down: berthd at unix:\/\/\S+ does not answer/);
    assert.match(await kube.k(['get', 'node', NODE]), new RegExp(`${NODE}\\s+NotReady`));
    env.d = await startTestDaemon({
      dataRoot: env.d.dataRoot,
      socket: env.d.socket,
      args: ['--registry-mirror', env.reg.url],
    });
    await until('Ready again', async () =>
      (await kube.k(['get', 'node', NODE])).match(new RegExp(`${NODE}\\s+Ready`)) ? true : undefined,
    );
    // The pod's container lived through berthd's crash (its shim) and is the same one.
    const after = await running('keeper');
    assert.equal(
      after.status.containerStatuses![0].containerID,
      keeper.status.containerStatuses![0].containerID,
    );
  });
});
