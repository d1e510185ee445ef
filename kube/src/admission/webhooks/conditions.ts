/**
 * A webhook's matchConditions (k8s.io/apiserver's webhook/matchconditions matcher): CEL expressions over
 * `object`, `oldObject` and `request` (the AdmissionRequest without its objects). Any false → the webhook is
 * skipped; all true → called; errors and no false → per failurePolicy (Fail refuses the request, Ignore skips).
 * The `authorizer` variable is not offered: an expression naming it does not compile.
 */
import { CelError, compile, type Program } from '../../cel/program.js';
import type { KubeObject } from '../../registry/types.js';
import type { AdmissionAttributes } from '../types.js';
import type { Webhook } from './match.js';

export const MATCH_CONDITION_VARIABLES = ['object', 'oldObject', 'request'];

export type ConditionsResult = { matches: boolean } | { error: string };

const programs = new Map<string, Program | CelError>();

/** A compiled expression (cached by its text: conditions are few and shared between requests). */
function program(expression: string): Program | CelError {
  let p = programs.get(expression);
  if (!p) {
    try {
      p = compile(expression, MATCH_CONDITION_VARIABLES);
    } catch (e) {
      p = e instanceof CelError ? e : new CelError((e as Error).message, 'compile');
    }
    if (programs.size > 1000) programs.clear();
    programs.set(expression, p);
  }
  return p;
}

/** A compile error's text for webhook configuration validation ("compilation failed: ERROR: ..."), or undefined. */
export function conditionCompileError(expression: string): string | undefined {
  const p = program(expression);
  if (p instanceof CelError) return `compilation failed: ${p.message}`;
  if (p.type !== 'bool' && p.type !== 'dyn') return 'must evaluate to bool';
  return undefined;
}

/** JSON as CEL sees it: whole numbers are ints. */
export function toCel(v: unknown): unknown {
  if (typeof v === 'number') return Number.isInteger(v) ? BigInt(v) : v;
  if (Array.isArray(v)) return v.map(toCel);
  if (v && typeof v === 'object')
    return Object.fromEntries(Object.entries(v as Record<string, unknown>).map(([k, x]) => [k, toCel(x)]));
  return v ?? null;
}

/** The request variable: AdmissionRequest's fields as the review would carry them. */
export function requestOf(a: AdmissionAttributes): Record<string, unknown> {
  const u = a.user;
  return {
    kind: a.kind,
    resource: a.resource,
    ...(a.subresource ? { subResource: a.subresource } : {}),
    requestKind: a.kind,
    requestResource: a.resource,
    ...(a.subresource ? { requestSubResource: a.subresource } : {}),
    name: a.name ?? '',
    namespace: a.namespace ?? '',
    operation: a.operation,
    userInfo: {
      username: u.name,
      ...(u.uid ? { uid: u.uid } : {}),
      groups: u.groups,
      ...(u.extra && Object.keys(u.extra).length ? { extra: u.extra } : {}),
    },
    dryRun: !!a.dryRun,
    ...(a.options ? { options: a.options } : {}),
  };
}

export function evaluateMatchConditions(
  h: Webhook,
  a: AdmissionAttributes,
  obj: KubeObject | undefined,
  old: KubeObject | undefined,
): ConditionsResult {
  const conditions = h.matchConditions ?? [];
  if (!conditions.length) return { matches: true };
  const vars = { object: toCel(obj), oldObject: toCel(old), request: toCel(requestOf(a)) };
  const errors: string[] = [];
  for (const c of conditions) {
    const p = program(c.expression);
    try {
      if (p instanceof CelError) throw p;
      const r = p.evaluate(vars);
      if (r === false) return { matches: false };
      if (r !== true) throw new CelError(`expected bool, got ${typeof r}`, 'eval');
    } catch (e) {
      errors.push(`expression '${c.expression}' resulted in error: ${(e as Error).message}`);
    }
  }
  if (!errors.length) return { matches: true };
  if (h.failurePolicy === 'Ignore') return { matches: false };
  return { error: errors.length === 1 ? errors[0] : `[${errors.join(', ')}]` };
}
