/**
 * What kube-controller-manager puts in a Service's EndpointSlices and Endpoints, from its pods: ready and
 * not-ready pods, terminating pods (in slices only), publishNotReadyAddresses, named target ports resolved per
 * pod (a pod without the port left out of that group), hostnames under a matching subdomain, the labels.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { derivedLabels, desiredEndpoints, endpointsSubsets } from '../src/controllers/endpoints/compute.js';
import type { KubeObject } from '../src/registry/types.js';

const pod = (
  name: string,
  ip: string,
  ready: boolean,
  extra: { ports?: unknown[]; deleting?: boolean; phase?: string; hostname?: string } = {},
): KubeObject => ({
  metadata: {
    namespace: 'ns',
    name,
    uid: `uid-${name}`,
    labels: { app: 'web' },
    ...(extra.deleting ? { deletionTimestamp: '2026-01-01T00:00:00Z' } : {}),
  },
  spec: {
    nodeName: 'node1',
    ...(extra.hostname ? { hostname: extra.hostname, subdomain: 'web' } : {}),
    containers: [
      { name: 'c', ports: extra.ports ?? [{ name: 'http', containerPort: 8080, protocol: 'TCP' }] },
    ],
  },
  status: {
    phase: extra.phase ?? 'Running',
    podIP: ip,
    podIPs: [{ ip }],
    conditions: [{ type: 'Ready', status: ready ? 'True' : 'False' }],
  },
});
const svc = (spec: Record<string, unknown> = {}): KubeObject => ({
  metadata: { namespace: 'ns', name: 'web', labels: { team: 'a' } },
  spec: {
    selector: { app: 'web' },
    ports: [{ name: 'http', protocol: 'TCP', port: 80, targetPort: 'http' }],
    ...spec,
  },
});

describe('endpoints from pods', () => {
  it('resolves named target ports per pod and groups pods by port set', () => {
    const groups = desiredEndpoints(
      svc(),
      [
        pod('a', '10.218.0.2', true),
        pod('b', '10.218.0.3', true, { ports: [{ name: 'http', containerPort: 9090 }] }),
        pod('c', '10.218.0.4', true, { ports: [] }),
      ],
      true,
    )!;
    assert.deepEqual(
      groups.map((g) => [g.ports.map((p) => p.port), g.endpoints.map((e) => e.addresses[0])]),
      [
        [[8080], ['10.218.0.2']],
        [[9090], ['10.218.0.3']],
        [[], ['10.218.0.4']],
      ],
    );
  });

  it('marks not-ready and terminating pods, leaves out terminated ones and pods of other selectors', () => {
    const other = pod('z', '10.218.0.9', true);
    other.metadata!.labels = { app: 'other' };
    const [g] = desiredEndpoints(
      svc(),
      [
        pod('a', '10.218.0.2', true),
        pod('b', '10.218.0.3', false),
        pod('c', '10.218.0.4', true, { deleting: true }),
        pod('d', '10.218.0.5', true, { phase: 'Succeeded' }),
        other,
      ],
      true,
    )!;
    assert.deepEqual(
      g.endpoints.map((e) => [e.addresses[0], e.conditions]),
      [
        ['10.218.0.2', { ready: true, serving: true, terminating: false }],
        ['10.218.0.3', { ready: false, serving: false, terminating: false }],
        ['10.218.0.4', { ready: false, serving: true, terminating: true }],
      ],
    );
    assert.deepEqual(g.endpoints[0].targetRef, { kind: 'Pod', namespace: 'ns', name: 'a', uid: 'uid-a' });
    const subsets = endpointsSubsets(
      desiredEndpoints(
        svc(),
        [
          pod('a', '10.218.0.2', true),
          pod('b', '10.218.0.3', false),
          pod('c', '10.218.0.4', true, { deleting: true }),
        ],
        false,
      )!,
    );
    assert.deepEqual(
      subsets.map((s) => [
        (s.addresses as Array<{ ip: string }>).map((a) => a.ip),
        (s.notReadyAddresses as Array<{ ip: string }>).map((a) => a.ip),
        s.ports,
      ]),
      [[['10.218.0.2'], ['10.218.0.3'], [{ name: 'http', protocol: 'TCP', port: 8080 }]]],
    );
  });

  it('publishes not-ready pods as ready with publishNotReadyAddresses; hostnames under the subdomain', () => {
    const [g] = desiredEndpoints(
      svc({ publishNotReadyAddresses: true, clusterIP: 'None' }),
      [pod('a', '10.218.0.2', false, { hostname: 'web-0' })],
      true,
    )!;
    assert.deepEqual(g.endpoints[0].conditions, { ready: true, serving: true, terminating: false });
    assert.equal(g.endpoints[0].hostname, 'web-0');
    assert.deepEqual(derivedLabels(svc({ clusterIP: 'None' })), {
      team: 'a',
      'service.kubernetes.io/headless': '',
    });
  });

  it('has nothing to say for a Service without a selector', () => {
    assert.equal(
      desiredEndpoints(svc({ selector: undefined }), [pod('a', '10.218.0.2', true)], true),
      undefined,
    );
  });
});
