/** Registry credentials: X-Registry-Auth decoding, WWW-Authenticate challenges, bearer tokens. */
import { badParameter } from '../../errors.js';

export interface Credentials {
  username?: string;
  password?: string;
  /** OAuth refresh token from an earlier login (sent as the password to the token service). */
  identitytoken?: string;
  /** A bearer token to use as-is. */
  registrytoken?: string;
  serveraddress?: string;
}

/** X-Registry-Auth is base64url (padding optional) JSON; `{}` and empty mean anonymous. */
export function decodeRegistryAuth(header: string | undefined): Credentials | undefined {
  if (!header || header.trim() === '') return undefined;
  let json: string;
  try {
    json = Buffer.from(header.replace(/-/g, '+').replace(/_/g, '/'), 'base64').toString('utf8');
  } catch {
    throw badParameter('invalid X-Registry-Auth header: not base64');
  }
  let v: unknown;
  try {
    v = JSON.parse(json);
  } catch {
    throw badParameter('invalid X-Registry-Auth header: not JSON');
  }
  if (typeof v !== 'object' || v === null) throw badParameter('invalid X-Registry-Auth header');
  const o = v as Record<string, unknown>;
  const c: Credentials = {};
  const str = (k: string) => (typeof o[k] === 'string' && o[k] !== '' ? o[k] : undefined);
  let username = str('username');
  let password = str('password');
  const auth = str('auth');
  if (!username && auth) {
    const dec = Buffer.from(auth, 'base64').toString('utf8');
    const i = dec.indexOf(':');
    if (i > 0) {
      username = dec.slice(0, i);
      password = dec.slice(i + 1);
    }
  }
  if (username) c.username = username;
  if (password) c.password = password;
  const it = str('identitytoken');
  if (it) c.identitytoken = it;
  const rt = str('registrytoken');
  if (rt) c.registrytoken = rt;
  const sa = str('serveraddress');
  if (sa) c.serveraddress = sa;
  return Object.keys(c).length ? c : undefined;
}

export interface Challenge {
  scheme: string;
  params: Record<string, string>;
}

/** Parses `Bearer realm="…",service="…",scope="…"` (one challenge; registries send one). */
export function parseChallenge(h: string): Challenge | undefined {
  const m = /^\s*(\w+)\s*(.*)$/.exec(h);
  if (!m) return undefined;
  const params: Record<string, string> = {};
  const re = /(\w+)\s*=\s*(?:"((?:[^"\\]|\\.)*)"|([^,\s]*))/g;
  let p: RegExpExecArray | null;
  while ((p = re.exec(m[2])) !== null)
    params[p[1].toLowerCase()] = p[2] !== undefined ? p[2].replace(/\\(.)/g, '$1') : p[3];
  return { scheme: m[1].toLowerCase(), params };
}

export function basicHeader(c: Credentials): string | undefined {
  if (!c.username) return undefined;
  return 'Basic ' + Buffer.from(`${c.username}:${c.password ?? ''}`).toString('base64');
}
