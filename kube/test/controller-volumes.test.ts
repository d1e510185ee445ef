/**
 * The persistentvolume binder and the protection controllers against an in-process API server (no engine: the
 * local-path provisioner is the kubectl suite's, test/integration/kube-storage), and the ServiceAccount and
 * DefaultStorageClass admission plugins on their own.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { ServiceAccountAdmission } from '../src/admission/plugins/service-account.js';
import { DefaultStorageClass, defaultClass } from '../src/admission/plugins/storage.js';
import type { AdmissionAttributes } from '../src/admission/types.js';
import type { PersistentVolume, PersistentVolumeClaim } from '../src/controllers/framework/types.js';
import { isKubeError } from '../src/errors.js';
import type { KubeObject } from '../src/registry/types.js';
import { startTestCluster, until, type TestCluster } from './helpers/cluster.js';

let c: TestCluster;
before(async () => {
  c = await startTestCluster();
});
after(async () => {
  await c.stop();
});

const pvs = () => c.s.client.resource<PersistentVolume>('v1', 'persistentvolumes');
const pvcs = () => c.s.client.resource<PersistentVolumeClaim>('v1', 'persistentvolumeclaims');
const claim = (name: string) => pvcs().get(name, { namespace: 'default' });
const volume = (name: string) => pvs().get(name);
const events = async (name: string) =>
  (await c.s.client.resource('v1', 'events').list({ fieldSelector: `involvedObject.name=${name}` }))
    .items as Array<{ reason: string; message: string; type: string }>;

const pv = (
  name: string,
  size: string,
  spec: Record<string, unknown> = {},
  labels: Record<string, string> = {},
) =>
  pvs().create({
    apiVersion: 'v1',
    kind: 'PersistentVolume',
    metadata: { name, labels },
    spec: {
      capacity: { storage: size },
      accessModes: ['ReadWriteOnce'],
      storageClassName: 'manual',
      hostPath: { path: `/tmp/${name}` },
      ...spec,
    },
  });
const pvc = (name: string, size: string, spec: Record<string, unknown> = {}) =>
  pvcs().create(
    {
      apiVersion: 'v1',
      kind: 'PersistentVolumeClaim',
      metadata: { name, namespace: 'default' },
      spec: {
        accessModes: ['ReadWriteOnce'],
        resources: { requests: { storage: size } },
        storageClassName: 'manual',
        ...spec,
      },
    },
    { namespace: 'default' },
  );

describe('persistentvolume binder', () => {
  it('binds a claim to the smallest Available volume that fits its size, modes and selector', async () => {
    await pv('small', '1Gi');
    await pv('medium', '5Gi', {}, { disk: 'ssd' });
    await pv('large', '10Gi', {}, { disk: 'ssd' });
    await pv('rwx', '2Gi', { accessModes: ['ReadWriteMany'] });
    await pvc('fits', '2Gi', { selector: { matchLabels: { disk: 'ssd' } } });
    await until('fits bound', async () => (await claim('fits')).status?.phase === 'Bound');
    const cl = await claim('fits');
    assert.equal(cl.spec?.volumeName, 'medium');
    assert.deepEqual(cl.status?.capacity, { storage: '5Gi' });
    assert.deepEqual(cl.status?.accessModes, ['ReadWriteOnce']);
    assert.equal(cl.metadata?.annotations?.['pv.kubernetes.io/bind-completed'], 'yes');
    assert.equal(cl.metadata?.annotations?.['pv.kubernetes.io/bound-by-controller'], 'yes');
    assert.deepEqual(cl.metadata?.finalizers, ['kubernetes.io/pvc-protection']);
    const v = await volume('medium');
    assert.equal(v.status?.phase, 'Bound');
    assert.equal(v.spec?.claimRef?.uid, cl.metadata?.uid);
    assert.equal(v.metadata?.annotations?.['pv.kubernetes.io/bound-by-controller'], 'yes');
    assert.deepEqual(v.metadata?.finalizers, ['kubernetes.io/pv-protection']);
    await until('others Available', async () => (await volume('small')).status?.phase === 'Available');
  });

  it('leaves a claim Pending with an event when nothing fits and no class provisions', async () => {
    await pvc('too-big', '100Gi');
    await until('event', async () =>
      (await events('too-big')).some(
        (e) =>
          e.reason === 'ProvisioningFailed' && e.message === 'storageclass.storage.k8s.io "manual" not found',
      ),
    );
    assert.equal((await claim('too-big')).status?.phase, 'Pending');
    await pvc('classless', '1Gi', { storageClassName: '' });
    await until('classless event', async () =>
      (await events('classless')).some(
        (e) =>
          e.reason === 'FailedBinding' &&
          e.message === 'no persistent volumes available for this claim and no storage class is set',
      ),
    );
  });

  it('refuses a pre-bound claim its volume cannot satisfy, and reports a volume bound elsewhere', async () => {
    await pvc('wants-small', '3Gi', { volumeName: 'small' });
    await until('mismatch event', async () =>
      (await events('wants-small')).some(
        (e) =>
          e.reason === 'VolumeMismatch' &&
          e.message === 'Cannot bind to requested volume "small": requested PV is too small',
      ),
    );
    await pvc('wants-medium', '1Gi', { volumeName: 'medium' });
    await until('bound elsewhere event', async () =>
      (await events('wants-medium')).some(
        (e) =>
          e.reason === 'FailedBinding' && e.message === 'volume "medium" already bound to a different claim.',
      ),
    );
    assert.equal((await claim('wants-medium')).status?.phase, 'Pending');
  });

  it('releases a Retain volume and fails a Delete volume no provisioner owns', async () => {
    await pv('keep', '1Gi', { storageClassName: 'r', persistentVolumeReclaimPolicy: 'Retain' });
    await pv('drop', '1Gi', { storageClassName: 'd', persistentVolumeReclaimPolicy: 'Delete' });
    await pvc('on-keep', '1Gi', { storageClassName: 'r' });
    await pvc('on-drop', '1Gi', { storageClassName: 'd' });
    await until('both bound', async () =>
      [(await claim('on-keep')).status?.phase, (await claim('on-drop')).status?.phase].every(
        (p) => p === 'Bound',
      ),
    );
    await pvcs().delete('on-keep', { namespace: 'default' });
    await pvcs().delete('on-drop', { namespace: 'default' });
    await until('keep Released', async () => (await volume('keep')).status?.phase === 'Released');
    await until('drop Failed', async () => (await volume('drop')).status?.phase === 'Failed');
    const failed = await volume('drop');
    assert.equal(
      failed.status?.message,
      'error getting deleter volume plugin for volume "drop": no deletable volume plugin matched',
    );
    // Released, not Bound: pv-protection lets it go.
    await pvs().delete('keep');
    await until('keep gone', async () => {
      try {
        await volume('keep');
        return false;
      } catch (e) {
        return isKubeError(e, 'NotFound');
      }
    });
  });

  it('keeps a claim in use Terminating until its pod is gone (pvc-protection)', async () => {
    await pv('used', '1Gi', { storageClassName: 'u' });
    await pvc('in-use', '1Gi', { storageClassName: 'u' });
    await until('in-use bound', async () => (await claim('in-use')).status?.phase === 'Bound');
    const pods = c.s.client.resource('v1', 'pods');
    await pods.create(
      {
        apiVersion: 'v1',
        kind: 'Pod',
        metadata: { name: 'user', namespace: 'default' },
        spec: {
          volumes: [{ name: 'v', persistentVolumeClaim: { claimName: 'in-use' } }],
          containers: [{ name: 'c', image: 'busybox' }],
        },
      },
      { namespace: 'default' },
    );
    await until(
      'pod scheduled',
      async () =>
        !!((await pods.get('user', { namespace: 'default' })).spec as { nodeName?: string })?.nodeName,
    );
    await pvcs().delete('in-use', { namespace: 'default' });
    await c.settle();
    const held = await claim('in-use');
    assert.ok(held.metadata?.deletionTimestamp);
    // A bound volume is not deleted either while its claim holds it.
    await pvs().delete('used');
    await c.settle();
    assert.ok((await volume('used')).metadata?.deletionTimestamp);
    await pods.delete('user', { namespace: 'default', gracePeriodSeconds: 0 });
    await until('claim gone', async () => {
      try {
        await claim('in-use');
        return false;
      } catch (e) {
        return isKubeError(e, 'NotFound');
      }
    });
    await until('volume gone', async () => {
      try {
        await volume('used');
        return false;
      } catch (e) {
        return isKubeError(e, 'NotFound');
      }
    });
  });
});

describe('ephemeral volume controller', () => {
  const podWith = (name: string) =>
    c.s.client.resource('v1', 'pods').create(
      {
        apiVersion: 'v1',
        kind: 'Pod',
        metadata: { name, namespace: 'default' },
        spec: {
          volumes: [
            {
              name: 'work',
              ephemeral: {
                volumeClaimTemplate: {
                  metadata: { labels: { from: 'template' } },
                  spec: {
                    accessModes: ['ReadWriteOnce'],
                    storageClassName: 'manual',
                    resources: { requests: { storage: '1Gi' } },
                  },
                },
              },
            },
          ],
          containers: [{ name: 'c', image: 'busybox' }],
        },
      },
      { namespace: 'default' },
    );

  it('makes a claim per ephemeral volume, owned by the pod, and leaves one it does not own', async () => {
    const p = await podWith('eph');
    await until('claim made', async () => {
      try {
        return !!(await claim('eph-work'));
      } catch {
        return false;
      }
    });
    const cl = await claim('eph-work');
    assert.deepEqual(cl.metadata?.labels, { from: 'template' });
    assert.deepEqual(
      cl.metadata?.ownerReferences?.map((r) => [r.kind, r.name, r.uid, r.controller, r.blockOwnerDeletion]),
      [['Pod', 'eph', p.metadata?.uid, true, true]],
    );
    await pvc('squatter-work', '1Gi');
    await podWith('squatter');
    await until('not-owner event', async () =>
      (await events('squatter')).some(
        (e) =>
          e.reason === 'FailedBinding' &&
          e.message ===
            'PVC default/squatter-work was not created for pod default/squatter (pod is not owner)',
      ),
    );
    assert.equal((await claim('squatter-work')).metadata?.ownerReferences, undefined);
  });
});

const attrs = (resource: string, name: string): AdmissionAttributes => ({
  operation: 'CREATE',
  kind: { group: '', version: 'v1', kind: resource === 'pods' ? 'Pod' : 'PersistentVolumeClaim' },
  resource: { group: '', version: 'v1', resource },
  subresource: '',
  name,
  namespace: 'ns',
  user: { name: 'u', groups: [] },
  dryRun: false,
});

describe('ServiceAccount admission', () => {
  const podOf = (spec: Record<string, unknown>): KubeObject => ({
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name: 'p', namespace: 'ns' },
    spec,
  });

  it('defaults the account, mounts the token volume in init and app containers, copies pull secrets', async () => {
    let calls = 0;
    const plugin = new ServiceAccountAdmission(
      async (_ns, name) => {
        calls++;
        // `default` appears on the third look, as when the controller is just behind the namespace.
        return name === 'default' && calls >= 3
          ? { metadata: { name }, imagePullSecrets: [{ name: 'reg' }] }
          : undefined;
      },
      () => 1,
    );
    const pod = podOf({
      initContainers: [{ name: 'i' }],
      containers: [
        { name: 'a' },
        {
          name: 'b',
          volumeMounts: [{ name: 'own', mountPath: '/var/run/secrets/kubernetes.io/serviceaccount' }],
        },
      ],
    });
    await plugin.admit(attrs('pods', 'p'), pod);
    const spec = pod.spec as {
      serviceAccountName: string;
      serviceAccount: string;
      imagePullSecrets: unknown;
      volumes: Array<{ name: string }>;
      initContainers: Array<{ volumeMounts: unknown[] }>;
      containers: Array<{ volumeMounts: unknown[] }>;
    };
    assert.equal(spec.serviceAccountName, 'default');
    assert.equal(spec.serviceAccount, 'default');
    assert.deepEqual(spec.imagePullSecrets, [{ name: 'reg' }]);
    assert.equal(spec.volumes.length, 1);
    const name = spec.volumes[0].name;
    assert.match(name, /^kube-api-access-[bcdfghjklmnpqrstvwxz2456789]{5}$/);
    const mount = { name, readOnly: true, mountPath: '/var/run/secrets/kubernetes.io/serviceaccount' };
    assert.deepEqual(spec.initContainers[0].volumeMounts, [mount]);
    assert.deepEqual(spec.containers[0].volumeMounts, [mount]);
    assert.equal(spec.containers[1].volumeMounts.length, 1);
  });

  it('honours automountServiceAccountToken of the account, overridden by the pod', async () => {
    const plugin = new ServiceAccountAdmission(async (_ns, name) => ({
      metadata: { name },
      automountServiceAccountToken: false,
    }));
    const off = podOf({ serviceAccountName: 'bot', containers: [{ name: 'a' }] });
    await plugin.admit(attrs('pods', 'p'), off);
    assert.equal((off.spec as { volumes?: unknown }).volumes, undefined);
    const on = podOf({
      serviceAccountName: 'bot',
      automountServiceAccountToken: true,
      containers: [{ name: 'a' }],
    });
    await plugin.admit(attrs('pods', 'p'), on);
    assert.equal((on.spec as { volumes: unknown[] }).volumes.length, 1);
  });

  it("refuses an account that does not exist with kube-apiserver's 403", async () => {
    const plugin = new ServiceAccountAdmission(
      async () => undefined,
      () => 1,
    );
    await assert.rejects(
      plugin.admit(attrs('pods', 'p'), podOf({ serviceAccountName: 'ghost', containers: [] })),
      (e) => {
        assert.ok(isKubeError(e, 'Forbidden'));
        assert.equal(
          (e as Error).message,
          'pods "p" is forbidden: error looking up service account ns/ghost: serviceaccount "ghost" not found',
        );
        return true;
      },
    );
  });
});

describe('DefaultStorageClass admission', () => {
  const sc = (name: string, created: string, isDefault: boolean): KubeObject => ({
    metadata: {
      name,
      creationTimestamp: created,
      annotations: isDefault ? { 'storageclass.kubernetes.io/is-default-class': 'true' } : {},
    },
  });
  const classes = [
    sc('old', '2024-01-01T00:00:00Z', true),
    sc('new', '2025-01-01T00:00:00Z', true),
    sc('plain', '2026-01-01T00:00:00Z', false),
  ];

  it('gives a classless claim the newest default, and keeps "" and named classes', async () => {
    assert.equal(defaultClass(classes)?.metadata?.name, 'new');
    const plugin = new DefaultStorageClass(async () => classes);
    const claimOf = (spec: Record<string, unknown>): KubeObject => ({ metadata: { name: 'c' }, spec });
    const none = claimOf({});
    await plugin.admit(attrs('persistentvolumeclaims', 'c'), none);
    assert.equal((none.spec as { storageClassName?: string }).storageClassName, 'new');
    const empty = claimOf({ storageClassName: '' });
    await plugin.admit(attrs('persistentvolumeclaims', 'c'), empty);
    assert.equal((empty.spec as { storageClassName?: string }).storageClassName, '');
    const beta: KubeObject = {
      metadata: { name: 'c', annotations: { 'volume.beta.kubernetes.io/storage-class': 'plain' } },
      spec: {},
    };
    await plugin.admit(attrs('persistentvolumeclaims', 'c'), beta);
    assert.equal((beta.spec as { storageClassName?: string }).storageClassName, undefined);
  });
});
