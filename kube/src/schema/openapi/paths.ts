/**
 * The OpenAPI v2 paths of the served resources, built from the resource table as kube-apiserver's installer builds
 * them (pkg/endpoints/installer.go, then kube-openapi's builder): one path per URL, operations named
 * `<verb><Group><Version>[Namespaced]<Kind>[<Subresource>]`, parameters present in every operation of a path hoisted
 * to the path, both lists sorted by name. Shared parameters are `$ref`s into the 1.32 document's `#/parameters/`.
 * Built-in and custom resources go through the same code (custom ones differ in media types and patch types).
 */
import type { ResourceType } from '../../registry/types.js';
import type { Parameter, Schema } from '../types.js';
import {
  article,
  groupVersionNames,
  r,
  ref,
  type Method,
  type Operation,
  type ParamRef,
  type PathItem,
  type PathStyle,
} from './operations.js';
import { subresourcePaths } from './subresources.js';

export { groupVersionNames, operationIdPart, PARAMETER_REFS } from './operations.js';
export type { Method, Operation, ParamRef, PathItem, PathStyle } from './operations.js';

/** The kinds whose DELETE the 1.32 document answers with the object rather than a Status (their storage's
 * ReturnDeletedObject; not the same as "DELETE may return the object while finalizers hold it"). */
const DELETE_DOCUMENTS_OBJECT = new Set([
  '/PersistentVolumeClaim',
  '/Pod',
  '/PodTemplate',
  '/ResourceQuota',
  '/ServiceAccount',
  '/Service',
  '/PersistentVolume',
  'storage.k8s.io/CSIDriver',
  'storage.k8s.io/CSINode',
  'storage.k8s.io/StorageClass',
  'storage.k8s.io/VolumeAttachment',
]);

const OBJECT_MEDIA = [
  'application/json',
  'application/yaml',
  'application/vnd.kubernetes.protobuf',
  'application/cbor',
];
export const BUILTIN_STYLE: Omit<PathStyle, 'definition'> = {
  produces: OBJECT_MEDIA,
  listProduces: [
    ...OBJECT_MEDIA,
    'application/json;stream=watch',
    'application/vnd.kubernetes.protobuf;stream=watch',
    'application/cbor-seq',
  ],
  patchConsumes: [
    'application/json-patch+json',
    'application/merge-patch+json',
    'application/strategic-merge-patch+json',
    'application/apply-patch+yaml',
    'application/apply-patch+cbor',
  ],
};

function paramKey(p: ParamRef, params: Record<string, Parameter>): string {
  const q = '$ref' in p ? params[p.$ref.replace('#/parameters/', '')] : p;
  return `${q?.name ?? ''}\0${q?.in ?? ''}`;
}

interface RouteOp {
  method: Method;
  op: Operation;
  params: ParamRef[];
}

/**
 * The paths of one resource (with its subresources). `params` is the document's shared parameters (to hoist and
 * sort by name).
 */
export function resourcePaths(
  t: ResourceType,
  style: PathStyle,
  params: Record<string, Parameter>,
): Record<string, PathItem> {
  const { tag, infix } = groupVersionNames(t.group, t.version);
  const prefix = t.group ? `/apis/${t.group}/${t.version}` : `/api/${t.version}`;
  const ns = t.namespaced ? '/namespaces/{namespace}' : '';
  const nsWord = t.namespaced ? 'Namespaced' : '';
  const nsParam = t.namespaced ? [r('namespace')] : [];
  const gvk = { group: t.group, kind: t.kind, version: t.version };
  const kindRef = (kind: string, group = t.group, version = t.version): Schema => ({
    $ref: `#/definitions/${style.definition(kind, group, version)}`,
  });
  const statusRef: Schema = { $ref: '#/definitions/io.k8s.apimachinery.pkg.apis.meta.v1.Status' };
  const watchRef: Schema = { $ref: '#/definitions/io.k8s.apimachinery.pkg.apis.meta.v1.WatchEvent' };
  const verbs = new Set(t.verbs);
  const routes = new Map<string, RouteOp[]>();
  const add = (
    path: string,
    method: Method,
    op: Omit<Operation, 'schemes' | 'tags'>,
    opParams: ParamRef[],
  ) => {
    const list = routes.get(path) ?? [];
    list.push({ method, op: { ...op, schemes: ['https'], tags: [tag] }, params: opParams });
    routes.set(path, list);
  };
  const ok = (schema: Schema, ...more: Array<'201' | '202'>) => {
    const out: Operation['responses'] = { '200': { description: 'OK', schema } };
    if (more.includes('201')) out['201'] = { description: 'Created', schema };
    if (more.includes('202')) out['202'] = { description: 'Accepted', schema };
    out['401'] = { description: 'Unauthorized' };
    return out;
  };
  const nameParam = (kind: string): Parameter => ({
    description: `name of the ${kind}`,
    in: 'path',
    name: 'name',
    required: true,
    type: 'string',
    uniqueItems: true,
  });
  const bodyParam = (schema: Schema): Parameter => ({ in: 'body', name: 'body', required: true, schema });
  const inline = (name: string): ParamRef => params[name] ?? ref(name);
  const listParams = [
    r('allowWatchBookmarks'),
    r('continue'),
    r('fieldSelector'),
    r('labelSelector'),
    r('limit'),
    r('resourceVersion'),
    r('resourceVersionMatch'),
    r('sendInitialEvents'),
    r('timeoutSeconds'),
    r('watch'),
  ];
  const writeParams = [inline('dryRun'), r('fieldManager'), inline('fieldValidation')];
  const patchParams = [
    r('patchBody'),
    inline('dryRun'),
    r('fieldManagerPatch'),
    inline('fieldValidation'),
    r('force'),
  ];
  const deleteParams = [
    r('deleteBody'),
    inline('dryRun'),
    r('gracePeriodSeconds'),
    r('ignoreStoreReadError'),
    r('orphanDependents'),
    r('propagationPolicy'),
  ];
  const id = (verb: string, rest: string) => `${verb}${infix}${rest}`;
  const kind = t.kind;
  const collection = `${prefix}${ns}/${t.plural}`;
  const item = `${collection}/{name}`;
  const listRef = kindRef(t.listKind);

  if (verbs.has('list')) {
    const action = verbs.has('watch') ? 'list or watch objects of kind ' : 'list objects of kind ';
    add(
      collection,
      'get',
      {
        description: action + kind,
        consumes: ['*/*'],
        produces: style.listProduces,
        operationId: id('list', `${nsWord}${kind}`),
        responses: ok(listRef),
        'x-kubernetes-action': 'list',
        'x-kubernetes-group-version-kind': gvk,
      },
      [...nsParam, r('pretty'), ...listParams],
    );
    if (t.namespaced) {
      add(
        `${prefix}/${t.plural}`,
        'get',
        {
          description: action + kind,
          consumes: ['*/*'],
          produces: style.listProduces,
          operationId: id('list', `${kind}ForAllNamespaces`),
          responses: ok(listRef),
          'x-kubernetes-action': 'list',
          'x-kubernetes-group-version-kind': gvk,
        },
        [r('pretty'), ...listParams],
      );
    }
  }
  if (verbs.has('create')) {
    add(
      collection,
      'post',
      {
        description: `create${article(kind)}${kind}`,
        consumes: ['*/*'],
        produces: style.produces,
        operationId: id('create', `${nsWord}${kind}`),
        responses: ok(kindRef(kind), '201', '202'),
        'x-kubernetes-action': 'post',
        'x-kubernetes-group-version-kind': gvk,
      },
      [...nsParam, r('pretty'), bodyParam(kindRef(kind)), ...writeParams],
    );
  }
  if (verbs.has('deletecollection')) {
    add(
      collection,
      'delete',
      {
        description: `delete collection of ${kind}`,
        consumes: ['*/*'],
        produces: style.produces,
        operationId: id('delete', `Collection${nsWord}${kind}`),
        responses: ok(statusRef),
        'x-kubernetes-action': 'deletecollection',
        'x-kubernetes-group-version-kind': gvk,
      },
      [
        ...nsParam,
        r('pretty'),
        ...deleteParams,
        r('continue'),
        r('fieldSelector'),
        r('labelSelector'),
        r('limit'),
        r('resourceVersion'),
        r('resourceVersionMatch'),
        r('sendInitialEvents'),
        r('timeoutSeconds'),
      ],
    );
  }
  const itemBase = [nameParam(kind), ...nsParam, r('pretty')];
  if (verbs.has('get')) {
    add(
      item,
      'get',
      {
        description: `read the specified ${kind}`,
        consumes: ['*/*'],
        produces: style.produces,
        operationId: id('read', `${nsWord}${kind}`),
        responses: ok(kindRef(kind)),
        'x-kubernetes-action': 'get',
        'x-kubernetes-group-version-kind': gvk,
      },
      itemBase,
    );
  }
  if (verbs.has('update')) {
    add(
      item,
      'put',
      {
        description: `replace the specified ${kind}`,
        consumes: ['*/*'],
        produces: style.produces,
        operationId: id('replace', `${nsWord}${kind}`),
        responses: ok(kindRef(kind), '201'),
        'x-kubernetes-action': 'put',
        'x-kubernetes-group-version-kind': gvk,
      },
      [...itemBase, bodyParam(kindRef(kind)), ...writeParams],
    );
  }
  if (verbs.has('patch')) {
    add(
      item,
      'patch',
      {
        description: `partially update the specified ${kind}`,
        consumes: style.patchConsumes,
        produces: style.produces,
        operationId: id('patch', `${nsWord}${kind}`),
        responses: ok(kindRef(kind), '201'),
        'x-kubernetes-action': 'patch',
        'x-kubernetes-group-version-kind': gvk,
      },
      [...itemBase, ...patchParams],
    );
  }
  if (verbs.has('delete')) {
    const deleted = DELETE_DOCUMENTS_OBJECT.has(`${t.group}/${kind}`) ? kindRef(kind) : statusRef;
    add(
      item,
      'delete',
      {
        description: `delete${article(kind)}${kind}`,
        consumes: ['*/*'],
        produces: style.produces,
        operationId: id('delete', `${nsWord}${kind}`),
        responses: ok(deleted, '202'),
        'x-kubernetes-action': 'delete',
        'x-kubernetes-group-version-kind': gvk,
      },
      [...itemBase, ...deleteParams],
    );
  }
  if (verbs.has('watch')) {
    const watchBase = [...nsParam, r('pretty'), ...listParams];
    const watchPrefix = `${prefix}/watch${ns}/${t.plural}`;
    const watchList = `watch individual changes to a list of ${kind}. deprecated: use the 'watch' parameter with a list operation instead.`;
    add(
      watchPrefix,
      'get',
      {
        description: watchList,
        consumes: ['*/*'],
        produces: style.listProduces,
        operationId: id('watch', `${nsWord}${kind}List`),
        responses: ok(watchRef),
        'x-kubernetes-action': 'watchlist',
        'x-kubernetes-group-version-kind': gvk,
      },
      watchBase,
    );
    add(
      `${watchPrefix}/{name}`,
      'get',
      {
        description: `watch changes to an object of kind ${kind}. deprecated: use the 'watch' parameter with a list operation instead, filtered to a single item with the 'fieldSelector' parameter.`,
        consumes: ['*/*'],
        produces: style.listProduces,
        operationId: id('watch', `${nsWord}${kind}`),
        responses: ok(watchRef),
        'x-kubernetes-action': 'watch',
        'x-kubernetes-group-version-kind': gvk,
      },
      [nameParam(kind), ...watchBase],
    );
    if (t.namespaced) {
      add(
        `${prefix}/watch/${t.plural}`,
        'get',
        {
          description: watchList,
          consumes: ['*/*'],
          produces: style.listProduces,
          operationId: id('watch', `${kind}ListForAllNamespaces`),
          responses: ok(watchRef),
          'x-kubernetes-action': 'watchlist',
          'x-kubernetes-group-version-kind': gvk,
        },
        [r('pretty'), ...listParams],
      );
    }
  }
  for (const sub of t.subresources ?? [])
    subresourcePaths(t, sub, {
      add,
      ok,
      id,
      kindRef,
      nameParam,
      bodyParam,
      nsParam,
      nsWord,
      item,
      style,
      writeParams,
      patchParams,
    });

  const out: Record<string, PathItem> = {};
  for (const [path, ops] of routes) out[path] = hoist(ops, params);
  return out;
}

/** kube-openapi's findCommonParameters + sortParameters. */
function hoist(ops: RouteOp[], params: Record<string, Parameter>): PathItem {
  const counts = new Map<string, { p: ParamRef; n: number }>();
  for (const o of ops) {
    for (const p of o.params) {
      const k = paramKey(p, params);
      const e = counts.get(k);
      if (e) e.n++;
      else counts.set(k, { p, n: 1 });
    }
  }
  const common = new Set<string>();
  for (const [k, e] of counts) if (e.n === ops.length && !k.startsWith('body\0body')) common.add(k);
  const byName = (a: ParamRef, b: ParamRef) => {
    const ka = paramKey(a, params);
    const kb = paramKey(b, params);
    return ka < kb ? -1 : ka > kb ? 1 : 0;
  };
  const item: PathItem = {};
  const hoisted = [...counts.entries()].filter(([k]) => common.has(k)).map(([, e]) => e.p);
  if (hoisted.length) item.parameters = hoisted.sort(byName);
  for (const o of ops.sort((a, b) => (a.method < b.method ? -1 : 1))) {
    const own = o.params.filter((p) => !common.has(paramKey(p, params))).sort(byName);
    item[o.method] = own.length ? { ...o.op, parameters: own } : o.op;
  }
  return item;
}
