/**
 * The building blocks of OpenAPI v2 operations as kube-apiserver writes them: the types, the 1.32 document's shared
 * parameters (by role), and its naming rules (operation ids, tags, articles).
 */
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

/** The 1.32 document's shared parameters, by role. */
export const REF = {
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

export const ref = (key: string): ParamRef => ({ $ref: `#/parameters/${key}` });
export const r = (role: keyof typeof REF): ParamRef => ref(REF[role]);

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
export function article(noun: string): string {
  if (!noun.endsWith('ss') && noun.endsWith('s')) return ' ';
  return /^[aeiou]/i.test(noun) ? ' an ' : ' a ';
}

export const title = (s: string): string => (s ? s[0].toUpperCase() + s.slice(1) : s);

/** What a resource's path builder hands the subresource builder. */
export interface SubContext {
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
