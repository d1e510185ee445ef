/**
 * The pure parts of the StatefulSet and DaemonSet controllers: where a daemon may run (labels, affinity, taints
 * with the daemon tolerations, NoExecute deciding whether a running daemon stays), the node pin, revision data
 * and hashes, and a StatefulSet pod's identity and claims.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  daemonTolerations,
  pinToNode,
  shouldRunOn,
  targetNode,
} from '../src/controllers/daemonset/placement.js';
import { hashRevision, templatePatch } from '../src/controllers/history/revisions.js';
import { claimsFor, newPod, ordinalOf, revisionTemplate } from '../src/controllers/statefulset/identity.js';
import type { Node, Pod, PodTemplateSpec, StatefulSet } from '../src/controllers/framework/types.js';

const node = (labels: Record<string, string>, taints: Node['spec'] = {}): Node => ({
  metadata: { name: 'n1', labels },
  spec: taints,
});
const template = (spec: Partial<NonNullable<PodTemplateSpec['spec']>> = {}): PodTemplateSpec => ({
  metadata: { labels: { app: 'x' } },
  spec: { containers: [{ name: 'c', image: 'busybox' }], ...spec },
});

describe('DaemonSet placement', () => {
  it('runs where labels and affinity match, and nowhere else', () => {
    assert.deepEqual(shouldRunOn(template({ nodeSelector: { disk: 'ssd' } }), node({ disk: 'ssd' })), [
      true,
      true,
    ]);
    assert.deepEqual(shouldRunOn(template({ nodeSelector: { disk: 'ssd' } }), node({})), [false, false]);
    const affinity = {
      nodeAffinity: {
        requiredDuringSchedulingIgnoredDuringExecution: {
          nodeSelectorTerms: [{ matchExpressions: [{ key: 'zone', operator: 'In', values: ['a'] }] }],
        },
      },
    };
    assert.deepEqual(shouldRunOn(template({ affinity }), node({ zone: 'b' })), [false, false]);
    assert.deepEqual(shouldRunOn(template({ nodeName: 'other' }), node({})), [false, false]);
  });

  it('tolerates the node-condition taints by default; a NoSchedule taint stops new daemons, NoExecute removes them', () => {
    for (const key of ['node.kubernetes.io/not-ready', 'node.kubernetes.io/unreachable'])
      assert.deepEqual(shouldRunOn(template(), node({}, { taints: [{ key, effect: 'NoExecute' }] })), [
        true,
        true,
      ]);
    assert.deepEqual(
      shouldRunOn(
        template(),
        node(
          {},
          {
            unschedulable: true,
            taints: [{ key: 'node.kubernetes.io/unschedulable', effect: 'NoSchedule' }],
          },
        ),
      ),
      [true, true],
    );
    assert.deepEqual(shouldRunOn(template(), node({}, { taints: [{ key: 'gpu', effect: 'NoSchedule' }] })), [
      false,
      true,
    ]);
    assert.deepEqual(shouldRunOn(template(), node({}, { taints: [{ key: 'gpu', effect: 'NoExecute' }] })), [
      false,
      false,
    ]);
    assert.deepEqual(
      shouldRunOn(template(), node({}, { taints: [{ key: 'gpu', effect: 'PreferNoSchedule' }] })),
      [true, true],
    );
    const tolerant = template({ tolerations: [{ key: 'gpu', operator: 'Exists' }] });
    assert.deepEqual(shouldRunOn(tolerant, node({}, { taints: [{ key: 'gpu', effect: 'NoExecute' }] })), [
      true,
      true,
    ]);
  });

  it('adds the daemon tolerations once (network-unavailable only with hostNetwork) and pins the pod to its node', () => {
    const t = daemonTolerations(template());
    assert.equal(t.length, 6);
    assert.ok(t.every((x) => x.operator === 'Exists' && x.tolerationSeconds === undefined));
    assert.equal(daemonTolerations(template({ hostNetwork: true })).length, 7);
    const own = {
      key: 'node.kubernetes.io/not-ready',
      operator: 'Exists',
      effect: 'NoExecute',
      tolerationSeconds: 5,
    };
    assert.deepEqual(
      daemonTolerations(template({ tolerations: [own] })).filter((x) => x.key === own.key),
      [own],
    );
    const pod: Pod = {
      metadata: {},
      spec: {
        containers: [],
        affinity: {
          nodeAffinity: {
            requiredDuringSchedulingIgnoredDuringExecution: {
              nodeSelectorTerms: [{ matchExpressions: [{ key: 'zone', operator: 'In', values: ['a'] }] }],
            },
          },
        },
      },
    };
    pinToNode(pod, 'n1');
    assert.deepEqual(pod.spec?.affinity?.nodeAffinity?.requiredDuringSchedulingIgnoredDuringExecution, {
      nodeSelectorTerms: [{ matchFields: [{ key: 'metadata.name', operator: 'In', values: ['n1'] }] }],
    });
    assert.equal(targetNode(pod), 'n1');
    assert.equal(targetNode({ spec: { containers: [], nodeName: 'n2' } }), 'n2');
  });
});

describe('ControllerRevisions', () => {
  it('hold the template as a replace patch; the hash follows data and collision count, not key order', () => {
    const a = templatePatch({ metadata: { labels: { app: 'x', b: '1' } }, spec: { containers: [] } });
    assert.deepEqual(a, {
      spec: {
        template: { $patch: 'replace', metadata: { labels: { app: 'x', b: '1' } }, spec: { containers: [] } },
      },
    });
    const b = templatePatch({ spec: { containers: [] }, metadata: { labels: { b: '1', app: 'x' } } });
    assert.equal(hashRevision(a), hashRevision(b));
    assert.match(hashRevision(a), /^[bcdfghjklmnpqrstvwxz2456789]+$/);
    assert.notEqual(hashRevision(a), hashRevision(a, 1));
    assert.notEqual(hashRevision(a), hashRevision(templatePatch(template())));
  });
});

describe('StatefulSet pod identity', () => {
  const set: StatefulSet = {
    apiVersion: 'apps/v1',
    kind: 'StatefulSet',
    metadata: { name: 'web', namespace: 'ns', uid: 'u1' },
    spec: {
      serviceName: 'svc',
      selector: { matchLabels: { app: 'x' } },
      template: template({
        volumes: [
          { name: 'data', emptyDir: {} },
          { name: 'cfg', emptyDir: {} },
        ],
      }),
      volumeClaimTemplates: [
        { metadata: { name: 'data', labels: { tier: 'db' } }, spec: { accessModes: ['ReadWriteOnce'] } },
      ],
    },
  };

  it('names, labels, hostname and claims follow the ordinal', () => {
    const pod = newPod(
      set,
      2,
      revisionTemplate({ data: templatePatch(set.spec?.template), revision: 1 }),
      'web-abc',
    );
    assert.equal(pod.metadata?.name, 'web-2');
    assert.deepEqual(pod.metadata?.labels, {
      app: 'x',
      'statefulset.kubernetes.io/pod-name': 'web-2',
      'apps.kubernetes.io/pod-index': '2',
      'controller-revision-hash': 'web-abc',
    });
    assert.equal(pod.spec?.hostname, 'web-2');
    assert.equal(pod.spec?.subdomain, 'svc');
    assert.deepEqual(pod.spec?.volumes, [
      { name: 'data', persistentVolumeClaim: { claimName: 'data-web-2' } },
      { name: 'cfg', emptyDir: {} },
    ]);
    assert.equal(pod.metadata?.ownerReferences?.[0]?.uid, 'u1');
    const [claim] = claimsFor(set, 2);
    assert.equal(claim.metadata?.name, 'data-web-2');
    assert.deepEqual(claim.metadata?.labels, { tier: 'db', app: 'x' });
  });

  it('reads ordinals only from names of the form <set>-<n>', () => {
    const named = (name: string): Pod => ({ metadata: { name } });
    assert.equal(ordinalOf(set, named('web-0')), 0);
    assert.equal(ordinalOf(set, named('web-12')), 12);
    for (const bad of ['web-01', 'web-', 'web-x', 'webs-1', 'web-1-2'])
      assert.equal(ordinalOf(set, named(bad)), -1, bad);
  });
});
