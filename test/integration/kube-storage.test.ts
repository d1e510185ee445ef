/**
 * Storage (issue 12) through the real kubectl 1.32 against berth-kube over a real berthd: the default `local-path`
 * class, a claim with no class getting it, WaitForFirstConsumer provisioning a berthd named volume when a pod is
 * scheduled, data surviving from one pod to the next (subPath on the claim and on a ConfigMap), Delete reclaim
 * removing the PV and the volume, static PVs pre-bound either way, a Retain volume Released, pods waiting for a
 * missing or unbound claim with the scheduler's and the kubelet's words, a claim without a storage request refused.
 * And the ServiceAccount admission plugin: the projected kube-api-access volume (its token authenticates as the
 * pod's account), automountServiceAccountToken: false, an unknown account refused. Pod network: a /24 of
 * 10.224.0.0/16.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, promises as fsp } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { ContainerTestEnv } from '../helpers/container-daemon.js';
import { IS_ROOT, requirement } from '../helpers/env.js';
import { run } from '../helpers/exec.js';
import { haveKubectl, KUBECTL, until, type KubeCluster } from '../helpers/kube-cluster.js';
import { startPodCluster, type PodCluster } from '../helpers/kube-pods.js';

const skip =
  requirement(IS_ROOT, 'running pods needs root (berthd)') ??
  requirement(haveKubectl(), `${KUBECTL} is not installed`);
const NODE = 'storage-node';

interface Meta {
  name: string;
  uid: string;
  annotations?: Record<string, string>;
  finalizers?: string[];
}
interface Claim {
  metadata: Meta;
  spec: { storageClassName?: string; volumeName?: string };
  status: { phase: string; capacity?: Record<string, string>; accessModes?: string[] };
}
interface Volume {
  metadata: Meta;
  spec: {
    claimRef?: { name: string; namespace: string; uid?: string };
    hostPath?: { path: string };
    persistentVolumeReclaimPolicy: string;
    nodeAffinity?: unknown;
  };
  status: { phase: string };
}
interface PodObj {
  metadata: Meta;
  spec: {
    serviceAccountName?: string;
    volumes?: Array<{ name: string; projected?: { defaultMode: number; sources: unknown[] } }>;
    containers: Array<{ volumeMounts?: Array<{ name: string; mountPath: string; readOnly?: boolean }> }>;
  };
  status: { phase: string };
}

const doc = (o: object) => JSON.stringify(o);
const claimYaml = (name: string, spec: object = {}) =>
  doc({
    apiVersion: 'v1',
    kind: 'PersistentVolumeClaim',
    metadata: { name, namespace: 'default' },
    spec: { accessModes: ['ReadWriteOnce'], resources: { requests: { storage: '64Mi' } }, ...spec },
  });
const busybox = (name: string, script: string, mounts: object[] = []) => ({
  name,
  image: 'busybox',
  imagePullPolicy: 'IfNotPresent',
  command: ['sh', '-c', script],
  volumeMounts: mounts,
});
const podYaml = (name: string, spec: object) =>
  doc({
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name, namespace: 'default' },
    spec: { terminationGracePeriodSeconds: 1, ...spec },
  });

describe('storage: PVs, claims, local-path on berthd volumes; ServiceAccount admission', { skip }, () => {
  let pc: PodCluster;
  let env: ContainerTestEnv;
  let kube: KubeCluster;
  const net = `kstorage-${process.pid}`;
  const subnet = `10.224.${Math.floor(Math.random() * 250) + 1}.0/24`;
  const hostDir = mkdtempSync(path.join(os.tmpdir(), 'kstorage-pv-'));

  const apply = (yaml: string) => kube.k(['apply', '-f', '-'], { input: yaml });
  const claim = (name: string) => kube.json<Claim>(['get', 'pvc', name]);
  const volume = (name: string) => kube.json<Volume>(['get', 'pv', name]);
  const pod = (name: string) => kube.json<PodObj>(['get', 'pod', name]);
  const claimPhase = (name: string, phase: string) =>
    until(`claim ${name} ${phase}`, async () =>
      (await claim(name)).status.phase === phase ? claim(name) : undefined,
    );
  const podPhase = (name: string, phase: string) =>
    until(`pod ${name} ${phase}`, async () =>
      (await pod(name)).status.phase === phase ? pod(name) : undefined,
    );
  const events = async (kind: string, name: string) =>
    (
      await kube.json<{ items: Array<{ reason: string; message: string; type: string }> }>([
        'get',
        'events',
        '--field-selector',
        `involvedObject.name=${name},involvedObject.kind=${kind}`,
      ])
    ).items;
  const eventLike = (kind: string, name: string, reason: string, re: RegExp) =>
    until(`${reason} event on ${name}`, async () =>
      (await events(kind, name)).find((e) => e.reason === reason && re.test(e.message)),
    );
  const engineVolumes = async () =>
    (await env.d.docker(['volume', 'ls', '--format', '{{.Name}}'])).stdout.split('\n').filter(Boolean);

  before(async () => {
    pc = await startPodCluster({
      port: 18800 + (process.pid % 50),
      nodeName: NODE,
      podCIDR: subnet,
      podNetwork: net,
    });
    ({ env, kube } = pc);
    await until('default service account', () => kube.k(['get', 'sa', 'default']).catch(() => ''));
  });
  after(async () => {
    await pc?.destroy();
    await fsp.rm(hostDir, { recursive: true, force: true });
  });

  it('has the default local-path class, as k3s names it', async () => {
    const out = await kube.k(['get', 'sc']);
    assert.match(
      out,
      /^NAME\s+PROVISIONER\s+RECLAIMPOLICY\s+VOLUMEBINDINGMODE\s+ALLOWVOLUMEEXPANSION\s+AGE\nlocal-path \(default\)\s+rancher\.io\/local-path\s+Delete\s+WaitForFirstConsumer\s+false\s+\d+s\n$/,
    );
  });

  it('provisions a berthd volume for a classless claim when a pod uses it; data outlives the pod; Delete removes it', async () => {
    await apply(claimYaml('data'));
    let c = await claim('data');
    assert.equal(c.spec.storageClassName, 'local-path');
    assert.ok(c.metadata.finalizers?.includes('kubernetes.io/pvc-protection'));
    await eventLike('PersistentVolumeClaim', 'data', 'WaitForFirstConsumer', /waiting for first consumer/);
    assert.equal(c.status.phase, 'Pending');

    await apply(
      doc({
        apiVersion: 'v1',
        kind: 'ConfigMap',
        metadata: { name: 'app' },
        data: { 'app.conf': 'mode=fast\n' },
      }),
    );
    // The writer mounts the claim twice, once through subPath.
    await apply(
      podYaml('writer', {
        restartPolicy: 'Never',
        volumes: [{ name: 'data', persistentVolumeClaim: { claimName: 'data' } }],
        containers: [
          busybox('w', 'echo hello > /nested/f && ls /data/nested', [
            { name: 'data', mountPath: '/data' },
            { name: 'data', mountPath: '/nested', subPath: 'nested' },
          ]),
        ],
      }),
    );
    await podPhase('writer', 'Succeeded');
    assert.equal(await kube.k(['logs', 'writer']), 'f\n');
    c = await claimPhase('data', 'Bound');
    const pvName = `pvc-${c.metadata.uid}`;
    assert.equal(c.spec.volumeName, pvName);
    assert.equal(c.metadata.annotations?.['pv.kubernetes.io/bind-completed'], 'yes');
    assert.equal(c.metadata.annotations?.['volume.kubernetes.io/selected-node'], NODE);
    assert.equal(
      c.metadata.annotations?.['volume.kubernetes.io/storage-provisioner'],
      'rancher.io/local-path',
    );
    assert.deepEqual(c.status.capacity, { storage: '64Mi' });
    const pv = await volume(pvName);
    assert.equal(pv.status.phase, 'Bound');
    assert.equal(pv.spec.persistentVolumeReclaimPolicy, 'Delete');
    assert.equal(pv.metadata.annotations?.['pv.kubernetes.io/provisioned-by'], 'rancher.io/local-path');
    assert.ok(pv.spec.nodeAffinity);
    assert.deepEqual(pv.spec.claimRef && [pv.spec.claimRef.name, pv.spec.claimRef.uid], [
      'data',
      c.metadata.uid,
    ]);
    // The volume is berthd's, labelled with its claim.
    assert.ok((await engineVolumes()).includes(pvName));
    const labels = JSON.parse(
      (await env.d.docker(['volume', 'inspect', '--format', '{{json .Labels}}', pvName])).stdout,
    ) as Record<string, string>;
    assert.equal(labels['io.berth.kube.claim-namespace'], 'default');
    assert.equal(labels['io.berth.kube.claim-name'], 'data');
    assert.equal(labels['io.berth.kube.claim-uid'], c.metadata.uid);
    await eventLike('PersistentVolumeClaim', 'data', 'ProvisioningSucceeded', new RegExp(pvName));

    // kubectl's columns, as 1.32 prints them.
    const table = await kube.k(['get', 'pv,pvc']);
    assert.match(
      table,
      new RegExp(
        `NAME\\s+CAPACITY\\s+ACCESS MODES\\s+RECLAIM POLICY\\s+STATUS\\s+CLAIM\\s+STORAGECLASS\\s+VOLUMEATTRIBUTESCLASS\\s+REASON\\s+AGE\\npersistentvolume/${pvName}\\s+64Mi\\s+RWO\\s+Delete\\s+Bound\\s+default/data\\s+local-path\\s+<unset>\\s+\\d+s`,
      ),
    );
    assert.match(
      table,
      new RegExp(
        `NAME\\s+STATUS\\s+VOLUME\\s+CAPACITY\\s+ACCESS MODES\\s+STORAGECLASS\\s+VOLUMEATTRIBUTESCLASS\\s+AGE\\npersistentvolumeclaim/data\\s+Bound\\s+${pvName}\\s+64Mi\\s+RWO\\s+local-path\\s+<unset>\\s+\\d+s`,
      ),
    );

    // The next pod, after a kill -9 and restart of the control plane, reads what the first wrote; a ConfigMap key
    // arrives by subPath.
    await kube.k(['delete', 'pod', 'writer']);
    await kube.kill9();
    await kube.start();
    assert.equal((await claim('data')).spec.volumeName, pvName);
    await apply(
      podYaml('reader', {
        restartPolicy: 'Never',
        volumes: [
          { name: 'data', persistentVolumeClaim: { claimName: 'data', readOnly: true } },
          { name: 'conf', configMap: { name: 'app' } },
        ],
        containers: [
          busybox('r', 'cat /data/nested/f /etc/app.conf; touch /data/x 2>/dev/null || echo read-only', [
            { name: 'data', mountPath: '/data' },
            { name: 'conf', mountPath: '/etc/app.conf', subPath: 'app.conf' },
          ]),
        ],
      }),
    );
    await podPhase('reader', 'Succeeded');
    assert.equal(await kube.k(['logs', 'reader']), 'hello\nmode=fast\nread-only\n');

    // Deleting the claim while a pod still exists that uses it waits for the pod (pvc-protection).
    await apply(
      podYaml('holder', {
        volumes: [{ name: 'data', persistentVolumeClaim: { claimName: 'data' } }],
        containers: [busybox('h', 'exec sleep 3600', [{ name: 'data', mountPath: '/data' }])],
      }),
    );
    await podPhase('holder', 'Running');
    await kube.k(['delete', 'pvc', 'data', '--wait=false']);
    assert.match(await kube.k(['get', 'pvc', 'data']), /data\s+Terminating\s+/);
    await kube.k(['delete', 'pod', 'holder', 'reader']);
    // Delete reclaim: the claim, the PV and the berthd volume go.
    await until('claim gone', async () => (await kube.kubectl(['get', 'pvc', 'data'])).code !== 0);
    await until('pv gone', async () => (await kube.kubectl(['get', 'pv', pvName])).code !== 0);
    await until('engine volume gone', async () => !(await engineVolumes()).includes(pvName));
  });

  it('gives a generic ephemeral volume its own provisioned claim, gone with the pod', async () => {
    await apply(
      podYaml('scratch', {
        volumes: [
          {
            name: 'work',
            ephemeral: {
              volumeClaimTemplate: {
                metadata: { labels: { kind: 'scratch' } },
                spec: { accessModes: ['ReadWriteOnce'], resources: { requests: { storage: '16Mi' } } },
              },
            },
          },
        ],
        containers: [
          busybox('c', 'echo ok > /work/f && exec sleep 3600', [{ name: 'work', mountPath: '/work' }]),
        ],
      }),
    );
    await podPhase('scratch', 'Running');
    const c = await claimPhase('scratch-work', 'Bound');
    assert.equal(c.spec.storageClassName, 'local-path');
    const p = await pod('scratch');
    assert.deepEqual(
      (
        c.metadata as Meta & { ownerReferences?: Array<{ kind: string; uid: string; controller: boolean }> }
      ).ownerReferences?.map((r) => [r.kind, r.uid, r.controller]),
      [['Pod', p.metadata.uid, true]],
    );
    const pvName = `pvc-${c.metadata.uid}`;
    assert.ok((await engineVolumes()).includes(pvName));
    await kube.k(['delete', 'pod', 'scratch']);
    await until(
      'ephemeral claim gone',
      async () => (await kube.kubectl(['get', 'pvc', 'scratch-work'])).code !== 0,
    );
    await until('its engine volume gone', async () => !(await engineVolumes()).includes(pvName));
  });

  it('binds static volumes pre-bound either way, or by match; Retain leaves a Released volume', async () => {
    const pvYaml = (name: string, spec: object = {}) =>
      doc({
        apiVersion: 'v1',
        kind: 'PersistentVolume',
        metadata: { name, labels: { tier: name } },
        spec: {
          capacity: { storage: '1Gi' },
          accessModes: ['ReadWriteOnce'],
          storageClassName: '',
          hostPath: { path: path.join(hostDir, name), type: 'DirectoryOrCreate' },
          ...spec,
        },
      });
    // A PV reserved for a claim by its claimRef (no uid), and a claim naming its PV.
    await apply(pvYaml('reserved', { claimRef: { namespace: 'default', name: 'wants-reserved' } }));
    await apply(pvYaml('named'));
    await apply(pvYaml('big', { capacity: { storage: '5Gi' } }));
    assert.equal((await volume('named')).metadata.finalizers?.[0], 'kubernetes.io/pv-protection');
    await apply(claimYaml('wants-reserved', { storageClassName: '' }));
    await apply(claimYaml('wants-named', { storageClassName: '', volumeName: 'named' }));
    // A selector picks among the rest: only `big` matches.
    await apply(claimYaml('by-match', { storageClassName: '', selector: { matchLabels: { tier: 'big' } } }));

    const r = await claimPhase('wants-reserved', 'Bound');
    assert.equal(r.spec.volumeName, 'reserved');
    assert.equal(r.metadata.annotations?.['pv.kubernetes.io/bound-by-controller'], 'yes');
    const rv = await volume('reserved');
    assert.equal(rv.spec.claimRef?.uid, r.metadata.uid);
    // The user's claimRef: not the controller's binding.
    assert.equal(rv.metadata.annotations?.['pv.kubernetes.io/bound-by-controller'], undefined);
    const n = await claimPhase('wants-named', 'Bound');
    assert.equal(n.metadata.annotations?.['pv.kubernetes.io/bound-by-controller'], undefined);
    assert.equal(
      (await volume('named')).metadata.annotations?.['pv.kubernetes.io/bound-by-controller'],
      'yes',
    );
    const m = await claimPhase('by-match', 'Bound');
    assert.equal(m.spec.volumeName, 'big');
    assert.deepEqual(m.status.capacity, { storage: '5Gi' });

    // A hostPath PV's content reaches the pod.
    await fsp.mkdir(path.join(hostDir, 'named'), { recursive: true });
    await fsp.writeFile(path.join(hostDir, 'named', 'greeting'), 'from the host\n');
    await apply(
      podYaml('static-reader', {
        restartPolicy: 'Never',
        volumes: [{ name: 'v', persistentVolumeClaim: { claimName: 'wants-named' } }],
        containers: [busybox('r', 'cat /v/greeting', [{ name: 'v', mountPath: '/v' }])],
      }),
    );
    await podPhase('static-reader', 'Succeeded');
    assert.equal(await kube.k(['logs', 'static-reader']), 'from the host\n');
    await kube.k(['delete', 'pod', 'static-reader']);

    // Retain (the default of a manual PV): the claim goes, the volume stays Released with its data.
    await kube.k(['delete', 'pvc', 'wants-named']);
    await until('named Released', async () => (await volume('named')).status.phase === 'Released');
    assert.match(await fsp.readFile(path.join(hostDir, 'named', 'greeting'), 'utf8'), /from the host/);
    // A pre-bound claim whose volume is missing says so.
    await apply(claimYaml('wants-ghost', { storageClassName: '', volumeName: 'ghost' }));
    await eventLike('PersistentVolumeClaim', 'wants-ghost', 'FailedBinding', /^volume "ghost" not found$/);
    assert.equal((await claim('wants-ghost')).status.phase, 'Pending');
  });

  it('holds pods whose claims are missing or unbound, with clear events', async () => {
    await apply(
      podYaml('no-claim', {
        volumes: [{ name: 'v', persistentVolumeClaim: { claimName: 'nope' } }],
        containers: [busybox('c', 'sleep 3600')],
      }),
    );
    await eventLike(
      'Pod',
      'no-claim',
      'FailedScheduling',
      /^0\/1 nodes are available: persistentvolumeclaim "nope" not found\./,
    );
    // Put on the node by hand, a pod with an unbound claim waits in ContainerCreating with FailedMount.
    await apply(claimYaml('unbound', { storageClassName: '' }));
    await apply(
      podYaml('on-node', {
        nodeName: NODE,
        volumes: [{ name: 'v', persistentVolumeClaim: { claimName: 'unbound' } }],
        containers: [busybox('c', 'sleep 3600', [{ name: 'v', mountPath: '/v' }])],
      }),
    );
    await eventLike(
      'Pod',
      'on-node',
      'FailedMount',
      /failed to process volumes=\[v\]: error processing PVC default\/unbound: PVC is not bound/,
    );
    assert.equal((await pod('on-node')).status.phase, 'Pending');
    await eventLike(
      'PersistentVolumeClaim',
      'unbound',
      'FailedBinding',
      /no persistent volumes available for this claim and no storage class is set/,
    );
    await kube.k(['delete', 'pod', 'no-claim', 'on-node']);
  });

  it('refuses a claim without a storage request as kube-apiserver does', async () => {
    const r = await kube.kubectl(['create', '-f', '-'], {
      input: doc({
        apiVersion: 'v1',
        kind: 'PersistentVolumeClaim',
        metadata: { name: 'bad' },
        spec: { accessModes: ['ReadWriteOnce'] },
      }),
    });
    assert.notEqual(r.code, 0);
    assert.match(
      r.stderr,
      /The PersistentVolumeClaim "bad" is invalid: spec\.resources\[storage\]: Required value/,
    );
  });

  it("mounts the kube-api-access volume whose token authenticates as the pod's account", async () => {
    await apply(
      podYaml('sa-pod', {
        containers: [busybox('c', 'exec sleep 3600')],
        initContainers: [busybox('i', 'true')],
      }),
    );
    const p = await podPhase('sa-pod', 'Running');
    assert.equal(p.spec.serviceAccountName, 'default');
    const vol = p.spec.volumes?.find((v) =>
      /^kube-api-access-[bcdfghjklmnpqrstvwxz2456789]{5}$/.test(v.name),
    );
    assert.ok(vol, JSON.stringify(p.spec.volumes));
    assert.deepEqual(vol.projected, {
      defaultMode: 420,
      sources: [
        { serviceAccountToken: { expirationSeconds: 3607, path: 'token' } },
        { configMap: { name: 'kube-root-ca.crt', items: [{ key: 'ca.crt', path: 'ca.crt' }] } },
        {
          downwardAPI: {
            items: [{ path: 'namespace', fieldRef: { apiVersion: 'v1', fieldPath: 'metadata.namespace' } }],
          },
        },
      ],
    });
    assert.deepEqual(p.spec.containers[0].volumeMounts, [
      { name: vol.name, mountPath: '/var/run/secrets/kubernetes.io/serviceaccount', readOnly: true },
    ]);
    const dir = '/var/run/secrets/kubernetes.io/serviceaccount';
    assert.equal(await kube.k(['exec', 'sa-pod', '--', 'cat', `${dir}/namespace`]), 'default');
    assert.match(await kube.k(['exec', 'sa-pod', '--', 'cat', `${dir}/ca.crt`]), /BEGIN CERTIFICATE/);
    const token = await kube.k(['exec', 'sa-pod', '--', 'cat', `${dir}/token`]);
    // From the host, with nothing but the server, its CA and the token (no client certificate).
    const cfg = await fsp.readFile(kube.kubeconfig, 'utf8');
    const server = /server: (\S+)/.exec(cfg)![1];
    const ca = path.join(hostDir, 'ca.crt');
    await fsp.writeFile(ca, Buffer.from(/certificate-authority-data: (\S+)/.exec(cfg)![1], 'base64'));
    const empty = path.join(hostDir, 'empty-kubeconfig');
    await fsp.writeFile(empty, '');
    const who = await run(
      KUBECTL,
      [
        '--kubeconfig',
        empty,
        '--server',
        server,
        '--certificate-authority',
        ca,
        '--token',
        token,
        '--cache-dir',
        path.join(hostDir, 'cache'),
        'auth',
        'whoami',
        '-o',
        'jsonpath={.status.userInfo.username}',
      ],
      { timeoutMs: 30_000 },
    );
    assert.equal(who.code, 0, who.stderr);
    assert.equal(who.stdout, 'system:serviceaccount:default:default');

    // Opted out on the pod: no volume, no mount.
    await apply(
      podYaml('no-token', { automountServiceAccountToken: false, containers: [busybox('c', 'sleep 1')] }),
    );
    const q = await pod('no-token');
    assert.equal(q.spec.volumes, undefined);
    assert.deepEqual(q.spec.containers[0].volumeMounts, []);

    // An account that does not exist.
    const r = await kube.kubectl(['create', '-f', '-'], {
      input: podYaml('ghost', { serviceAccountName: 'ghost', containers: [busybox('c', 'true')] }),
    });
    assert.notEqual(r.code, 0);
    assert.match(
      r.stderr,
      /pods "ghost" is forbidden: error looking up service account default\/ghost: serviceaccount "ghost" not found/,
    );
    await kube.k(['delete', 'pod', 'sa-pod', 'no-token']);
  });
});
