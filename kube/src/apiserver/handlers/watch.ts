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
import { listOptions, type ResourceRequest } from './common.js';

const MIN_REQUEST_TIMEOUT_S = 1800;

export async function watchObjects(r: ResourceRequest): Promise<void> {
  const n = negotiate(r.req.headers.accept, { views: ['Table', 'PartialObjectMetadata'] });
  const q = r.url.searchParams;
  const o = listOptions(q);
  if (r.info.name) {
    // GET .../pods/x?watch=true: a watch of the collection narrowed to that name.
    const byName = `metadata.name=${r.info.name}`;
    o.fieldSelector = o.fieldSelector ? `${o.fieldSelector},${byName}` : byName;
  }
  const timeoutSeconds =
    o.timeoutSeconds && o.timeoutSeconds > 0
      ? o.timeoutSeconds
      : Math.floor(MIN_REQUEST_TIMEOUT_S * (1 + Math.random()));
  const includeObject = includeObjectOf(q.get('includeObject'));
  let first = true;
  const shape = (obj: KubeObject, type: string): unknown => {
    if (type === 'ERROR' || type === 'BOOKMARK') return obj;
    if (n.view.as === 'Table') {
      const t = toTable(
        r.type,
        [obj],
        { resourceVersion: obj.metadata?.resourceVersion },
        { includeObject, version: n.view.version, noHeaders: !first },
      );
      first = false;
      return t;
    }
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
  const session = await r.store.watch(
    r.namespace,
    {
      ...o,
      timeoutSeconds,
      ...(o.allowWatchBookmarks ? { allowWatchBookmarks: true } : {}),
    },
    (e) => write(`${JSON.stringify({ type: e.type, object: shape(e.object, e.type) })}\n`),
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
