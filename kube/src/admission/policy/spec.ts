/**
 * admissionregistration.k8s.io/v1 ValidatingAdmissionPolicy and its binding as the plugin reads them, and the
 * policy's expressions compiled (k8s.io/apiserver's plugin/policy/validating compiler): variables object,
 * oldObject, request, params, namespaceObject and variables. `authorizer` is not offered, so an expression
 * naming it does not compile. auditAnnotations are checked (key, compiling valueExpression) and not evaluated:
 * there is no audit log to write them to.
 */
import { CelError, compile, type Program } from '../../cel/program.js';
import type { FieldError } from '../../errors.js';
import type { KubeObject } from '../../registry/types.js';
import { notSupported } from '../../registry/validation/fields.js';
import { isQualifiedName } from '../../registry/validation/names.js';
import type { StructuredSelector } from '../../selectors/labels.js';
import type { WebhookRule } from '../webhooks/match.js';

export const POLICY_VARIABLES = ['object', 'oldObject', 'request', 'params', 'namespaceObject', 'variables'];

export interface NamedRule extends WebhookRule {
  resourceNames?: string[];
}

export interface MatchResources {
  namespaceSelector?: StructuredSelector;
  objectSelector?: StructuredSelector;
  resourceRules?: NamedRule[];
  excludeResourceRules?: NamedRule[];
  matchPolicy?: 'Exact' | 'Equivalent';
}

export interface Validation {
  expression: string;
  message?: string;
  messageExpression?: string;
  reason?: string;
}

export interface PolicySpec {
  failurePolicy?: 'Fail' | 'Ignore';
  paramKind?: { apiVersion?: string; kind?: string };
  matchConstraints?: MatchResources;
  validations?: Validation[];
  matchConditions?: Array<{ name: string; expression: string }>;
  variables?: Array<{ name: string; expression: string }>;
  auditAnnotations?: Array<{ key?: string; valueExpression?: string }>;
}

export interface BindingSpec {
  policyName?: string;
  paramRef?: {
    name?: string;
    namespace?: string;
    selector?: StructuredSelector;
    parameterNotFoundAction?: 'Allow' | 'Deny';
  };
  matchResources?: MatchResources;
  validationActions?: Array<'Deny' | 'Warn' | 'Audit'>;
}

export const specOf = <T>(o: KubeObject): T => (o.spec ?? {}) as T;

const programs = new Map<string, Program | CelError>();

/** A compiled policy expression, cached by its text; a CelError when it does not compile. */
export function policyProgram(expression: string): Program | CelError {
  let p = programs.get(expression);
  if (!p) {
    try {
      p = compile(expression, POLICY_VARIABLES);
    } catch (e) {
      p = e instanceof CelError ? e : new CelError((e as Error).message, 'compile');
    }
    if (programs.size > 2000) programs.clear();
    programs.set(expression, p);
  }
  return p;
}

function expressionErrors(field: string, expression: string | undefined, want?: string): FieldError[] {
  if (!expression) return [{ type: 'FieldValueRequired', field }];
  const p = policyProgram(expression);
  if (p instanceof CelError)
    return [
      { type: 'FieldValueInvalid', field, badValue: expression, detail: `compilation failed: ${p.message}` },
    ];
  if (want && p.type !== want && p.type !== 'dyn')
    return [{ type: 'FieldValueInvalid', field, badValue: expression, detail: `must evaluate to ${want}` }];
  return [];
}

const REASONS = ['Unauthorized', 'Forbidden', 'Invalid', 'RequestEntityTooLarge'];

/** validateValidatingAdmissionPolicySpec's expression checks: every expression compiles. */
export function policyErrors(o: KubeObject): FieldError[] {
  const s = specOf<PolicySpec>(o);
  const errs: FieldError[] = [];
  const validations = s.validations ?? [];
  if (!validations.length && !(s.auditAnnotations ?? []).length)
    errs.push({
      type: 'FieldValueRequired',
      field: 'spec.validations',
      detail: 'validations or auditAnnotations must contain at least one item',
    });
  errs.push(...notSupported('spec.failurePolicy', s.failurePolicy, ['Fail', 'Ignore']));
  (s.variables ?? []).forEach((v, i) =>
    errs.push(...expressionErrors(`spec.variables[${i}].expression`, v.expression)),
  );
  (s.matchConditions ?? []).forEach((c, i) =>
    errs.push(...expressionErrors(`spec.matchConditions[${i}].expression`, c.expression, 'bool')),
  );
  const keys = new Set<string>();
  (s.auditAnnotations ?? []).forEach((a, i) => {
    const p = `spec.auditAnnotations[${i}]`;
    const key = a.key ?? '';
    const name = o.metadata?.name ?? '';
    // The key becomes `<policy name>/<key>` in the audit event, so the pair must be a qualified name.
    for (const detail of isQualifiedName(`${name}/${key}`))
      errs.push({ type: 'FieldValueInvalid', field: `${p}.key`, badValue: `${name}/${key}`, detail });
    if (keys.has(key)) errs.push({ type: 'FieldValueDuplicate', field: `${p}.key`, badValue: key });
    keys.add(key);
    const expr = (a.valueExpression ?? '').trim();
    if (!expr)
      errs.push({
        type: 'FieldValueRequired',
        field: `${p}.valueExpression`,
        detail: 'valueExpression is not specified',
      });
    else if (expr.length > 5 * 1024)
      errs.push({
        type: 'FieldValueInvalid',
        field: `${p}.valueExpression`,
        badValue: a.valueExpression,
        detail: 'must not exceed 5120 bytes in length',
      });
    else errs.push(...expressionErrors(`${p}.valueExpression`, expr));
  });
  validations.forEach((v, i) => {
    const p = `spec.validations[${i}]`;
    errs.push(...expressionErrors(`${p}.expression`, v.expression, 'bool'));
    if (v.messageExpression)
      errs.push(...expressionErrors(`${p}.messageExpression`, v.messageExpression, 'string'));
    errs.push(...notSupported(`${p}.reason`, v.reason, REASONS));
  });
  return errs;
}
