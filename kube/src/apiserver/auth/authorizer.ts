/**
 * Authorization as kube-apiserver's union authorizer: each authorizer allows, denies, or has no opinion; the first
 * decision wins, and no decision is a denial. Now: the public-info paths for everyone, and system:masters for
 * everything. RBAC plugs in after them.
 */
import type { RequestUser } from '../../registry/types.js';

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
}

/** kube-apiserver's forbidden message text for denied attributes (without the resource prefix). */
export function forbiddenText(a: AuthorizationAttributes): string {
  const who = `User "${a.user.name}"`;
  if (!a.resourceRequest) return `${who} cannot ${a.verb} path "${a.path}"`;
  const res = a.subresource ? `${a.resource}/${a.subresource}` : a.resource;
  const where = a.namespace ? `in the namespace "${a.namespace}"` : 'at the cluster scope';
  return `${who} cannot ${a.verb} resource "${res}" in API group "${a.apiGroup ?? ''}" ${where}`;
}
