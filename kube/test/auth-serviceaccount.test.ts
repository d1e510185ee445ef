/**
 * Service-account tokens over HTTPS: TokenRequest (defaults, validation, bound objects) and bearer-token
 * authentication of what it issues, each rejection a 401 and each bad request kube-apiserver's Status.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { startTestServer, type Reply, type TestServer } from './helpers/apiserver.js';

let s: TestServer;
before(async () => {
  s = await startTestServer();
});
after(async () => {
  await s.stop();
});

const NS = '/api/v1/namespaces/default';

function claimsOf(token: string): Record<string, unknown> {
  return JSON.parse(Buffer.from(token.split('.')[1], 'base64url').toString()) as Record<string, unknown>;
}

async function sa(name: string): Promise<string> {
  const r = await s.request('POST', `${NS}/serviceaccounts`, {
    body: { apiVersion: 'v1', kind: 'ServiceAccount', metadata: { name } },
  });
  assert.equal(r.status, 201, r.text);
  return r.json<{ metadata: { uid: string } }>().metadata.uid;
}

async function tokenFor(name: string, spec: Record<string, unknown> = {}): Promise<Reply> {
  return s.request('POST', `${NS}/serviceaccounts/${name}/token`, {
    body: { apiVersion: 'authentication.k8s.io/v1', kind: 'TokenRequest', spec },
  });
}

async function token(name: string, spec: Record<string, unknown> = {}): Promise<string> {
  const r = await tokenFor(name, spec);
  assert.equal(r.status, 201, r.text);
  return r.json<{ status: { token: string } }>().status.token;
}

const asBearer = (t: string, path = `${NS}/pods`) =>
  s.request('GET', path, { as: 'none', headers: { Authorization: `Bearer ${t}` } });

function status(r: Reply, code: number, reason: string, message: string): void {
  assert.equal(r.status, code, r.text);
  const st = r.json<{ reason: string; message: string }>();
  assert.equal(st.reason, reason);
  assert.equal(st.message, message);
}

describe('service account tokens', () => {
  it('issues a TokenRequest with the defaults and claims kube-apiserver puts in', async () => {
    const uid = await sa('robot');
    const r = await tokenFor('robot');
    assert.equal(r.status, 201, r.text);
    const tr = r.json<{
      kind: string;
      metadata: { name: string; namespace: string };
      spec: { audiences: string[]; expirationSeconds: number };
      status: { token: string; expirationTimestamp: string };
    }>();
    assert.equal(tr.kind, 'TokenRequest');
    assert.deepEqual([tr.metadata.name, tr.metadata.namespace], ['robot', 'default']);
    assert.deepEqual(tr.spec.audiences, ['https://kubernetes.default.svc.cluster.local']);
    assert.equal(tr.spec.expirationSeconds, 3600);
    const header = JSON.parse(Buffer.from(tr.status.token.split('.')[0], 'base64url').toString()) as {
      alg: string;
      kid: string;
    };
    assert.equal(header.alg, 'ES256');
    assert.match(header.kid, /^[A-Za-z0-9_-]{43}$/);
    const c = claimsOf(tr.status.token);
    assert.equal(c.sub, 'system:serviceaccount:default:robot');
    assert.equal(c.iss, 'https://kubernetes.default.svc.cluster.local');
    assert.equal((c.exp as number) - (c.iat as number), 3600);
    assert.deepEqual((c['kubernetes.io'] as Record<string, unknown>).serviceaccount, { name: 'robot', uid });
    const expires = Date.parse(tr.status.expirationTimestamp) - Date.now();
    assert.ok(expires > 3590_000 && expires <= 3600_000, String(expires));
  });

  it('authenticates the token as the service account (403 names it), and refuses forged or foreign ones', async () => {
    const t = await token('robot', { audiences: ['https://kubernetes.default.svc.cluster.local', 'vault'] });
    status(
      await asBearer(t),
      403,
      'Forbidden',
      'pods is forbidden: User "system:serviceaccount:default:robot" cannot list resource "pods" in API group "" in the namespace "default"',
    );
    const [h, p, sig] = t.split('.');
    const forged = Buffer.from(JSON.stringify({ ...claimsOf(t), sub: 'system:admin' })).toString('base64url');
    status(await asBearer(`${h}.${forged}.${sig}`), 401, 'Unauthorized', 'Unauthorized');
    status(await asBearer(`${h}.${p}.${sig.slice(0, -4)}AAAA`), 401, 'Unauthorized', 'Unauthorized');
    status(await asBearer('not-a-jwt'), 401, 'Unauthorized', 'Unauthorized');
    // Audiences that exclude the API server's are not for it.
    status(
      await asBearer(await token('robot', { audiences: ['vault'] })),
      401,
      'Unauthorized',
      'Unauthorized',
    );
    const expired = await s.tokens
      .authenticate(t, Date.now() + 3600_000 + 61_000)
      .catch((e: Error) => e.message);
    assert.equal(expired, 'token is expired');
  });

  it('validates the request as ValidateTokenRequest and the metadata against the account', async () => {
    status(
      await tokenFor('robot', { expirationSeconds: 599 }),
      422,
      'Invalid',
      'TokenRequest.authentication.k8s.io "" is invalid: spec.expirationSeconds: Invalid value: 599: may not specify a duration less than 10 minutes',
    );
    const named = await s.request('POST', `${NS}/serviceaccounts/robot/token`, {
      body: { apiVersion: 'authentication.k8s.io/v1', kind: 'TokenRequest', metadata: { name: 'other' } },
    });
    status(
      named,
      422,
      'Invalid',
      'TokenRequest.authentication.k8s.io "robot" is invalid: metadata.name: Invalid value: "other": must match the service account name if specified',
    );
    status(await tokenFor('nobody'), 404, 'NotFound', 'serviceaccounts "nobody" not found');
    const wrongKind = await s.request('POST', `${NS}/serviceaccounts/robot/token`, {
      body: { apiVersion: 'v1', kind: 'ConfigMap' },
    });
    assert.equal(wrongKind.status, 400, wrongKind.text);
  });

  it('binds tokens to a pod or secret that must exist, and the token dies with it', async () => {
    await sa('bound');
    const pod = await s.request('POST', `${NS}/pods`, {
      body: {
        apiVersion: 'v1',
        kind: 'Pod',
        metadata: { name: 'p1' },
        spec: { serviceAccountName: 'bound', containers: [{ name: 'c', image: 'busybox' }] },
      },
    });
    assert.equal(pod.status, 201, pod.text);
    const podUid = pod.json<{ metadata: { uid: string } }>().metadata.uid;
    status(
      await tokenFor('robot', { boundObjectRef: { kind: 'Pod', apiVersion: 'v1', name: 'p1' } }),
      400,
      'BadRequest',
      'cannot bind token for serviceaccount "robot" to pod running with different serviceaccount name.',
    );
    status(
      await tokenFor('bound', { boundObjectRef: { kind: 'Pod', apiVersion: 'v1', name: 'p1', uid: 'nope' } }),
      409,
      'Conflict',
      'Operation cannot be fulfilled on Pod "p1": the UID in the bound object reference (nope) does not match the UID in record. The object might have been deleted and then recreated',
    );
    status(
      await tokenFor('bound', { boundObjectRef: { kind: 'Pod', apiVersion: 'v1', name: 'gone' } }),
      404,
      'NotFound',
      'pods "gone" not found',
    );
    status(
      await tokenFor('bound', { boundObjectRef: { kind: 'Deployment', apiVersion: 'apps/v1', name: 'x' } }),
      400,
      'BadRequest',
      'cannot bind token to object of type apps/v1, Kind=Deployment',
    );
    const t = await token('bound', {
      boundObjectRef: { kind: 'Pod', apiVersion: 'v1', name: 'p1', uid: podUid },
      expirationSeconds: 3607,
    });
    const c = claimsOf(t);
    // The kubelet's 3607 s pod-bound tokens live a year and warn after the hour, as kube-apiserver extends them.
    assert.equal((c.exp as number) - (c.iat as number), 365 * 24 * 3600);
    assert.equal((c['kubernetes.io'] as { warnafter: number }).warnafter - (c.iat as number), 3607);
    const user = await s.tokens.authenticate(t);
    assert.deepEqual(user?.extra?.['authentication.kubernetes.io/pod-name'], ['p1']);
    assert.deepEqual(user?.extra?.['authentication.kubernetes.io/pod-uid'], [podUid]);
    assert.equal(user?.name, 'system:serviceaccount:default:bound');
    assert.deepEqual(user?.groups, ['system:serviceaccounts', 'system:serviceaccounts:default']);
    assert.equal((await s.request('DELETE', `${NS}/pods/p1?gracePeriodSeconds=0`)).status, 200);
    status(await asBearer(t), 401, 'Unauthorized', 'Unauthorized');
  });

  it('stops accepting tokens of a deleted or recreated account', async () => {
    await sa('temp');
    const t = await token('temp');
    assert.equal((await asBearer(t)).status, 403);
    assert.equal((await s.request('DELETE', `${NS}/serviceaccounts/temp`)).status, 200);
    status(await asBearer(t), 401, 'Unauthorized', 'Unauthorized');
    await sa('temp');
    status(await asBearer(t), 401, 'Unauthorized', 'Unauthorized');
  });

  it('accepts a legacy Secret token while the Secret holds it', async () => {
    const uid = await sa('legacy');
    const t = s.tokens.legacyToken('default', 'legacy-token', { name: 'legacy', uid });
    const secret = {
      apiVersion: 'v1',
      kind: 'Secret',
      metadata: { name: 'legacy-token', annotations: { 'kubernetes.io/service-account.name': 'legacy' } },
      type: 'kubernetes.io/service-account-token',
      data: { token: Buffer.from(t).toString('base64') },
    };
    assert.equal((await s.request('POST', `${NS}/secrets`, { body: secret })).status, 201);
    assert.equal((await s.tokens.authenticate(t))?.name, 'system:serviceaccount:default:legacy');
    assert.equal((await s.request('DELETE', `${NS}/secrets/legacy-token`)).status, 200);
    status(await asBearer(t), 401, 'Unauthorized', 'Unauthorized');
  });

  it('answers TokenReview as kube-apiserver: user, audiences, and why a token fails', async () => {
    await sa('reviewed');
    const review = async (spec: Record<string, unknown>) => {
      const r = await s.request('POST', '/apis/authentication.k8s.io/v1/tokenreviews', {
        body: { apiVersion: 'authentication.k8s.io/v1', kind: 'TokenReview', spec },
      });
      assert.equal(r.status, 201, r.text);
      return r.json<{
        status: {
          authenticated?: boolean;
          user: { username?: string; groups?: string[] };
          audiences?: string[];
          error?: string;
        };
      }>().status;
    };
    const t = await token('reviewed', {
      audiences: ['vault', 'https://kubernetes.default.svc.cluster.local'],
    });
    const ok = await review({ token: t });
    assert.equal(ok.authenticated, true);
    assert.equal(ok.user.username, 'system:serviceaccount:default:reviewed');
    assert.deepEqual(ok.user.groups, [
      'system:serviceaccounts',
      'system:serviceaccounts:default',
      'system:authenticated',
    ]);
    assert.deepEqual(ok.audiences, ['https://kubernetes.default.svc.cluster.local']);
    assert.deepEqual((await review({ token: t, audiences: ['vault', 'other'] })).audiences, ['vault']);
    const wrong = await review({ token: t, audiences: ['other'] });
    assert.equal(wrong.authenticated, undefined);
    assert.deepEqual(wrong.user, {});
    assert.equal(
      wrong.error,
      'token audiences ["vault" "https://kubernetes.default.svc.cluster.local"] is invalid for the target audiences ["other"]',
    );
    assert.equal((await review({ token: 'not-a-jwt' })).error, 'invalid bearer token');
    assert.equal((await s.request('DELETE', `${NS}/serviceaccounts/reviewed`)).status, 200);
    assert.match(
      (await review({ token: t })).error ?? '',
      /serviceaccount default\/reviewed has been deleted/,
    );
    const empty = await s.request('POST', '/apis/authentication.k8s.io/v1/tokenreviews', {
      body: { apiVersion: 'authentication.k8s.io/v1', kind: 'TokenReview', spec: {} },
    });
    status(empty, 400, 'BadRequest', 'token is required for TokenReview in authentication');
  });
});
