/**
 * ValidatingAdmissionPolicy over HTTPS on an in-process API server: the refusal's Status as kube-apiserver 1.32
 * writes it, Warn's header, params, variables and matchConditions, failurePolicy, and the policy's own checks.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { startTestServer, type Reply, type TestServer } from './helpers/apiserver.js';

const ADM = '/apis/admissionregistration.k8s.io/v1';
let s: TestServer;

before(async () => {
  s = await startTestServer();
  for (const name of ['vap', 'vap-prod'])
    assert.equal(
      (
        await s.request('POST', '/api/v1/namespaces', {
          body: { metadata: { name, labels: { env: name === 'vap' ? 'dev' : 'prod' } } },
        })
      ).status,
      201,
    );
});
after(async () => {
  await s.stop();
});

const policy = (name: string, spec: Record<string, unknown>) =>
  s.request('POST', `${ADM}/validatingadmissionpolicies`, {
    body: {
      apiVersion: 'admissionregistration.k8s.io/v1',
      kind: 'ValidatingAdmissionPolicy',
      metadata: { name },
      spec,
    },
  });

const binding = (name: string, spec: Record<string, unknown>) =>
  s.request('POST', `${ADM}/validatingadmissionpolicybindings`, {
    body: {
      apiVersion: 'admissionregistration.k8s.io/v1',
      kind: 'ValidatingAdmissionPolicyBinding',
      metadata: { name },
      spec,
    },
  });

const configMapRule = {
  apiGroups: [''],
  apiVersions: ['v1'],
  operations: ['CREATE', 'UPDATE'],
  resources: ['configmaps'],
};

const deployment = (name: string, replicas: number, ns = 'vap') =>
  s.request('POST', `/apis/apps/v1/namespaces/${ns}/deployments`, {
    body: {
      apiVersion: 'apps/v1',
      kind: 'Deployment',
      metadata: { name },
      spec: {
        replicas,
        selector: { matchLabels: { app: name } },
        template: {
          metadata: { labels: { app: name } },
          spec: { containers: [{ name: 'c', image: 'nginx' }] },
        },
      },
    },
  });

const configMap = (
  name: string,
  data: Record<string, string>,
  ns = 'vap',
  labels: Record<string, string> = {},
) => s.request('POST', `/api/v1/namespaces/${ns}/configmaps`, { body: { metadata: { name, labels }, data } });

/** Policies reach the plugin through a watch: retry until the request is refused (or the time is up). */
async function untilStatus(send: () => Promise<Reply>, status: number): Promise<Reply> {
  const end = Date.now() + 5000;
  for (;;) {
    const r = await send();
    if (r.status === status || Date.now() > end) return r;
    await new Promise((res) => setTimeout(res, 50));
  }
}

describe('ValidatingAdmissionPolicy', () => {
  it('refuses a Deployment over the limit with kube-apiserver 1.32 Status, and admits one under it', async () => {
    const p = await policy('max-replicas', {
      failurePolicy: 'Fail',
      matchConstraints: {
        resourceRules: [
          {
            apiGroups: ['apps'],
            apiVersions: ['v1'],
            operations: ['CREATE', 'UPDATE'],
            resources: ['deployments'],
          },
        ],
      },
      validations: [{ expression: 'object.spec.replicas <= 5' }],
    });
    assert.equal(p.status, 201, p.text);
    assert.equal(
      (await binding('max-replicas-b', { policyName: 'max-replicas', validationActions: ['Deny'] })).status,
      201,
    );
    const r = await untilStatus(() => deployment('big', 6), 422);
    assert.equal(r.status, 422, r.text);
    const msg =
      "ValidatingAdmissionPolicy 'max-replicas' with binding 'max-replicas-b' denied request: failed expression: object.spec.replicas <= 5";
    assert.deepEqual(r.json(), {
      kind: 'Status',
      apiVersion: 'v1',
      metadata: {},
      status: 'Failure',
      message: `deployments.apps "big" is forbidden: ${msg}`,
      reason: 'Invalid',
      details: { name: 'big', group: 'apps', kind: 'deployments', causes: [{ message: msg }] },
      code: 422,
    });
    const ok = await deployment('small', 3);
    assert.equal(ok.status, 201, ok.text);
    // Another namespace's Deployment is matched too (no selector), a ConfigMap is not.
    assert.equal((await configMap('free', { a: 'b' })).status, 201);
  });

  it('Warn adds the Warning header and admits; reason and messageExpression shape the refusal', async () => {
    assert.equal(
      (
        await policy('cm-keys', {
          matchConstraints: { resourceRules: [configMapRule] },
          variables: [{ name: 'n', expression: 'size(object.data)' }],
          validations: [
            {
              expression: 'variables.n <= 2',
              messageExpression: "'too many keys: ' + string(variables.n)",
              reason: 'Forbidden',
            },
          ],
        })
      ).status,
      201,
    );
    assert.equal(
      (
        await binding('cm-keys-warn', {
          policyName: 'cm-keys',
          validationActions: ['Warn', 'Audit'],
          matchResources: { namespaceSelector: { matchLabels: { env: 'dev' } } },
        })
      ).status,
      201,
    );
    assert.equal(
      (
        await binding('cm-keys-deny', {
          policyName: 'cm-keys',
          validationActions: ['Deny'],
          matchResources: { namespaceSelector: { matchLabels: { env: 'prod' } } },
        })
      ).status,
      201,
    );
    const big = { a: '1', b: '2', c: '3' };
    const denied = await untilStatus(() => configMap('denied', big, 'vap-prod'), 403);
    assert.equal(denied.status, 403, denied.text);
    assert.equal(
      denied.json().message,
      `configmaps "denied" is forbidden: ValidatingAdmissionPolicy 'cm-keys' with binding 'cm-keys-deny' denied request: too many keys: 3`,
    );
    assert.equal(denied.json().reason, 'Forbidden');
    const warned = await configMap('warned', big);
    assert.equal(warned.status, 201, warned.text);
    assert.equal(
      String(warned.headers.warning),
      `299 - "Validation failed for ValidatingAdmissionPolicy 'cm-keys' with binding 'cm-keys-warn': too many keys: 3"`,
    );
    assert.equal((await configMap('fine', { a: '1' }, 'vap-prod')).status, 201);
  });

  it('reads params from the binding paramRef, and Deny when none is found', async () => {
    assert.equal(
      (
        await policy('max-from-param', {
          paramKind: { apiVersion: 'v1', kind: 'ConfigMap' },
          matchConstraints: { resourceRules: [{ ...configMapRule, resourceNames: ['p-a', 'p-b'] }] },
          matchConditions: [{ name: 'not-limits', expression: "object.metadata.name != 'limits'" }],
          validations: [
            {
              expression: 'size(object.data) <= int(params.data.max)',
              message: 'too many keys for params',
            },
          ],
        })
      ).status,
      201,
    );
    assert.equal((await configMap('limits', { max: '1' })).status, 201);
    assert.equal(
      (
        await binding('max-from-param-b', {
          policyName: 'max-from-param',
          paramRef: { name: 'limits', parameterNotFoundAction: 'Deny' },
          validationActions: ['Deny'],
        })
      ).status,
      201,
    );
    const r = await untilStatus(() => configMap('p-a', { a: '1', b: '2' }), 422);
    assert.equal(
      r.json().message,
      `configmaps "p-a" is forbidden: ValidatingAdmissionPolicy 'max-from-param' with binding 'max-from-param-b' denied request: too many keys for params`,
    );
    assert.equal((await configMap('p-b', { a: '1' })).status, 201);
    // In vap-prod there is no "limits" ConfigMap: the binding's Deny action refuses.
    const none = await configMap('p-a', { a: '1' }, 'vap-prod');
    assert.equal(none.status, 422, none.text);
    assert.match(
      String(none.json().message),
      /no params found for policy binding with `Deny` parameterNotFoundAction/,
    );
  });

  it('refuses a policy whose expressions do not compile, naming the field', async () => {
    const r = await policy('broken', {
      matchConstraints: { resourceRules: [configMapRule] },
      validations: [{ expression: 'object.spec.replicas <= 5' }, { expression: 'object.spec.replicas <=' }],
    });
    assert.equal(r.status, 422, r.text);
    const body = r.json<{ message: string; details: { causes: Array<{ field: string }> } }>();
    assert.match(
      body.message,
      /^ValidatingAdmissionPolicy\.admissionregistration\.k8s\.io "broken" is invalid: spec\.validations\[1\]\.expression: Invalid value: "object\.spec\.replicas <=": compilation failed: ERROR: <input>:1:/,
    );
    assert.deepEqual(
      body.details.causes.map((c) => c.field),
      ['spec.validations[1].expression'],
    );
    // authorizer is not offered here.
    const a = await policy('authz', {
      validations: [{ expression: "authorizer.group('').resource('pods').check('get').allowed()" }],
    });
    assert.equal(a.status, 422, a.text);
    assert.match(a.json().message as string, /undeclared reference to 'authorizer'/);
  });

  it('checks auditAnnotations: a qualified key, unique, with a valueExpression that compiles', async () => {
    const ok = await policy('audited', {
      auditAnnotations: [{ key: 'replicas', valueExpression: "'wants ' + string(object.spec.replicas)" }],
    });
    assert.equal(ok.status, 201, ok.text);
    const bad = await policy('audited-bad', {
      auditAnnotations: [
        { key: 'a b', valueExpression: "'x'" },
        { key: 'dup', valueExpression: "'x'" },
        { key: 'dup', valueExpression: '' },
        { key: 'c', valueExpression: "'x' +" },
      ],
    });
    assert.equal(bad.status, 422, bad.text);
    const causes = bad.json<{ details: { causes: Array<{ field: string; reason: string }> } }>().details
      .causes;
    assert.deepEqual(
      causes.map((c) => `${c.field} ${c.reason}`),
      [
        'spec.auditAnnotations[0].key FieldValueInvalid',
        'spec.auditAnnotations[2].key FieldValueDuplicate',
        'spec.auditAnnotations[2].valueExpression FieldValueRequired',
        'spec.auditAnnotations[3].valueExpression FieldValueInvalid',
      ],
    );
  });

  it('failurePolicy Ignore skips an expression that fails at runtime; Fail refuses', async () => {
    for (const [name, fp] of [
      ['rt-ignore', 'Ignore'],
      ['rt-fail', 'Fail'],
    ] as const) {
      assert.equal(
        (
          await policy(name, {
            failurePolicy: fp,
            matchConstraints: {
              resourceRules: [configMapRule],
              objectSelector: { matchLabels: { check: fp } },
            },
            validations: [{ expression: "object.data.missing == 'x'" }],
          })
        ).status,
        201,
      );
      assert.equal(
        (await binding(`${name}-b`, { policyName: name, validationActions: ['Deny'] })).status,
        201,
      );
    }
    const failed = await untilStatus(() => configMap('rt1', { a: '1' }, 'vap', { check: 'Fail' }), 422);
    assert.equal(failed.status, 422, failed.text);
    assert.match(
      String(failed.json().message),
      /^configmaps "rt1" is forbidden: ValidatingAdmissionPolicy 'rt-fail' with binding 'rt-fail-b' denied request: expression 'object.data.missing == 'x'' resulted in error: no such key: missing$/,
    );
    assert.equal((await configMap('rt2', { a: '1' }, 'vap', { check: 'Ignore' })).status, 201);
  });
});
