/**
 * The kubelet's engine side against a real berthd (issue 12, Kubelet): pods as a sandbox plus containers with
 * cri-dockerd's names and labels, init containers in order, a shared network and hostname, command/args/env,
 * volumes that follow ConfigMap updates, OOMKilled, image pull policies with the local-image fallback, restarts
 * with back-off, adoption by a new runtime, orphans, `docker rm -f` of a pod container, and bad input.
 * The pod network is a random /24 of 10.214.0.0/16.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, promises as fsp } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { EngineRuntime } from '@berth/kube/kubelet/runtime';
import type { PodInputs } from '@berth/kube/kubelet/inputs';
import type { KubeletEvent } from '@berth/kube/kubelet/provider';
import type { Pod } from '@berth/kube/kubelet/types';
import { startContainerDaemon, type ContainerTestEnv } from '../helpers/container-daemon.js';
import { IS_ROOT, requirement } from '../helpers/env.js';
import { until } from '../helpers/kube-cluster.js';

const skip = requirement(IS_ROOT, 'running pods needs root (berthd)');
const NET = `kpods-${process.pid}`;
const SUBNET = `10.214.${Math.floor(Math.random() * 250) + 1}.0/24`;

let n = 0;
function pod(name: string, spec: Pod['spec']): Pod {
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name, namespace: 'default', uid: `uid-${process.pid}-${++n}`, labels: { app: name } },
    spec: { restartPolicy: 'Always', terminationGracePeriodSeconds: 2, ...spec } as Pod['spec'],
  };
}

const noInputs = (): PodInputs => ({ configMaps: {}, secrets: {} });

describe('kubelet runtime over berthd', { skip }, () => {
  let env: ContainerTestEnv;
  let root: string;
  let rt: EngineRuntime;
  const events: Array<KubeletEvent & { pod: string }> = [];
  const make = (backoffMs = 10_000) =>
    new EngineRuntime({
      engine: `unix://${env.d.socket}`,
      root,
      nodeName: 'berth',
      hostIP: '127.0.0.1',
      network: { name: NET, subnet: SUBNET },
      record: (p, e) => events.push({ ...e, pod: p.metadata!.name! }),
      backoff: { initialMs: backoffMs, maxMs: backoffMs * 4 },
    });
  const docker = async (...args: string[]) => {
    const r = await env.d.docker(args);
    assert.equal(r.code, 0, r.stderr);
    return r.stdout.trim();
  };
  /** Syncs until `ok` holds for the pod's runtime status. */
  const syncUntil = async (
    p: Pod,
    inputs: PodInputs,
    ok: (s: Awaited<ReturnType<EngineRuntime['podStatus']>>) => boolean,
    ms = 20_000,
  ) =>
    until(
      `pod ${p.metadata!.name}`,
      async () => {
        await rt.syncPod(p, inputs);
        const s = await rt.podStatus(p);
        return ok(s) ? s : undefined;
      },
      ms,
    );

  before(async () => {
    env = await startContainerDaemon();
    root = mkdtempSync(path.join(os.tmpdir(), 'berth-kubelet-'));
    rt = make();
  });
  after(async () => {
    if (rt) for (const p of await rt.listPods()) await rt.removePod(p.uid);
    await env?.d.request('DELETE', `/networks/${NET}`);
    await env?.d.destroy();
    if (root) await fsp.rm(root, { recursive: true, force: true });
  });

  it('runs init containers in order, then two containers sharing the sandbox network and hostname', async () => {
    const p = pod('web', {
      initContainers: [
        {
          name: 'init-a',
          image: 'busybox',
          imagePullPolicy: 'IfNotPresent',
          command: ['sh', '-c', 'echo a >> /work/order'],
          volumeMounts: [{ name: 'work', mountPath: '/work' }],
        },
        {
          name: 'init-b',
          image: 'busybox',
          imagePullPolicy: 'IfNotPresent',
          command: ['sh', '-c', 'echo b >> /work/order'],
          volumeMounts: [{ name: 'work', mountPath: '/work' }],
        },
      ],
      containers: [
        {
          name: 'server',
          image: 'busybox',
          imagePullPolicy: 'IfNotPresent',
          command: ['sh', '-c', 'while true; do nc -l -p 8080 < /work/order; done'],
          volumeMounts: [{ name: 'work', mountPath: '/work' }],
        },
        { name: 'client', image: 'busybox', imagePullPolicy: 'IfNotPresent', command: ['sleep', '3600'] },
      ],
      volumes: [{ name: 'work', emptyDir: {} }],
    });
    const s = await syncUntil(p, noInputs(), (x) => x.containerStatuses.every((c) => c.state?.running));
    assert.equal(s.phase, 'Running');
    assert.equal(s.qosClass, 'BestEffort');
    assert.match(s.podIP, /^10\.214\./);
    assert.deepEqual(
      s.initContainerStatuses.map((c) => [
        c.name,
        c.state?.terminated?.reason,
        c.state?.terminated?.exitCode,
      ]),
      [
        ['init-a', 'Completed', 0],
        ['init-b', 'Completed', 0],
      ],
    );
    for (const c of s.containerStatuses) {
      assert.match(c.containerID!, /^docker:\/\/[0-9a-f]{64}$/);
      assert.match(c.imageID, /^docker(-pullable)?:\/\//);
      assert.equal(c.restartCount, 0);
    }
    const uid = p.metadata!.uid!;
    const names = (
      await docker(
        'ps',
        '--filter',
        `label=io.kubernetes.pod.uid=${uid}`,
        '--format',
        '{{.Names}} {{.Label "io.kubernetes.container.name"}} {{.Label "io.kubernetes.docker.type"}}',
      )
    )
      .split('\n')
      .sort();
    assert.deepEqual(names, [
      `k8s_POD_web_default_${uid}_0 POD podsandbox`,
      `k8s_client_web_default_${uid}_0 client container`,
      `k8s_server_web_default_${uid}_0 server container`,
    ]);
    const client = `k8s_client_web_default_${uid}_0`;
    assert.equal(await docker('exec', client, 'hostname'), 'web');
    // The kubelet's OOM scores (pkg/kubelet/qos/policy.go): the sandbox -998, best-effort containers 1000 (a
    // score berthd can always give, so the process has it, execs included).
    assert.equal(
      await docker('inspect', '--format', '{{.HostConfig.OomScoreAdj}}', `k8s_POD_web_default_${uid}_0`),
      '-998',
    );
    assert.equal(
      await docker('exec', client, 'cat', '/proc/1/oom_score_adj', '/proc/self/oom_score_adj'),
      '1000\n1000',
    );
    // Same network namespace: the client reaches the server on localhost; the init containers ran a then b.
    const got = await until(
      'server answers',
      async () => (await env.d.docker(['exec', client, 'sh', '-c', 'nc 127.0.0.1 8080 </dev/null'])).stdout,
    );
    assert.equal(got, 'a\nb\n');
    assert.match(
      await docker('exec', client, 'cat', '/etc/hosts'),
      new RegExp(`${s.podIP.replace(/\./g, '\\.')}\\tweb`),
    );
    const ev = events.filter((e) => e.pod === 'web').map((e) => `${e.reason}:${e.fieldPath ?? ''}`);
    assert.ok(
      ev.includes('Started:spec.initContainers{init-a}') && ev.includes('Started:spec.containers{client}'),
      ev.join(' '),
    );
  });

  it('command/args against the image, env from values, ConfigMaps, Secrets and the downward API; volumes follow updates', async () => {
    const inputs: PodInputs = {
      configMaps: { cfg: { metadata: { name: 'cfg' }, data: { greeting: 'hello', 'app.conf': 'v1' } } },
      secrets: {
        sec: { metadata: { name: 'sec' }, data: { token: Buffer.from('s3cret').toString('base64') } },
      },
      serviceEnv: { KUBERNETES_SERVICE_HOST: '10.43.0.1' },
    };
    const p = pod('envy', {
      containers: [
        {
          name: 'main',
          image: 'busybox',
          imagePullPolicy: 'IfNotPresent',
          command: ['sh', '-c'],
          args: ['echo "$(GREETING) $NAME $TOKEN $POD $SVC" > /tmp/out; sleep 3600'],
          env: [
            { name: 'NAME', value: 'x-$(GREETING)' },
            { name: 'GREETING', valueFrom: { configMapKeyRef: { name: 'cfg', key: 'greeting' } } },
            { name: 'TOKEN', valueFrom: { secretKeyRef: { name: 'sec', key: 'token' } } },
            { name: 'POD', valueFrom: { fieldRef: { fieldPath: 'metadata.name' } } },
            { name: 'SVC', value: '$(KUBERNETES_SERVICE_HOST)' },
          ],
          workingDir: '/tmp',
          volumeMounts: [{ name: 'conf', mountPath: '/etc/app' }],
        },
      ],
      volumes: [{ name: 'conf', configMap: { name: 'cfg', items: [{ key: 'app.conf', path: 'app.conf' }] } }],
    });
    await syncUntil(p, inputs, (x) => !!x.containerStatuses[0].state?.running);
    const name = `k8s_main_envy_default_${p.metadata!.uid}_0`;
    // NAME expanded before GREETING was defined: the reference stays verbatim, as Kubernetes does.
    assert.equal(
      await until('out', async () => (await env.d.docker(['exec', name, 'cat', '/tmp/out'])).stdout.trim()),
      'hello x-$(GREETING) s3cret envy 10.43.0.1',
    );
    assert.equal(await docker('exec', name, 'cat', '/etc/app/app.conf'), 'v1');
    inputs.configMaps.cfg.data!['app.conf'] = 'v2';
    assert.deepEqual(await rt.refreshVolumes(p, inputs), ['conf']);
    assert.equal(await docker('exec', name, 'cat', '/etc/app/app.conf'), 'v2');
    assert.match(await docker('exec', name, 'ls', '-a', '/etc/app'), /\.\.data/);
  });

  it("reports a missing ConfigMap key and a bad hostPath type in the kubelet's words", async () => {
    const p = pod('bad-env', {
      containers: [
        {
          name: 'c',
          image: 'busybox',
          imagePullPolicy: 'IfNotPresent',
          command: ['true'],
          env: [{ name: 'X', valueFrom: { configMapKeyRef: { name: 'cfg', key: 'nope' } } }],
        },
      ],
    });
    const inputs: PodInputs = { configMaps: { cfg: { metadata: { name: 'cfg' }, data: {} } }, secrets: {} };
    await rt.syncPod(p, inputs);
    const s = await rt.podStatus(p);
    assert.deepEqual(s.containerStatuses[0].state?.waiting, {
      reason: 'CreateContainerConfigError',
      message: "couldn't find key nope in ConfigMap default/cfg",
    });
    assert.equal(s.phase, 'Pending');
    assert.ok(
      events.some(
        (e) =>
          e.pod === 'bad-env' &&
          e.type === 'Warning' &&
          e.message === "Error: couldn't find key nope in ConfigMap default/cfg",
      ),
    );

    const file = path.join(root, 'a-file');
    await fsp.writeFile(file, 'x');
    const h = pod('bad-host', {
      containers: [
        {
          name: 'c',
          image: 'busybox',
          imagePullPolicy: 'IfNotPresent',
          command: ['true'],
          volumeMounts: [{ name: 'h', mountPath: '/h' }],
        },
      ],
      volumes: [{ name: 'h', hostPath: { path: file, type: 'Directory' } }],
    });
    await rt.syncPod(h, noInputs());
    const e = events.find((x) => x.pod === 'bad-host' && x.reason === 'FailedMount');
    assert.equal(
      e?.message,
      `MountVolume.SetUp failed for volume "h" : hostPath type check failed: ${file} is not a directory`,
    );
    assert.equal((await rt.podStatus(h)).containerStatuses[0].state?.waiting?.reason, 'ContainerCreating');
  });

  it('a container that exits at once restarts with back-off; OOMKilled is reported', async () => {
    const fast = make(1000);
    const p = pod('crash', {
      containers: [
        {
          name: 'c',
          image: 'busybox',
          imagePullPolicy: 'IfNotPresent',
          command: ['sh', '-c', 'echo bye; exit 3'],
        },
      ],
    });
    const s = await until('CrashLoopBackOff', async () => {
      await fast.syncPod(p, noInputs());
      const st = await fast.podStatus(p);
      const c = st.containerStatuses[0];
      return c.state?.waiting?.reason === 'CrashLoopBackOff' && c.restartCount >= 1 ? st : undefined;
    });
    const c = s.containerStatuses[0];
    assert.equal(c.lastState?.terminated?.exitCode, 3);
    assert.equal(c.lastState?.terminated?.reason, 'Error');
    assert.match(
      c.state!.waiting!.message!,
      /^back-off \d+s restarting failed container=c pod=crash_default\(/,
    );
    assert.ok(events.some((e) => e.pod === 'crash' && e.reason === 'BackOff' && e.type === 'Warning'));

    const oom = pod('oom', {
      restartPolicy: 'Never',
      containers: [
        {
          name: 'c',
          image: 'busybox',
          imagePullPolicy: 'IfNotPresent',
          command: ['sh', '-c', 'x=a; while true; do x=$x$x; done'],
          resources: { limits: { memory: '16Mi', cpu: '500m' } },
        },
      ],
    });
    const o = await syncUntil(oom, noInputs(), (x) => !!x.containerStatuses[0].state?.terminated, 60_000);
    assert.equal(o.containerStatuses[0].state!.terminated!.reason, 'OOMKilled');
    assert.equal(o.phase, 'Failed');
    assert.equal(o.qosClass, 'Guaranteed', 'limits alone: requests default to them');
    const hc = JSON.parse(
      await docker('inspect', '--format', '{{json .HostConfig}}', `k8s_c_oom_default_${oom.metadata!.uid}_0`),
    ) as { Memory: number; CpuQuota: number; CpuPeriod: number; OomScoreAdj: number };
    assert.deepEqual(
      [hc.Memory, hc.CpuQuota, hc.CpuPeriod, hc.OomScoreAdj],
      [16 * 1024 * 1024, 50_000, 100_000, -997],
    );
  });

  it('a missing image is ErrImagePull with the registry message, then ImagePullBackOff; a local image is the fallback', async () => {
    const missing = `${env.reg.host}/nope:1.0`;
    const p = pod('noimg', { containers: [{ name: 'c', image: missing, command: ['true'] }] });
    await rt.syncPod(p, noInputs());
    let w = (await rt.podStatus(p)).containerStatuses[0].state?.waiting;
    assert.equal(w?.reason, 'ErrImagePull');
    assert.match(w.message!, new RegExp(`^Failed to pull image "${missing}": .*(not found|unknown)`, 'i'));
    await rt.syncPod(p, noInputs());
    w = (await rt.podStatus(p)).containerStatuses[0].state?.waiting;
    assert.deepEqual(w, { reason: 'ImagePullBackOff', message: `Back-off pulling image "${missing}"` });

    // docker build/tag then a pod with that name: the pull fails (no such repository), the local image runs.
    await docker('tag', 'busybox', 'myapp');
    const l = pod('local', { containers: [{ name: 'c', image: 'myapp', command: ['sleep', '3600'] }] });
    const s = await syncUntil(l, noInputs(), (x) => !!x.containerStatuses[0].state?.running, 60_000);
    assert.equal(s.phase, 'Running');
    const warn = events.find(
      (e) => e.pod === 'local' && e.type === 'Warning' && e.reason === 'PullFailedUsingLocalImage',
    );
    assert.match(
      warn?.message ?? '',
      /^Failed to pull image "myapp": .*running the image found in the local store instead$/,
    );
  });

  it('a new runtime adopts running pods, heals a docker rm -f, and removes orphans', async () => {
    const p = pod('adopt', {
      containers: [
        { name: 'c', image: 'busybox', imagePullPolicy: 'IfNotPresent', command: ['sleep', '3600'] },
      ],
    });
    const first = await syncUntil(p, noInputs(), (x) => !!x.containerStatuses[0].state?.running);
    const id = first.containerStatuses[0].containerID;
    // What the caller wrote back to the API server; a new runtime reads restart counts from it.
    p.status = { containerStatuses: first.containerStatuses };
    rt = make();
    await rt.syncPod(p, noInputs());
    const again = await rt.podStatus(p);
    assert.equal(
      again.containerStatuses[0].containerID,
      id,
      'the running container was adopted, not replaced',
    );
    assert.equal(
      (await docker('ps', '-q', '--filter', `label=io.kubernetes.pod.uid=${p.metadata!.uid}`)).split('\n')
        .length,
      2,
    );

    await docker('rm', '-f', id!.slice('docker://'.length));
    const healed = await syncUntil(
      p,
      noInputs(),
      (x) => !!x.containerStatuses[0].state?.running && x.containerStatuses[0].containerID !== id,
    );
    assert.equal(healed.containerStatuses[0].restartCount, 1);

    const keep = new Set([p.metadata!.uid!]);
    const removed = await rt.removeOrphans(keep);
    assert.ok(removed.length >= 1, "the other tests' pods are orphans now");
    assert.deepEqual(
      (await rt.listPods()).map((x) => x.uid),
      [p.metadata!.uid],
    );
    await rt.killPod(p);
    assert.equal((await rt.podStatus(p)).sandboxReady, false);
  });
});
