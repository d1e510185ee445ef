/**
 * Routes an authorized resource request to its handler: the verb and subresource decide. Subresources with their
 * own rules (status, scale, finalize, binding) are here; streaming ones (log, exec, attach, portforward, proxy)
 * go to connectors the kubelet side registers.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { KubeError } from '../../errors.js';

import { evictPod } from '../../registry/core/eviction.js';
import { bindPod, finalizeNamespace, scaleOf, updateScale } from '../../registry/subresources.js';
import type { KubeObject } from '../../registry/types.js';
import { customInfo, isCustomResource } from '../../schema/crd/resource.js';
import { negotiate } from '../negotiation.js';
import { writeObject } from '../respond.js';
import { successStatus } from '../status.js';
import { context, type ResourceRequest } from './common.js';
import { writeOptions } from './options.js';
import { deleteCollection, deleteObject } from './delete.js';
import { patchObject, patchScale } from './patch.js';
import { getObject, listObjects } from './read.js';
import { watchObjects } from './watch.js';
import { createObject, decodeRequest, updateObject } from './write.js';

/** A streaming subresource's handler (pods/log, pods/exec...): it owns the response. */
export type Connector = (r: ResourceRequest, req: IncomingMessage, res: ServerResponse) => Promise<void>;

/** A path no route serves: go-restful's 404 as kube-apiserver's serviceErrorHandler words it (empty details). */
export const notServed = (): KubeError => {
  const e = new KubeError('NotFound', 'the server could not find the requested resource', {});
  e.emptyDetails = true;
  return e;
};

/**
 * A method the route does not register (DELETE on a collection without deletecollection, POST to a name):
 * go-restful's 405, as the serviceErrorHandler words it. A ?watch=true list of a resource without watch is
 * kube-apiserver's MethodNotSupported instead.
 */
export const methodNotAllowed = (r: ResourceRequest): KubeError => {
  if (r.info.verb === 'watch')
    return new KubeError(
      'MethodNotAllowed',
      `watch is not supported on resources of kind "${r.store.qualified}"`,
      { kind: r.type.plural, ...(r.type.group ? { group: r.type.group } : {}) },
    );
  const e = new KubeError(
    'MethodNotAllowed',
    'the server does not allow this method on the requested resource',
  );
  e.emptyDetails = true;
  return e;
};

async function respond(r: ResourceRequest, code: number, body: unknown): Promise<void> {
  const n = negotiate(r.req.headers.accept, { views: [] });
  await writeObject(r.res, code, body, { format: n.format, warnings: r.warnings });
}

export async function dispatch(r: ResourceRequest, connectors: Map<string, Connector>): Promise<void> {
  const { verb, subresource, name } = r.info;
  const t = r.type;
  if (subresource) {
    if (!t.subresources?.some((s) => s.name === subresource)) throw notServed();
    const connector = connectors.get(`${t.plural}/${subresource}`);
    if (connector) return connector(r, r.req, r.res);
    return subresourceRequest(r);
  }
  if (!t.verbs.includes(verb as never) && !(verb === 'watch' && t.verbs.includes('watch')))
    throw methodNotAllowed(r);
  switch (verb) {
    case 'get':
      return getObject(r);
    case 'list':
      return listObjects(r);
    case 'watch':
      return watchObjects(r);
    case 'create':
      if (name && !(t.group === '' && t.plural === 'namespaces')) throw methodNotAllowed(r);
      return createObject(r);
    case 'update':
      return updateObject(r);
    case 'patch':
      return patchObject(r, isCustomResource(t));
    case 'delete':
      return deleteObject(r);
    case 'deletecollection':
      return deleteCollection(r);
    default:
      throw methodNotAllowed(r);
  }
}

async function subresourceRequest(r: ResourceRequest): Promise<void> {
  const { verb, subresource } = r.info;
  const q = r.url.searchParams;
  switch (`${subresource}:${verb}`) {
    case 'status:get':
    case 'ephemeralcontainers:get':
    case 'resize:get':
      return getObject(r);
    case 'status:update':
    case 'ephemeralcontainers:update':
      return updateObject(r);
    case 'status:patch':
    case 'ephemeralcontainers:patch':
      return patchObject(r, isCustomResource(r.type));
    case 'scale:get':
      return respond(r, 200, scaleOf(await r.store.get(r.namespace, r.info.name), customInfo(r.type)?.scale));
    case 'scale:patch':
      return patchScale(r);
    case 'scale:update': {
      const body = await decodeRequest(r, 'UpdateOptions');
      const o = writeOptions(q, 'UpdateOptions');
      const ctx = context(r, o.dryRun, o.fieldManager);
      return respond(
        r,
        200,
        await updateScale(r.store, ctx, r.namespace, r.info.name, () => body, customInfo(r.type)?.scale),
      );
    }
    case 'finalize:update': {
      const body = await decodeRequest(r, 'UpdateOptions');
      const o = writeOptions(q, 'UpdateOptions');
      const ctx = context(r, o.dryRun, o.fieldManager);
      return respond(r, 200, await finalizeNamespace(r.store, ctx, r.info.name, body));
    }
    case 'binding:create': {
      const body = await decodeRequest(r, 'CreateOptions');
      const binding: KubeObject = { ...body, metadata: { ...body.metadata, name: r.info.name } };
      const o = writeOptions(q, 'CreateOptions');
      await bindPod(r.store, context(r, o.dryRun, o.fieldManager), r.namespace ?? '', binding);
      return respond(r, 201, { ...successStatus({}), code: 201 });
    }
    case 'eviction:create': {
      const body = await decodeRequest(r, 'CreateOptions');
      const o = writeOptions(q, 'CreateOptions');
      const pdbs = r.env.registry.resource('policy/v1', 'poddisruptionbudgets');
      await evictPod(
        r.store,
        pdbs,
        context(r, o.dryRun, o.fieldManager),
        r.namespace ?? '',
        r.info.name,
        body,
      );
      return respond(r, 201, {
        kind: 'Status',
        apiVersion: 'v1',
        metadata: {},
        status: 'Success',
        code: 201,
      });
    }
    default:
      throw methodNotAllowed(r);
  }
}

/** POST /api/v1/namespaces/<ns>/bindings: the older form of pods/<name>/binding. */
export async function legacyBinding(r: ResourceRequest, pods: ResourceRequest['store']): Promise<void> {
  const body = await decodeRequest(r, 'CreateOptions', { group: '', version: 'v1', kind: 'Binding' });
  const o = writeOptions(r.url.searchParams, 'CreateOptions');
  await bindPod(pods, context(r, o.dryRun, o.fieldManager), r.namespace ?? '', body);
  return respond(r, 201, { ...successStatus({}), code: 201 });
}
