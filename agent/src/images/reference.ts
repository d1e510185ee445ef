/**
 * Image references with Docker's normalization rules (distribution/reference):
 * `busybox` → docker.io/library/busybox:latest, `host:port/a/b:tag`, `name@sha256:…`.
 */
import { EngineError } from '../errors.js';

export const DEFAULT_DOMAIN = 'docker.io';
const LEGACY_DOMAIN = 'index.docker.io';
const OFFICIAL_PREFIX = 'library/';

const PATH_COMPONENT = /^[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*$/;
const DOMAIN_COMPONENT = /^(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9])$/;
const TAG = /^[\w][\w.-]{0,127}$/;
const DIGEST = /^[a-z0-9]+(?:[.+_-][a-z0-9]+)*:[a-zA-Z0-9=_-]+$/;
const SHA256 = /^sha256:[a-f0-9]{64}$/;
const HEX64 = /^[a-f0-9]{64}$/;
const MAX_NAME = 255;

/** A fully qualified reference: domain + path, with a tag and/or a digest. */
export interface Reference {
  domain: string;
  /** Repository path inside the registry, e.g. `library/busybox`. */
  path: string;
  tag?: string;
  digest?: string;
}

export class ReferenceError extends EngineError {
  constructor(message: string) {
    super('InvalidParameter', message);
    this.name = 'ReferenceError';
  }
}

function validDomain(d: string): boolean {
  if (/^\[[0-9a-fA-F:]+\](?::\d+)?$/.test(d)) return true;
  const m = /^(.*?)(?::(\d+))?$/.exec(d)!;
  const host = m[1];
  return host.length > 0 && host.split('.').every((c) => DOMAIN_COMPONENT.test(c));
}

/** Splits `a/b` into domain and remainder the way Docker does (first part with `.` or `:`, or `localhost`). */
function splitDomain(name: string): { domain: string; rest: string } {
  const i = name.indexOf('/');
  if (i < 0) return { domain: DEFAULT_DOMAIN, rest: name };
  const first = name.slice(0, i);
  if (
    first !== 'localhost' &&
    !first.includes('.') &&
    !first.includes(':') &&
    first.toLowerCase() === first
  ) {
    return { domain: DEFAULT_DOMAIN, rest: name };
  }
  return { domain: first, rest: name.slice(i + 1) };
}

/**
 * Parses and normalizes a reference. Throws ReferenceError (400) with Docker's wording on malformed input.
 * `defaultTag` is added when neither a tag nor a digest is given (pass undefined to keep it bare).
 */
export function parseReference(input: string, defaultTag: string | undefined = 'latest'): Reference {
  const s = input.trim();
  if (s === '') throw new ReferenceError('invalid reference format');
  if (HEX64.test(s))
    throw new ReferenceError(`invalid repository name (${s}), cannot specify 64-byte hexadecimal strings`);
  let rest = s;
  let digest: string | undefined;
  const at = rest.indexOf('@');
  if (at >= 0) {
    digest = rest.slice(at + 1);
    rest = rest.slice(0, at);
    if (!DIGEST.test(digest)) throw new ReferenceError('invalid reference format');
    if (digest.startsWith('sha256:') && !SHA256.test(digest))
      throw new ReferenceError(`invalid reference format: invalid checksum digest format`);
  }
  let tag: string | undefined;
  const colon = rest.lastIndexOf(':');
  if (colon > rest.lastIndexOf('/')) {
    tag = rest.slice(colon + 1);
    rest = rest.slice(0, colon);
    if (!TAG.test(tag)) throw new ReferenceError('invalid reference format');
  }
  if (rest === '') throw new ReferenceError('invalid reference format');
  let { domain, rest: path } = splitDomain(rest);
  if (!validDomain(domain)) throw new ReferenceError('invalid reference format');
  if (domain === LEGACY_DOMAIN) domain = DEFAULT_DOMAIN;
  if (path.toLowerCase() !== path)
    throw new ReferenceError(`invalid reference format: repository name (${path}) must be lowercase`);
  if (domain === DEFAULT_DOMAIN && !path.includes('/')) path = OFFICIAL_PREFIX + path;
  if (path === '' || !path.split('/').every((c) => PATH_COMPONENT.test(c)))
    throw new ReferenceError('invalid reference format');
  if (domain.length + 1 + path.length > MAX_NAME)
    throw new ReferenceError(
      'invalid reference format: repository name must not be more than 255 characters',
    );
  const ref: Reference = { domain, path };
  if (tag !== undefined) ref.tag = tag;
  if (digest !== undefined) ref.digest = digest;
  if (ref.tag === undefined && ref.digest === undefined && defaultTag !== undefined) ref.tag = defaultTag;
  return ref;
}

/** `docker.io/library/busybox` */
export function repoName(r: Pick<Reference, 'domain' | 'path'>): string {
  return `${r.domain}/${r.path}`;
}

/** The full string: `docker.io/library/busybox:latest`, `host/x@sha256:…`. */
export function formatReference(r: Reference): string {
  return (
    repoName(r) + (r.tag !== undefined ? `:${r.tag}` : '') + (r.digest !== undefined ? `@${r.digest}` : '')
  );
}

/** Docker's short form for display: `busybox`, `user/app`, `localhost:5000/x`. */
export function familiarName(r: Pick<Reference, 'domain' | 'path'>): string {
  if (r.domain !== DEFAULT_DOMAIN) return `${r.domain}/${r.path}`;
  return r.path.startsWith(OFFICIAL_PREFIX) ? r.path.slice(OFFICIAL_PREFIX.length) : r.path;
}

export function familiarString(r: Reference): string {
  return (
    familiarName(r) +
    (r.tag !== undefined ? `:${r.tag}` : '') +
    (r.digest !== undefined ? `@${r.digest}` : '')
  );
}

/** Parses a stored full reference string and returns its familiar form. */
export function familiarize(full: string): string {
  return familiarString(parseReference(full, undefined));
}

export function isDigest(s: string): boolean {
  return SHA256.test(s);
}

/** Validates a tag given separately (e.g. `?tag=` on pull, `docker tag`). */
export function checkTag(tag: string): void {
  if (!TAG.test(tag)) throw new ReferenceError(`invalid tag format`);
}
