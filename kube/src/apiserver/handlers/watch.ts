/**
 * Watch over HTTP: 200 at once, then one JSON event per line ({"type","object"}) as chunks, flushed each; objects
 * as Tables when the client asked for them (kubectl get -w). The stream ends at timeoutSeconds (a random 30-60
 * minutes when absent, as kube-apiserver's MinRequestTimeout gives), when the client leaves, or after an ERROR
 * event (410 Expired: the client relists).
 */
import type { KubeObject } from '../../registry/types.js';
import { contentTypeOf, negotiate } from '../negotiation.js';
import { warningHeader } from '../respond.js';
import { includeObjectOf, partialMetadata, toTable } from '../table.js';
import { badRequest } from '../../errors.js';
import { selectedName } from '../request-info.js';
import { type ResourceRequest } from './common.js';
import { listOptions } from './options.js';

const MIN_REQUEST_TIMEOUT_S = 1800;

export async function watchObjects(r: ResourceRequest): Promise<void> {
  const n = negotiate(r.req.headers.accept, { views: ['Table', 'PartialObjectMetadata'] });
  const q = r.url.searchParams;
  const o = listOptions(q);
  if (r.info.nameInPath) {
    // GET /api/v1/watch/.../pods/x: a watch of the collection narrowed to that name; a field selector may only
    // pin the same name.
    if (o.fieldSelector && r.info.name !== selectedName(o.fieldSelector))
      throw badRequest("fieldSelector metadata.name doesn't match requested name");
    o.fieldSelector = `metadata.name=${r.info.name}`;
  }
  // No timeout (or 0): a random 30-60 minutes; a negative one ends the watch at once, as its context would.
  const timeoutSeconds = !o.timeoutSeconds
    ? Math.floor(MIN_REQUEST_TIMEOUT_S * (1 + Math.random()))
    : Math.max(o.timeoutSeconds, 0.001);
  const includeObject = n.view.as === 'Table' ? includeObjectOf(q.get('includeObject')) : 'None';
  let first = true;
  const shape = (obj: KubeObject, type: string): unknown => {
    // Column definitions go with the first event only, whatever its type (kube-apiserver's NoHeaders).
    const noHeaders = !first;
    first = false;
    if (type === 'ERROR' || type === 'BOOKMARK') return obj;
    if (n.view.as === 'Table')
      return toTable(
        r.type,
        [obj],
        { resourceVersion: obj.metadata?.resourceVersion },
        { includeObject, version: n.view.version, noHeaders },
      );
    if (n.view.as === 'PartialObjectMetadata') return partialMetadata(obj, n.view.version);
    return obj;
  };
  const res = r.res;
  const pending: string[] = [];
  let started = false;
  const write = (line: string) => {
    if (!started) pending.push(line);
    else if (!res.destroyed) res.write(line);
  };
  const session = await r.store.watch(r.namespace, { ...o, timeoutSeconds }, (e) =>
    write(`${JSON.stringify({ type: e.type, object: shape(e.object, e.type) })}\n`),
  );
  const headers: Record<string, string | string[]> = {
    'Content-Type': contentTypeOf(n),
    'Cache-Control': 'no-cache, private',
    'Transfer-Encoding': 'chunked',
  };
  if (r.warnings.length) headers.Warning = warningHeader(r.warnings);
  res.writeHead(200, headers);
  started = true;
  if (pending.length) res.write(pending.join(''));
  res.flushHeaders();
  const close = () => session.stop();
  r.req.on('close', close);
  res.on('close', close);
  await session.done;
  if (!res.destroyed) res.end();
}
