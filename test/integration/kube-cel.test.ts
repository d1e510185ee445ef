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
