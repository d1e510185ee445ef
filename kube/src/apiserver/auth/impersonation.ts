/**
 * User impersonation (k8s.io/apiserver/pkg/endpoints/filters/impersonation.go): `Impersonate-User`,
 * `Impersonate-Group` (repeatable), `Impersonate-Uid` and `Impersonate-Extra-<key>` headers (kubectl --as,
 * --as-group, --as-uid) make the request act as that user, once the real user is allowed the `impersonate` verb
 * on each: users (or the serviceaccounts of a system:serviceaccount name), groups, uids, userextras/<key>.
 */
import type { IncomingMessage } from 'node:http';
import { internal } from '../../errors.js';
import type { RequestUser } from '../../registry/types.js';
import { forbiddenError, type AuthorizationAttributes, type AuthorizerChain } from './authorizer.js';

const AUTHN = 'authentication.k8s.io';

function values(req: IncomingMessage, name: string): string[] {
  return (req.headersDistinct[name] ?? []).filter((v) => v !== '');
}

export async function impersonate(
  req: IncomingMessage,
  user: RequestUser,
  authz: AuthorizerChain,
): Promise<RequestUser> {
  const asUser = values(req, 'impersonate-user')[0];
  const groups = values(req, 'impersonate-group');
  const uid = values(req, 'impersonate-uid')[0];
  const extra: Record<string, string[]> = {};
  for (const h of Object.keys(req.headersDistinct))
    if (h.startsWith('impersonate-extra-'))
      extra[decodeURIComponent(h.slice('impersonate-extra-'.length))] = values(req, h);
  const anyExtra = Object.keys(extra).length > 0;
  if (asUser === undefined) {
    if (groups.length || anyExtra || uid !== undefined)
      throw internal('requested impersonation of groups, extra or uid without impersonating a user');
    return user;
  }
  const checks: AuthorizationAttributes[] = [];
  const base = { user, verb: 'impersonate', resourceRequest: true, apiVersion: '' };
  const sa = /^system:serviceaccount:([^:]+):([^:]+)$/.exec(asUser);
  checks.push(
    sa
      ? { ...base, apiGroup: '', resource: 'serviceaccounts', namespace: sa[1], name: sa[2] }
      : { ...base, apiGroup: '', resource: 'users', name: asUser },
  );
  for (const g of groups) checks.push({ ...base, apiGroup: '', resource: 'groups', name: g });
  for (const [key, vals] of Object.entries(extra))
    for (const v of vals)
      checks.push({ ...base, apiGroup: AUTHN, resource: 'userextras', subresource: key, name: v });
  if (uid !== undefined) checks.push({ ...base, apiGroup: AUTHN, resource: 'uids', name: uid });
  for (const a of checks) {
    const d = await authz.authorize(a);
    if (!d.allowed) throw forbiddenError(a, d.reason);
  }
  const out = [...groups];
  if (sa && groups.length === 0) out.push('system:serviceaccounts', `system:serviceaccounts:${sa[1]}`);
  const implied = asUser === 'system:anonymous' ? 'system:unauthenticated' : 'system:authenticated';
  if (!out.includes(implied)) out.push(implied);
  return {
    name: asUser,
    groups: out,
    ...(uid !== undefined ? { uid } : {}),
    ...(anyExtra ? { extra } : {}),
  };
}
