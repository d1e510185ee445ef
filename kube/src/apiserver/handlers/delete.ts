/** DELETE of one object (the object or a Success Status) and of a collection (the list of what was deleted). */
import { dryRunOf, deleteOptions, listOptions, readBody, context, type ResourceRequest } from './common.js';
import { negotiate } from '../negotiation.js';
import { writeObject } from '../respond.js';

export async function deleteObject(r: ResourceRequest): Promise<void> {
  const n = negotiate(r.req.headers.accept, { views: [] });
  const body = await readBody(r.req);
  const opts = deleteOptions(r.url.searchParams, body);
  const dryRun = opts.dryRun
    ? dryRunOf(new URLSearchParams(opts.dryRun.map((d): [string, string] => ['dryRun', d])), 'DeleteOptions')
    : false;
  const result = await r.store.delete(context(r, dryRun), r.namespace, r.info.name, opts);
  // 202 only when the object stays and orphanDependents=false was asked (kube-apiserver keeps old clients' 200).
  const code = !result.deleted && opts.orphanDependents === false ? 202 : 200;
  await writeObject(r.res, code, r.store.deleteResponse(result), { format: n.format, warnings: r.warnings });
}

export async function deleteCollection(r: ResourceRequest): Promise<void> {
  const n = negotiate(r.req.headers.accept, { views: [] });
  const body = await readBody(r.req);
  const opts = deleteOptions(r.url.searchParams, body);
  const dryRun = opts.dryRun
    ? dryRunOf(new URLSearchParams(opts.dryRun.map((d): [string, string] => ['dryRun', d])), 'DeleteOptions')
    : false;
  const list = await r.store.deleteCollection(
    context(r, dryRun),
    r.namespace,
    listOptions(r.url.searchParams),
    opts,
  );
  await writeObject(r.res, 200, list, { format: n.format, warnings: r.warnings });
}
