/** LimitRanger over HTTPS: container defaults on create (with the annotation) and min/max as 403s. */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { startTestServer, type TestServer } from './helpers/apiserver.js';

let s: TestServer;
before(async () => {
  s = await startTestServer();
  const ns = await s.request('POST', '/api/v1/namespaces', {
    body: { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'limited' } },
  });
  assert.equal(ns.status, 201, ns.text);
  const lr = await s.request('POST', '/api/v1/namespaces/limited/limitranges', {
    body: {
      apiVersion: 'v1',
      kind: 'LimitRange',
      metadata: { name: 'limits' },
      spec: {
        limits: [
          {
            type: 'Container',
            default: { cpu: '500m', memory: '256Mi' },
            defaultRequest: { cpu: '100m' },
            min: { cpu: '50m' },
            max: { cpu: '1', memory: '1Gi' },
          },
        ],
      },
    },
  });
  assert.equal(lr.status, 201, lr.text);
});
after(async () => {
  await s.stop();
});

const pod = (name: string, resources: Record<string, unknown> = {}) =>
  s.request('POST', '/api/v1/namespaces/limited/pods', {
    body: {
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: { name },
      spec: { containers: [{ name: 'app', image: 'busybox', resources }] },
    },
  });

describe('LimitRanger', () => {
  it('fills default limits and requests a container leaves out, and says so', async () => {
    const r = await pod('defaults', { limits: { memory: '128Mi' } });
    assert.equal(r.status, 201, r.text);
    const p = r.json<{
      metadata: { annotations: Record<string, string> };
      spec: { containers: Array<{ resources: unknown }> };
    }>();
    assert.deepEqual(p.spec.containers[0].resources, {
      limits: { memory: '128Mi', cpu: '500m' },
      requests: { memory: '128Mi', cpu: '100m' },
    });
    assert.equal(
      p.metadata.annotations['kubernetes.io/limit-ranger'],
      'LimitRanger plugin set: cpu request for container app; cpu limit for container app',
    );
  });

  it('refuses requests and limits outside min and max with every violation', async () => {
    const one = await pod('too-big', { limits: { cpu: '2' } });
    assert.equal(one.status, 403, one.text);
    assert.equal(
      one.json<{ message: string }>().message,
      'pods "too-big" is forbidden: maximum cpu usage per Container is 1, but limit is 2',
    );
    const two = await pod('both', { requests: { cpu: '10m' }, limits: { cpu: '20m', memory: '2Gi' } });
    assert.equal(two.status, 403, two.text);
    assert.equal(
      two.json<{ message: string }>().message,
      'pods "both" is forbidden: [minimum cpu usage per Container is 50m, but request is 10m, maximum memory usage per Container is 1Gi, but limit is 2Gi]',
    );
    assert.equal((await s.request('GET', '/api/v1/namespaces/limited/pods/both')).status, 404);
  });
});
