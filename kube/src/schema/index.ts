/**
 * The schema domain's public face, for the API server, the patch code and the CRD controller. Nothing here knows
 * HTTP: the API server calls these and writes what they return.
 *
 *   OpenAPI      new OpenApiService(resourceCatalog).handle({ path, query, accept, ifNoneMatch })
 *                → { status, headers, body } for /openapi/v2, /openapi/v3, /openapi/v3/<gv>
 *   bodies       fieldValidationOf(query.fieldValidation, 'CreateOptions')
 *                decodeBody({ body, contentType, expected: gvk, fieldValidation }) → { object, gvk, warnings }
 *                (create and update: call it instead of JSON.parse; send each warning as `Warning: 299 - "..."`)
 *   patches      parsePatch(body, type, fieldValidation) before applying; checkPatched(gvk, result, patch, fv) after
 *   lookups      (await catalog()).kind(gvk)?.path('spec', 'containers').patchMergeKey, .listType, .listMapKeys
 *   CRDs         crdStrategy (the CustomResourceDefinition kind's rules), crdStatus (NamesAccepted/Established),
 *                serveCrd(crd, resourceCatalog) / unserveCrd(name, resourceCatalog), customInfo(t) (custom types:
 *                merge patch only; scale read/write; terminating → 405 on create), CUSTOM_PATCH_TYPES;
 *                new CrdController({ store: <CrdStore over the in-process client>, served: resourceCatalog }).start()
 */
export { checkPatched, decodeBody, fieldValidationOf, parsePatch, unsupportedMediaType } from './body.js';
export type { Decoded, DecodeRequest, FieldValidation, PatchType } from './body.js';
export { catalog, catalogIfLoaded } from './catalog.js';
export type { Catalog } from './catalog.js';
export { SchemaNode } from './node.js';
export { OpenApiService } from './openapi/service.js';
export type { OpenApiRequest, OpenApiResponse, ServedResources } from './openapi/service.js';
export { CUSTOM_PATCH_TYPES, customInfo, isCustomResource } from './crd/resource.js';
export type { CustomInfo, ScaleAccess } from './crd/resource.js';
export { serveCrd, servedTypes, unserveCrd } from './crd/serve.js';
export { CrdController } from './crd/controller.js';
export type { CrdControllerOptions, CrdStore } from './crd/controller.js';
export type { ServedTypes } from './crd/serve.js';
export { CLEANUP_FINALIZER, crdStatus, crdStrategy, isEstablished, terminating } from './crd/strategy.js';
export type { CustomResourceDefinition } from './crd/types.js';
