/**
 * RBAC's rule algebra as k8s.io/kubernetes' pkg/apis/rbac/v1 helpers and pkg/registry/rbac/validation define it:
 * whether a PolicyRule allows a request, whether a subject names a user, and whether one set of rules covers
 * another (the escalation check), with the missing rules worded as CompactString prints them.
 */
import type { RequestUser } from '../../../registry/types.js';
import type { AuthorizationAttributes } from '../authorizer.js';

export interface PolicyRule {
  verbs: string[];
  apiGroups?: string[];
  resources?: string[];
  resourceNames?: string[];
  nonResourceURLs?: string[];
}

export interface Subject {
  kind: string;
  apiGroup?: string;
  name: string;
  namespace?: string;
}

const has = (list: string[] | undefined, v: string) => !!list && (list.includes('*') || list.includes(v));

function resourceMatches(rule: PolicyRule, resource: string, subresource: string): boolean {
  const res = rule.resources ?? [];
  const combined = subresource ? `${resource}/${subresource}` : resource;
  for (const r of res) {
    if (r === '*' || r === combined) return true;
    // "*/status" matches every resource's status; "pods/*" is not a wildcard for subresources upstream.
    if (subresource && r === `*/${subresource}`) return true;
  }
  return false;
}

function urlMatches(rule: PolicyRule, path: string): boolean {
  for (const u of rule.nonResourceURLs ?? []) {
    if (u === '*' || u === path) return true;
    if (u.endsWith('*') && path.startsWith(u.slice(0, -1))) return true;
  }
  return false;
}

/** RuleAllows: verb, then group/resource/name for resource requests or the URL for the others. */
export function ruleAllows(a: AuthorizationAttributes, rule: PolicyRule): boolean {
  if (!has(rule.verbs, a.verb)) return false;
  if (!a.resourceRequest) return urlMatches(rule, a.path ?? '');
  if (!has(rule.apiGroups, a.apiGroup ?? '')) return false;
  if (!resourceMatches(rule, a.resource ?? '', a.subresource ?? '')) return false;
  const names = rule.resourceNames ?? [];
  return names.length === 0 || names.includes(a.name ?? '');
}

/** appliesToUser: a User by name, a Group by membership, a ServiceAccount by its user name. */
export function subjectMatches(s: Subject, user: RequestUser, bindingNamespace: string): boolean {
  switch (s.kind) {
    case 'User':
      return s.name === user.name;
    case 'Group':
      return user.groups.includes(s.name);
    case 'ServiceAccount': {
      const ns = s.namespace || bindingNamespace;
      return !!ns && user.name === `system:serviceaccount:${ns}:${s.name}`;
    }
    default:
      return false;
  }
}

/** BreakdownRule: one rule per group × resource × verb (× name), or per URL × verb. */
function breakdown(rule: PolicyRule): PolicyRule[] {
  const out: PolicyRule[] = [];
  for (const g of rule.apiGroups ?? [])
    for (const r of rule.resources ?? [])
      for (const v of rule.verbs) {
        if (rule.resourceNames?.length)
          for (const n of rule.resourceNames)
            out.push({ apiGroups: [g], resources: [r], verbs: [v], resourceNames: [n] });
        else out.push({ apiGroups: [g], resources: [r], verbs: [v] });
      }
  for (const u of rule.nonResourceURLs ?? [])
    for (const v of rule.verbs) out.push({ nonResourceURLs: [u], verbs: [v] });
  return out;
}

const coversList = (owner: string[] | undefined, want: string[] | undefined) =>
  (want ?? []).every((w) => (owner ?? []).includes('*') || (owner ?? []).includes(w));

/** ruleCovers: the owner rule grants everything the (broken down) requested rule asks for. */
function ruleCovers(owner: PolicyRule, want: PolicyRule): boolean {
  if (!coversList(owner.verbs, want.verbs)) return false;
  if (want.nonResourceURLs?.length) {
    return want.nonResourceURLs.every((u) =>
      (owner.nonResourceURLs ?? []).some(
        (o) => o === '*' || o === u || (o.endsWith('*') && u.startsWith(o.slice(0, -1))),
      ),
    );
  }
  if (!coversList(owner.apiGroups, want.apiGroups)) return false;
  const resourcesOk = (want.resources ?? []).every((r) => {
    const owned = owner.resources ?? [];
    if (owned.includes('*') || owned.includes(r)) return true;
    const slash = r.indexOf('/');
    return slash > 0 && owned.includes(`*${r.slice(slash)}`);
  });
  if (!resourcesOk) return false;
  if (!owner.resourceNames?.length) return true;
  return !!want.resourceNames?.length && coversList(owner.resourceNames, want.resourceNames);
}

/** Covers: the requested rules every owner rule-set must hold, and those it does not. */
export function covers(owner: PolicyRule[], requested: PolicyRule[]): { ok: boolean; missing: PolicyRule[] } {
  const missing: PolicyRule[] = [];
  for (const r of requested)
    for (const piece of breakdown(r)) if (!owner.some((o) => ruleCovers(o, piece))) missing.push(piece);
  return { ok: missing.length === 0, missing };
}

/** CompactRules: single group/resource rules without names that differ only by verb become one. */
export function compact(rules: PolicyRule[]): PolicyRule[] {
  const out: PolicyRule[] = [];
  const simple = new Map<string, PolicyRule>();
  for (const r of rules) {
    const isSimple =
      r.apiGroups?.length === 1 &&
      r.resources?.length === 1 &&
      !r.resourceNames?.length &&
      !r.nonResourceURLs?.length;
    if (!isSimple) {
      out.push(r);
      continue;
    }
    const key = `${r.apiGroups![0]}\0${r.resources![0]}`;
    const existing = simple.get(key);
    if (existing) existing.verbs.push(...r.verbs);
    else {
      const copy = { apiGroups: [...r.apiGroups!], resources: [...r.resources!], verbs: [...r.verbs] };
      simple.set(key, copy);
      out.push(copy);
    }
  }
  return out;
}

/** Go's %q of a []string: ["a" "b"]. */
export const goQuoteList = (l: string[]) => `[${l.map((s) => JSON.stringify(s)).join(' ')}]`;

/** rbacv1helpers.CompactString. */
export function compactString(r: PolicyRule): string {
  const parts: string[] = [];
  if (r.apiGroups?.length) parts.push(`APIGroups:${goQuoteList(r.apiGroups)}`);
  if (r.resources?.length) parts.push(`Resources:${goQuoteList(r.resources)}`);
  if (r.nonResourceURLs?.length) parts.push(`NonResourceURLs:${goQuoteList(r.nonResourceURLs)}`);
  if (r.resourceNames?.length) parts.push(`ResourceNames:${goQuoteList(r.resourceNames)}`);
  if (r.verbs.length) parts.push(`Verbs:${goQuoteList(r.verbs)}`);
  return `{${parts.join(', ')}}`;
}

/** ConfirmNoEscalation's message for rules the user does not hold. */
export function escalationMessage(user: RequestUser, missing: PolicyRule[]): string {
  const lines = [...new Set(compact(missing).map(compactString))].sort();
  return `user ${JSON.stringify(user.name)} (groups=${goQuoteList(user.groups)}) is attempting to grant RBAC permissions not currently held:\n${lines.join('\n')}`;
}
