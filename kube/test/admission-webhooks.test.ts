/** The webhook predicates, the AdmissionReview checks and the denial's Status, as k8s.io/apiserver's. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  isExemptConfiguration,
  needsNamespaceLabels,
  objectMatches,
  ruleMatches,
  type WebhookRule,
} from '../src/admission/webhooks/match.js';
import { admissionReview, denial, verifyResponse } from '../src/admission/webhooks/review.js';
import type { AdmissionAttributes } from '../src/admission/types.js';
import { statusOf } from '../src/apiserver/status.js';

const attrs = (o: Partial<AdmissionAttributes> = {}): AdmissionAttributes => ({
  operation: 'CREATE',
  kind: { group: 'apps', version: 'v1', kind: 'Deployment' },
  resource: { group: 'apps', version: 'v1', resource: 'deployments' },
  subresource: '',
  name: 'web',
  namespace: 'default',
  user: { name: 'alice', groups: ['system:authenticated'] },
  dryRun: false,
  ...o,
});

describe('webhook rules', () => {
  const rule = (r: Partial<WebhookRule>): WebhookRule => ({
    operations: ['CREATE'],
    apiGroups: ['apps'],
    apiVersions: ['v1'],
    resources: ['deployments'],
    ...r,
  });
  const cases: Array<[string, Partial<WebhookRule>, Partial<AdmissionAttributes>, boolean]> = [
    ['exact', {}, {}, true],
    ['other operation', {}, { operation: 'UPDATE' }, false],
    ['wildcard operation', { operations: ['*'] }, { operation: 'DELETE' }, true],
    ['other group', { apiGroups: [''] }, {}, false],
    ['wildcard group and version', { apiGroups: ['*'], apiVersions: ['*'] }, {}, true],
    ['subresource not named', {}, { subresource: 'scale', operation: 'CREATE' }, false],
    ['subresource named', { resources: ['deployments/scale'] }, { subresource: 'scale' }, true],
    ['any subresource', { resources: ['deployments/*'] }, { subresource: 'status' }, true],
    ['*/* covers subresources', { resources: ['*/*'] }, { subresource: 'status' }, true],
    ['* is main resources only', { resources: ['*'] }, { subresource: 'status' }, false],
    ['Cluster scope skips namespaced', { scope: 'Cluster' }, {}, false],
    ['Namespaced scope', { scope: 'Namespaced' }, {}, true],
    [
      'a Namespace is cluster scoped',
      { scope: 'Cluster', apiGroups: [''], resources: ['namespaces'] },
      { resource: { group: '', version: 'v1', resource: 'namespaces' }, namespace: '' },
      true,
    ],
  ];
  for (const [name, r, a, want] of cases) it(name, () => assert.equal(ruleMatches(rule(r), attrs(a)), want));

  it('exempts the configuration kinds themselves', () => {
    const kind = {
      group: 'admissionregistration.k8s.io',
      version: 'v1',
      kind: 'MutatingWebhookConfiguration',
    };
    assert.equal(isExemptConfiguration(attrs({ kind })), true);
    assert.equal(isExemptConfiguration(attrs()), false);
  });

  it('matches selectors on the new or the old object; cluster-scoped requests skip the namespace selector', () => {
    const h = {
      name: 'a.b.c',
      clientConfig: {},
      objectSelector: { matchExpressions: [{ key: 'app', operator: 'In' as const, values: ['web'] }] },
      namespaceSelector: { matchLabels: { env: 'dev' } },
    };
    const o = (labels: Record<string, string>) => ({ metadata: { labels } });
    assert.equal(objectMatches(h, o({ app: 'db' }), o({ app: 'web' })), true);
    assert.equal(objectMatches(h, o({ app: 'db' }), undefined), false);
    assert.equal(needsNamespaceLabels(h, attrs()), true);
    assert.equal(needsNamespaceLabels(h, attrs({ namespace: '' })), false);
  });
});

describe('admission reviews', () => {
  it('sends the request as kube-apiserver and checks the answer', () => {
    const { uid, review } = admissionReview(
      'v1',
      attrs({ dryRun: true }),
      { metadata: { name: 'web' } },
      undefined,
    );
    const req = review.request as Record<string, unknown>;
    assert.equal(review.apiVersion, 'admission.k8s.io/v1');
    assert.equal(req.uid, uid);
    assert.deepEqual(req.object, { metadata: { name: 'web' }, apiVersion: 'apps/v1', kind: 'Deployment' });
    assert.equal(req.oldObject, null);
    assert.deepEqual(req.options, { kind: 'CreateOptions', apiVersion: 'meta.k8s.io/v1', dryRun: ['All'] });
    assert.deepEqual(req.userInfo, { username: 'alice', groups: ['system:authenticated'] });
    const ok = {
      apiVersion: 'admission.k8s.io/v1',
      kind: 'AdmissionReview',
      response: { uid, allowed: true },
    };
    assert.equal(verifyResponse('v1', uid, false, ok).allowed, true);
    assert.throws(
      () => verifyResponse('v1', uid, false, { ...ok, response: { uid: 'x', allowed: true } }),
      new RegExp(`expected response.uid="${uid}", got "x"`),
    );
    assert.throws(() => verifyResponse('v1', uid, false, {}), /webhook response was absent/);
    assert.throws(
      () => verifyResponse('v1', uid, false, { ...ok, response: { uid, allowed: true, patch: 'W10=' } }),
      /validating webhook may not return response.patch/,
    );
    assert.throws(
      () => verifyResponse('v1', uid, true, { ...ok, response: { uid, allowed: true, patch: 'W10=' } }),
      /webhook returned response.patch but not response.patchType/,
    );
  });

  it('words a denial as ToStatusErr: code at least 400, the reason kept', () => {
    const s = statusOf(denial('v.berth.test', { code: 409, reason: 'AlreadyExists', message: 'taken' }));
    assert.equal(s.code, 409);
    assert.equal(s.reason, 'AlreadyExists');
    assert.equal(s.message, 'admission webhook "v.berth.test" denied the request: taken');
    const bare = statusOf(denial('v.berth.test', { code: 200 }));
    assert.equal(bare.code, 400);
    assert.equal(bare.reason, undefined);
    assert.equal(bare.message, 'admission webhook "v.berth.test" denied the request without explanation');
    assert.equal(
      statusOf(denial('v', { reason: 'NoWay' })).message,
      'admission webhook "v" denied the request: NoWay',
    );
  });
});
