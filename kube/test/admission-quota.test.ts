/** ResourceQuota over HTTPS: exceeded quotas are 403s worded as kube-apiserver's, and status tracks usage. */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { startTestServer, type TestServer } from './helpers/apiserver.js';

let s: TestServer;
const NS = '/api/v1/namespaces/quota';
before(async () => {
  s = await startTestServer();
  const ns = await s.request('POST', '/api/v1/namespaces', {
    body: { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'quota' } },
  });
  assert.equal(ns.status, 201, ns.text);
  const q = await s.request('POST', `${NS}/resourcequotas`, {
    body: {
      apiVersion: 'v1',
      kind: 'ResourceQuota',
      metadata: { name: 'compute' },
      spec: { hard: { pods: '2', 'requests.cpu': '1', 'count/deployments.apps': '0' } },
    },
  });
  assert.equal(q.status, 201, q.text);
});
after(async () => {
  await s.stop();
});

const pod = (name: string, cpu?: string) =>
  s.request('POST', `${NS}/pods`, {
    body: {
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: { name },
      spec: {
        containers: [{ name: 'app', image: 'busybox', ...(cpu ? { resources: { requests: { cpu } } } : {}) }],
      },
    },
  });

const message = (r: { status: number; text: string; json<T>(): T }) => {
  assert.equal(r.status, 403, r.text);
  return r.json<{ message: string }>().message;
};

describe('ResourceQuota', () => {
  it('admits within the quota and refuses past it, naming what was requested, used and limited', async () => {
    assert.equal((await pod('p1', '500m')).status, 201);
    assert.equal((await pod('p2', '400m')).status, 201);
    assert.equal(
      message(await pod('p3', '200m')),
      'pods "p3" is forbidden: exceeded quota: compute, requested: pods=1,requests.cpu=200m, used: pods=2,requests.cpu=900m, limited: pods=2,requests.cpu=1',
    );
    assert.equal(
      message(await pod('p4')),
      'pods "p4" is forbidden: failed quota: compute: must specify requests.cpu',
    );
    const d = await s.request('POST', '/apis/apps/v1/namespaces/quota/deployments', {
      body: {
        apiVersion: 'apps/v1',
        kind: 'Deployment',
        metadata: { name: 'web' },
        spec: {
          selector: { matchLabels: { app: 'web' } },
          template: {
            metadata: { labels: { app: 'web' } },
            spec: { containers: [{ name: 'c', image: 'nginx' }] },
          },
        },
      },
    });
    assert.equal(
      message(d),
      'deployments.apps "web" is forbidden: exceeded quota: compute, requested: count/deployments.apps=1, used: count/deployments.apps=0, limited: count/deployments.apps=0',
    );
  });

  it('keeps status.used current', async () => {
    const deadline = Date.now() + 5000;
    let status: { used?: Record<string, string> } | undefined;
    while (Date.now() < deadline) {
      status = (await s.request('GET', `${NS}/resourcequotas/compute`)).json<{ status?: typeof status }>()
        .status;
      if (status?.used?.['requests.cpu'] === '900m') break;
      await new Promise((r) => setTimeout(r, 50));
    }
    assert.deepEqual(status, {
      hard: { pods: '2', 'requests.cpu': '1', 'count/deployments.apps': '0' },
      used: { pods: '2', 'requests.cpu': '900m', 'count/deployments.apps': '0' },
    });
    assert.equal((await s.request('DELETE', `${NS}/pods/p2?gracePeriodSeconds=0`)).status, 200);
    assert.equal((await pod('p5', '100m')).status, 201);
  });
});
