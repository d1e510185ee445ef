/**
 * The paths of subresources: connect ones (exec, attach, portforward, proxy, with their option kinds and query
 * parameters), log, create-only ones (binding, eviction, token) and object-like ones (status, scale, ...).
 */
import type { ResourceType, SubresourceInfo } from '../../registry/types.js';
import {
  PARAMETER_REFS,
  r,
  ref,
  title,
  article,
  type Method,
  type ParamRef,
  type SubContext,
} from './operations.js';

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

/** Subresource kinds that live in another group-version, for tables that leave it out. */
const SUBRESOURCE_KIND_GV: Record<string, [string, string]> = {
  Scale: ['autoscaling', 'v1'],
  Eviction: ['policy', 'v1'],
  TokenRequest: ['authentication.k8s.io', 'v1'],
};

export function subresourcePaths(t: ResourceType, sub: SubresourceInfo, c: SubContext): void {
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
