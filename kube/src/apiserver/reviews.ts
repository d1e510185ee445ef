/**
 * The review kinds, answered from the request alone (nothing stored): SelfSubjectReview (`kubectl auth whoami`),
 * SelfSubjectAccessReview (`kubectl auth can-i`), SelfSubjectRulesReview (`kubectl auth can-i --list`), and
 * SubjectAccessReview / LocalSubjectAccessReview for other users. They ask the same authorizer as every request.
 */
import { badRequest, forbidden, KubeError } from '../errors.js';
import type { KubeObject, RequestUser } from '../registry/types.js';
import { rfc3339 } from '../registry/generic/metadata.js';
import type { AuthorizationAttributes, AuthorizerChain } from './auth/authorizer.js';

interface ResourceAttributes {
  namespace?: string;
  verb?: string;
  group?: string;
  version?: string;
  resource?: string;
  subresource?: string;
  name?: string;
}

function attributesOf(user: RequestUser, spec: Record<string, unknown>): AuthorizationAttributes {
  const ra = spec.resourceAttributes as ResourceAttributes | undefined;
  const nra = spec.nonResourceAttributes as { path?: string; verb?: string } | undefined;
  if (ra)
    return {
      user,
      verb: ra.verb ?? '',
      resourceRequest: true,
      apiGroup: ra.group ?? '',
      apiVersion: ra.version ?? '',
      resource: ra.resource ?? '',
      subresource: ra.subresource ?? '',
      namespace: ra.namespace ?? '',
      name: ra.name ?? '',
    };
  if (nra) return { user, verb: nra.verb ?? '', resourceRequest: false, path: nra.path ?? '' };
  throw badRequest('exactly one of nonResourceAttributes or resourceAttributes must be specified');
}

async function access(authz: AuthorizerChain, a: AuthorizationAttributes): Promise<Record<string, unknown>> {
  const d = await authz.authorize(a);
  return d.allowed
    ? { allowed: true, ...(d.reason ? { reason: d.reason } : {}) }
    : { allowed: false, ...(d.reason ? { reason: d.reason } : {}) };
}

/** A token checked as a bearer token would be, for the given audiences (the service-account authenticator). */
export type TokenReviewer = (
  token: string,
  audiences: string[],
) => Promise<{ user: RequestUser; audiences: string[] } | undefined>;

/** The API server's own audiences, a TokenReview's default. */
const API_AUDIENCES = ['https://kubernetes.default.svc.cluster.local'];

/**
 * TokenReview (pkg/registry/authentication/tokenreview): authenticated, the user (with system:authenticated) and
 * the audiences the token and the review share; a token that fails is not authenticated, with the reason in
 * status.error.
 */
async function tokenReview(
  spec: Record<string, unknown>,
  reviewer: TokenReviewer | undefined,
): Promise<Record<string, unknown>> {
  const token = typeof spec.token === 'string' ? spec.token : '';
  if (!token) throw badRequest('token is required for TokenReview in authentication');
  const requested =
    Array.isArray(spec.audiences) && spec.audiences.length ? (spec.audiences as string[]) : API_AUDIENCES;
  try {
    const r = reviewer ? await reviewer(token, requested) : undefined;
    // `authenticated: false` is omitted (omitempty), `user` is always there.
    if (!r) return { user: {}, error: 'invalid bearer token' };
    const u = r.user;
    const groups = u.groups.includes('system:authenticated')
      ? u.groups
      : [...u.groups, 'system:authenticated'];
    return {
      authenticated: true,
      user: {
        username: u.name,
        ...(u.uid ? { uid: u.uid } : {}),
        groups,
        ...(u.extra ? { extra: u.extra } : {}),
      },
      audiences: r.audiences,
    };
  } catch (e) {
    if (e instanceof KubeError) throw e;
    return { user: {}, error: (e as Error).message };
  }
}

/** Whether the named kind is a review this module answers. */
export const REVIEWS = new Set([
  'authentication.k8s.io/tokenreviews',
  'authentication.k8s.io/selfsubjectreviews',
  'authorization.k8s.io/selfsubjectaccessreviews',
  'authorization.k8s.io/selfsubjectrulesreviews',
  'authorization.k8s.io/subjectaccessreviews',
  'authorization.k8s.io/localsubjectaccessreviews',
]);

export async function review(
  resource: string,
  body: KubeObject,
  user: RequestUser,
  namespace: string,
  authz: AuthorizerChain,
  tokens?: TokenReviewer,
): Promise<KubeObject> {
  const now = rfc3339(new Date());
  const spec = (body.spec ?? {}) as Record<string, unknown>;
  const out: KubeObject = {
    kind: body.kind,
    apiVersion: body.apiVersion,
    metadata: { ...body.metadata, creationTimestamp: now },
    spec,
  };
  switch (resource) {
    case 'authentication.k8s.io/tokenreviews':
      out.status = await tokenReview(spec, tokens);
      return out;
    case 'authentication.k8s.io/selfsubjectreviews':
      return {
        kind: 'SelfSubjectReview',
        apiVersion: 'authentication.k8s.io/v1',
        metadata: { creationTimestamp: now },
        status: {
          userInfo: {
            username: user.name,
            ...(user.uid ? { uid: user.uid } : {}),
            groups: user.groups,
            ...(user.extra ? { extra: user.extra } : {}),
          },
        },
      };
    case 'authorization.k8s.io/selfsubjectaccessreviews':
      out.status = await access(authz, attributesOf(user, spec));
      return out;
    case 'authorization.k8s.io/localsubjectaccessreviews':
    case 'authorization.k8s.io/subjectaccessreviews': {
      const subject: RequestUser = {
        name: (spec.user as string | undefined) ?? '',
        groups: (spec.groups as string[] | undefined) ?? [],
        ...(spec.uid ? { uid: spec.uid as string } : {}),
      };
      const a = attributesOf(subject, spec);
      if (resource.endsWith('localsubjectaccessreviews')) {
        if (a.namespace && a.namespace !== namespace)
          throw badRequest(`spec.resourceAttributes.namespace must match namespace: ${namespace}`);
        a.namespace = namespace;
      }
      out.status = await access(authz, a);
      return out;
    }
    case 'authorization.k8s.io/selfsubjectrulesreview':
    case 'authorization.k8s.io/selfsubjectrulesreviews': {
      const ns = (spec.namespace as string | undefined) ?? '';
      // SelfSubjectRulesReview's REST refuses a review without a namespace.
      if (!ns) throw badRequest('no namespace on request');
      const set = await authz.rulesFor(user, ns);
      out.status = {
        resourceRules: set.rules
          .filter((r) => !r.nonResourceURLs?.length)
          .map((r) => ({
            verbs: r.verbs,
            ...(r.apiGroups ? { apiGroups: r.apiGroups } : {}),
            ...(r.resources ? { resources: r.resources } : {}),
            ...(r.resourceNames?.length ? { resourceNames: r.resourceNames } : {}),
          })),
        nonResourceRules: set.rules
          .filter((r) => r.nonResourceURLs?.length)
          .map((r) => ({ verbs: r.verbs, nonResourceURLs: r.nonResourceURLs })),
        incomplete: set.incomplete,
      };
      return out;
    }
    default:
      throw forbidden(`${resource} is not served`);
  }
}

/** kubectl get componentstatuses: the control plane's parts, all healthy when the API server answers. */
export function componentStatuses(): KubeObject[] {
  return ['scheduler', 'controller-manager', 'etcd-0'].map((name) => ({
    kind: 'ComponentStatus',
    apiVersion: 'v1',
    metadata: { name },
    conditions: [{ type: 'Healthy', status: 'True', message: name === 'etcd-0' ? 'ok' : 'ok', error: '' }],
  }));
}
