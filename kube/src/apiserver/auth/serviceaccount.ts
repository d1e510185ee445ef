/**
 * Service-account tokens as kube-apiserver issues and checks them. TokenRequest (`serviceaccounts/<name>/token`,
 * `kubectl create token`) signs a JWT for the account, optionally bound to a Pod, Secret or Node that must exist
 * (and stay: the token dies with it). The authenticator accepts those bearer tokens, and legacy Secret tokens
 * (iss kubernetes/serviceaccount) while their Secret holds them, as the user
 * system:serviceaccount:<ns>:<name> in groups system:serviceaccounts and system:serviceaccounts:<ns>.
 */
import type { IncomingMessage } from 'node:http';
import { randomUUID } from 'node:crypto';
import { badRequest, conflict, invalid, isKubeError, notFound, type FieldError } from '../../errors.js';
import type { KubeObject, RequestUser } from '../../registry/types.js';
import { rfc3339 } from '../../registry/generic/metadata.js';
import type { AuthResult, Authenticator } from './authenticator.js';
import type { Claims, JwtSigner } from './jwt.js';

/** kube-apiserver's default --service-account-issuer (kubeadm's), also the default audience. */
export const ISSUER = 'https://kubernetes.default.svc.cluster.local';
export const API_AUDIENCES = [ISSUER];
const LEGACY_ISSUER = 'kubernetes/serviceaccount';
/** The kubelet's default projected token asks 3607 s; such pod-bound tokens live a year and warn after the hour. */
const WARN_ONLY_SECONDS = 3607;
const EXTENDED_SECONDS = 365 * 24 * 3600;
/** Clock skew allowed on exp/nbf, as kube-apiserver's validator. */
const LEEWAY_S = 60;

/** Reads one object, undefined when absent (the registry behind it). */
export type ObjectGetter = (
  plural: 'serviceaccounts' | 'pods' | 'secrets' | 'nodes',
  namespace: string | undefined,
  name: string,
) => Promise<KubeObject | undefined>;

export const serviceAccountUser = (ns: string, name: string) => `system:serviceaccount:${ns}:${name}`;

interface BoundRef {
  kind?: string;
  apiVersion?: string;
  name?: string;
  uid?: string;
}

interface TokenRequestSpec {
  audiences?: string[];
  expirationSeconds?: number;
  boundObjectRef?: BoundRef;
}

const meta = (o: KubeObject) => o.metadata ?? {};

export class ServiceAccountTokens {
  constructor(
    private readonly signer: JwtSigner,
    private readonly get: ObjectGetter,
  ) {}

  /**
   * TokenRequest's create (pkg/registry/core/serviceaccount/storage/token.go): metadata must match the account,
   * the spec is validated, the bound object must exist with the uid given, then the token is signed.
   */
  async request(namespace: string, name: string, req: KubeObject, now = new Date()): Promise<KubeObject> {
    const m = meta(req);
    if (m.name && m.name !== name)
      throw invalid(
        'TokenRequest',
        name,
        [mismatch('metadata.name', m.name, 'name')],
        'authentication.k8s.io',
      );
    if (m.namespace && m.namespace !== namespace)
      throw invalid(
        'TokenRequest',
        name,
        [mismatch('metadata.namespace', m.namespace, 'namespace')],
        'authentication.k8s.io',
      );
    const sa = await this.get('serviceaccounts', namespace, name);
    if (!sa) throw notFound('serviceaccounts', name);
    const spec: TokenRequestSpec = { ...((req.spec ?? {}) as TokenRequestSpec) };
    if (!spec.audiences?.length) spec.audiences = [...API_AUDIENCES];
    spec.expirationSeconds ??= 3600;
    const errs: FieldError[] = [];
    if (spec.expirationSeconds < 600)
      errs.push({
        type: 'FieldValueInvalid',
        field: 'spec.expirationSeconds',
        badValue: spec.expirationSeconds,
        detail: 'may not specify a duration less than 10 minutes',
      });
    if (spec.expirationSeconds > 2 ** 32)
      errs.push({
        type: 'FieldValueInvalid',
        field: 'spec.expirationSeconds',
        badValue: spec.expirationSeconds,
        detail: 'may not specify a duration larger than 2^32 seconds',
      });
    if (errs.length) throw invalid('TokenRequest', '', errs, 'authentication.k8s.io');
    const bound = spec.boundObjectRef ? await this.bound(namespace, name, spec.boundObjectRef) : {};
    let exp = spec.expirationSeconds;
    let warnAfter: number | undefined;
    const kubeAudiences = spec.audiences.every((a) => API_AUDIENCES.includes(a));
    if (bound.pod && exp === WARN_ONLY_SECONDS && kubeAudiences) {
      warnAfter = exp;
      exp = EXTENDED_SECONDS;
    }
    const iat = Math.floor(now.getTime() / 1000);
    const claims: Claims = {
      aud: spec.audiences,
      exp: iat + exp,
      iat,
      iss: ISSUER,
      jti: randomUUID(),
      'kubernetes.io': {
        namespace,
        ...(bound.node ? { node: bound.node } : {}),
        ...(bound.pod ? { pod: bound.pod } : {}),
        ...(bound.secret ? { secret: bound.secret } : {}),
        serviceaccount: { name, uid: meta(sa).uid },
        ...(warnAfter ? { warnafter: iat + warnAfter } : {}),
      },
      nbf: iat,
      sub: serviceAccountUser(namespace, name),
    };
    return {
      kind: 'TokenRequest',
      apiVersion: 'authentication.k8s.io/v1',
      metadata: { ...m, name, namespace, creationTimestamp: rfc3339(now) },
      spec,
      status: {
        token: this.signer.sign(claims),
        expirationTimestamp: rfc3339(new Date(now.getTime() + spec.expirationSeconds * 1000)),
      },
    };
  }

  private async bound(
    namespace: string,
    saName: string,
    ref: BoundRef,
  ): Promise<{ pod?: NameUid; node?: NameUid; secret?: NameUid }> {
    const group = (ref.apiVersion ?? '').includes('/') ? ref.apiVersion!.split('/')[0] : '';
    const refName = ref.name ?? '';
    let uid: string | undefined;
    const out: { pod?: NameUid; node?: NameUid; secret?: NameUid } = {};
    const must = async (plural: 'pods' | 'secrets' | 'nodes', ns: string | undefined) => {
      const o = await this.get(plural, ns, refName);
      if (!o) throw notFound(plural, refName);
      return o;
    };
    if (group === '' && ref.kind === 'Pod') {
      const pod = await must('pods', namespace);
      const podSa = (pod.spec as { serviceAccountName?: string } | undefined)?.serviceAccountName ?? '';
      if (podSa !== saName)
        throw badRequest(
          `cannot bind token for serviceaccount ${JSON.stringify(saName)} to pod running with different serviceaccount name.`,
        );
      uid = meta(pod).uid;
      out.pod = { name: refName, uid: uid ?? '' };
      const nodeName = (pod.spec as { nodeName?: string } | undefined)?.nodeName;
      if (nodeName) {
        const node = await this.get('nodes', undefined, nodeName);
        out.node = { name: nodeName, uid: node ? (meta(node).uid ?? '') : '' };
      }
    } else if (group === '' && ref.kind === 'Node') {
      const node = await must('nodes', undefined);
      uid = meta(node).uid;
      out.node = { name: refName, uid: uid ?? '' };
    } else if (group === '' && ref.kind === 'Secret') {
      const secret = await must('secrets', namespace);
      uid = meta(secret).uid;
      out.secret = { name: refName, uid: uid ?? '' };
    } else {
      const version = group ? ref.apiVersion!.split('/')[1] : (ref.apiVersion ?? '');
      throw badRequest(`cannot bind token to object of type ${group}/${version}, Kind=${ref.kind ?? ''}`);
    }
    if (ref.uid && ref.uid !== uid)
      throw conflict(
        ref.kind ?? '',
        refName,
        `the UID in the bound object reference (${ref.uid}) does not match the UID in record. The object might have been deleted and then recreated`,
      );
    return out;
  }

  /** The user a token names, or undefined when it is not ours; throws when it is ours but no longer valid. */
  async authenticate(token: string, now = Date.now()): Promise<RequestUser | undefined> {
    return (await this.authenticateFor(token, API_AUDIENCES, now))?.user;
  }

  /**
   * authenticate for the given audiences (a TokenReview's): the user and the audiences the token and the request
   * share. A token without audiences (legacy) is for the API server's.
   */
  async authenticateFor(
    token: string,
    requested: string[],
    now = Date.now(),
  ): Promise<{ user: RequestUser; audiences: string[] } | undefined> {
    const claims = this.signer.verify(token);
    if (!claims) return undefined;
    if (claims.iss !== LEGACY_ISSUER && claims.iss !== ISSUER) return undefined;
    const raw = claims.aud === undefined ? [] : Array.isArray(claims.aud) ? claims.aud : [claims.aud];
    const tokenAuds = raw.length ? raw.map(String) : API_AUDIENCES;
    const audiences = tokenAuds.filter((a) => requested.includes(a));
    if (!audiences.length) {
      const q = (l: string[]) => `[${l.map((a) => JSON.stringify(a)).join(' ')}]`;
      throw new Error(`token audiences ${q(tokenAuds)} is invalid for the target audiences ${q(requested)}`);
    }
    if (claims.iss === LEGACY_ISSUER) return { user: await this.legacy(token, claims), audiences };
    return { user: await this.modern(claims, now), audiences };
  }

  private async modern(claims: Claims, now: number): Promise<RequestUser> {
    const t = now / 1000;
    if (typeof claims.exp !== 'number' || t > claims.exp + LEEWAY_S) throw new Error('token is expired');
    if (typeof claims.nbf === 'number' && t < claims.nbf - LEEWAY_S) throw new Error('token not valid yet');
    const k = (claims['kubernetes.io'] ?? {}) as {
      namespace?: string;
      serviceaccount?: NameUid;
      pod?: NameUid;
      secret?: NameUid;
      node?: NameUid;
    };
    const ns = k.namespace ?? '';
    if (!k.serviceaccount?.name) throw new Error('token has no service account');
    await this.alive('serviceaccounts', ns, k.serviceaccount);
    if (k.pod) await this.alive('pods', ns, k.pod);
    if (k.secret) await this.alive('secrets', ns, k.secret);
    // A pod's node is informational; a token bound to the node itself dies with it.
    if (k.node && !k.pod) await this.alive('nodes', undefined, k.node);
    const extra: Record<string, string[]> = {};
    if (k.pod) {
      extra['authentication.kubernetes.io/pod-name'] = [k.pod.name];
      extra['authentication.kubernetes.io/pod-uid'] = [k.pod.uid];
    }
    if (k.node) {
      extra['authentication.kubernetes.io/node-name'] = [k.node.name];
      if (k.node.uid) extra['authentication.kubernetes.io/node-uid'] = [k.node.uid];
    }
    if (typeof claims.jti === 'string')
      extra['authentication.kubernetes.io/credential-id'] = [`JTI=${claims.jti}`];
    return saUser(ns, k.serviceaccount.name, k.serviceaccount.uid, extra);
  }

  /** A legacy token is valid while its Secret still holds it and its account (uid) exists. */
  private async legacy(token: string, c: Claims): Promise<RequestUser> {
    const ns = str(c['kubernetes.io/serviceaccount/namespace']);
    const saName = str(c['kubernetes.io/serviceaccount/service-account.name']);
    const saUid = str(c['kubernetes.io/serviceaccount/service-account.uid']);
    const secretName = str(c['kubernetes.io/serviceaccount/secret.name']);
    const secret = await this.get('secrets', ns, secretName);
    const data = (secret?.data ?? {}) as Record<string, string>;
    if (
      !secret ||
      meta(secret).deletionTimestamp ||
      Buffer.from(data.token ?? '', 'base64').toString() !== token
    )
      throw new Error(`secret ${ns}/${secretName} no longer holds this token`);
    await this.alive('serviceaccounts', ns, { name: saName, uid: saUid });
    return saUser(ns, saName, saUid, {
      'authentication.kubernetes.io/credential-id': [`secret(${ns}/${secretName})`],
    });
  }

  /** A legacy token for a `kubernetes.io/service-account-token` Secret (the tokens controller fills it). */
  legacyToken(ns: string, secretName: string, sa: NameUid): string {
    return this.signer.sign({
      iss: LEGACY_ISSUER,
      'kubernetes.io/serviceaccount/namespace': ns,
      'kubernetes.io/serviceaccount/secret.name': secretName,
      'kubernetes.io/serviceaccount/service-account.name': sa.name,
      'kubernetes.io/serviceaccount/service-account.uid': sa.uid,
      sub: serviceAccountUser(ns, sa.name),
    });
  }

  private async alive(
    plural: Parameters<ObjectGetter>[0],
    ns: string | undefined,
    ref: NameUid,
  ): Promise<void> {
    const o = await this.get(plural, ns, ref.name);
    const what = `${plural.replace(/s$/, '')} ${ns ? `${ns}/` : ''}${ref.name}`;
    if (!o || meta(o).deletionTimestamp) throw new Error(`${what} has been deleted`);
    if (ref.uid && meta(o).uid !== ref.uid)
      throw new Error(`${what} UID (${meta(o).uid}) does not match claim (${ref.uid})`);
  }
}

interface NameUid {
  name: string;
  uid: string;
}

const str = (v: unknown): string => (typeof v === 'string' ? v : '');

function saUser(ns: string, name: string, uid: string, extra: Record<string, string[]>): RequestUser {
  return {
    name: serviceAccountUser(ns, name),
    ...(uid ? { uid } : {}),
    groups: ['system:serviceaccounts', `system:serviceaccounts:${ns}`],
    ...(Object.keys(extra).length ? { extra } : {}),
  };
}

const mismatch = (field: string, value: string, what: string): FieldError => ({
  type: 'FieldValueInvalid',
  field,
  badValue: value,
  detail: `must match the service account ${what} if specified`,
});

/** `Authorization: Bearer <jwt>` through the service-account tokens; other bearer tokens are not ours. */
export class ServiceAccountAuthenticator implements Authenticator {
  readonly name = 'serviceaccount';
  constructor(private readonly tokens: ServiceAccountTokens) {}

  async authenticate(req: IncomingMessage): Promise<AuthResult> {
    const h = req.headers.authorization;
    const m = h ? /^Bearer\s+(\S+)\s*$/i.exec(h) : null;
    if (!m) return undefined;
    try {
      const user = await this.tokens.authenticate(m[1]);
      return user ? { user } : undefined;
    } catch (e) {
      if (isKubeError(e)) throw e;
      return { rejected: `service account token: ${(e as Error).message}` };
    }
  }
}
