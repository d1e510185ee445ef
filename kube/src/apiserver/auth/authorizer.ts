/**
 * Authorization as kube-apiserver's union authorizer: each authorizer allows, denies, or has no opinion; the first
 * decision wins, and no decision is a denial: the public-info paths for everyone, system:masters for everything,
 * then RBAC (rbac/). Each may also list the rules a user holds (the rules review, `kubectl auth can-i --list`).
 */
import { forbidden, type KubeError } from '../../errors.js';
import type { RequestUser } from '../../registry/types.js';
import type { PolicyRule } from './rbac/rules.js';

/** The rules an authorizer grants a user in a namespace (RuleResolver.RulesFor). */
export interface RuleSet {
  rules: PolicyRule[];
  incomplete: boolean;
}

export interface AuthorizationAttributes {
  user: RequestUser;
  /** get, list, watch, create, update, patch, delete, deletecollection; for non-resource paths the HTTP verb. */
  verb: string;
  resourceRequest: boolean;
  /** Non-resource requests. */
  path?: string;
  apiGroup?: string;
  apiVersion?: string;
  resource?: string;
  subresource?: string;
  namespace?: string;
  name?: string;
}

export type Decision = { decision: 'allow' | 'deny' | 'no-opinion'; reason?: string };

export interface Authorizer {
  readonly name: string;
  authorize(a: AuthorizationAttributes): Promise<Decision> | Decision;
  rulesFor?(user: RequestUser, namespace: string): Promise<RuleSet> | RuleSet;
}

/** The non-resource URLs system:public-info-viewer grants to all, anonymous included. */
export const PUBLIC_PATHS = new Set(['/healthz', '/livez', '/readyz', '/version', '/version/']);

export class PublicInfoAuthorizer implements Authorizer {
  readonly name = 'public-info';
  authorize(a: AuthorizationAttributes): Decision {
    if (
      !a.resourceRequest &&
      a.verb === 'get' &&
      a.path &&
      (PUBLIC_PATHS.has(a.path) || /^\/(healthz|livez|readyz)\/.+/.test(a.path))
    )
      return { decision: 'allow' };
    return { decision: 'no-opinion' };
  }
}

/** system:discovery and system:basic-user: every authenticated user may read discovery, OpenAPI and /version. */
export class DiscoveryAuthorizer implements Authorizer {
  readonly name = 'discovery';
  authorize(a: AuthorizationAttributes): Decision {
    if (a.resourceRequest || a.verb !== 'get' || !a.user.groups.includes('system:authenticated'))
      return { decision: 'no-opinion' };
    const p = a.path ?? '';
    if (/^\/(api|apis|openapi)(\/.*)?$/.test(p) || p === '/version' || p === '/version/')
      return { decision: 'allow' };
    return { decision: 'no-opinion' };
  }
}

export class MastersAuthorizer implements Authorizer {
  readonly name = 'system:masters';
  authorize(a: AuthorizationAttributes): Decision {
    return a.user.groups.includes('system:masters') ? { decision: 'allow' } : { decision: 'no-opinion' };
  }

  rulesFor(user: RequestUser): RuleSet {
    if (!user.groups.includes('system:masters')) return { rules: [], incomplete: false };
    return {
      rules: [
        { verbs: ['*'], apiGroups: ['*'], resources: ['*'] },
        { verbs: ['*'], nonResourceURLs: ['*'] },
      ],
      incomplete: false,
    };
  }
}

export class AuthorizerChain {
  constructor(private readonly authorizers: Authorizer[]) {}

  add(a: Authorizer): void {
    this.authorizers.push(a);
  }

  async authorize(a: AuthorizationAttributes): Promise<{ allowed: boolean; reason: string }> {
    for (const z of this.authorizers) {
      const d = await z.authorize(a);
      if (d.decision === 'allow') return { allowed: true, reason: d.reason ?? '' };
      if (d.decision === 'deny') return { allowed: false, reason: d.reason ?? '' };
    }
    return { allowed: false, reason: '' };
  }

  /** The union of what every authorizer grants the user in the namespace. */
  async rulesFor(user: RequestUser, namespace: string): Promise<RuleSet> {
    const out: RuleSet = { rules: [], incomplete: false };
    for (const z of this.authorizers) {
      if (!z.rulesFor) continue;
      const r = await z.rulesFor(user, namespace);
      out.rules.push(...r.rules);
      out.incomplete ||= r.incomplete;
    }
    return out;
  }
}

/** kube-apiserver's forbidden message text for denied attributes (without the resource prefix). */
export function forbiddenText(a: AuthorizationAttributes): string {
  const who = `User "${a.user.name}"`;
  if (!a.resourceRequest) return `${who} cannot ${a.verb} path "${a.path}"`;
  const res = a.subresource ? `${a.resource}/${a.subresource}` : a.resource;
  const where = a.namespace ? `in the namespace "${a.namespace}"` : 'at the cluster scope';
  return `${who} cannot ${a.verb} resource "${res}" in API group "${a.apiGroup ?? ''}" ${where}`;
}

const qualified = (group: string | undefined, resource: string) =>
  group ? `${resource}.${group}` : resource;

/** The 403 for denied attributes, worded as kube-apiserver's responsewriters.Forbidden. */
export function forbiddenError(a: AuthorizationAttributes, reason: string): KubeError {
  const text = forbiddenText(a) + (reason ? `: ${reason}` : '');
  if (!a.resourceRequest) return forbidden(`forbidden: ${text}`);
  const res = qualified(a.apiGroup, a.resource ?? '');
  const subject = {
    kind: a.resource ?? '',
    ...(a.apiGroup ? { group: a.apiGroup } : {}),
    ...(a.name ? { name: a.name } : {}),
  };
  return forbidden(
    a.name ? `${res} "${a.name}" is forbidden: ${text}` : `${res} is forbidden: ${text}`,
    subject,
  );
}
