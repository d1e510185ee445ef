/**
 * Registry HTTP API v2 / OCI distribution client for one repository on one endpoint: auth challenges
 * (bearer tokens, basic), manifests, blobs, uploads, cross-repo mounts.
 */
import { createHash } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import type { Readable } from 'node:stream';
import { MANIFEST_ACCEPT } from '../oci.js';
import { basicHeader, parseChallenge, type Challenge, type Credentials } from './auth.js';
import { header, readAll, request, type RequestOptions } from './http.js';

export class RegistryError extends Error {
  constructor(
    message: string,
    /** HTTP status the registry answered (0 when it was not reached). */
    readonly status: number,
    readonly codes: string[] = [],
  ) {
    super(message);
    this.name = 'RegistryError';
  }
}

export class RegistryAuthError extends RegistryError {
  override name = 'RegistryAuthError';
  constructor(
    message: string,
    status: number,
    codes: string[] = [],
    /** The registry refused the credentials (or wanted some and had none), as opposed to a broken auth flow. */
    readonly refused = false,
  ) {
    super(message, status, codes);
  }
}

/** `{"errors":[{"code":"MANIFEST_UNKNOWN","message":"manifest unknown"}]}` → `manifest unknown: manifest unknown`. */
export async function registryError(res: IncomingMessage, what: string): Promise<RegistryError> {
  let body = '';
  try {
    body = (await readAll(res, 1 << 20)).toString('utf8');
  } catch {
    /* ignore */
  }
  const codes: string[] = [];
  let text = '';
  try {
    const v = JSON.parse(body) as { errors?: { code?: string; message?: string; detail?: unknown }[] };
    if (Array.isArray(v.errors) && v.errors.length) {
      text = v.errors
        .map((e) => {
          codes.push(e.code ?? '');
          return `${(e.code ?? 'unknown').toLowerCase().replace(/_/g, ' ')}: ${e.message ?? ''}`;
        })
        .join(', ');
    }
  } catch {
    /* not JSON */
  }
  const status = res.statusCode ?? 0;
  if (!text)
    text =
      status === 401
        ? 'unauthorized: authentication required'
        : `${what}: unexpected status ${status} ${res.statusMessage ?? ''}`.trim();
  return status === 401 ? new RegistryAuthError(text, status, codes) : new RegistryError(text, status, codes);
}

export interface ClientOptions {
  /** Endpoint base, e.g. http://127.0.0.1:5000 or https://registry-1.docker.io */
  base: URL;
  /** Repository path, e.g. library/busybox */
  repo: string;
  creds?: Credentials | undefined;
  /** Token scope actions for `repo`: pull, or pull,push */
  actions?: string;
  /** More scopes (cross-repo mount sources). */
  extraScopes?: string[];
}

interface Token {
  header: string;
  expires: number;
}

/** Tokens are shared across clients of the same realm/service/scope/user, like dockerd's token cache. */
const tokenCache = new Map<string, Token>();

export interface Manifest {
  body: Buffer;
  mediaType: string;
  digest: string;
}

export class RegistryClient {
  private authHeader: string | undefined;

  constructor(readonly o: ClientOptions) {}

  url(p: string): URL {
    const base = this.o.base.href.replace(/\/+$/, '');
    return new URL(`${base}/v2/${this.o.repo}/${p}`);
  }

  get endpoint(): string {
    return this.o.base.host;
  }

  /** Sends a request, answering one 401 challenge. Bodies must be replayable (buffer or factory). */
  async send(method: string, url: URL, o: RequestOptions = {}, retry = true): Promise<IncomingMessage> {
    const headers: Record<string, string> = { ...o.headers };
    if (this.authHeader) headers.Authorization = this.authHeader;
    const res = await request(url, { ...o, method, headers });
    if (res.statusCode === 401 && retry) {
      const ch = parseChallenge(header(res.headers, 'www-authenticate') ?? '');
      res.resume();
      await this.authenticate(ch, method, url);
      return this.send(method, url, o, false);
    }
    return res;
  }

  private async authenticate(ch: Challenge | undefined, method: string, url: URL): Promise<void> {
    const creds = this.o.creds;
    if (!ch) throw new RegistryAuthError('unauthorized: authentication required', 401);
    if (ch.scheme === 'basic') {
      const h = creds ? basicHeader(creds) : undefined;
      if (!h)
        throw new RegistryAuthError(
          `${method[0]}${method.slice(1).toLowerCase()} "${url.href}": no basic auth credentials`,
          401,
          [],
          true,
        );
      this.authHeader = h;
      return;
    }
    if (ch.scheme !== 'bearer')
      throw new RegistryAuthError(`unsupported authentication scheme ${ch.scheme}`, 401);
    if (creds?.registrytoken) {
      this.authHeader = `Bearer ${creds.registrytoken}`;
      return;
    }
    const realm = ch.params.realm;
    if (!realm)
      throw new RegistryAuthError('unauthorized: the registry sent a bearer challenge without a realm', 401);
    const scopes = [`repository:${this.o.repo}:${this.o.actions ?? 'pull'}`, ...(this.o.extraScopes ?? [])];
    const key = JSON.stringify([
      realm,
      ch.params.service,
      scopes,
      creds?.username ?? '',
      creds?.password ?? creds?.identitytoken ?? '',
    ]);
    const cached = tokenCache.get(key);
    if (cached && cached.expires > Date.now()) {
      this.authHeader = cached.header;
      return;
    }
    const tu = new URL(realm);
    if (ch.params.service) tu.searchParams.set('service', ch.params.service);
    for (const s of scopes) tu.searchParams.append('scope', s);
    if (creds?.username) tu.searchParams.set('account', creds.username);
    const h: Record<string, string> = {};
    const basic = creds
      ? basicHeader({ ...creds, password: creds.password ?? creds.identitytoken })
      : undefined;
    if (basic) h.Authorization = basic;
    const res = await request(tu, { headers: h });
    if (res.statusCode !== 200) {
      const err = await registryError(res, 'token');
      throw new RegistryAuthError(
        `${res.statusCode === 401 ? 'unauthorized: incorrect username or password' : err.message}`,
        res.statusCode === 401 ? 401 : err.status,
        [],
        res.statusCode === 401,
      );
    }
    let tok: { token?: string; access_token?: string; expires_in?: number };
    try {
      tok = JSON.parse((await readAll(res)).toString('utf8')) as typeof tok;
    } catch {
      throw new RegistryAuthError('invalid token response from the registry auth service', 401);
    }
    const t = tok.token ?? tok.access_token;
    if (!t) throw new RegistryAuthError('the registry auth service returned no token', 401);
    this.authHeader = `Bearer ${t}`;
    tokenCache.set(key, {
      header: this.authHeader,
      expires: Date.now() + Math.max(60, (tok.expires_in ?? 60) - 10) * 1000,
    });
  }

  /** GET /v2/ (used by login): throws RegistryAuthError when the credentials are refused. */
  async ping(): Promise<void> {
    const base = this.o.base.href.replace(/\/+$/, '');
    const res = await this.send('GET', new URL(`${base}/v2/`));
    res.resume();
    if (res.statusCode === 401)
      throw new RegistryAuthError(
        `login attempt to ${base}/v2/ failed with status: 401 Unauthorized`,
        401,
        [],
        true,
      );
    if ((res.statusCode ?? 0) >= 400)
      throw new RegistryError(
        `login attempt to ${base}/v2/ failed with status: ${res.statusCode} ${res.statusMessage ?? ''}`.trim(),
        res.statusCode ?? 0,
      );
  }

  async getManifest(reference: string, signal?: AbortSignal): Promise<Manifest> {
    const res = await this.send('GET', this.url(`manifests/${reference}`), {
      headers: { Accept: MANIFEST_ACCEPT },
      ...(signal ? { signal } : {}),
    });
    if (res.statusCode !== 200) throw await registryError(res, 'manifest');
    const body = await readAll(res, 4 << 20);
    const digest = 'sha256:' + createHash('sha256').update(body).digest('hex');
    if (reference.startsWith('sha256:') && digest !== reference)
      throw new RegistryError(`manifest verification failed for digest ${reference}`, 200);
    const mediaType = (header(res.headers, 'content-type') ?? '').split(';')[0].trim();
    return { body, mediaType, digest };
  }

  /** Opens a blob for streaming; the caller verifies the digest as it reads. */
  async blob(digest: string, signal?: AbortSignal): Promise<IncomingMessage> {
    const res = await this.send('GET', this.url(`blobs/${digest}`), signal ? { signal } : {});
    if (res.statusCode !== 200) throw await registryError(res, `blob ${digest}`);
    return res;
  }

  /** Small blobs (configs): read fully and verified. */
  async blobBytes(digest: string, limit = 8 << 20): Promise<Buffer> {
    const res = await this.blob(digest);
    const body = await readAll(res, limit);
    const got = 'sha256:' + createHash('sha256').update(body).digest('hex');
    if (got !== digest) throw new RegistryError(`digest mismatch for blob ${digest}: got ${got}`, 200);
    return body;
  }

  async blobExists(digest: string): Promise<boolean> {
    const res = await this.send('HEAD', this.url(`blobs/${digest}`));
    res.resume();
    if (res.statusCode === 200) return true;
    if (res.statusCode === 404) return false;
    throw await registryError(res, `blob ${digest}`);
  }

  /** Tries a cross-repository mount; returns true when mounted, else an upload URL to use. */
  async mountOrStart(
    digest: string,
    from?: string,
  ): Promise<{ mounted: true } | { mounted: false; location: URL }> {
    const u = this.url('blobs/uploads/');
    if (from) {
      u.searchParams.set('mount', digest);
      u.searchParams.set('from', from);
    }
    const res = await this.send('POST', u, { body: Buffer.alloc(0) });
    res.resume();
    if (res.statusCode === 201) return { mounted: true };
    if (res.statusCode !== 202) throw await registryError(res, 'upload');
    const loc = header(res.headers, 'location');
    if (!loc) throw new RegistryError('registry did not return an upload location', res.statusCode ?? 0);
    return { mounted: false, location: new URL(loc, u) };
  }

  /** Streams a blob with PATCH, then commits it with PUT ?digest= (dockerd's chunked flow, one chunk). */
  async upload(location: URL, digest: string, size: number, open: () => Readable): Promise<void> {
    const patch = await this.send('PATCH', location, {
      body: open,
      headers: { 'Content-Type': 'application/octet-stream', 'Content-Length': String(size) },
    });
    if (patch.statusCode !== 202 && patch.statusCode !== 204) throw await registryError(patch, 'upload');
    patch.resume();
    const next = new URL(header(patch.headers, 'location') ?? location.href, location);
    next.searchParams.set('digest', digest);
    const put = await this.send('PUT', next, { body: Buffer.alloc(0) });
    put.resume();
    if (put.statusCode !== 201) throw await registryError(put, 'upload');
  }

  async putManifest(reference: string, body: Buffer, mediaType: string): Promise<string> {
    const res = await this.send('PUT', this.url(`manifests/${reference}`), {
      body,
      headers: { 'Content-Type': mediaType },
    });
    if (res.statusCode !== 201 && res.statusCode !== 200) throw await registryError(res, 'manifest');
    res.resume();
    return (
      header(res.headers, 'docker-content-digest') ??
      'sha256:' + createHash('sha256').update(body).digest('hex')
    );
  }
}
