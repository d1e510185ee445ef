/**
 * List continue tokens as kube-apiserver's storage encodes them (k8s.io/apiserver/pkg/storage/continue.go):
 * base64url without padding of `{"v":"meta.k8s.io/v1","rv":<revision>,"start":"<key after the prefix>\u0000"}`.
 * A token is decoded with the same checks and messages (400 `invalid continue token: ...`); rv -1 means "the
 * latest revision", which the 410 for an expired token hands out to continue inconsistently.
 */
import { badRequest } from '../../errors.js';
import { isObject, parseJson, type JsonValue } from '../../patch/json.js';

export interface DecodedContinue {
  /** The revision to list at; undefined for rv -1 (the latest). */
  revision: number | undefined;
  /** List keys strictly after this one. */
  after: string;
  /** The key the token starts at (the last returned key plus NUL), to hand out again in a 410. */
  startKey: string;
}

export function encodeContinue(startKey: string, prefix: string, revision: number): string {
  const token = { v: 'meta.k8s.io/v1', rv: revision, start: startKey.slice(prefix.length) };
  return Buffer.from(JSON.stringify(token)).toString('base64url');
}

/** The token for the keys after `lastKey` (the last one a page returned). */
export const continueAfter = (lastKey: string, prefix: string, revision: number): string =>
  encodeContinue(`${lastKey}\u0000`, prefix, revision);

const invalidToken = (why: string) => badRequest(`invalid continue token: continue key is not valid${why}`);

/** Go's base64.RawURLEncoding.DecodeString: newlines skipped, the first bad byte's offset in the error. */
function decodeRawUrlBase64(s: string): Buffer {
  let clean = '';
  for (let i = 0; i < s.length; i++) {
    const c = s[i];
    if (c === '\n' || c === '\r') continue;
    if (!/[A-Za-z0-9_-]/.test(c)) throw invalidToken(`: illegal base64 data at input byte ${i}`);
    clean += c;
  }
  if (clean.length % 4 === 1) throw invalidToken(`: illegal base64 data at input byte ${s.length - 1}`);
  return Buffer.from(clean, 'base64url');
}

function goKind(v: JsonValue): string {
  if (Array.isArray(v)) return 'array';
  if (isObject(v)) return 'object';
  if (typeof v === 'number') return `number ${v}`;
  return typeof v;
}

const typeError = (v: JsonValue, field: string, type: string) =>
  invalidToken(
    `: json: cannot unmarshal ${goKind(v)} into Go struct field continueToken.${field} of type ${type}`,
  );

/** Path.Clean of a key that starts with "/" (what DecodeContinue compares the start key with). */
function cleanPath(p: string): string {
  const out: string[] = [];
  for (const part of p.split('/')) {
    if (part === '' || part === '.') continue;
    if (part === '..') out.pop();
    else out.push(part);
  }
  return `/${out.join('/')}`;
}

export function decodeContinue(token: string, prefix: string): DecodedContinue {
  const text = decodeRawUrlBase64(token).toString('utf8');
  let parsed: JsonValue;
  try {
    parsed = parseJson(text);
  } catch (e) {
    throw invalidToken(`: ${(e as Error).message}`);
  }
  if (!isObject(parsed)) {
    if (parsed === null) throw invalidToken(': server does not recognize this encoded version ');
    throw invalidToken(
      `: json: cannot unmarshal ${goKind(parsed)} into Go value of type storage.continueToken`,
    );
  }
  const { v = null, rv = null, start = null } = parsed;
  if (v !== null && typeof v !== 'string') throw typeError(v, 'v', 'string');
  if (rv !== null && (typeof rv !== 'number' || !Number.isSafeInteger(rv)))
    throw typeError(rv, 'rv', 'int64');
  if (start !== null && typeof start !== 'string') throw typeError(start, 'start', 'string');
  if (v !== 'meta.k8s.io/v1')
    throw invalidToken(`: server does not recognize this encoded version ${v ?? ''}`);
  if (!rv) throw invalidToken(': incorrect encoded start resourceVersion (version meta.k8s.io/v1)');
  if (!start) throw invalidToken(': encoded start key empty (version meta.k8s.io/v1)');
  // Path traversal: the start key, made absolute, must already be clean.
  const key = start.startsWith('/') ? start : `/${start}`;
  if (cleanPath(key) !== key) throw invalidToken(`: ${start}`);
  const startKey = prefix + key.slice(1);
  return { revision: rv > 0 ? rv : undefined, after: justBefore(startKey), startKey };
}

/**
 * A key the store's exclusive `after` can start from so that `startKey` itself is listed: our own tokens end
 * with NUL (the last key returned plus NUL), so the key before it is that last key; a hand-made token's last
 * character steps back one, followed by the highest code unit.
 */
function justBefore(startKey: string): string {
  if (startKey.endsWith('\u0000')) return startKey.slice(0, -1);
  const last = startKey.charCodeAt(startKey.length - 1);
  return `${startKey.slice(0, -1)}${String.fromCharCode(last - 1)}\uffff`;
}
