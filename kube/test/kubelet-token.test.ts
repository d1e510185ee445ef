/**
 * The kubelet's token manager over the API server's own TokenRequest: tokens bound to the pod, cached per pod,
 * account, audience and lifetime, renewed at 80% of the stated lifetime, dropped with the pod; a pod the API server
 * no longer has gets no token.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { TokenManager } from '../src/kubelet/token.js';
import type { Pod } from '../src/kubelet/types.js';
import type { KubeObject } from '../src/registry/types.js';
import { startTestServer, type TestServer } from './helpers/apiserver.js';

const NS = '/api/v1/namespaces/default';
const claimsOf = (token: string) =>
  JSON.parse(Buffer.from(token.split('.')[1], 'base64url').toString()) as {
    aud: string[];
    sub: string;
    'kubernetes.io': { pod?: { name: string; uid: string } };
  };

describe('kubelet token manager', () => {
  let s: TestServer;
  let pod: Pod;
  before(async () => {
    s = await startTestServer();
    const sa = await s.request('POST', `${NS}/serviceaccounts`, {
      body: { apiVersion: 'v1', kind: 'ServiceAccount', metadata: { name: 'robot' } },
    });
    assert.equal(sa.status, 201, sa.text);
    const r = await s.request('POST', `${NS}/pods`, {
      body: {
        apiVersion: 'v1',
        kind: 'Pod',
        metadata: { name: 'p' },
        spec: { serviceAccountName: 'robot', containers: [{ name: 'c', image: 'busybox' }] },
      },
    });
    assert.equal(r.status, 201, r.text);
    pod = r.json<Pod>();
  });
  after(() => s.stop());

  it('asks once per pod, account, audience and lifetime, and again at 80% of the lifetime', async () => {
    let clock = Date.now();
    const asked: KubeObject[] = [];
    const m = new TokenManager(
      (ns, sa, req) => {
        asked.push(req);
        return s.tokens.request(ns, sa, req);
      },
      () => clock,
    );
    const t1 = await m.token(pod, undefined, 3600);
    assert.equal(await m.token(pod, undefined, 3600), t1);
    assert.equal(asked.length, 1);
    const c = claimsOf(t1);
    assert.equal(c.sub, 'system:serviceaccount:default:robot');
    assert.deepEqual(c['kubernetes.io'].pod, { name: 'p', uid: pod.metadata!.uid });
    assert.deepEqual((asked[0].spec as { boundObjectRef: object }).boundObjectRef, {
      apiVersion: 'v1',
      kind: 'Pod',
      name: 'p',
      uid: pod.metadata!.uid,
    });

    const vault = await m.token(pod, 'vault', 3600);
    assert.deepEqual(claimsOf(vault).aud, ['vault']);
    assert.equal(asked.length, 2);

    clock += 0.8 * 3600_000 - 1000;
    assert.equal(await m.token(pod, undefined, 3600), t1, 'still fresh before 80%');
    clock += 2000;
    assert.notEqual(await m.token(pod, undefined, 3600), t1, 'renewed past 80%');
    assert.equal(asked.length, 3);

    m.forget(pod.metadata!.uid!);
    await m.token(pod, 'vault', 3600);
    assert.equal(asked.length, 4, 'forgotten with the pod');
  });

  it('gets no token for a pod the API server no longer has', async () => {
    const m = new TokenManager((ns, sa, req) => s.tokens.request(ns, sa, req));
    const gone = { ...pod, metadata: { ...pod.metadata, uid: 'not-the-uid' } };
    await assert.rejects(m.token(gone, undefined, 3600), /uid/);
  });
});
