/**
 * docker login (images/login.ts) against a registry speaking the token protocol over loopback: refused
 * credentials are told apart from a broken auth flow by the error's type (RegistryAuthError.refused), never its
 * text. The htpasswd (basic) flow is tested through the docker CLI against a real registry (images.test.ts).
 */
import assert from 'node:assert/strict';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { kindOf } from '../src/errors.js';
import { login } from '../src/images/login.js';

/** /v2/ wants a bearer token from /token, which it gives for alice:secret only (`realm` false: a challenge
 *  without the token service's address). */
function tokenRegistry(realm = true): http.Server {
  return http.createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://x');
    const host = req.headers.host ?? '';
    if (url.pathname === '/token') {
      const ok = req.headers.authorization === `Basic ${Buffer.from('alice:secret').toString('base64')}`;
      res.writeHead(ok ? 200 : 401, { 'content-type': 'application/json' });
      res.end(
        ok ? JSON.stringify({ token: 'tok', expires_in: 300 }) : '{"errors":[{"code":"UNAUTHORIZED"}]}',
      );
      return;
    }
    if (req.headers.authorization === 'Bearer tok') return void res.end('{}');
    const where = realm ? `realm="http://${host}/token",` : '';
    res.writeHead(401, { 'www-authenticate': `Bearer ${where}service="reg"` });
    res.end();
  });
}

describe('docker login (POST /auth) in the images domain', () => {
  const good = tokenRegistry();
  const broken = tokenRegistry(false);
  const failing = http.createServer((_req, res) => {
    res.writeHead(500);
    res.end();
  });
  const addr = (s: http.Server) => `127.0.0.1:${(s.address() as AddressInfo).port}`;
  const listen = (s: http.Server) => new Promise<void>((r) => s.listen(0, '127.0.0.1', () => r()));
  before(async () => {
    await Promise.all([listen(good), listen(broken), listen(failing)]);
  });
  after(() => {
    for (const s of [good, broken, failing]) s.close();
  });
  const insecure = () => [addr(good), addr(broken), addr(failing)];

  it('accepts credentials the token service takes', async () => {
    await login({ username: 'alice', password: 'secret', serveraddress: addr(good) }, insecure());
  });

  it("refused credentials are dockerd's login attempt message, Unauthorized (401)", async () => {
    const err = await login(
      { username: 'alice', password: 'wrong', serveraddress: addr(good) },
      insecure(),
    ).then(
      () => assert.fail('a wrong password cannot log in'),
      (e: unknown) => e,
    );
    assert.equal(kindOf(err), 'Unauthorized');
    assert.equal(
      (err as Error).message,
      `login attempt to http://${addr(good)}/v2/ failed with status: 401 Unauthorized`,
    );
  });

  it('a broken auth flow keeps its own message; a failing registry is a System error; no body is a bad parameter', async () => {
    await assert.rejects(
      login({ username: 'alice', password: 'secret', serveraddress: addr(broken) }, insecure()),
      {
        message: 'unauthorized: the registry sent a bearer challenge without a realm',
      },
    );
    const err = await login({ serveraddress: addr(failing) }, insecure()).then(
      () => assert.fail('a registry answering 500 cannot log in'),
      (e: unknown) => e,
    );
    assert.equal(kindOf(err), 'System');
    assert.match(
      (err as Error).message,
      /^login attempt to http:\/\/127\.0\.0\.1:\d+\/v2\/ failed with status: 500/,
    );
    await assert.rejects(login(null, []), (e: unknown) => kindOf(e) === 'InvalidParameter');
  });
});
