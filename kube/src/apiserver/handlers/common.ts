/** What every resource handler gets, and the query/option parsing they share. */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { badRequest, invalid, tooLarge } from '../../errors.js';
import type { Logger } from '../../log.js';
import type { ResourceCatalog } from '../../registry/catalog.js';
import type { CollectionStore } from '../../registry/generic/collection.js';
import type { DeleteOptions, ListOptions, RequestContext } from '../../registry/generic/context.js';
import type { Registry } from '../../registry/generic/registry.js';
import type { RequestUser, ResourceType } from '../../registry/types.js';
import type { RequestInfo } from '../request-info.js';

export const MAX_REQUEST_BODY_BYTES = 3 * 1024 * 1024;

export interface HandlerEnv {
  registry: Registry;
  catalog: ResourceCatalog;
  log: Logger;
}

export interface ResourceRequest {
  req: IncomingMessage;
  res: ServerResponse;
  url: URL;
  info: RequestInfo;
  user: RequestUser;
  type: ResourceType;
  store: CollectionStore;
  /** The namespace the request addresses (undefined for cluster-scoped types). */
  namespace: string | undefined;
  warnings: string[];
  env: HandlerEnv;
}

/** The request body, at most 3 MiB (413 `Request entity too large: limit is 3145728` beyond). */
export function readBody(req: IncomingMessage, limit = MAX_REQUEST_BODY_BYTES): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const declared = Number(req.headers['content-length']);
    if (Number.isFinite(declared) && declared > limit) {
      req.resume();
      reject(tooLarge(`Request entity too large: limit is ${limit}`));
      return;
    }
    const chunks: Buffer[] = [];
    let size = 0;
    let failed = false;
    req.on('data', (c: Buffer) => {
      if (failed) return;
      size += c.length;
      if (size > limit) {
        failed = true;
        reject(tooLarge(`Request entity too large: limit is ${limit}`));
        return;
      }
      chunks.push(c);
    });
    req.on('end', () => {
      if (!failed) resolve(Buffer.concat(chunks));
    });
    req.on('error', reject);
  });
}

export function context(r: ResourceRequest, dryRun: boolean, fieldManager?: string): RequestContext {
  return {
    user: r.user,
    dryRun,
    fieldManager: fieldManager || managerFromUserAgent(r.req.headers['user-agent']),
    warnings: r.warnings,
  };
}

/** managerOrUserAgent: the User-Agent's program name ("kubectl" of "kubectl/v1.32.4 (linux/amd64) ..."). */
export function managerFromUserAgent(ua: string | undefined): string {
  if (!ua) return 'unknown';
  return ua.split('/')[0].slice(0, 128);
}

/** dryRun may only be "All" (ValidateDryRun). */
export function dryRunOf(q: URLSearchParams, optionsKind: string): boolean {
  const values = q.getAll('dryRun');
  if (!values.length) return false;
  for (const v of values)
    if (v !== 'All')
      throw invalid(
        optionsKind,
        '',
        [
          {
            type: 'FieldValueNotSupported',
            field: 'dryRun',
            badValue: values,
            detail: 'supported values: "All"',
          },
        ],
        'meta.k8s.io',
      );
  return true;
}

function intParam(q: URLSearchParams, name: string): number | undefined {
  const v = q.get(name);
  if (v === null || v === '') return undefined;
  if (!/^-?\d+$/.test(v)) throw badRequest(`strconv.ParseInt: parsing ${JSON.stringify(v)}: invalid syntax`);
  return Number(v);
}

function boolParam(q: URLSearchParams, name: string): boolean | undefined {
  const v = q.get(name);
  if (v === null || v === '') return undefined;
  if (['1', 't', 'T', 'true', 'TRUE', 'True'].includes(v)) return true;
  if (['0', 'f', 'F', 'false', 'FALSE', 'False'].includes(v)) return false;
  throw badRequest(`strconv.ParseBool: parsing ${JSON.stringify(v)}: invalid syntax`);
}

export function listOptions(
  q: URLSearchParams,
): ListOptions & { watch?: boolean; timeoutSeconds?: number; allowWatchBookmarks?: boolean } {
  const o: ListOptions & { timeoutSeconds?: number; allowWatchBookmarks?: boolean } = {};
  const s = (
    k: 'labelSelector' | 'fieldSelector' | 'resourceVersion' | 'resourceVersionMatch' | 'continue',
  ) => {
    const v = q.get(k);
    if (v !== null && v !== '') (o as Record<string, unknown>)[k] = v;
  };
  s('labelSelector');
  s('fieldSelector');
  s('resourceVersion');
  s('resourceVersionMatch');
  s('continue');
  const limit = intParam(q, 'limit');
  if (limit !== undefined) o.limit = limit;
  const timeout = intParam(q, 'timeoutSeconds');
  if (timeout !== undefined) o.timeoutSeconds = timeout;
  const bookmarks = boolParam(q, 'allowWatchBookmarks');
  if (bookmarks !== undefined) o.allowWatchBookmarks = bookmarks;
  return o;
}

/** DeleteOptions from the body (kubectl sends them there) and the query (curl users), the body winning. */
export function deleteOptions(q: URLSearchParams, body: Buffer): DeleteOptions & { dryRun?: string[] } {
  let fromBody: Record<string, unknown> = {};
  if (body.length) {
    try {
      fromBody = JSON.parse(body.toString('utf8')) as Record<string, unknown>;
    } catch (e) {
      throw badRequest(
        `the object provided is unrecognized (must be of type DeleteOptions): couldn't get version/kind; json parse error: ${(e as Error).message}`,
      );
    }
  }
  const o: DeleteOptions & { dryRun?: string[] } = {};
  const grace = fromBody.gracePeriodSeconds ?? intParam(q, 'gracePeriodSeconds');
  if (typeof grace === 'number') o.gracePeriodSeconds = grace;
  const policy = fromBody.propagationPolicy ?? q.get('propagationPolicy') ?? undefined;
  if (typeof policy === 'string' && policy)
    o.propagationPolicy = policy as DeleteOptions['propagationPolicy'];
  const orphan = fromBody.orphanDependents ?? boolParam(q, 'orphanDependents');
  if (typeof orphan === 'boolean') o.orphanDependents = orphan;
  if (fromBody.preconditions && typeof fromBody.preconditions === 'object')
    o.preconditions = fromBody.preconditions;
  const dry = (fromBody.dryRun as string[] | undefined) ?? q.getAll('dryRun');
  if (dry.length) o.dryRun = dry;
  return o;
}
