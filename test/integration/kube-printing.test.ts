/**
 * `kubectl get` (kubectl 1.32) of every built-in kind with a kube-apiserver printer against one real berth-kube:
 * the columns kube-apiserver prints, the cells computed from each object, the defaults `-o yaml` shows, and the
 * validation messages of the strategies under kube/src/registry.
 */
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { after, before, describe, it } from 'node:test';
import { requirement } from '../helpers/env.js';
import { KUBECTL_132, startKube, type TestKube } from '../helpers/kube.js';
import { until } from '../helpers/kube-cluster.js';

const skip = requirement(existsSync(KUBECTL_132), 'kubectl 1.32 is not installed');
let k: TestKube;

const MANIFEST = `
apiVersion: apps/v1
kind: StatefulSet
metadata: {name: web}
spec:
  replicas: 2
  serviceName: web
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec: {containers: [{name: nginx, image: "nginx:1.27"}]}
  volumeClaimTemplates:
  - metadata: {name: www}
    spec: {accessModes: [ReadWriteOnce], resources: {requests: {storage: 1Gi}}}
---
apiVersion: apps/v1
kind: DaemonSet
metadata: {name: agent}
spec:
  selector: {matchLabels: {app: agent}}
  template:
    metadata: {labels: {app: agent}}
    spec: {nodeSelector: {disk: ssd}, containers: [{name: a, image: "busybox:1.36"}]}
---
apiVersion: batch/v1
kind: Job
metadata: {name: pi}
spec:
  completions: 3
  parallelism: 2
  template:
    spec: {restartPolicy: Never, containers: [{name: pi, image: "perl:5.34"}]}
---
apiVersion: batch/v1
kind: CronJob
metadata: {name: hello}
spec:
  schedule: "*/5 * * * *"
  jobTemplate:
    spec:
      template:
        spec: {restartPolicy: OnFailure, containers: [{name: hello, image: "busybox:1.36"}]}
---
apiVersion: v1
kind: ReplicationController
metadata: {name: legacy}
spec:
  replicas: 3
  template:
    metadata: {labels: {app: legacy}}
    spec: {containers: [{name: c, image: "nginx:1.27"}]}
---
apiVersion: networking.k8s.io/v1
kind: IngressClass
metadata: {name: nginx}
spec:
  controller: k8s.io/ingress-nginx
  parameters: {apiGroup: k8s.example.com, kind: IngressParameters, name: external-lb}
---
apiVersion: networking.k8s.io/v1
kind: Ingress
metadata: {name: shop}
spec:
  ingressClassName: nginx
  tls: [{hosts: [a.example.com], secretName: tls}]
  rules:
  - host: a.example.com
    http: {paths: [{path: /, pathType: Prefix, backend: {service: {name: web, port: {number: 80}}}}]}
  - host: b.example.com
    http: {paths: [{path: /api, pathType: Exact, backend: {service: {name: api, port: {name: http}}}}]}
---
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: deny}
spec:
  podSelector: {matchLabels: {role: db}}
  egress: [{ports: [{port: 53}]}]
---
apiVersion: discovery.k8s.io/v1
kind: EndpointSlice
metadata: {name: manual-1}
addressType: IPv4
ports: [{name: http, port: 80}, {name: https, port: 443}]
endpoints: [{addresses: ["10.1.0.1"]}, {addresses: ["10.1.0.2"]}]
---
apiVersion: storage.k8s.io/v1
kind: StorageClass
metadata:
  name: local
  annotations: {storageclass.kubernetes.io/is-default-class: "true"}
provisioner: berth.dev/hostpath
---
apiVersion: v1
kind: PersistentVolume
metadata: {name: pv1}
spec:
  capacity: {storage: 2Gi}
  accessModes: [ReadWriteMany, ReadWriteOnce]
  storageClassName: local
  hostPath: {path: /tmp/pv1}
---
apiVersion: v1
kind: PersistentVolumeClaim
metadata: {name: data}
spec:
  accessModes: [ReadWriteOnce]
  resources: {requests: {storage: 1Gi}}
  storageClassName: local
---
apiVersion: v1
kind: ServiceAccount
metadata: {name: builder}
secrets: [{name: a}, {name: b}]
---
apiVersion: v1
kind: LimitRange
metadata: {name: limits}
spec: {limits: [{type: Container, default: {cpu: 500m}}]}
---
apiVersion: rbac.authorization.k8s.io/v1
kind: Role
metadata: {name: reader}
rules: [{apiGroups: [""], resources: [pods], verbs: [get]}]
---
apiVersion: rbac.authorization.k8s.io/v1
kind: RoleBinding
metadata: {name: read-pods}
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: Role, name: reader}
subjects:
- {kind: User, name: jane, apiGroup: rbac.authorization.k8s.io}
- {kind: Group, name: devs, apiGroup: rbac.authorization.k8s.io}
- {kind: ServiceAccount, name: builder, namespace: default}
---
apiVersion: policy/v1
kind: PodDisruptionBudget
metadata: {name: web}
spec: {minAvailable: 1, selector: {matchLabels: {app: web}}}
---
apiVersion: autoscaling/v2
kind: HorizontalPodAutoscaler
metadata: {name: web}
spec:
  scaleTargetRef: {apiVersion: apps/v1, kind: StatefulSet, name: web}
  maxReplicas: 5
---
apiVersion: scheduling.k8s.io/v1
kind: PriorityClass
metadata: {name: high}
value: 1000
---
apiVersion: coordination.k8s.io/v1
kind: Lease
metadata: {name: lock}
spec: {holderIdentity: node-a}
---
apiVersion: admissionregistration.k8s.io/v1
kind: ValidatingWebhookConfiguration
metadata: {name: vwc}
webhooks: []
`;

before(async () => {
  if (skip) return;
  k = await startKube();
  const r = await k.kubectl(['apply', '-f', '-'], { input: MANIFEST });
  assert.equal(r.code, 0, r.stderr);
});
after(async () => {
  if (!skip) await k.destroy();
});

const ok = async (args: string[], input?: string) => {
  const r = await k.kubectl(args, input !== undefined ? { input } : {});
  assert.equal(r.code, 0, `kubectl ${args.join(' ')}: ${r.stderr}`);
  return r.stdout;
};

/** The header and the row of `name` as cell arrays (kubectl pads columns with at least 3 spaces). */
async function table(args: string[], name: string): Promise<{ head: string[]; row: string[] }> {
  const out = await ok(['get', ...args]);
  const lines = out.trimEnd().split('\n');
  const split = (l: string) => l.trim().split(/ {3,}/);
  const row = lines.slice(1).find((l) => l.startsWith(`${name} `));
  assert.ok(row, `no row ${name} in:\n${out}`);
  return { head: split(lines[0]), row: split(row) };
}

const noAge = (row: string[], i: number) => [...row.slice(0, i), ...row.slice(i + 1)];

describe('kubectl get columns of each built-in kind', { skip }, () => {
  it('prints the workload kinds as kube-apiserver does', async () => {
    let t = await table(['statefulsets'], 'web');
    assert.deepEqual(t.head, ['NAME', 'READY', 'AGE']);
    assert.deepEqual(t.row.slice(0, 2), ['web', '0/2']);
    t = await table(['sts', '-o', 'wide'], 'web');
    assert.deepEqual(t.head, ['NAME', 'READY', 'AGE', 'CONTAINERS', 'IMAGES']);
    assert.deepEqual(noAge(t.row, 2), ['web', '0/2', 'nginx', 'nginx:1.27']);

    t = await table(['daemonsets', '-o', 'wide'], 'agent');
    assert.deepEqual(t.head, [
      'NAME',
      'DESIRED',
      'CURRENT',
      'READY',
      'UP-TO-DATE',
      'AVAILABLE',
      'NODE SELECTOR',
      'AGE',
      'CONTAINERS',
      'IMAGES',
      'SELECTOR',
    ]);
    assert.deepEqual(noAge(t.row, 7), [
      'agent',
      '0',
      '0',
      '0',
      '0',
      '0',
      'disk=ssd',
      'a',
      'busybox:1.36',
      'app=agent',
    ]);

    t = await table(['jobs'], 'pi');
    assert.deepEqual(t.head, ['NAME', 'STATUS', 'COMPLETIONS', 'DURATION', 'AGE']);
    // No start time yet: the DURATION cell is empty, so it joins the gap before AGE.
    assert.deepEqual(t.row.slice(0, 3), ['pi', 'Running', '0/3']);

    t = await table(['cronjobs'], 'hello');
    assert.deepEqual(t.head, ['NAME', 'SCHEDULE', 'TIMEZONE', 'SUSPEND', 'ACTIVE', 'LAST SCHEDULE', 'AGE']);
    assert.deepEqual(t.row.slice(0, 6), ['hello', '*/5 * * * *', '<none>', 'False', '0', '<none>']);

    t = await table(['rc', '-o', 'wide'], 'legacy');
    assert.deepEqual(t.head, [
      'NAME',
      'DESIRED',
      'CURRENT',
      'READY',
      'AGE',
      'CONTAINERS',
      'IMAGES',
      'SELECTOR',
    ]);
    // CURRENT and READY are the controller's (it may have made the pods already).
    const rc = noAge(t.row, 4);
    assert.deepEqual([...rc.slice(0, 2), ...rc.slice(4)], ['legacy', '3', 'c', 'nginx:1.27', 'app=legacy']);

    const uid = await ok(['get', 'sts', 'web', '-o', 'jsonpath={.metadata.uid}']);
    await ok(
      ['apply', '-f', '-'],
      `apiVersion: apps/v1
kind: ControllerRevision
metadata:
  name: web-7b9c
  ownerReferences: [{apiVersion: apps/v1, kind: StatefulSet, name: web, uid: ${uid}, controller: true}]
revision: 4
data: {spec: {}}
`,
    );
    t = await table(['controllerrevisions'], 'web-7b9c');
    assert.deepEqual(t.head, ['NAME', 'CONTROLLER', 'REVISION', 'AGE']);
    assert.deepEqual(t.row.slice(0, 3), ['web-7b9c', 'statefulset.apps/web', '4']);
  });

  it('prints the network kinds', async () => {
    let t = await table(['ingress'], 'shop');
    assert.deepEqual(t.head, ['NAME', 'CLASS', 'HOSTS', 'ADDRESS', 'PORTS', 'AGE']);
    // ADDRESS is empty until a controller writes status.loadBalancer.
    assert.deepEqual(t.row.slice(0, 4), ['shop', 'nginx', 'a.example.com,b.example.com', '80, 443']);
    t = await table(['ingressclass'], 'nginx');
    assert.deepEqual(t.head, ['NAME', 'CONTROLLER', 'PARAMETERS', 'AGE']);
    assert.deepEqual(t.row.slice(0, 3), [
      'nginx',
      'k8s.io/ingress-nginx',
      'IngressParameters.k8s.example.com/external-lb',
    ]);
    t = await table(['netpol'], 'deny');
    assert.deepEqual(t.head, ['NAME', 'POD-SELECTOR', 'AGE']);
    assert.deepEqual(t.row.slice(0, 2), ['deny', 'role=db']);
    t = await table(['endpointslices'], 'manual-1');
    assert.deepEqual(t.head, ['NAME', 'ADDRESSTYPE', 'PORTS', 'ENDPOINTS', 'AGE']);
    assert.deepEqual(t.row.slice(0, 4), ['manual-1', 'IPv4', '80,443', '10.1.0.1,10.1.0.2']);
  });

  it('prints the storage kinds', async () => {
    // The binder binds the claim to pv1 (same class, Immediate, large enough).
    await until('data bound', async () => (await table(['pvc'], 'data')).row[1] === 'Bound');
    let t = await table(['pv', '-o', 'wide'], 'pv1');
    assert.deepEqual(t.head, [
      'NAME',
      'CAPACITY',
      'ACCESS MODES',
      'RECLAIM POLICY',
      'STATUS',
      'CLAIM',
      'STORAGECLASS',
      'VOLUMEATTRIBUTESCLASS',
      'REASON',
      'AGE',
      'VOLUMEMODE',
    ]);
    // REASON is empty: the row closes up around it.
    assert.deepEqual(t.row.slice(0, 8), [
      'pv1',
      '2Gi',
      'RWO,RWX',
      'Retain',
      'Bound',
      'default/data',
      'local',
      '<unset>',
    ]);
    assert.equal(t.row.at(-1), 'Filesystem');
    t = await table(['pvc'], 'data');
    assert.deepEqual(t.head, [
      'NAME',
      'STATUS',
      'VOLUME',
      'CAPACITY',
      'ACCESS MODES',
      'STORAGECLASS',
      'VOLUMEATTRIBUTESCLASS',
      'AGE',
    ]);
    assert.deepEqual(t.row.slice(0, 7), ['data', 'Bound', 'pv1', '2Gi', 'RWO,RWX', 'local', '<unset>']);
    t = await table(['storageclass'], 'local');
    assert.deepEqual(t.head, [
      'NAME',
      'PROVISIONER',
      'RECLAIMPOLICY',
      'VOLUMEBINDINGMODE',
      'ALLOWVOLUMEEXPANSION',
      'AGE',
    ]);
    assert.deepEqual(t.row.slice(0, 5), [
      'local (default)',
      'berth.dev/hostpath',
      'Delete',
      'Immediate',
      'false',
    ]);
  });

  it('prints the administrative kinds', async () => {
    let t = await table(['sa'], 'builder');
    assert.deepEqual(t.head, ['NAME', 'SECRETS', 'AGE']);
    assert.deepEqual(t.row.slice(0, 2), ['builder', '2']);
    t = await table(['limitrange'], 'limits');
    assert.deepEqual(t.head, ['NAME', 'CREATED AT']);
    assert.match(t.row[1], /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
    t = await table(['roles'], 'reader');
    assert.deepEqual(t.head, ['NAME', 'CREATED AT']);
    t = await table(['rolebindings', '-o', 'wide'], 'read-pods');
    assert.deepEqual(t.head, ['NAME', 'ROLE', 'AGE', 'USERS', 'GROUPS', 'SERVICEACCOUNTS']);
    assert.deepEqual(noAge(t.row, 2), ['read-pods', 'Role/reader', 'jane', 'devs', 'default:builder']);
    t = await table(['pdb'], 'web');
    assert.deepEqual(t.head, ['NAME', 'MIN AVAILABLE', 'MAX UNAVAILABLE', 'ALLOWED DISRUPTIONS', 'AGE']);
    assert.deepEqual(t.row.slice(0, 4), ['web', '1', 'N/A', '0']);
    // REPLICAS is the target's status once the autoscaler has read it: the StatefulSet controller made web-0, which
    // stays Pending here (no node), so OrderedReady makes no more.
    t = await until('the autoscaler to read its target', async () => {
      const x = await table(['hpa'], 'web');
      return x.row[5] === '1' ? x : undefined;
    });
    assert.deepEqual(t.head, ['NAME', 'REFERENCE', 'TARGETS', 'MINPODS', 'MAXPODS', 'REPLICAS', 'AGE']);
    // autoscaling/v2 defaults a CPU target of 80% when no metric is given.
    assert.deepEqual(t.row.slice(0, 6), ['web', 'StatefulSet/web', 'cpu: <unknown>/80%', '1', '5', '1']);
    t = await table(['priorityclass'], 'high');
    assert.deepEqual(t.head, ['NAME', 'VALUE', 'GLOBAL-DEFAULT', 'AGE', 'PREEMPTIONPOLICY']);
    assert.deepEqual(noAge(t.row, 3), ['high', '1000', 'false', 'PreemptLowerPriority']);
    t = await table(['lease'], 'lock');
    assert.deepEqual(t.head, ['NAME', 'HOLDER', 'AGE']);
    assert.deepEqual(t.row.slice(0, 2), ['lock', 'node-a']);
    t = await table(['validatingwebhookconfigurations'], 'vwc');
    assert.deepEqual(t.head, ['NAME', 'WEBHOOKS', 'AGE']);
    assert.deepEqual(t.row.slice(0, 2), ['vwc', '0']);
  });
});

describe('ResourceQuota columns', { skip }, () => {
  it('prints REQUEST and LIMIT from the status the quota controller writes', async () => {
    await ok(['create', 'namespace', 'quota-ns']);
    await ok(
      ['apply', '-n', 'quota-ns', '-f', '-'],
      'apiVersion: v1\nkind: ResourceQuota\nmetadata: {name: q}\nspec: {hard: {pods: "10", cpu: "1", limits.memory: 1Gi}}\n',
    );
    const deadline = performance.now() + 15_000;
    let t = await table(['quota', '-n', 'quota-ns'], 'q');
    while (t.row.length < 4 && performance.now() < deadline) {
      await new Promise((r) => setTimeout(r, 200));
      t = await table(['quota', '-n', 'quota-ns'], 'q');
    }
    assert.deepEqual(t.head, ['NAME', 'REQUEST', 'LIMIT', 'AGE']);
    assert.deepEqual(t.row.slice(0, 3), ['q', 'cpu: 0/1, pods: 0/10', 'limits.memory: 0/1Gi']);
  });
});

describe('defaults and validation through kubectl', { skip }, () => {
  it('stores the defaults kube-apiserver applies', async () => {
    const job = JSON.parse(await ok(['get', 'job', 'pi', '-o', 'json'])) as {
      metadata: { uid: string };
      spec: Record<string, unknown> & {
        selector: unknown;
        template: { metadata: { labels: Record<string, string> } };
      };
    };
    assert.equal(job.spec.backoffLimit, 6);
    assert.equal(job.spec.completionMode, 'NonIndexed');
    assert.equal(job.spec.suspend, false);
    assert.equal(job.spec.podReplacementPolicy, 'TerminatingOrFailed');
    assert.deepEqual(job.spec.selector, {
      matchLabels: { 'batch.kubernetes.io/controller-uid': job.metadata.uid },
    });
    assert.equal(job.spec.template.metadata.labels['batch.kubernetes.io/job-name'], 'pi');
    const sts = await ok([
      'get',
      'sts',
      'web',
      '-o',
      'jsonpath={.spec.podManagementPolicy} {.spec.updateStrategy.rollingUpdate.partition} {.spec.persistentVolumeClaimRetentionPolicy.whenDeleted} {.spec.revisionHistoryLimit} {.spec.volumeClaimTemplates[0].spec.volumeMode} {.spec.volumeClaimTemplates[0].status.phase}',
    ]);
    assert.equal(sts, 'OrderedReady 0 Retain 10 Filesystem Pending');
    const cj = await ok([
      'get',
      'cj',
      'hello',
      '-o',
      'jsonpath={.spec.concurrencyPolicy} {.spec.successfulJobsHistoryLimit} {.spec.failedJobsHistoryLimit}',
    ]);
    assert.equal(cj, 'Allow 3 1');
    const np = await ok([
      'get',
      'netpol',
      'deny',
      '-o',
      'jsonpath={.spec.policyTypes} {.spec.egress[0].ports[0].protocol}',
    ]);
    assert.equal(np, '["Ingress","Egress"] TCP');
  });

  it('refuses bad objects with kube-apiserver messages', async () => {
    const bad = async (yaml: string) => {
      const r = await k.kubectl(['create', '-f', '-'], { input: yaml });
      assert.notEqual(r.code, 0, r.stdout);
      return r.stderr.trim();
    };
    assert.equal(
      await bad(`apiVersion: batch/v1
kind: Job
metadata: {name: always}
spec:
  backoffLimit: -1
  template: {spec: {containers: [{name: c, image: busybox}]}}
`),
      'The Job "always" is invalid: \n* spec.backoffLimit: Invalid value: -1: must be greater than or equal to 0\n* spec.template.spec.restartPolicy: Unsupported value: "Always": supported values: "OnFailure", "Never"',
    );
    assert.equal(
      await bad(`apiVersion: batch/v1
kind: CronJob
metadata: {name: badcron}
spec:
  schedule: "every minute"
  concurrencyPolicy: Sometimes
  jobTemplate: {spec: {template: {spec: {restartPolicy: Never, containers: [{name: c, image: busybox}]}}}}
`),
      'The CronJob "badcron" is invalid: \n* spec.schedule: Invalid value: "every minute": expected exactly 5 fields, found 2: [every minute]\n* spec.concurrencyPolicy: Unsupported value: "Sometimes": supported values: "Allow", "Forbid", "Replace"',
    );
    assert.equal(
      await bad(`apiVersion: networking.k8s.io/v1
kind: Ingress
metadata: {name: nopath}
spec:
  rules: [{host: a.example.com, http: {paths: [{path: api, backend: {service: {name: s}}}]}}]
`),
      // validateHTTPIngressPath returns at a missing pathType, so the missing port is not reported beside it.
      'The Ingress "nopath" is invalid: spec.rules[0].http.paths[0].pathType: Required value: pathType must be specified',
    );
    assert.equal(
      await bad(`apiVersion: v1
kind: PersistentVolumeClaim
metadata: {name: nomodes}
spec: {resources: {requests: {storage: 1Gi}}}
`),
      'The PersistentVolumeClaim "nomodes" is invalid: spec.accessModes: Required value: at least 1 access mode is required',
    );
    // Immutable fields: a StatefulSet's serviceName, a bound... an unbound claim's request, a Job's template.
    const r = await k.kubectl([
      'patch',
      'sts',
      'web',
      '--type=merge',
      '-p',
      '{"spec":{"serviceName":"other"}}',
    ]);
    assert.notEqual(r.code, 0);
    assert.match(
      r.stderr,
      /The StatefulSet "web" is invalid: spec: Forbidden: updates to statefulset spec for fields other than 'replicas', 'ordinals', 'template', 'updateStrategy', 'revisionHistoryLimit', 'persistentVolumeClaimRetentionPolicy' and 'minReadySeconds' are forbidden/,
    );
    await ok(['scale', 'sts', 'web', '--replicas=3']);
    const j = await k.kubectl(['set', 'image', 'job/pi', 'pi=perl:5.36']);
    assert.notEqual(j.code, 0);
    assert.match(j.stderr, /spec\.template: Invalid value: .*: field is immutable/);
    const pvc = await k.kubectl([
      'patch',
      'pvc',
      'data',
      '--type=merge',
      '-p',
      '{"spec":{"resources":{"requests":{"storage":"2Gi"}}}}',
    ]);
    // The claim is bound (to pv1): growing it is the resize admission's call, and `local` does not allow it.
    assert.notEqual(pvc.code, 0);
    assert.match(
      pvc.stderr,
      /persistentvolumeclaims "data" is forbidden: only dynamically provisioned pvc can be resized and the storageclass that provisions the pvc must support resize/,
    );
    const modes = await k.kubectl([
      'patch',
      'pvc',
      'data',
      '--type=merge',
      '-p',
      '{"spec":{"accessModes":["ReadWriteMany"]}}',
    ]);
    assert.notEqual(modes.code, 0);
    assert.match(
      modes.stderr,
      /spec: Forbidden: spec is immutable after creation except resources.requests and volumeAttributesClassName for bound claims/,
    );
  });
});
