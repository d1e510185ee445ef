/**
 * The RBAC authorizer (plugin/pkg/auth/authorizer/rbac): a request is allowed when a ClusterRoleBinding, or a
 * RoleBinding of the request's namespace, names the user (or a group, or its service account) and its role has
 * a rule for it; otherwise RBAC has no opinion. ClusterRoles with an aggregationRule hold the rules of the roles
 * their selectors match (transitively, as the aggregation controller would have written them).
 *
 * The four kinds are read into a snapshot, dropped when any of them changes (the caller wires watch events to
 * invalidate()); a denial is checked once more against a fresh read, so a binding just written is never missed.
 */
import type { KubeObject, RequestUser } from '../../../registry/types.js';
import { fromStructured, matchesLabels, type StructuredSelector } from '../../../selectors/labels.js';
import type { AuthorizationAttributes, Authorizer, Decision, RuleSet } from '../authorizer.js';
import { ruleAllows, subjectMatches, type PolicyRule, type Subject } from './rules.js';

export type RbacReader = (
  plural: 'clusterroles' | 'clusterrolebindings' | 'roles' | 'rolebindings',
) => Promise<KubeObject[]>;

interface RoleRef {
  kind: string;
  name: string;
}

interface Binding {
  name: string;
  namespace: string;
  roleRef: RoleRef;
  subjects: Subject[];
}

interface Snapshot {
  clusterRoles: Map<string, PolicyRule[]>;
  roles: Map<string, PolicyRule[]>;
  clusterBindings: Binding[];
  bindings: Map<string, Binding[]>;
}

const rulesOf = (o: KubeObject) => ((o.rules as PolicyRule[] | undefined) ?? []).filter((r) => r && r.verbs);

function bindingOf(o: KubeObject): Binding {
  return {
    name: o.metadata?.name ?? '',
    namespace: o.metadata?.namespace ?? '',
    roleRef: (o.roleRef as RoleRef | undefined) ?? { kind: '', name: '' },
    subjects: (o.subjects as Subject[] | undefined) ?? [],
  };
}

/** Effective ClusterRole rules: aggregated ones gather the (effective) rules of the roles they select. */
export function effectiveClusterRoles(roles: KubeObject[]): Map<string, PolicyRule[]> {
  const byName = new Map(roles.map((r) => [r.metadata?.name ?? '', r]));
  const out = new Map<string, PolicyRule[]>();
  const resolve = (name: string, seen: Set<string>): PolicyRule[] => {
    const done = out.get(name);
    if (done) return done;
    const role = byName.get(name);
    if (!role) return [];
    const selectors = (role.aggregationRule as { clusterRoleSelectors?: unknown[] } | undefined)
      ?.clusterRoleSelectors;
    if (!selectors) return rulesOf(role);
    seen.add(name);
    const rules: PolicyRule[] = [];
    for (const other of roles) {
      const n = other.metadata?.name ?? '';
      if (seen.has(n)) continue;
      const labels = other.metadata?.labels ?? {};
      if (selectors.some((s) => matchesLabels(fromStructured(s as StructuredSelector), labels)))
        for (const r of resolve(n, seen))
          if (!rules.some((x) => JSON.stringify(x) === JSON.stringify(r))) rules.push(r);
    }
    seen.delete(name);
    return rules;
  };
  for (const name of byName.keys()) out.set(name, resolve(name, new Set()));
  return out;
}

function describeSubject(s: Subject, bindingNamespace: string): string {
  if (s.kind === 'ServiceAccount')
    return `${s.kind} ${JSON.stringify(`${s.name}/${s.namespace || bindingNamespace}`)}`;
  return `${s.kind} ${JSON.stringify(s.name)}`;
}

export class RbacAuthorizer implements Authorizer {
  readonly name = 'rbac';
  private snapshot?: Promise<Snapshot>;

  constructor(private readonly read: RbacReader) {}

  /** Drops the snapshot: the next decision reads the roles and bindings again. */
  invalidate(): void {
    this.snapshot = undefined;
  }

  private async load(): Promise<Snapshot> {
    const [cr, crb, r, rb] = await Promise.all([
      this.read('clusterroles'),
      this.read('clusterrolebindings'),
      this.read('roles'),
      this.read('rolebindings'),
    ]);
    const bindings = new Map<string, Binding[]>();
    for (const b of rb.map(bindingOf)) bindings.set(b.namespace, [...(bindings.get(b.namespace) ?? []), b]);
    return {
      clusterRoles: effectiveClusterRoles(cr),
      roles: new Map(r.map((o) => [`${o.metadata?.namespace ?? ''}/${o.metadata?.name ?? ''}`, rulesOf(o)])),
      clusterBindings: crb.map(bindingOf),
      bindings,
    };
  }

  private current(): { snap: Promise<Snapshot>; fresh: boolean } {
    if (this.snapshot) return { snap: this.snapshot, fresh: false };
    const snap = this.load();
    this.snapshot = snap;
    snap.catch(() => {
      if (this.snapshot === snap) this.snapshot = undefined;
    });
    return { snap, fresh: true };
  }

  /** The rules of a binding's role (a RoleBinding may name a Role of its namespace or a ClusterRole). */
  private roleRules(s: Snapshot, ref: RoleRef, namespace: string): PolicyRule[] {
    if (ref.kind === 'ClusterRole') return s.clusterRoles.get(ref.name) ?? [];
    if (ref.kind === 'Role' && namespace) return s.roles.get(`${namespace}/${ref.name}`) ?? [];
    return [];
  }

  /** Every binding that applies to the user in the namespace ('' = cluster bindings only), with its rules. */
  private *applicable(s: Snapshot, user: RequestUser, namespace: string) {
    for (const b of s.clusterBindings) {
      const subject = b.subjects.find((x) => subjectMatches(x, user, ''));
      if (subject)
        yield {
          rules: this.roleRules(s, b.roleRef, ''),
          describe: () =>
            `ClusterRoleBinding ${JSON.stringify(b.name)} of ${b.roleRef.kind} ${JSON.stringify(b.roleRef.name)} to ${describeSubject(subject, '')}`,
        };
    }
    if (!namespace) return;
    for (const b of s.bindings.get(namespace) ?? []) {
      const subject = b.subjects.find((x) => subjectMatches(x, user, namespace));
      if (subject)
        yield {
          rules: this.roleRules(s, b.roleRef, namespace),
          describe: () =>
            `RoleBinding ${JSON.stringify(`${b.name}/${namespace}`)} of ${b.roleRef.kind} ${JSON.stringify(b.roleRef.name)} to ${describeSubject(subject, namespace)}`,
        };
    }
  }

  private decide(s: Snapshot, a: AuthorizationAttributes): Decision {
    for (const b of this.applicable(s, a.user, a.resourceRequest ? (a.namespace ?? '') : ''))
      if (b.rules.some((r) => ruleAllows(a, r)))
        return { decision: 'allow', reason: `RBAC: allowed by ${b.describe()}` };
    return { decision: 'no-opinion' };
  }

  async authorize(a: AuthorizationAttributes): Promise<Decision> {
    const { snap, fresh } = this.current();
    const d = this.decide(await snap, a);
    if (d.decision === 'allow' || fresh) return d;
    // A binding written a moment ago may not have reached the snapshot yet: ask a fresh read before denying.
    this.invalidate();
    return this.decide(await this.current().snap, a);
  }

  /** Every rule the user holds in the namespace (RulesFor): the rules review and the escalation check. */
  async rulesFor(user: RequestUser, namespace: string): Promise<RuleSet> {
    this.invalidate();
    const s = await this.current().snap;
    const rules: PolicyRule[] = [];
    for (const b of this.applicable(s, user, namespace)) rules.push(...b.rules);
    return { rules, incomplete: false };
  }

  /** The rules a binding's roleRef grants, or undefined when that role does not exist. */
  async referencedRules(ref: RoleRef, namespace: string): Promise<PolicyRule[] | undefined> {
    this.invalidate();
    const s = await this.current().snap;
    if (ref.kind === 'ClusterRole') return s.clusterRoles.get(ref.name);
    if (ref.kind === 'Role') return s.roles.get(`${namespace}/${ref.name}`);
    return undefined;
  }
}
