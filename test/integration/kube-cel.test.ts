/**
 * CEL in the API server through the real kubectl 1.32: a CRD's x-kubernetes-validations (a rule that does not
 * compile refuses the CRD; valid and invalid custom resources; a transition rule on update) and admission webhooks'
 * matchConditions (a webhook whose conditions are false is not called; one whose condition errors follows its
 * failurePolicy). The webhooks point at a port nothing listens on, so being called shows as a refusal.
 */
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { after, before, describe, it } from 'node:test';
import { requirement } from '../helpers/env.js';
import { KUBECTL_132, startKube, type TestKube } from '../helpers/kube.js';

const skip = requirement(existsSync(KUBECTL_132), 'kubectl 1.32 is not installed');

/** A port in this suite's range nothing listens on. */
const DOWN_PORT = 19751;

let k: TestKube;

before(async () => {
  if (skip) return;
  k = await startKube();
});

after(async () => {
  if (skip) return;
  await k?.destroy();
});

const run = async (args: string[], input?: string) => k.kubectl(args, input !== undefined ? { input } : {});
const ok = async (args: string[], input?: string) => {
  const r = await run(args, input);
  assert.equal(r.code, 0, `kubectl ${args.join(' ')}: ${r.stderr}`);
  return r.stdout;
};
const fails = async (args: string[], input?: string) => {
  const r = await run(args, input);
  assert.notEqual(r.code, 0, `kubectl ${args.join(' ')} succeeded: ${r.stdout}`);
  return r.stderr.trim();
};

const crd = (rule: string) => `
apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata: { name: widgets.cel.berth.test }
spec:
  group: cel.berth.test
  scope: Namespaced
  names: { plural: widgets, singular: widget, kind: Widget }
  versions:
    - name: v1
      served: true
      storage: true
      schema:
        openAPIV3Schema:
          type: object
          properties:
            spec:
              type: object
              x-kubernetes-validations:
                - rule: ${JSON.stringify(rule)}
                - rule: "self.replicas <= self.maxReplicas"
                  message: "replicas must not exceed maxReplicas"
                  fieldPath: .replicas
                - rule: "!has(self.mode) || self.mode in ['a', 'b']"
                  messageExpression: "'mode ' + self.mode + ' is not a or b'"
                  reason: FieldValueForbidden
              properties:
                replicas: { type: integer }
                maxReplicas: { type: integer }
                mode: { type: string }
                owner:
                  type: string
                  x-kubernetes-validations:
                    - { rule: "self == oldSelf", message: "owner is immutable" }
`;

const widget = (name: string, spec: string) => `
apiVersion: cel.berth.test/v1
kind: Widget
metadata: { name: ${name}, namespace: default }
spec: ${spec}
`;

describe('CRD x-kubernetes-validations', { skip }, () => {
  it('refuses a CRD whose rule does not compile', async () => {
    const err = await fails(['apply', '-f', '-'], crd('self.replicas >'));
    assert.ok(
      err.startsWith(
        'The CustomResourceDefinition "widgets.cel.berth.test" is invalid: spec.validation.openAPIV3Schema.properties[spec].x-kubernetes-validations[0].rule: Invalid value: apiextensions.ValidationRule{Rule:"self.replicas >", Message:"", MessageExpression:"", Reason:(*apiextensions.FieldValueErrorReason)(nil), FieldPath:"", OptionalOldSelf:(*bool)(nil)}: compilation failed: ERROR: <input>:1:',
      ),
      err,
    );
  });

  it('accepts valid custom resources and refuses invalid ones with kube-apiserver words', async () => {
    await ok(['apply', '-f', '-'], crd('self.replicas >= 0'));
    await ok(['wait', '--for=condition=Established', 'crd/widgets.cel.berth.test', '--timeout=20s']);
    await ok(['apply', '-f', '-'], widget('good', '{ replicas: 1, maxReplicas: 3, mode: a, owner: me }'));
    assert.equal(
      await fails(['apply', '-f', '-'], widget('neg', '{ replicas: -1, maxReplicas: 3 }')),
      'The Widget "neg" is invalid: spec: Invalid value: "object": failed rule: self.replicas >= 0',
    );
    assert.equal(
      await fails(['create', '-f', '-'], widget('many', '{ replicas: 5, maxReplicas: 3, mode: c }')),
      'The Widget "many" is invalid: \n' +
        '* spec.replicas: Invalid value: "object": replicas must not exceed maxReplicas\n' +
        '* spec: Forbidden: mode c is not a or b',
    );
    assert.equal(
      await fails(['apply', '-f', '-'], widget('nomax', '{ replicas: 1 }')),
      'The Widget "nomax" is invalid: spec: Invalid value: "object": no such key: maxReplicas evaluating rule: replicas must not exceed maxReplicas',
    );
  });

  it('runs transition rules on update only', async () => {
    assert.equal(
      await fails(['patch', 'widget', 'good', '--type=merge', '-p', '{"spec":{"owner":"you"}}']),
      'The Widget "good" is invalid: spec.owner: Invalid value: "string": owner is immutable',
    );
    await ok(['patch', 'widget', 'good', '--type=merge', '-p', '{"spec":{"replicas":2}}']);
    const got = JSON.parse(await ok(['get', 'widget', 'good', '-o', 'json'])) as {
      spec: { replicas: number };
    };
    assert.equal(got.spec.replicas, 2);
  });
});

const hooks = (expression: string, name = 'cel-hooks') => `
apiVersion: admissionregistration.k8s.io/v1
kind: ValidatingWebhookConfiguration
metadata: { name: ${name} }
webhooks:
  - name: by-name.cel.berth.test
    clientConfig: { url: "https://127.0.0.1:${DOWN_PORT}/" }
    rules: [{ operations: [CREATE], apiGroups: [""], apiVersions: [v1], resources: [configmaps] }]
    sideEffects: None
    admissionReviewVersions: [v1]
    failurePolicy: Fail
    matchConditions:
      - { name: hooked, expression: ${JSON.stringify(expression)} }
      - { name: not-dry-run, expression: "!request.dryRun && request.operation == 'CREATE'" }
  - name: erroring.cel.berth.test
    clientConfig: { url: "https://127.0.0.1:${DOWN_PORT}/" }
    rules: [{ operations: [CREATE], apiGroups: [""], apiVersions: [v1], resources: [configmaps] }]
    objectSelector: { matchLabels: { cel: err } }
    sideEffects: None
    admissionReviewVersions: [v1]
    failurePolicy: Fail
    matchConditions:
      - { name: mode, expression: "object.data.mode == 'x'" }
  - name: ignoring.cel.berth.test
    clientConfig: { url: "https://127.0.0.1:${DOWN_PORT}/" }
    rules: [{ operations: [CREATE], apiGroups: [""], apiVersions: [v1], resources: [configmaps] }]
    objectSelector: { matchLabels: { cel: ignore } }
    sideEffects: None
    admissionReviewVersions: [v1]
    failurePolicy: Ignore
    matchConditions:
      - { name: mode, expression: "object.data.mode == 'x'" }
`;

describe('webhook matchConditions', { skip }, () => {
  it('refuses a configuration whose expression does not compile', async () => {
    const err = await fails(['apply', '-f', '-'], hooks('object.metadata.name.startsWith(', 'cel-bad'));
    assert.ok(
      err.startsWith(
        'The ValidatingWebhookConfiguration "cel-bad" is invalid: webhooks[0].matchConditions[0].expression: Invalid value: "object.metadata.name.startsWith(": compilation failed: ERROR: <input>:1:',
      ),
      err,
    );
  });

  it('calls a webhook only when every condition is true, and follows failurePolicy on errors', async () => {
    await ok(['apply', '-f', '-'], hooks("object.metadata.name.startsWith('hooked-')"));
    // The conditions are false: the webhook (whose server is down) is not called.
    await ok(['create', 'configmap', 'plain', '--from-literal=a=b']);
    await ok(['create', 'configmap', 'hooked-dry', '--dry-run=server']);
    // All true: it is called, and the call fails closed.
    const called = await fails(['create', 'configmap', 'hooked-1']);
    assert.match(
      called,
      /failed calling webhook "by-name\.cel\.berth\.test": failed to call webhook: Post "https:\/\/127\.0\.0\.1:19751\/\?timeout=10s": dial tcp 127\.0\.0\.1:19751: connect: connection refused/,
    );
    // A condition that errors: failurePolicy Fail refuses the request, Ignore skips the webhook.
    const cm = (name: string, label: string, data = '') =>
      `{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"${name}","labels":{"cel":"${label}"}}${data}}`;
    assert.equal(
      await fails(['create', '-f', '-'], cm('err-1', 'err')),
      `Error from server (Forbidden): error when creating "STDIN": configmaps "err-1" is forbidden: expression 'object.data.mode == 'x'' resulted in error: no such key: data`,
    );
    await ok(['create', '-f', '-'], cm('err-2', 'err', ',"data":{"mode":"y"}'));
    await ok(['create', '-f', '-'], cm('ign-1', 'ignore'));
    await ok(['delete', 'validatingwebhookconfiguration', 'cel-hooks']);
  });
});
