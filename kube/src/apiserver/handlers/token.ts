/** POST .../serviceaccounts/<name>/token (`kubectl create token`): a TokenRequest answered with a signed token. */
import type { ServiceAccountTokens } from '../auth/serviceaccount.js';
import { negotiate } from '../negotiation.js';
import { writeObject } from '../respond.js';
import { methodNotAllowed, type Connector } from './dispatch.js';
import { writeOptions } from './options.js';
import { decodeRequest } from './write.js';

export function tokenRequestHandler(tokens: ServiceAccountTokens): Connector {
  return async (r) => {
    if (r.info.verb !== 'create') throw methodNotAllowed(r);
    const n = negotiate(r.req.headers.accept, { views: [] });
    const body = await decodeRequest(r, 'CreateOptions');
    writeOptions(r.url.searchParams, 'CreateOptions');
    const out = await tokens.request(r.namespace ?? '', r.info.name, body);
    await writeObject(r.res, 201, out, { format: n.format, warnings: r.warnings });
  };
}
