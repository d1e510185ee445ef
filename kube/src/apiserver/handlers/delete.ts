/**
 * DELETE of one object (the object or a Success Status) and of a collection (the list as it was before the
 * deletes, as kube-apiserver answers).
 */
import { context, readBody, type ResourceRequest } from './common.js';
import { negotiate } from '../negotiation.js';
import { writeObject } from '../respond.js';
import { deleteOptions, listOptions } from './options.js';

export async function deleteObject(r: ResourceRequest): Promise<void> {
  const n = negotiate(r.req.headers.accept, { views: [] });
  const opts = deleteOptions(r.url.searchParams, await readBody(r.req));
  const result = await r.store.delete(context(r, !!opts.dryRun), r.namespace, r.info.name, opts);
  // 202 only when the object stays and orphanDependents=false was asked (kube-apiserver keeps old clients' 200).
  const code = !result.deleted && opts.orphanDependents === false ? 202 : 200;
  await writeObject(r.res, code, r.store.deleteResponse(result), { format: n.format, warnings: r.warnings });
}

export async function deleteCollection(r: ResourceRequest): Promise<void> {
  const n = negotiate(r.req.headers.accept, { views: [] });
  const list = listOptions(r.url.searchParams);
  const opts = deleteOptions(r.url.searchParams, await readBody(r.req));
  const listed = await r.store.deleteCollection(context(r, !!opts.dryRun), r.namespace, list, opts);
  await writeObject(r.res, 200, listed, { format: n.format, warnings: r.warnings });
}
