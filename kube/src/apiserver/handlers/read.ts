/** GET of one object and of a collection, as the object, a Table or PartialObjectMetadata(List). */
import type { KubeObject } from '../../registry/types.js';
import { contentTypeOf, negotiate } from '../negotiation.js';
import { writeObject } from '../respond.js';
import { includeObjectOf, partialMetadata, partialMetadataList, toTable } from '../table.js';
import { type ResourceRequest } from './common.js';
import { listOptions } from './options.js';

export async function getObject(r: ResourceRequest, object?: KubeObject): Promise<void> {
  const n = negotiate(r.req.headers.accept, { views: ['Table', 'PartialObjectMetadata'] });
  const obj = object ?? (await r.store.get(r.namespace, r.info.name));
  let body: unknown = obj;
  if (n.view.as === 'Table')
    body = toTable(
      r.type,
      [obj],
      { resourceVersion: obj.metadata?.resourceVersion },
      {
        includeObject: includeObjectOf(r.url.searchParams.get('includeObject')),
        version: n.view.version,
      },
    );
  else if (n.view.as === 'PartialObjectMetadata') body = partialMetadata(obj, n.view.version);
  await writeObject(r.res, 200, body, {
    format: n.format,
    contentType: contentTypeOf(n),
    warnings: r.warnings,
  });
}

export async function listObjects(r: ResourceRequest): Promise<void> {
  const n = negotiate(r.req.headers.accept, { views: ['Table', 'PartialObjectMetadataList'] });
  const list = await r.store.list(r.namespace, listOptions(r.url.searchParams));
  let body: unknown = list;
  if (n.view.as === 'Table')
    body = toTable(r.type, list.items, list.metadata, {
      includeObject: includeObjectOf(r.url.searchParams.get('includeObject')),
      version: n.view.version,
    });
  else if (n.view.as === 'PartialObjectMetadataList') body = partialMetadataList(list, n.view.version);
  await writeObject(r.res, 200, body, {
    format: n.format,
    contentType: contentTypeOf(n),
    warnings: r.warnings,
  });
}
