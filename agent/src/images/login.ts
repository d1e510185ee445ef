/**
 * `POST /auth` (docker login): checks credentials against the registry's /v2/ as dockerd's registry service
 * does. Credentials the registry refuses (or wants and did not get) are dockerd's "login attempt ... failed
 * with status: 401 Unauthorized"; a broken auth flow keeps its own message; an unreachable registry is a 500.
 */
import { badParameter, internal, unauthorized } from '../errors.js';
import type { Credentials } from './registry/auth.js';
import { RegistryAuthError, RegistryClient, RegistryError } from './registry/client.js';
import { endpointsFor, loginDomain } from './registry/endpoints.js';
import { ConnectError } from './registry/http.js';

export interface LoginRequest extends Credentials {
  serveraddress?: string;
  email?: string;
}

export async function login(body: unknown, insecureRegistries: readonly string[]): Promise<void> {
  if (typeof body !== 'object' || body === null) throw badParameter('invalid auth configuration');
  const req = body as LoginRequest;
  const eps = endpointsFor(loginDomain(req.serveraddress), {
    registryMirrors: [],
    insecureRegistries: [...insecureRegistries],
  });
  const ep = eps[eps.length - 1];
  const creds: Credentials = {};
  if (req.username) creds.username = req.username;
  if (req.password) creds.password = req.password;
  if (req.identitytoken) creds.identitytoken = req.identitytoken;
  try {
    await new RegistryClient({ base: ep.base, repo: '', creds }).ping();
  } catch (err) {
    if (err instanceof RegistryAuthError) {
      const base = ep.base.href.replace(/\/+$/, '');
      throw unauthorized(
        err.refused ? `login attempt to ${base}/v2/ failed with status: 401 Unauthorized` : err.message,
      );
    }
    if (err instanceof RegistryError || err instanceof ConnectError) throw internal(err.message);
    throw err;
  }
}
