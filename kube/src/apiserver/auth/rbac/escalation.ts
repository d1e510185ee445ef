/**
 * RBAC's escalation prevention (pkg/registry/rbac/{role,clusterrole,rolebinding,clusterrolebinding}/policybased):
 * a user may write a role only with rules it already holds, unless it may `escalate` that role; and bind a role
 * only when it holds its rules, unless it may `bind` it. system:masters are exempt. An aggregationRule can gather
 * anything, so setting one needs every permission. Refusals are 403s worded as kube-apiserver words them.
 */
import { notFound } from '../../../errors.js';
import type { KubeObject, RequestUser } from '../../../registry/types.js';
import type { AdmissionAttributes, ValidatingPlugin } from '../../../admission/types.js';
import { admissionForbidden } from '../../../admission/plugins/namespace-lifecycle.js';
import type { AuthorizerChain } from '../authorizer.js';
import type { RbacAuthorizer } from './authorizer.js';
import { covers, escalationMessage, type PolicyRule } from './rules.js';

const RBAC = 'rbac.authorization.k8s.io';
const FULL: PolicyRule[] = [
  { verbs: ['*'], apiGroups: ['*'], resources: ['*'] },
  { verbs: ['*'], nonResourceURLs: ['*'] },
];

export class RbacEscalation implements ValidatingPlugin {
  readonly name = 'RBACEscalation';

  constructor(
    private readonly authz: AuthorizerChain,
    private readonly rbac: RbacAuthorizer,
  ) {}

  handles(op: string): boolean {
    return op === 'CREATE' || op === 'UPDATE';
  }

  private allowed(user: RequestUser, verb: string, resource: string, name: string, namespace: string) {
    return this.authz
      .authorize({
        user,
        verb,
        resourceRequest: true,
        apiGroup: RBAC,
        apiVersion: 'v1',
        resource,
        name,
        namespace,
      })
      .then((d) => d.allowed);
  }

  /** ConfirmNoEscalation: the user's own rules in the namespace must cover `rules`. */
  private async confirm(a: AdmissionAttributes, rules: PolicyRule[], namespace: string, why?: string) {
    const owner = await this.authz.rulesFor(a.user, namespace);
    const c = covers(owner.rules, rules);
    if (!c.ok) throw admissionForbidden(a, why ?? escalationMessage(a.user, c.missing));
  }

  async validate(a: AdmissionAttributes, obj: KubeObject | undefined): Promise<void> {
    if (a.resource.group !== RBAC || !obj || a.subresource) return;
    const user = a.user;
    if (user.groups.includes('system:masters')) return;
    const ns = a.namespace;
    const name = obj.metadata?.name ?? a.name;
    switch (a.resource.resource) {
      case 'roles':
      case 'clusterroles': {
        if (await this.allowed(user, 'escalate', a.resource.resource, name, ns)) return;
        if (obj.aggregationRule)
          return this.confirm(a, FULL, '', 'must have cluster-admin privileges to use the aggregationRule');
        return this.confirm(a, (obj.rules as PolicyRule[] | undefined) ?? [], ns);
      }
      case 'rolebindings':
      case 'clusterrolebindings': {
        const ref = (obj.roleRef ?? {}) as { kind?: string; name?: string };
        const refResource = ref.kind === 'Role' ? 'roles' : 'clusterroles';
        if (await this.allowed(user, 'bind', refResource, ref.name ?? '', ns)) return;
        const rules = await this.rbac.referencedRules({ kind: ref.kind ?? '', name: ref.name ?? '' }, ns);
        if (!rules) throw notFound(refResource, ref.name ?? '', RBAC);
        return this.confirm(a, rules, ns);
      }
    }
  }
}
