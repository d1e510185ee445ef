/** What every resource handler gets, and the query/option parsing they share. */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { tooLarge } from '../../errors.js';
import { managerFor } from '../../patch/index.js';
import type { Logger } from '../../log.js';
import type { ResourceCatalog } from '../../registry/catalog.js';
import type { CollectionStore } from '../../registry/generic/collection.js';
import type { RequestContext } from '../../registry/generic/context.js';
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
    fieldManager: managerFor(fieldManager, r.req.headers['user-agent']),
    warnings: r.warnings,
  };
}
