/**
 * ValidatingAdmissionPolicy (k8s.io/apiserver's plugin/policy/validating): each binding whose policy matches a
 * request (the policy's matchConstraints, then the binding's matchResources) has the policy's validations
 * evaluated per parameter object. A false validation is a decision for the binding's validationActions: Deny
 * refuses with kube-apiserver's text and the validation's reason, Warn adds a Warning header, Audit is dropped
 * (no audit log here). An expression that errors, and a policy or binding that cannot be configured, fall to the
 * policy's failurePolicy. Policies and bindings themselves are never subject to policies.
 */
import { CelError, type Program } from '../../cel/program.js';
import { KubeError, notFound, type StatusReason } from '../../errors.js';
import type { KubeObject } from '../../registry/types.js';
import { fromStructured, matchesLabels } from '../../selectors/labels.js';
import type { AdmissionAttributes, Operation, ValidatingPlugin } from '../types.js';
import { requestOf, toCel } from '../webhooks/conditions.js';
import { isExemptConfiguration, ruleMatches } from '../webhooks/match.js';
import type { PolicyEnv } from './source.js';
import {
  policyProgram,
  specOf,
  type BindingSpec,
  type MatchResources,
  type NamedRule,
  type PolicySpec,
} from './spec.js';

interface Decision {
  action: 'deny' | 'admit';
  message: string;
  reason?: string;
}

/** A failure the failurePolicy decides (an evaluation error or a configuration error). */
class PolicyFailure extends Error {}

const namedRuleMatches = (r: NamedRule, a: AdmissionAttributes): boolean =>
  ruleMatches(r, a) && (!(r.resourceNames ?? []).length || (r.resourceNames ?? []).includes(a.name));

const emptySelector = (s: MatchResources['namespaceSelector']): boolean =>
  !s || (!Object.keys(s.matchLabels ?? {}).length && !(s.matchExpressions ?? []).length);

/** matching.Matcher: namespace selector, object selector, then include and exclude rules. */
function matches(
  m: MatchResources | undefined,
  a: AdmissionAttributes,
  obj: KubeObject | undefined,
  old: KubeObject | undefined,
  ns: KubeObject | undefined,
  isBinding: boolean,
): boolean {
  // A binding without matchResources matches everything its policy matches.
  if (!m) return isBinding;
  if (!emptySelector(m.namespaceSelector)) {
    const isNamespace = a.resource.group === '' && a.resource.resource === 'namespaces';
    const labels = isNamespace ? (obj ?? old)?.metadata?.labels : ns?.metadata?.labels;
    if ((a.namespace || isNamespace) && !matchesLabels(fromStructured(m.namespaceSelector), labels))
      return false;
  }
  if (!emptySelector(m.objectSelector)) {
    const sel = fromStructured(m.objectSelector);
    if (![obj, old].some((o) => o !== undefined && matchesLabels(sel, o.metadata?.labels))) return false;
  }
  const rules = m.resourceRules ?? [];
  // A binding's empty resourceRules defer to the policy's.
  if (!(isBinding && !rules.length) && !rules.some((r) => namedRuleMatches(r, a))) return false;
  return !(m.excludeResourceRules ?? []).some((r) => namedRuleMatches(r, a));
}

function run(expression: string, vars: Record<string, unknown>): unknown {
  const p: Program | CelError = policyProgram(expression);
  if (p instanceof CelError) throw new PolicyFailure(p.message);
  try {
    return p.evaluate(vars);
  } catch (e) {
    throw new PolicyFailure(`expression '${expression}' resulted in error: ${(e as Error).message}`);
  }
}

/** One evaluation of the policy for one parameter object (validator.Validate). */
function evaluate(spec: PolicySpec, vars: Record<string, unknown>): Decision[] {
  const variables: Record<string, unknown> = {};
  vars = { ...vars, variables };
  for (const v of spec.variables ?? []) variables[v.name] = run(v.expression, vars);
  for (const c of spec.matchConditions ?? []) {
    const r = run(c.expression, vars);
    if (r === false) return [];
    if (r !== true) throw new PolicyFailure(`expression '${c.expression}' resulted in error: expected bool`);
  }
  const out: Decision[] = [];
  for (const v of spec.validations ?? []) {
    const r = run(v.expression, vars);
    if (r === true) continue;
    if (r !== false) throw new PolicyFailure(`expression '${v.expression}' resulted in error: expected bool`);
    let message = v.message?.trim() || `failed expression: ${v.expression.trim()}`;
    if (v.messageExpression) {
      // A messageExpression that fails or yields nothing leaves the static message in place.
      try {
        const m = run(v.messageExpression, vars);
        if (typeof m === 'string' && m.trim() && !m.includes('\n')) message = m.trim();
      } catch {
        /* as upstream: the failure is logged, the message stays */
      }
    }
    out.push({ action: 'deny', message, ...(v.reason ? { reason: v.reason } : {}) });
  }
  return out;
}

const CODES: Record<string, StatusReason> = {
  Forbidden: 'Forbidden',
  Unauthorized: 'Unauthorized',
  RequestEntityTooLarge: 'RequestEntityTooLarge',
};

/** admission.NewForbidden's subject and wording, with the decision's reason and code (dispatcher.go). */
function refusal(a: AdmissionAttributes, message: string, reason: string | undefined): KubeError {
  const { resource, group } = a.resource;
  const what = group ? `${resource}.${group}` : resource;
  const text = `${what}${a.name ? ` "${a.name}"` : ''} is forbidden: ${message}`;
  return new KubeError(
    CODES[reason ?? ''] ?? 'Invalid',
    text,
    { kind: resource, ...(a.name ? { name: a.name } : {}), ...(group ? { group } : {}) },
    [{ message }],
  );
}

export class ValidatingAdmissionPolicyPlugin implements ValidatingPlugin {
  readonly name = 'ValidatingAdmissionPolicy';

  constructor(private readonly env: PolicyEnv) {}

  handles(op: Operation): boolean {
    return op !== 'CONNECT';
  }

  async validate(
    a: AdmissionAttributes,
    obj: KubeObject | undefined,
    old: KubeObject | undefined,
  ): Promise<void> {
    if (isExemptConfiguration(a)) return;
    const bindings = await this.env.bindings();
    if (!bindings.length) return;
    const policies = new Map((await this.env.policies()).map((p) => [p.metadata?.name ?? '', p]));
    let ns: KubeObject | undefined;
    let nsRead = false;
    const namespace = async (): Promise<KubeObject | undefined> => {
      if (!nsRead && a.namespace) {
        ns = await this.env.namespace(a.namespace);
        nsRead = true;
      }
      return ns;
    };
    const sorted = [...bindings].sort((x, y) =>
      (x.metadata?.name ?? '') < (y.metadata?.name ?? '') ? -1 : 1,
    );
    for (const b of sorted) {
      const bs = specOf<BindingSpec>(b);
      const policy = policies.get(bs.policyName ?? '');
      if (!policy) continue;
      const ps = specOf<PolicySpec>(policy);
      const nsObj = await namespace();
      if (a.namespace && !nsObj && a.operation !== 'DELETE') throw notFound('namespaces', a.namespace);
      if (!matches(ps.matchConstraints, a, obj, old, nsObj, false)) continue;
      if (!matches(bs.matchResources, a, obj, old, nsObj, true)) continue;
      const policyName = policy.metadata?.name ?? '';
      const bindingName = b.metadata?.name ?? '';
      let decisions: Decision[];
      try {
        decisions = await this.decide(ps, bs, a, obj, old, nsObj);
      } catch (e) {
        if (!(e instanceof PolicyFailure)) throw e;
        if (ps.failurePolicy === 'Ignore') continue;
        decisions = [{ action: 'deny', message: e.message }];
      }
      const actions = bs.validationActions ?? [];
      for (const d of decisions) {
        if (actions.includes('Warn'))
          a.warnings?.push(
            `Validation failed for ValidatingAdmissionPolicy '${policyName}' with binding '${bindingName}': ${d.message}`,
          );
      }
      const denied = decisions[0];
      if (denied && actions.includes('Deny'))
        throw refusal(
          a,
          `ValidatingAdmissionPolicy '${policyName}' with binding '${bindingName}' denied request: ${denied.message}`,
          denied.reason,
        );
    }
  }

  /** The decisions over every parameter object the binding selects. */
  private async decide(
    ps: PolicySpec,
    bs: BindingSpec,
    a: AdmissionAttributes,
    obj: KubeObject | undefined,
    old: KubeObject | undefined,
    ns: KubeObject | undefined,
  ): Promise<Decision[]> {
    const base = {
      object: toCel(obj),
      oldObject: toCel(old),
      request: toCel(requestOf(a)),
      namespaceObject: toCel(ns),
    };
    if (!ps.paramKind) return evaluate(ps, { ...base, params: null });
    const ref = bs.paramRef;
    if (!ref)
      throw new PolicyFailure('failed to configure binding: paramRef is required when paramKind is set');
    const { apiVersion = '', kind = '' } = ps.paramKind;
    const all = await this.env.params(apiVersion, kind, ref.namespace ?? a.namespace);
    const params = ref.name
      ? all.filter((p) => p.metadata?.name === ref.name)
      : all.filter((p) => matchesLabels(fromStructured(ref.selector), p.metadata?.labels));
    if (!params.length) {
      if (ref.parameterNotFoundAction === 'Deny')
        throw new PolicyFailure(
          'failed to configure binding: no params found for policy binding with `Deny` parameterNotFoundAction',
        );
      return [];
    }
    return params.flatMap((p) => evaluate(ps, { ...base, params: toCel(p) }));
  }
}
