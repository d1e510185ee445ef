/**
 * The strategies of the workload, batch, network and storage kinds as pure functions: the defaults kube-apiserver's
 * SetDefaults_* functions apply, and each validation message with its field path, as a 422's causes carry them.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { fieldErrorText } from '../src/errors.js';
import {
  controllerRevisionStrategy,
  daemonSetStrategy,
  replicationControllerStrategy,
  statefulSetStrategy,
} from '../src/registry/apps/sets.js';
import { cronJobStrategy, jobStrategy } from '../src/registry/batch/jobs.js';
import {
  horizontalPodAutoscalerStrategy,
  priorityClassStrategy,
  roleBindingStrategy,
} from '../src/registry/cluster/admin.js';
import { ingressClassStrategy, ingressStrategy } from '../src/registry/networking/ingress.js';
import { endpointSliceStrategy, networkPolicyStrategy } from '../src/registry/networking/network.js';
import {
  persistentVolumeClaimStrategy,
  persistentVolumeStrategy,
  storageClassStrategy,
} from '../src/registry/storage/volumes.js';
import type { KubeObject, Strategy, StrategyContext } from '../src/registry/types.js';

const ctx: StrategyContext = { user: { name: 'test', groups: [] }, now: new Date('2026-01-01T00:00:00Z') };
const pod = (restartPolicy?: string) => ({
  metadata: { labels: { app: 'a' } },
  spec: { ...(restartPolicy ? { restartPolicy } : {}), containers: [{ name: 'c', image: 'busybox' }] },
});

/** Defaults, then validation: the messages as kube-apiserver prints them ("field: text"). */
function errors(s: Strategy, obj: KubeObject): string[] {
  s.defaults?.(obj);
  return (s.validate?.(obj, ctx) ?? []).map((e) => `${e.field}: ${fieldErrorText(e)}`);
}
function updateErrors(s: Strategy, obj: KubeObject, old: KubeObject): string[] {
  s.defaults?.(obj);
  s.defaults?.(old);
  return (s.validateUpdate?.(obj, old, ctx) ?? []).map((e) => `${e.field}: ${fieldErrorText(e)}`);
}
const clone = <T>(v: T): T => structuredClone(v);

describe('workload strategies', () => {
  const sts = (): KubeObject => ({
    metadata: { name: 'web' },
    spec: { selector: { matchLabels: { app: 'a' } }, serviceName: 'web', template: pod() },
  });

  it('defaults a StatefulSet as SetDefaults_StatefulSet', () => {
    const o = sts();
    assert.deepEqual(errors(statefulSetStrategy, o), []);
    const spec = o.spec as Record<string, unknown>;
    assert.equal(spec.replicas, 1);
    assert.equal(spec.podManagementPolicy, 'OrderedReady');
    assert.deepEqual(spec.updateStrategy, { type: 'RollingUpdate', rollingUpdate: { partition: 0 } });
    assert.deepEqual(spec.persistentVolumeClaimRetentionPolicy, {
      whenDeleted: 'Retain',
      whenScaled: 'Retain',
    });
    assert.equal(spec.revisionHistoryLimit, 10);
  });

  it('validates StatefulSets with kube-apiserver messages', () => {
    const cases: Array<[(o: KubeObject) => void, string[]]> = [
      [(o) => delete (o.spec as Record<string, unknown>).selector, ['spec.selector: Required value']],
      [
        (o) => ((o.spec as Record<string, unknown>).selector = {}),
        ['spec.selector: Invalid value: {}: empty selector is invalid for statefulset'],
      ],
      [
        (o) => ((o.spec as Record<string, unknown>).selector = { matchLabels: { app: 'b' } }),
        [
          'spec.template.metadata.labels: Invalid value: {"app":"a"}: `selector` does not match template `labels`',
        ],
      ],
      [
        (o) => ((o.spec as Record<string, unknown>).podManagementPolicy = 'Random'),
        [`spec.podManagementPolicy: Invalid value: "Random": must be 'OrderedReady' or 'Parallel'`],
      ],
      [
        (o) => ((o.spec as Record<string, unknown>).replicas = -1),
        ['spec.replicas: Invalid value: -1: must be greater than or equal to 0'],
      ],
      [
        (o) => ((o.spec as Record<string, unknown>).template = pod('Never')),
        ['spec.template.spec.restartPolicy: Unsupported value: "Never": supported values: "Always"'],
      ],
    ];
    for (const [mutate, want] of cases) {
      const o = sts();
      mutate(o);
      assert.deepEqual(errors(statefulSetStrategy, o), want);
    }
  });

  it('allows only some StatefulSet fields to change', () => {
    const old = sts();
    const scaled = clone(old);
    (scaled.spec as Record<string, unknown>).replicas = 5;
    assert.deepEqual(updateErrors(statefulSetStrategy, scaled, old), []);
    const renamed = clone(old);
    (renamed.spec as Record<string, unknown>).serviceName = 'other';
    assert.deepEqual(updateErrors(statefulSetStrategy, renamed, old), [
      "spec: Forbidden: updates to statefulset spec for fields other than 'replicas', 'ordinals', 'template', 'updateStrategy', 'revisionHistoryLimit', 'persistentVolumeClaimRetentionPolicy' and 'minReadySeconds' are forbidden",
    ]);
  });

  it('defaults and validates DaemonSets', () => {
    const o: KubeObject = { spec: { selector: { matchLabels: { app: 'a' } }, template: pod() } };
    assert.deepEqual(errors(daemonSetStrategy, o), []);
    assert.deepEqual((o.spec as Record<string, unknown>).updateStrategy, {
      type: 'RollingUpdate',
      rollingUpdate: { maxUnavailable: 1, maxSurge: 0 },
    });
    // A DaemonSet without a selector matches nothing: only the labels mismatch is reported.
    assert.deepEqual(errors(daemonSetStrategy, { spec: { template: pod() } }), [
      'spec.template.metadata.labels: Invalid value: {"app":"a"}: `selector` does not match template `labels`',
    ]);
    const moved = clone(o);
    (moved.spec as Record<string, unknown>).selector = { matchLabels: { app: 'b' } };
    assert.deepEqual(updateErrors(daemonSetStrategy, moved, o), [
      'spec.selector: Invalid value: {"matchLabels":{"app":"b"}}: field is immutable',
    ]);
  });

  it('takes a ReplicationController selector from its template and requires a template', () => {
    const o: KubeObject = { metadata: {}, spec: { template: pod() } };
    assert.deepEqual(errors(replicationControllerStrategy, o), []);
    assert.deepEqual((o.spec as Record<string, unknown>).selector, { app: 'a' });
    assert.deepEqual(o.metadata?.labels, { app: 'a' });
    assert.deepEqual(errors(replicationControllerStrategy, { spec: {} }), [
      'spec.selector: Required value',
      'spec.template: Required value',
    ]);
  });

  it('validates ControllerRevisions', () => {
    assert.deepEqual(errors(controllerRevisionStrategy, { revision: -2 }), [
      'revision: Invalid value: -2: must be greater than or equal to 0',
      'data: Required value: data is mandatory',
    ]);
    assert.deepEqual(
      updateErrors(
        controllerRevisionStrategy,
        { revision: 1, data: { a: 2 } },
        { revision: 1, data: { a: 1 } },
      ),
      ['data: Invalid value: {"a":2}: field is immutable'],
    );
  });
});

describe('batch strategies', () => {
  it('defaults a Job as SetDefaults_Job and generates its selector', () => {
    const o: KubeObject = { metadata: { name: 'pi', uid: 'u-1' }, spec: { template: pod('Never') } };
    jobStrategy.defaults!(o);
    jobStrategy.prepareForCreate!(o, ctx);
    assert.deepEqual(jobStrategy.validate!(o, ctx), []);
    const spec = o.spec as Record<string, unknown>;
    assert.deepEqual(
      [
        spec.completions,
        spec.parallelism,
        spec.backoffLimit,
        spec.completionMode,
        spec.suspend,
        spec.podReplacementPolicy,
      ],
      [1, 1, 6, 'NonIndexed', false, 'TerminatingOrFailed'],
    );
    assert.deepEqual(spec.selector, { matchLabels: { 'batch.kubernetes.io/controller-uid': 'u-1' } });
    assert.deepEqual(o.metadata?.labels, { app: 'a' });
    // backoffLimitPerIndex makes the default backoffLimit the int32 maximum.
    const perIndex: KubeObject = {
      spec: { backoffLimitPerIndex: 1, completionMode: 'Indexed', completions: 2, template: pod('Never') },
    };
    jobStrategy.defaults!(perIndex);
    assert.equal((perIndex.spec as Record<string, unknown>).backoffLimit, 2147483647);
  });

  it('validates Jobs with kube-apiserver messages', () => {
    const o: KubeObject = {
      metadata: { name: 'x', uid: 'u' },
      spec: { parallelism: -1, completionMode: 'Indexed', template: pod() },
    };
    jobStrategy.defaults!(o);
    jobStrategy.prepareForCreate!(o, ctx);
    assert.deepEqual(
      jobStrategy.validate!(o, ctx).map((e) => `${e.field}: ${fieldErrorText(e)}`),
      [
        'spec.parallelism: Invalid value: -1: must be greater than or equal to 0',
        'spec.completions: Required value: when completion mode is Indexed',
        'spec.template.spec.restartPolicy: Unsupported value: "Always": supported values: "OnFailure", "Never"',
      ],
    );
    const manual: KubeObject = {
      metadata: { name: 'm', uid: 'u' },
      spec: { selector: { matchLabels: { a: 'b' } }, template: pod('Never') },
    };
    jobStrategy.defaults!(manual);
    jobStrategy.prepareForCreate!(manual, ctx);
    assert.match(
      jobStrategy.validate!(manual, ctx).map(fieldErrorText).join('\n'),
      /`selector` not auto-generated/,
    );
  });

  it('keeps a running Job template immutable but lets a suspended one change', () => {
    const old: KubeObject = { metadata: { name: 'j', uid: 'u' }, spec: { template: pod('Never') } };
    jobStrategy.defaults!(old);
    jobStrategy.prepareForCreate!(old, ctx);
    const next = clone(old);
    (
      next.spec as { template: { spec: { containers: Array<{ image: string }> } } }
    ).template.spec.containers[0].image = 'busybox:2';
    assert.match(
      updateErrors(jobStrategy, next, old).join('\n'),
      /^spec\.template: Invalid value: .*: field is immutable$/,
    );
    (old.spec as Record<string, unknown>).suspend = true;
    (next.spec as Record<string, unknown>).suspend = true;
    assert.deepEqual(updateErrors(jobStrategy, next, old), []);
  });

  it('defaults and validates CronJobs', () => {
    const o: KubeObject = {
      metadata: { name: 'hello' },
      spec: { schedule: '*/5 * * * *', jobTemplate: { spec: { template: pod('OnFailure') } } },
    };
    assert.deepEqual(errors(cronJobStrategy, o), []);
    const spec = o.spec as Record<string, unknown>;
    assert.deepEqual(
      [spec.concurrencyPolicy, spec.suspend, spec.successfulJobsHistoryLimit, spec.failedJobsHistoryLimit],
      ['Allow', false, 3, 1],
    );
    // The job template gets pod defaults only, not SetDefaults_Job.
    assert.equal((spec.jobTemplate as { spec: Record<string, unknown> }).spec.backoffLimit, undefined);
    const cases: Array<[string, string[]]> = [
      ['', ['spec.schedule: Required value']],
      [
        '@fortnightly',
        ['spec.schedule: Invalid value: "@fortnightly": unrecognized descriptor: @fortnightly'],
      ],
      [
        'TZ=UTC 0 * * * *',
        [
          'spec.schedule: Invalid value: "TZ=UTC 0 * * * *": cannot use TZ or CRON_TZ in schedule, use timeZone field instead',
        ],
      ],
      ['@hourly', []],
    ];
    for (const [schedule, want] of cases) {
      const c = clone(o);
      (c.spec as Record<string, unknown>).schedule = schedule;
      assert.deepEqual(errors(cronJobStrategy, c), want, schedule);
    }
    const long = clone(o);
    long.metadata!.name = 'x'.repeat(53);
    assert.deepEqual(errors(cronJobStrategy, long), [
      `metadata.name: Invalid value: "${'x'.repeat(53)}": must be no more than 52 characters`,
    ]);
  });
});

describe('network strategies', () => {
  it('validates Ingress backends and paths', () => {
    const ing = (paths: unknown[]): KubeObject => ({
      spec: { rules: [{ host: 'a.example.com', http: { paths } }] },
    });
    assert.deepEqual(errors(ingressStrategy, { spec: {} }), [
      'spec: Invalid value: []networking.IngressRule(nil): either `defaultBackend` or `rules` must be specified',
    ]);
    assert.deepEqual(
      errors(
        ingressStrategy,
        ing([
          {
            path: 'x',
            pathType: 'Prefix',
            backend: { service: { name: 's', port: { name: 'h', number: 80 } } },
          },
        ]),
      ),
      [
        'spec.rules[0].http.paths[0].path: Invalid value: "x": must be an absolute path',
        'spec.rules[0].http.paths[0].backend: Invalid value: "": cannot set both port name & port number',
      ],
    );
    assert.deepEqual(errors(ingressStrategy, ing([{ path: '/', pathType: 'Glob', backend: {} }])), [
      'spec.rules[0].http.paths[0].pathType: Unsupported value: "Glob": supported values: "Exact", "ImplementationSpecific", "Prefix"',
      'spec.rules[0].http.paths[0].backend: Invalid value: "": resource or service backend is required',
    ]);
    assert.deepEqual(errors(ingressStrategy, { spec: { rules: [{ host: '10.0.0.1' }] } }), [
      'spec.rules[0].host: Invalid value: "10.0.0.1": must be a DNS name, not an IP address',
    ]);
  });

  it('checks Ingress paths, hosts, service names, ports, TLS and status as kube-apiserver 1.32', () => {
    const ing = (paths: unknown[], host = 'a.example.com'): KubeObject => ({
      spec: { rules: [{ host, http: { paths } }] },
    });
    const ok = { service: { name: 'web', port: { number: 80 } } };
    assert.deepEqual(errors(ingressStrategy, ing([{ path: '/a//b/.', pathType: 'Exact', backend: ok }])), [
      `spec.rules[0].http.paths[0].path: Invalid value: "/a//b/.": must not contain '//'`,
      `spec.rules[0].http.paths[0].path: Invalid value: "/a//b/.": cannot end with '/.'`,
    ]);
    // pathType missing: that alone is reported (the backend is not looked at).
    assert.deepEqual(errors(ingressStrategy, ing([{ path: '/', backend: {} }])), [
      'spec.rules[0].http.paths[0].pathType: Required value: pathType must be specified',
    ]);
    assert.deepEqual(
      errors(ingressStrategy, ing([{ path: 'x', pathType: 'ImplementationSpecific', backend: ok }])),
      ['spec.rules[0].http.paths[0].path: Invalid value: "x": must be an absolute path'],
    );
    assert.deepEqual(
      errors(
        ingressStrategy,
        ing([{ path: '/', pathType: 'Prefix', backend: { service: { name: '1web', port: {} } } }]),
      ),
      [
        "spec.rules[0].http.paths[0].backend.service.name: Invalid value: \"1web\": a DNS-1035 label must consist of lower case alphanumeric characters or '-', start with an alphabetic character, and end with an alphanumeric character (e.g. 'my-name',  or 'abc-123', regex used for validation is '[a-z]([-a-z0-9]*[a-z0-9])?')",
        'spec.rules[0].http.paths[0].backend: Required value: port name or number is required',
      ],
    );
    assert.deepEqual(
      errors(
        ingressStrategy,
        ing([{ path: '/', pathType: 'Prefix', backend: { service: { name: 'w', port: { name: '80' } } } }]),
      ),
      [
        'spec.rules[0].http.paths[0].backend.service.port.name: Invalid value: "80": must contain at least one letter (a-z)',
      ],
    );
    assert.deepEqual(
      errors(ingressStrategy, ing([{ path: '/', pathType: 'Prefix', backend: ok }], '*.a.*.com')),
      [
        `spec.rules[0].host: Invalid value: "*.a.*.com": a wildcard DNS-1123 subdomain must start with '*.', followed by a valid DNS subdomain, which must consist of lower case alphanumeric characters, '-' or '.' and end with an alphanumeric character (e.g. '*.example.com', regex used for validation is '\\*\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')`,
      ],
    );
    assert.deepEqual(
      errors(ingressStrategy, ing([{ path: '/', pathType: 'Prefix', backend: ok }], '::1')).length,
      2,
    );
    assert.deepEqual(
      errors(ingressStrategy, {
        spec: { defaultBackend: ok, tls: [{ hosts: ['*.ok.com'], secretName: 'Bad_Name' }] },
      }),
      [
        `spec.tls[0].secretName: Invalid value: "Bad_Name": a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character (e.g. 'example.com', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')`,
      ],
    );
    const status = ingressStrategy.subresourceUpdates!.status.validate(
      { status: { loadBalancer: { ingress: [{ ip: 'localhost' }, { hostname: '10.0.0.1' }] } } },
      {},
    );
    assert.deepEqual(
      status.map((e) => `${e.field}: ${fieldErrorText(e)}`),
      [
        'status.loadBalancer.ingress[0].ip: Invalid value: "localhost": must be a valid IP address, (e.g. 10.9.8.7 or 2001:db8::ffff)',
        'status.loadBalancer.ingress[1].hostname: Invalid value: "10.0.0.1": must be a DNS name, not an IP address',
      ],
    );
  });

  it('validates IngressClasses and keeps the controller fixed', () => {
    assert.deepEqual(errors(ingressClassStrategy, { spec: {} }), ['spec.controller: Required value']);
    assert.deepEqual(
      updateErrors(ingressClassStrategy, { spec: { controller: 'b/c' } }, { spec: { controller: 'a/c' } }),
      ['spec.controller: Invalid value: "b/c": field is immutable'],
    );
  });

  it('defaults NetworkPolicy policy types and port protocols', () => {
    const o: KubeObject = { spec: { podSelector: {}, egress: [{ ports: [{ port: 53 }] }] } };
    assert.deepEqual(errors(networkPolicyStrategy, o), []);
    assert.deepEqual((o.spec as Record<string, unknown>).policyTypes, ['Ingress', 'Egress']);
    assert.equal(
      (o.spec as { egress: Array<{ ports: Array<{ protocol: string }> }> }).egress[0].ports[0].protocol,
      'TCP',
    );
    assert.deepEqual(
      errors(networkPolicyStrategy, {
        spec: { podSelector: {}, ingress: [{ from: [{}, { ipBlock: { cidr: 'nope' }, podSelector: {} }] }] },
      }),
      [
        'spec.ingress[0].from[0]: Required value: must specify a peer',
        'spec.ingress[0].from[1]: Forbidden: may not specify both ipBlock and another peer',
        'spec.ingress[0].from[1].ipBlock.cidr: Invalid value: "nope": must be a valid CIDR value, (e.g. 10.9.8.0/24 or 2001:db8::/64)',
      ],
    );
  });

  it('validates EndpointSlices', () => {
    assert.deepEqual(errors(endpointSliceStrategy, { addressType: 'IPv5', endpoints: [{ addresses: [] }] }), [
      'addressType: Unsupported value: "IPv5": supported values: "FQDN", "IPv4", "IPv6"',
      'endpoints[0].addresses: Required value: must contain at least 1 address',
    ]);
    assert.deepEqual(updateErrors(endpointSliceStrategy, { addressType: 'IPv6' }, { addressType: 'IPv4' }), [
      'addressType: Invalid value: "IPv6": field is immutable',
    ]);
  });
});

describe('storage strategies', () => {
  it('defaults and validates PersistentVolumes', () => {
    const o: KubeObject = {
      spec: { capacity: { storage: '1Gi' }, accessModes: ['ReadWriteOnce'], hostPath: { path: '/x' } },
    };
    assert.deepEqual(errors(persistentVolumeStrategy, o), []);
    assert.equal((o.spec as Record<string, unknown>).persistentVolumeReclaimPolicy, 'Retain');
    assert.equal((o.spec as Record<string, unknown>).volumeMode, 'Filesystem');
    persistentVolumeStrategy.prepareForCreate!(o, ctx);
    assert.deepEqual(o.status, { phase: 'Pending', lastPhaseTransitionTime: '2026-01-01T00:00:00Z' });
    assert.deepEqual(
      errors(persistentVolumeStrategy, {
        spec: { accessModes: ['ReadWriteSometimes'], capacity: { cpu: '1' } },
      }),
      [
        'spec.accessModes: Unsupported value: "ReadWriteSometimes": supported values: "ReadOnlyMany", "ReadWriteMany", "ReadWriteOnce", "ReadWriteOncePod"',
        'spec.capacity: Unsupported value: "cpu": supported values: "storage"',
        'spec: Required value: must specify a volume type',
      ],
    );
    const moved = clone(o);
    (moved.spec as Record<string, unknown>).hostPath = { path: '/y' };
    assert.deepEqual(updateErrors(persistentVolumeStrategy, moved, o), [
      'spec.persistentvolumesource: Forbidden: spec.persistentvolumesource is immutable after creation',
    ]);
  });

  it("validates claims and freezes their spec except a bound claim's request", () => {
    assert.deepEqual(errors(persistentVolumeClaimStrategy, { spec: { accessModes: ['ReadWriteOnce'] } }), [
      'spec.resources[storage]: Required value',
    ]);
    assert.deepEqual(
      errors(persistentVolumeClaimStrategy, {
        spec: { accessModes: ['ReadWriteOnce'], resources: { requests: { storage: '0' } } },
      }),
      ['spec.resources[storage]: Invalid value: "0": must be greater than zero'],
    );
    // A negative request is a quantity too (ValidatePositiveQuantityValue), not one the check skips.
    assert.deepEqual(
      errors(persistentVolumeClaimStrategy, {
        spec: { accessModes: ['ReadWriteOnce'], resources: { requests: { storage: '-1Gi' } } },
      }),
      ['spec.resources[storage]: Invalid value: "-1Gi": must be greater than zero'],
    );
    const old: KubeObject = {
      spec: { accessModes: ['ReadWriteOnce'], resources: { requests: { storage: '1Gi' } } },
      status: { phase: 'Pending' },
    };
    const bigger = clone(old);
    (bigger.spec as { resources: { requests: { storage: string } } }).resources.requests.storage = '2Gi';
    assert.deepEqual(updateErrors(persistentVolumeClaimStrategy, bigger, old), [
      'spec: Forbidden: spec is immutable after creation except resources.requests and volumeAttributesClassName for bound claims',
    ]);
    bigger.status = { phase: 'Bound' };
    assert.deepEqual(updateErrors(persistentVolumeClaimStrategy, bigger, old), []);
    const smaller = clone(bigger);
    (smaller.spec as { resources: { requests: { storage: string } } }).resources.requests.storage = '500Mi';
    assert.deepEqual(updateErrors(persistentVolumeClaimStrategy, smaller, old), [
      'spec.resources.requests.storage: Forbidden: field can not be less than previous value',
    ]);
    // Binding sets volumeName once.
    const bound = clone(old);
    (bound.spec as Record<string, unknown>).volumeName = 'pv1';
    assert.deepEqual(updateErrors(persistentVolumeClaimStrategy, bound, old), []);
  });

  it('defaults StorageClasses and refuses changes to their provisioning', () => {
    const o: KubeObject = { provisioner: 'a/b' };
    assert.deepEqual(errors(storageClassStrategy, o), []);
    assert.deepEqual([o.reclaimPolicy, o.volumeBindingMode], ['Delete', 'Immediate']);
    assert.deepEqual(updateErrors(storageClassStrategy, { provisioner: 'c/d', reclaimPolicy: 'Retain' }, o), [
      'provisioner: Forbidden: updates to provisioner are forbidden.',
      'reclaimPolicy: Forbidden: updates to reclaimPolicy are forbidden.',
    ]);
  });
});

describe('administrative strategies', () => {
  it('keeps roleRef, PriorityClass values and HPA bounds as kube-apiserver does', () => {
    const rb = { roleRef: { kind: 'Role', name: 'a' } };
    assert.deepEqual(updateErrors(roleBindingStrategy, { roleRef: { kind: 'Role', name: 'b' } }, rb), [
      'roleRef: Invalid value: {"kind":"Role","name":"b"}: cannot change roleRef',
    ]);
    const pc: KubeObject = { value: 10 };
    assert.deepEqual(errors(priorityClassStrategy, pc), []);
    assert.equal(pc.preemptionPolicy, 'PreemptLowerPriority');
    assert.deepEqual(updateErrors(priorityClassStrategy, { value: 11 }, pc), [
      'value: Forbidden: may not be changed in an update.',
    ]);
    assert.deepEqual(
      errors(horizontalPodAutoscalerStrategy, {
        apiVersion: 'autoscaling/v2',
        spec: { minReplicas: 3, maxReplicas: 2, scaleTargetRef: { kind: 'Deployment', name: 'web' } },
      }),
      ['spec.maxReplicas: Invalid value: 2: must be greater than or equal to `minReplicas`'],
    );
  });
});
