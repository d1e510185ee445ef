/**
 * kube-aggregator's autoregister for CRDs: a `<version>.<group>` APIService per served CRD version (Local,
 * Available, automanaged), gone when the version stops being served or the CRD is deleted; built-in ones stay.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { startTestServer, type TestServer, until } from './helpers/apiserver.js';
import { cronTabCrd } from './fixtures/crontab.js';

let s: TestServer;
before(async () => {
  s = await startTestServer();
});
after(() => s?.stop());

const CRDS = '/apis/apiextensions.k8s.io/v1/customresourcedefinitions';
const SERVICES = '/apis/apiregistration.k8s.io/v1/apiservices';

interface ApiService {
  metadata: { name: string; labels?: Record<string, string> };
  spec: { group: string; version: string; groupPriorityMinimum: number; versionPriority: number };
  status?: { conditions?: Array<{ type: string; status: string; reason: string }> };
}

const get = (name: string) => s.request('GET', `${SERVICES}/${name}`);

describe('APIServices for custom resources', () => {
  it('registers each served version, and removes it with the version and with the CRD', async () => {
    const crd = cronTabCrd();
    const v2 = { ...crd.spec.versions[0], name: 'v2', storage: false };
    crd.spec.versions.push(v2);
    const created = await s.request('POST', CRDS, { body: crd });
    assert.equal(created.status, 201, created.text);
    await until('v1 and v2 registered', async () => (await get('v2.stable.example.com')).status === 200);
    const svc = (await get('v1.stable.example.com')).json<ApiService>();
    assert.equal(svc.metadata.labels?.['kube-aggregator.kubernetes.io/automanaged'], 'true');
    assert.deepEqual(svc.spec, {
      group: 'stable.example.com',
      version: 'v1',
      groupPriorityMinimum: 1000,
      versionPriority: 100,
    });
    const cond = svc.status?.conditions?.find((c) => c.type === 'Available');
    assert.equal(cond?.status, 'True');
    assert.equal(cond?.reason, 'Local');

    // v2 no longer served: its APIService goes, v1's stays.
    const cur = (await s.request('GET', `${CRDS}/crontabs.stable.example.com`)).json<typeof crd>();
    cur.spec.versions[1].served = false;
    const put = await s.request('PUT', `${CRDS}/crontabs.stable.example.com`, { body: cur });
    assert.equal(put.status, 200, put.text);
    await until('v2 removed', async () => (await get('v2.stable.example.com')).status === 404);
    assert.equal((await get('v1.stable.example.com')).status, 200);

    const del = await s.request('DELETE', `${CRDS}/crontabs.stable.example.com`);
    assert.equal(del.status, 200, del.text);
    await until('v1 removed', async () => (await get('v1.stable.example.com')).status === 404);
    // The built-in group-versions keep theirs.
    assert.equal((await get('v1.apps')).status, 200);
  });
});
