/** pods/eviction over HTTPS: PodDisruptionBudgets allow or refuse (429 with the DisruptionBudget cause). */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { startTestServer, type TestServer } from './helpers/apiserver.js';

let s: TestServer;
before(async () => {
  s = await startTestServer();
});
after(async () => {
  await s.stop();
});

const NS = '/api/v1/namespaces/default';

async function pod(name: string, app: string, phase = 'Running'): Promise<void> {
  const r = await s.request('POST', `${NS}/pods`, {
    body: {
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: { name, labels: { app } },
      spec: { containers: [{ name: 'c', image: 'busybox' }] },
    },
  });
  assert.equal(r.status, 201, r.text);
  const st = await s.request('PATCH', `${NS}/pods/${name}/status`, {
    headers: { 'Content-Type': 'application/merge-patch+json' },
    body: {
      status: { phase, conditions: [{ type: 'Ready', status: phase === 'Running' ? 'True' : 'False' }] },
    },
  });
  assert.equal(st.status, 200, st.text);
}

const evict = (name: string, body: Record<string, unknown> = {}) =>
  s.request('POST', `${NS}/pods/${name}/eviction`, {
    body: { apiVersion: 'policy/v1', kind: 'Eviction', metadata: { name }, ...body },
  });

describe('pods/eviction', () => {
  it('evicts while the budget allows, then answers 429 with the budget named', async () => {
    for (const n of ['web-1', 'web-2', 'web-3']) await pod(n, 'web');
    const pdb = await s.request('POST', '/apis/policy/v1/namespaces/default/poddisruptionbudgets', {
      body: {
        apiVersion: 'policy/v1',
        kind: 'PodDisruptionBudget',
        metadata: { name: 'web' },
        spec: { minAvailable: 2, selector: { matchLabels: { app: 'web' } } },
      },
    });
    assert.equal(pdb.status, 201, pdb.text);
    const ok = await evict('web-1');
    assert.equal(ok.status, 201, ok.text);
    assert.deepEqual(ok.json(), {
      kind: 'Status',
      apiVersion: 'v1',
      metadata: {},
      status: 'Success',
      code: 201,
    });
    assert.equal((await s.request('GET', `${NS}/pods/web-1`)).status, 404);
    const refused = await evict('web-2');
    assert.equal(refused.status, 429, refused.text);
    const st = refused.json<{ reason: string; message: string; details: { causes: unknown[] } }>();
    assert.equal(st.reason, 'TooManyRequests');
    assert.equal(st.message, "Cannot evict pod as it would violate the pod's disruption budget.");
    assert.deepEqual(st.details.causes, [
      {
        reason: 'DisruptionBudget',
        message: 'The disruption budget web needs 2 healthy pods and has 2 currently',
      },
    ]);
    assert.equal((await s.request('GET', `${NS}/pods/web-2`)).status, 200);
    const status = (
      await s.request('GET', '/apis/policy/v1/namespaces/default/poddisruptionbudgets/web')
    ).json<{
      status: { disruptionsAllowed: number; currentHealthy: number; disruptedPods: Record<string, string> };
    }>().status;
    assert.equal(status.disruptionsAllowed, 0);
    assert.ok(status.disruptedPods['web-1']);
  });

  it('ignores budgets for pods that are not running, and checks the name and percentages', async () => {
    await pod('job-1', 'job', 'Pending');
    await pod('job-2', 'job');
    const pdb = await s.request('POST', '/apis/policy/v1/namespaces/default/poddisruptionbudgets', {
      body: {
        apiVersion: 'policy/v1',
        kind: 'PodDisruptionBudget',
        metadata: { name: 'job' },
        spec: { maxUnavailable: '0%', selector: { matchLabels: { app: 'job' } } },
      },
    });
    assert.equal(pdb.status, 201, pdb.text);
    assert.equal((await evict('job-1')).status, 201);
    assert.equal((await evict('job-2')).status, 429);
    const wrong = await s.request('POST', `${NS}/pods/job-2/eviction`, {
      body: { apiVersion: 'policy/v1', kind: 'Eviction', metadata: { name: 'other' } },
    });
    assert.equal(wrong.status, 400);
    assert.equal(
      wrong.json<{ message: string }>().message,
      'name in URL does not match name in Eviction object',
    );
    assert.equal((await evict('missing')).status, 404);
  });
});
