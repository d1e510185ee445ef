/**
 * Authentication as kube-apiserver chains it: each authenticator looks at the request and answers a user, "not
 * mine" (undefined), or a rejection (bad credentials: 401). No authenticator claiming the request makes it
 * anonymous (system:anonymous, group system:unauthenticated). Client certificates come first (CN = user name,
 * O = groups, verified against the cluster CA by TLS); a later engineer adds service-account bearer tokens.
 */
import type { IncomingMessage } from 'node:http';
import type { TLSSocket } from 'node:tls';
import type { RequestUser } from '../../registry/types.js';

export type AuthResult = { user: RequestUser } | { rejected: string } | undefined;

export interface Authenticator {
  readonly name: string;
  authenticate(req: IncomingMessage): Promise<AuthResult> | AuthResult;
}

export const ANONYMOUS: RequestUser = { name: 'system:anonymous', groups: ['system:unauthenticated'] };

/** kube-apiserver adds system:authenticated to every authenticated user's groups. */
function withAuthenticated(u: RequestUser): RequestUser {
  return u.groups.includes('system:authenticated')
    ? u
    : { ...u, groups: [...u.groups, 'system:authenticated'] };
}

export class X509Authenticator implements Authenticator {
  readonly name = 'x509';

  authenticate(req: IncomingMessage): AuthResult {
    const socket = req.socket as TLSSocket;
    if (typeof socket.getPeerCertificate !== 'function') return undefined;
    const cert = socket.getPeerCertificate();
    if (!cert || !cert.subject || Object.keys(cert).length === 0) return undefined;
    if (!socket.authorized)
      return { rejected: `x509: ${socket.authorizationError ?? 'certificate signed by unknown authority'}` };
    const cn = cert.subject.CN;
    const name = Array.isArray(cn) ? cn[0] : cn;
    if (!name) return { rejected: 'x509: certificate has no common name' };
    const o = cert.subject.O;
    const groups = o === undefined ? [] : Array.isArray(o) ? o : [o];
    return { user: { name, groups } };
  }
}

export class AuthenticatorChain {
  constructor(private readonly authenticators: Authenticator[]) {}

  add(a: Authenticator): void {
    this.authenticators.push(a);
  }

  /** The request's user, or a rejection reason (the response is 401 Unauthorized). */
  async authenticate(req: IncomingMessage): Promise<{ user: RequestUser } | { rejected: string }> {
    for (const a of this.authenticators) {
      const r = await a.authenticate(req);
      if (!r) continue;
      if ('rejected' in r) return r;
      return { user: withAuthenticated(r.user) };
    }
    // Credentials nobody understood are bad credentials, not anonymity.
    if (req.headers.authorization) return { rejected: 'invalid bearer token' };
    return { user: ANONYMOUS };
  }
}
