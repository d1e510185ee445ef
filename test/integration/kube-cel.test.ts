/**
 * CEL in the API server through the real kubectl 1.32: a CRD's x-kubernetes-validations (a rule that does not
 * compile refuses the CRD; valid and invalid custom resources; a transition rule on update; validation ratcheting
 * after the schema is tightened; the status part's rules through --subresource=status) and admission webhooks'
 * matchConditions (a webhook whose conditions are false is not called; one whose condition errors follows its
 * failurePolicy), and ValidatingAdmissionPolicy (compile checks, a Deny binding's refusal and a Warn binding's
 * warning). The webhooks point at a port nothing listens on, so being called shows as a refusal.
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
/** kubectl apply of `yaml` is refused with a message that starts as `prefix` (compile errors end in CEL's detail). */
const refusedWith = async (yaml: string, prefix: string) => {
  const err = await fails(['apply', '-f', '-'], yaml);
  assert.ok(err.startsWith(prefix), err);
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

/** A custom resource of the suite's group, as YAML for kubectl. */
const resource = (kind: string) => (name: string, spec: string) => `
apiVersion: cel.berth.test/v1
kind: ${kind}
metadata: { name: ${name}, namespace: default }
spec: ${spec}
`;
const widget = resource('Widget');

describe('CRD x-kubernetes-validations', { skip }, () => {
  it('refuses a CRD whose rule does not compile', async () => {
    await refusedWith(
      crd('self.replicas >'),
      'The CustomResourceDefinition "widgets.cel.berth.test" is invalid: spec.validation.openAPIV3Schema.properties[spec].x-kubernetes-validations[0].rule: Invalid value: apiextensions.ValidationRule{Rule:"self.replicas >", Message:"", MessageExpression:"", Reason:(*apiextensions.FieldValueErrorReason)(nil), FieldPath:"", OptionalOldSelf:(*bool)(nil)}: compilation failed: ERROR: <input>:1:',
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

/** Gizmos: loose, then `strict` adds a maximum, a rule on spec.mode; status has a rule from the start. */
const gizmos = (strict: boolean) => `
apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata: { name: gizmos.cel.berth.test }
spec:
  group: cel.berth.test
  scope: Namespaced
  names: { plural: gizmos, singular: gizmo, kind: Gizmo }
  versions:
    - name: v1
      served: true
      storage: true
      subresources: { status: {} }
      schema:
        openAPIV3Schema:
          type: object
          properties:
            spec:
              type: object
              properties:
                size: { type: integer${strict ? ', maximum: 5' : ''} }
                note: { type: string }
                mode:
                  type: string${
                    strict
                      ? `
                  x-kubernetes-validations:
                    - { rule: "self.startsWith('new')", message: "mode must start with new" }`
                      : ''
                  }
            status:
              type: object
              properties:
                count: { type: integer }
              x-kubernetes-validations:
                - { rule: "!has(self.count) || self.count >= 0", message: "count must not be negative" }
`;

const gizmo = resource('Gizmo');

describe('CRD validation ratcheting and the status subresource', { skip }, () => {
  it('keeps objects stored under a looser schema updatable, and refuses changes to their bad fields', async () => {
    await ok(['apply', '-f', '-'], gizmos(false));
    await ok(['wait', '--for=condition=Established', 'crd/gizmos.cel.berth.test', '--timeout=20s']);
    await ok(['apply', '-f', '-'], gizmo('legacy', '{ size: 9, mode: old }'));
    await ok(['apply', '-f', '-'], gizmo('fine', '{ size: 1, mode: new }'));
    await ok(['apply', '-f', '-'], gizmos(true));
    // The tightened schema is served once a new object breaking it is refused.
    const deadline = performance.now() + 10_000;
    while ((await run(['create', '--dry-run=server', '-f', '-'], gizmo('probe', '{ size: 9 }'))).code === 0) {
      assert.ok(performance.now() < deadline, 'the tightened schema is served within 10 s');
      await new Promise((r) => setTimeout(r, 100));
    }
    const note = await run(['patch', 'gizmo', 'legacy', '--type=merge', '-p', '{"spec":{"note":"hi"}}']);
    assert.equal(note.code, 0, note.stderr);
    assert.equal(note.stdout.trim(), 'gizmo.cel.berth.test/legacy patched');
    // The rule still failing on the unchanged mode is a warning (kube-apiserver's ratcheting), not an error.
    assert.equal(note.stderr.trim(), 'Warning: spec.mode: Invalid value: "string": mode must start with new');
    assert.equal(
      await fails(['patch', 'gizmo', 'legacy', '--type=merge', '-p', '{"spec":{"size":8}}']),
      // Warnings travel with the refusal too (kube-apiserver writes them to the headers as validation adds them).
      'Warning: spec.mode: Invalid value: "string": mode must start with new\n' +
        'The Gizmo "legacy" is invalid: spec.size: Invalid value: 8: spec.size in body should be less than or equal to 5',
    );
    assert.equal(
      await fails(['patch', 'gizmo', 'legacy', '--type=merge', '-p', '{"spec":{"mode":"older"}}']),
      'The Gizmo "legacy" is invalid: spec.mode: Invalid value: "string": mode must start with new',
    );
  });

  it('runs the status rules through --subresource=status', async () => {
    const patch = (body: string) => [
      'patch',
      'gizmo',
      'fine',
      '--subresource=status',
      '--type=merge',
      '-p',
      body,
    ];
    assert.equal(
      await fails(patch('{"status":{"count":-1}}')),
      'The Gizmo "fine" is invalid: status: Invalid value: "object": count must not be negative',
    );
    await ok(patch('{"status":{"count":2}}'));
    // The main resource ignores status.
    await ok(['patch', 'gizmo', 'fine', '--type=merge', '-p', '{"status":{"count":-3}}']);
    assert.equal(await ok(['get', 'gizmo', 'fine', '-o', 'jsonpath={.status.count}']), '2');
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
    await refusedWith(
      hooks('object.metadata.name.startsWith(', 'cel-bad'),
      'The ValidatingWebhookConfiguration "cel-bad" is invalid: webhooks[0].matchConditions[0].expression: Invalid value: "object.metadata.name.startsWith(": compilation failed: ERROR: <input>:1:',
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

const policy = (expression: string, name = 'replicas.cel.berth.test') => `
apiVersion: admissionregistration.k8s.io/v1
kind: ValidatingAdmissionPolicy
metadata: { name: ${name} }
spec:
  failurePolicy: Fail
  matchConstraints:
    resourceRules:
      - { apiGroups: [apps], apiVersions: [v1], operations: [CREATE, UPDATE], resources: [deployments] }
  validations:
    - expression: ${JSON.stringify(expression)}
`;

const policyBinding = (actions: string) => `
apiVersion: admissionregistration.k8s.io/v1
kind: ValidatingAdmissionPolicyBinding
metadata: { name: replicas-test.cel.berth.test }
spec:
  policyName: replicas.cel.berth.test
  validationActions: [${actions}]
  matchResources:
    namespaceSelector: { matchLabels: { environment: test } }
`;

describe('ValidatingAdmissionPolicy', { skip }, () => {
  it('refuses a policy whose expression does not compile', async () => {
    await refusedWith(
      policy('object.spec.replicas <=', 'cel-bad-policy'),
      'The ValidatingAdmissionPolicy "cel-bad-policy" is invalid: spec.validations[0].expression: Invalid value: "object.spec.replicas <=": compilation failed: ERROR: <input>:1:',
    );
  });

  it('denies in the bound namespaces with the words kubectl users see, and warns when bound with Warn', async () => {
    assert.equal(
      await ok(['apply', '-f', '-'], `${policy('object.spec.replicas <= 5')}---${policyBinding('Deny')}`),
      'validatingadmissionpolicy.admissionregistration.k8s.io/replicas.cel.berth.test created\n' +
        'validatingadmissionpolicybinding.admissionregistration.k8s.io/replicas-test.cel.berth.test created\n',
    );
    const table = await ok(['get', 'validatingadmissionpolicies,validatingadmissionpolicybindings']);
    // Two kinds in one get: kubectl names each row with its kind.
    assert.match(
      table,
      /^NAME\s+VALIDATIONS\s+PARAMKIND\s+AGE\nvalidatingadmissionpolicy\.admissionregistration\.k8s\.io\/replicas\.cel\.berth\.test\s+1\s+<unset>\s+\S+$/m,
    );
    assert.match(
      table,
      /^NAME\s+POLICYNAME\s+PARAMREF\s+AGE\nvalidatingadmissionpolicybinding\.admissionregistration\.k8s\.io\/replicas-test\.cel\.berth\.test\s+replicas\.cel\.berth\.test\s+<unset>\s+\S+$/m,
    );
    await ok(['create', 'namespace', 'vap-test']);
    await ok(['label', 'namespace', 'vap-test', 'environment=test']);
    const create = (replicas: number, ns: string) => [
      'create',
      'deployment',
      'web',
      '--image=busybox',
      `--replicas=${replicas}`,
      '-n',
      ns,
      '--dry-run=server',
    ];
    // The policy is bound to labelled namespaces only, and holds on server dry runs too.
    await ok(create(6, 'default'));
    await ok(create(5, 'vap-test'));
    assert.equal(
      await fails(create(6, 'vap-test')),
      `error: failed to create deployment: deployments.apps "web" is forbidden: ValidatingAdmissionPolicy 'replicas.cel.berth.test' with binding 'replicas-test.cel.berth.test' denied request: failed expression: object.spec.replicas <= 5`,
    );
    // Warn lets the request through and tells the client why it would have been refused.
    await ok(['apply', '-f', '-'], policyBinding('Warn'));
    const r = await run(create(6, 'vap-test'));
    assert.equal(r.code, 0, r.stderr);
    assert.equal(
      r.stderr.trim(),
      `Warning: Validation failed for ValidatingAdmissionPolicy 'replicas.cel.berth.test' with binding 'replicas-test.cel.berth.test': failed expression: object.spec.replicas <= 5`,
    );
    await ok(['delete', 'namespace', 'vap-test', '--wait=false']);
    await ok(['delete', 'validatingadmissionpolicybinding', 'replicas-test.cel.berth.test']);
    await ok(['delete', 'validatingadmissionpolicy', 'replicas.cel.berth.test']);
  });
});
