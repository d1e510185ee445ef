/**
 * The OpenAPI v2 paths of the served resources, built from the resource table as kube-apiserver's installer builds
 * them (pkg/endpoints/installer.go, then kube-openapi's builder): one path per URL, operations named
 * `<verb><Group><Version>[Namespaced]<Kind>[<Subresource>]`, parameters present in every operation of a path hoisted
 * to the path, both lists sorted by name. Shared parameters are `$ref`s into the 1.32 document's `#/parameters/`.
 * Built-in and custom resources go through the same code (custom ones differ in media types and patch types).
 */
import type { ResourceType, SubresourceInfo } from '../../registry/types.js';
import type { Parameter, Schema } from '../types.js';

export type Method = 'get' | 'put' | 'post' | 'delete' | 'options' | 'head' | 'patch';
export type ParamRef = { $ref: string } | Parameter;

export interface Operation {
  description: string;
  consumes: string[];
  produces: string[];
  schemes: string[];
  operationId: string;
  parameters?: ParamRef[];
  responses: Record<string, { description: string; schema?: Schema }>;
  tags: string[];
  'x-kubernetes-action'?: string;
  'x-kubernetes-group-version-kind'?: { group: string; kind: string; version: string };
}

export type PathItem = { parameters?: ParamRef[] } & { [m in Method]?: Operation };

/** The 1.32 document's shared parameters, by role. */
const REF = {
  allowWatchBookmarks: 'allowWatchBookmarks-HC2hJt-J',
  deleteBody: 'body-2Y1dVQaQ',
  patchBody: 'body-78PwaGsr',
  continue: 'continue-QfD61s0i',
  fieldManagerPatch: 'fieldManager-7c6nTn1T',
  fieldManager: 'fieldManager-Qy4HdaTW',
  fieldSelector: 'fieldSelector-xIcQKXFG',
  force: 'force-tOGGb0Yi',
  gracePeriodSeconds: 'gracePeriodSeconds--K5HaBOS',
  ignoreStoreReadError: 'ignoreStoreReadErrorWithClusterBreakingPotential-QbNkfIqj',
  labelSelector: 'labelSelector-5Zw57w4C',
  limit: 'limit-1NfNmdNH',
  namespace: 'namespace-vgWSWtn3',
  orphanDependents: 'orphanDependents-uRB25kX5',
  pretty: 'pretty-tJGM1-ng',
  propagationPolicy: 'propagationPolicy-6jk3prlO',
  resourceVersion: 'resourceVersion-5WAnf1kx',
  resourceVersionMatch: 'resourceVersionMatch-t8XhRHeC',
  sendInitialEvents: 'sendInitialEvents-rLXlEK_k',
  timeoutSeconds: 'timeoutSeconds-yvYezaOC',
  watch: 'watch-XNNPZGbK',
  pathParam: 'path-z6Ciiujn',
} as const;

/** Every `#/parameters/` key the generated paths may use (tests check they exist in the shipped data). */
export const PARAMETER_REFS: string[] = [...Object.values(REF)];

const ref = (key: string): ParamRef => ({ $ref: `#/parameters/${key}` });
const r = (role: keyof typeof REF): ParamRef => ref(REF[role]);

/** Connect subresources: the options kind and the query parameters each one takes. */
const CONNECT: Record<string, { kind: string; params: string[]; methods: Method[]; withPath?: string }> = {
  'pods/exec': {
    kind: 'PodExecOptions',
    params: [
      'command-Py3eQybp',
      'container-i5dOmRiM',
      'stderr-W_1TNlWc',
      'stdin-PSzNhyUC',
      'stdout--EZLRwV1',
      'tty-s0flW37O',
    ],
    methods: ['get', 'post'],
  },
  'pods/attach': {
    kind: 'PodAttachOptions',
    params: ['container-_Q-EJ3nR', 'stderr-26jJhFUR', 'stdin-sEFnN3IS', 'stdout-005YMKE6', 'tty-g7MlET_l'],
    methods: ['get', 'post'],
  },
  'pods/portforward': { kind: 'PodPortForwardOptions', params: ['ports-91KROJmm'], methods: ['get', 'post'] },
  'pods/proxy': {
    kind: 'PodProxyOptions',
    params: ['path-oPbzgLUj'],
    methods: proxyMethods(),
    withPath: 'path-oPbzgLUj',
  },
  'services/proxy': {
    kind: 'ServiceProxyOptions',
    params: ['path-QCf0eosM'],
    methods: proxyMethods(),
    withPath: 'path-QCf0eosM',
  },
  'nodes/proxy': {
    kind: 'NodeProxyOptions',
    params: ['path-rFDtV0x9'],
    methods: proxyMethods(),
    withPath: 'path-rFDtV0x9',
  },
};
PARAMETER_REFS.push(...Object.values(CONNECT).flatMap((c) => c.params));

function proxyMethods(): Method[] {
  return ['delete', 'get', 'head', 'options', 'patch', 'post', 'put'];
}

const LOG_PARAMS = [
  'container-1GeXxFDC',
  'follow-9OIXh_2R',
  'insecureSkipTLSVerifyBackend-gM00jVbe',
  'limitBytes-zwd1RXuc',
  'previous-1jxDPu3y',
  'sinceSeconds-vE2NLdnP',
  'stream-l-48cgXv',
  'tailLines-9xQLWHMV',
  'timestamps-c17fW1w_',
];
PARAMETER_REFS.push(...LOG_PARAMS);

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

/** How a resource's operations differ between built-in and custom kinds. */
export interface PathStyle {
  /** Media types an object answers in. */
  produces: string[];
  /** ...and a list or watch, which adds the streaming forms. */
  listProduces: string[];
  patchConsumes: string[];
  /** The definition name of a kind in this group-version (refs point at it). */
  definition(kind: string, group: string, version: string): string;
}

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

/** kube-apiserver's ToValidOperationID: `rbac.authorization` → `RbacAuthorization`. */
export function operationIdPart(s: string, capitalizeFirst: boolean): string {
  let out = '';
  let capitalize = capitalizeFirst;
  [...s].forEach((c, i) => {
    if (/\p{L}/u.test(c) || c === '_' || (i !== 0 && /\p{Nd}/u.test(c))) {
      out += capitalize ? c.toUpperCase() : c;
      capitalize = false;
    } else capitalize = true;
  });
  return out;
}

/** The tag and the operation-id infix of a group-version: `core_v1`/`CoreV1`, `apps_v1`/`AppsV1`. */
export function groupVersionNames(group: string, version: string): { tag: string; infix: string } {
  const g = group === '' ? 'core' : group.replace(/\.k8s\.io$/, '');
  return {
    tag: `${operationIdPart(g, false)}_${operationIdPart(version, false)}`,
    infix: operationIdPart(g, true) + operationIdPart(version, true),
  };
}

/** installer.go's getArticleForNoun: plurals take none, vowels take "an". */
function article(noun: string): string {
  if (!noun.endsWith('ss') && noun.endsWith('s')) return ' ';
  return /^[aeiou]/i.test(noun) ? ' an ' : ' a ';
}

const title = (s: string): string => (s ? s[0].toUpperCase() + s.slice(1) : s);

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

interface SubContext {
  add(path: string, method: Method, op: Omit<Operation, 'schemes' | 'tags'>, params: ParamRef[]): void;
  ok(schema: Schema, ...more: Array<'201' | '202'>): Operation['responses'];
  id(verb: string, rest: string): string;
  kindRef(kind: string, group?: string, version?: string): Schema;
  nameParam(kind: string): Parameter;
  bodyParam(schema: Schema): Parameter;
  nsParam: ParamRef[];
  nsWord: string;
  item: string;
  style: PathStyle;
  writeParams: ParamRef[];
  patchParams: ParamRef[];
}

/** Subresource kinds that live in another group-version, for tables that leave it out. */
const SUBRESOURCE_KIND_GV: Record<string, [string, string]> = {
  Scale: ['autoscaling', 'v1'],
  Eviction: ['policy', 'v1'],
  TokenRequest: ['authentication.k8s.io', 'v1'],
};

function subresourcePaths(t: ResourceType, sub: SubresourceInfo, c: SubContext): void {
  const path = `${c.item}/${sub.name}`;
  const Sub = title(sub.name);
  const known = SUBRESOURCE_KIND_GV[sub.kind];
  const subGvk = {
    group: sub.group ?? known?.[0] ?? t.group,
    kind: sub.kind,
    version: sub.version ?? known?.[1] ?? t.version,
  };
  const schema = c.kindRef(sub.kind, subGvk.group, subGvk.version);
  const connect = CONNECT[`${t.plural}/${sub.name}`];
  if (connect) {
    const gvk = { group: t.group, kind: connect.kind, version: t.version };
    const variants: Array<[string, string, ParamRef[]]> = [[path, '', connect.params.map(ref)]];
    if (connect.withPath)
      variants.push([`${path}/{path}`, 'WithPath', [r('pathParam'), ...connect.params.map(ref)]]);
    for (const [p, suffix, extra] of variants) {
      for (const m of connect.methods) {
        c.add(
          p,
          m,
          {
            description: `connect ${m.toUpperCase()} requests to ${sub.name} of ${t.kind}`,
            consumes: ['*/*'],
            produces: ['*/*'],
            operationId: c.id('connect', `${title(m)}${c.nsWord}${t.kind}${Sub}${suffix}`),
            responses: c.ok({ type: 'string' }),
            'x-kubernetes-action': 'connect',
            'x-kubernetes-group-version-kind': gvk,
          },
          [c.nameParam(connect.kind), ...c.nsParam, ...extra],
        );
      }
    }
    return;
  }
  const base = [c.nameParam(t.kind), ...c.nsParam, r('pretty')];
  const verbs = new Set(sub.verbs);
  if (sub.name === 'log') {
    c.add(
      path,
      'get',
      {
        description: `read log of the specified ${t.kind}`,
        consumes: ['*/*'],
        produces: ['text/plain', ...c.style.produces],
        operationId: c.id('read', `${c.nsWord}${t.kind}Log`),
        responses: c.ok({ type: 'string' }),
        'x-kubernetes-action': 'get',
        'x-kubernetes-group-version-kind': subGvk,
      },
      [...base, ...LOG_PARAMS.map(ref)],
    );
    return;
  }
  if (verbs.has('create') && !verbs.has('get')) {
    // binding, eviction, token: a POST of another kind.
    c.add(
      path,
      'post',
      {
        description: `create ${sub.name} of${article(t.kind)}${t.kind}`,
        consumes: ['*/*'],
        produces: c.style.produces,
        operationId: c.id('create', `${c.nsWord}${t.kind}${Sub}`),
        responses: c.ok(schema, '201', '202'),
        'x-kubernetes-action': 'post',
        'x-kubernetes-group-version-kind': subGvk,
      },
      [c.nameParam(sub.kind), ...c.nsParam, r('pretty'), c.bodyParam(schema), ...c.writeParams],
    );
    return;
  }
  if (verbs.has('get')) {
    c.add(
      path,
      'get',
      {
        description: `read ${sub.name} of the specified ${t.kind}`,
        consumes: ['*/*'],
        produces: c.style.produces,
        operationId: c.id('read', `${c.nsWord}${t.kind}${Sub}`),
        responses: c.ok(schema),
        'x-kubernetes-action': 'get',
        'x-kubernetes-group-version-kind': subGvk,
      },
      base,
    );
  }
  if (verbs.has('update')) {
    c.add(
      path,
      'put',
      {
        description: `replace ${sub.name} of the specified ${t.kind}`,
        consumes: ['*/*'],
        produces: c.style.produces,
        operationId: c.id('replace', `${c.nsWord}${t.kind}${Sub}`),
        responses: c.ok(schema, '201'),
        'x-kubernetes-action': 'put',
        'x-kubernetes-group-version-kind': subGvk,
      },
      [...base, c.bodyParam(schema), ...c.writeParams],
    );
  }
  if (verbs.has('patch')) {
    c.add(
      path,
      'patch',
      {
        description: `partially update ${sub.name} of the specified ${t.kind}`,
        consumes: c.style.patchConsumes,
        produces: c.style.produces,
        operationId: c.id('patch', `${c.nsWord}${t.kind}${Sub}`),
        responses: c.ok(schema, '201'),
        'x-kubernetes-action': 'patch',
        'x-kubernetes-group-version-kind': subGvk,
      },
      [...base, ...c.patchParams],
    );
  }
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
