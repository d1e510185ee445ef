/**
 * Serving the OpenAPI documents as kube-apiserver's kube-openapi handlers do, as data the API server writes out:
 *   GET /openapi/v2                     the v2 document, JSON or (asked first) gnostic protobuf, ETag;
 *   GET /openapi/v3                     the index: { paths: { "apis/apps/v1": { serverRelativeURL:
 *                                       "/openapi/v3/apis/apps/v1?hash=<SHA-512, upper-case hex>" } } };
 *   GET /openapi/v3/<name>[?hash=H]     one document; with the current hash it is immutable (Cache-Control: public,
 *                                       immutable; Expires a year on), with a stale one a 301 to the current URL.
 * If-None-Match answers 304. Documents are built on first request and kept until what they describe changes:
 * each group-version separately, so a CRD's change rebuilds its own group-version only.
 */
import { createHash } from 'node:crypto';
import type { ResourceType } from '../../registry/types.js';
import { catalog, type Catalog } from '../catalog.js';
import { buildV2, buildV3, gvPath, v3Names } from './documents.js';
import { encodeOpenApiV2, OPENAPI_V2_PROTOBUF } from './protobuf-v2.js';

/** What is served: kcore's ResourceCatalog fits (`all()` and a version that moves on every change). */
export interface ServedResources {
  all(): ResourceType[];
  readonly version: number;
}

export interface OpenApiRequest {
  /** The URL path, e.g. `/openapi/v3/apis/apps/v1`. */
  path: string;
  query: URLSearchParams;
  accept?: string;
  ifNoneMatch?: string;
  now?: Date;
}

export interface OpenApiResponse {
  status: 200 | 301 | 304 | 404 | 406;
  headers: Record<string, string>;
  body?: Buffer;
}

interface Built {
  body: Buffer;
  etag: string;
  lastModified: Date;
}

const etagOf = (b: Buffer): string => createHash('sha512').update(b).digest('hex').toUpperCase();

function built(doc: unknown): Built {
  const body = Buffer.from(JSON.stringify(doc));
  return { body, etag: etagOf(body), lastModified: new Date() };
}

/** Bumped when the document builder changes, so hashes from an older berth-kube never match newer documents. */
const BUILDER = 'berth-openapi-1';

export class OpenApiService {
  private v2?: { key: string; doc: Built };
  private v2pb?: { from: Built; doc: Built };
  private readonly v3 = new Map<string, { key: string; doc: Built }>();
  private index?: { key: string; doc: Built };

  constructor(private readonly served: ServedResources) {}

  /** The response for a path under /openapi, or undefined when the path is not an OpenAPI one. */
  async handle(req: OpenApiRequest): Promise<OpenApiResponse | undefined> {
    const { path } = req;
    if (path === '/openapi/v2' || path === '/openapi/v2/') {
      const res = prefersProtobuf(req.accept)
        ? this.document(req, await this.v2Protobuf(), OPENAPI_V2_PROTOBUF)
        : this.document(req, await this.v2Doc(), 'application/json');
      res.headers.Vary = 'Accept';
      return res;
    }
    if (path === '/openapi/v3' || path === '/openapi/v3/')
      return this.document(req, await this.indexDoc(), 'application/json');
    if (!path.startsWith('/openapi/v3/')) return undefined;
    const name = path.slice('/openapi/v3/'.length).replace(/\/$/, '');
    if (!acceptsJson(req.accept)) return { status: 406, headers: { Vary: 'Accept' } };
    const doc = await this.v3Doc(name);
    if (!doc)
      return {
        status: 404,
        headers: { 'Content-Type': 'text/plain; charset=utf-8' },
        body: Buffer.from('404 page not found\n'),
      };
    const hash = req.query.get('hash');
    if (hash && hash !== doc.etag) {
      return { status: 301, headers: { Location: serverRelativeURL(name, doc.etag), Vary: 'Accept' } };
    }
    const res = this.document(req, doc, 'application/json');
    res.headers.Vary = 'Accept';
    if (hash) {
      res.headers['Cache-Control'] = 'public, immutable';
      const expires = new Date((req.now ?? new Date()).getTime());
      expires.setUTCFullYear(expires.getUTCFullYear() + 1);
      res.headers.Expires = expires.toUTCString();
    }
    return res;
  }

  private document(req: OpenApiRequest, doc: Built, contentType: string): OpenApiResponse {
    const etag = `"${doc.etag}"`;
    const headers: Record<string, string> = { ETag: etag, 'Last-Modified': doc.lastModified.toUTCString() };
    if (req.ifNoneMatch && req.ifNoneMatch.split(',').some((t) => t.trim() === etag || t.trim() === '*')) {
      return { status: 304, headers };
    }
    return { status: 200, headers: { ...headers, 'Content-Type': contentType }, body: doc.body };
  }

  /** The v2 document in gnostic's protobuf form, built from the JSON one and kept while it stands. */
  private async v2Protobuf(): Promise<Built> {
    const json = await this.v2Doc();
    if (this.v2pb?.from !== json) {
      const body = encodeOpenApiV2(JSON.parse(json.body.toString()) as Parameters<typeof encodeOpenApiV2>[0]);
      this.v2pb = { from: json, doc: { body, etag: etagOf(body), lastModified: json.lastModified } };
    }
    return this.v2pb.doc;
  }

  /** The current v2 document (also for tests and kcore's own uses). */
  async v2Doc(): Promise<Built> {
    const c = await catalog();
    const key = `${this.served.version}/${c.generation}`;
    if (this.v2?.key !== key) this.v2 = { key, doc: built(buildV2(this.served.all(), c)) };
    return this.v2.doc;
  }

  /**
   * A v3 document's hash without building it: documents are a pure function of what they describe (the
   * group-version's resources and schemas, or the group list), so a hash of that description names the content
   * as surely as a hash of the bytes, and /openapi/v3 answers without building 37 documents.
   */
  private fingerprint(name: string, c: Catalog): { key: string; mine: ResourceType[]; gv: boolean } {
    const resources = this.served.all();
    const parts = name.split('/');
    const gv = (parts[0] === 'api' && parts.length === 2) || (parts[0] === 'apis' && parts.length === 3);
    if (gv) {
      const mine = resources.filter((t) => gvPath(t.group, t.version) === name);
      return { key: etagOf(Buffer.from(`${BUILDER}/${c.digest}\n${name}\n${describe(mine, c)}`)), mine, gv };
    }
    const groups = [...new Set(resources.map((t) => `${t.group}/${t.version}`))].sort().join(',');
    return { key: etagOf(Buffer.from(`${BUILDER}/${c.digest}\n${name}\n${groups}`)), mine: resources, gv };
  }

  async v3Doc(name: string): Promise<Built | undefined> {
    const c = await catalog();
    const { key, mine, gv } = this.fingerprint(name, c);
    const cached = this.v3.get(name);
    if (cached?.key === key) return cached.doc;
    const doc = buildV3(buildV2(mine, c, !gv), name, c);
    if (!doc) {
      this.v3.delete(name);
      return undefined;
    }
    const entry = { key, doc: { ...built(doc), etag: key } };
    this.v3.set(name, entry);
    return entry.doc;
  }

  private async indexDoc(): Promise<Built> {
    const c = await catalog();
    const key = `${this.served.version}/${c.generation}`;
    if (this.index?.key === key) return this.index.doc;
    const names = v3Names(this.served.all(), c);
    const paths: Record<string, { serverRelativeURL: string }> = {};
    for (const name of names)
      paths[name] = { serverRelativeURL: serverRelativeURL(name, this.fingerprint(name, c).key) };
    for (const name of [...this.v3.keys()]) if (!(name in paths)) this.v3.delete(name);
    this.index = { key, doc: built({ paths }) };
    return this.index.doc;
  }
}

export function serverRelativeURL(name: string, etag: string): string {
  return `/openapi/v3/${name}?hash=${etag}`;
}

/** What a group-version's document depends on: its resources and, for custom kinds, their schemas. */
function describe(resources: ResourceType[], c: Catalog): string {
  const custom = resources.some((t) => !c.isBuiltin(c.definitionNameOf(t) ?? ''));
  const shape = resources
    .map((t) => [
      t.plural,
      t.kind,
      t.namespaced,
      [...t.verbs].sort(),
      (t.subresources ?? []).map((s) => [s.name, s.kind, s.verbs]),
    ])
    .sort();
  const schemas = custom
    ? resources.map((t) => JSON.stringify(c.definition(c.definitionNameOf(t) ?? '') ?? null))
    : [];
  return JSON.stringify(shape) + schemas.join('');
}

/**
 * kube-openapi's v2 negotiation, in the client's order: gnostic protobuf (either spelling of its media type)
 * when it comes before anything JSON can answer; JSON otherwise.
 */
function prefersProtobuf(accept: string | undefined): boolean {
  for (const clause of (accept ?? '').split(',')) {
    const type = clause.trim().split(';')[0].trim().toLowerCase();
    if (type.startsWith('application/com.github.proto-openapi.spec.v2')) return true;
    if (acceptsJson(type)) return false;
  }
  return false;
}

/** kube-openapi's negotiation: JSON for application/json, application/*, * / * and no Accept at all. */
function acceptsJson(accept: string | undefined): boolean {
  if (!accept) return true;
  return accept.split(',').some((clause) => {
    const [type] = clause.trim().split(';');
    const [main, sub] = type.trim().toLowerCase().split('/');
    return (main === 'application' || main === '*') && (sub === 'json' || sub === '*');
  });
}
