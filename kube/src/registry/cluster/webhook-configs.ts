/**
 * ValidatingWebhookConfiguration and MutatingWebhookConfiguration (admissionregistration.k8s.io/v1): the
 * defaults of SetDefaults_ValidatingWebhook / _MutatingWebhook and the create rules of
 * ValidateValidatingWebhookConfiguration as kube-apiserver 1.32 words them. The admission plugins that call
 * these webhooks are in src/admission/webhooks.
 */
import { conditionCompileError } from '../../admission/webhooks/conditions.js';
import type { FieldError } from '../../errors.js';
import { notSupported } from '../validation/fields.js';
import { isDNS1123Subdomain } from '../validation/names.js';
import { col } from '../printing.js';
import type { KubeObject, Strategy } from '../types.js';
import { simple } from './admin.js';

type Hook = Record<string, unknown> & {
  name?: string;
  clientConfig?: { url?: string; service?: Record<string, unknown>; caBundle?: string };
  rules?: Array<Record<string, unknown>>;
  admissionReviewVersions?: string[];
};

const hooksOf = (o: KubeObject): Hook[] => (Array.isArray(o.webhooks) ? (o.webhooks as Hook[]) : []);

function defaults(mutating: boolean) {
  return (o: KubeObject): void => {
    for (const h of hooksOf(o)) {
      h.failurePolicy ??= 'Fail';
      h.matchPolicy ??= 'Equivalent';
      h.namespaceSelector ??= {};
      h.objectSelector ??= {};
      h.timeoutSeconds ??= 10;
      if (mutating) h.reinvocationPolicy ??= 'Never';
      for (const r of h.rules ?? []) r.scope ??= '*';
      const svc = h.clientConfig?.service;
      if (svc) svc.port ??= 443;
    }
  };
}

/** utilvalidation.IsFullyQualifiedName. */
function fullyQualified(field: string, name: string | undefined): FieldError[] {
  if (!name) return [{ type: 'FieldValueRequired', field }];
  const errs = isDNS1123Subdomain(name);
  if (errs.length) return [{ type: 'FieldValueInvalid', field, badValue: name, detail: errs.join(',') }];
  if (name.split('.').length < 3)
    return [
      {
        type: 'FieldValueInvalid',
        field,
        badValue: name,
        detail: 'should be a domain with at least three segments separated by dots',
      },
    ];
  return [];
}

const FORM = '; desired format: https://host[/path]';

function clientConfigErrors(path: string, cc: Hook['clientConfig']): FieldError[] {
  const url = cc?.url;
  const svc = cc?.service;
  if ((url === undefined) === (svc === undefined))
    return [{ type: 'FieldValueRequired', field: path, detail: 'exactly one of url or service is required' }];
  const errs: FieldError[] = [];
  if (url !== undefined) {
    const f = `${path}.url`;
    let u: URL;
    try {
      u = new URL(url);
    } catch (e) {
      return [
        {
          type: 'FieldValueRequired',
          field: f,
          detail: `url must be a valid URL: ${(e as Error).message}${FORM}`,
        },
      ];
    }
    const scheme = u.protocol.replace(/:$/, '');
    if (scheme !== 'https')
      errs.push({
        type: 'FieldValueInvalid',
        field: f,
        badValue: scheme,
        detail: `'https' is the only allowed URL scheme${FORM}`,
      });
    if (u.username || u.password)
      errs.push({
        type: 'FieldValueInvalid',
        field: f,
        badValue: u.password ? `${u.username}:${u.password}` : u.username,
        detail: 'user information is not permitted in the URL',
      });
    if (u.hash)
      errs.push({
        type: 'FieldValueInvalid',
        field: f,
        badValue: u.hash.slice(1),
        detail: 'fragments are not permitted in the URL',
      });
    if (u.search)
      errs.push({
        type: 'FieldValueInvalid',
        field: f,
        badValue: u.search.slice(1),
        detail: 'query parameters are not permitted in the URL',
      });
    return errs;
  }
  const f = `${path}.service`;
  if (!svc?.name)
    errs.push({ type: 'FieldValueRequired', field: `${f}.name`, detail: 'service name is required' });
  if (!svc?.namespace)
    errs.push({
      type: 'FieldValueRequired',
      field: `${f}.namespace`,
      detail: 'service namespace is required',
    });
  const port = svc?.port;
  if (typeof port === 'number' && (port < 1 || port > 65535))
    errs.push({
      type: 'FieldValueInvalid',
      field: `${f}.port`,
      badValue: port,
      detail: 'port is not valid: must be between 1 and 65535, inclusive',
    });
  const p = svc?.path;
  if (typeof p === 'string' && p !== '' && !p.startsWith('/'))
    errs.push({
      type: 'FieldValueInvalid',
      field: `${f}.path`,
      badValue: p,
      detail: "must start with a '/'",
    });
  return errs;
}

const OPERATIONS = ['*', 'CONNECT', 'CREATE', 'DELETE', 'UPDATE'];

function ruleErrors(path: string, r: Record<string, unknown>): FieldError[] {
  const errs: FieldError[] = [];
  const ops = (r.operations as string[] | undefined) ?? [];
  if (!ops.length) errs.push({ type: 'FieldValueRequired', field: `${path}.operations` });
  ops.forEach((op, i) => errs.push(...notSupported(`${path}.operations[${i}]`, op, OPERATIONS)));
  for (const k of ['apiGroups', 'apiVersions', 'resources'])
    if (!((r[k] as unknown[] | undefined) ?? []).length)
      errs.push({ type: 'FieldValueRequired', field: `${path}.${k}` });
  errs.push(...notSupported(`${path}.scope`, r.scope, ['*', 'Cluster', 'Namespaced']));
  return errs;
}

/** Each matchCondition's expression compiles to a bool (validateMatchConditions; names are left unchecked). */
function matchConditionErrors(path: string, conditions: unknown): FieldError[] {
  if (!Array.isArray(conditions)) return [];
  const errs: FieldError[] = [];
  (conditions as Array<{ expression?: string }>).forEach((c, i) => {
    const field = `${path}[${i}].expression`;
    if (!c?.expression) return errs.push({ type: 'FieldValueRequired', field });
    const detail = conditionCompileError(c.expression);
    if (detail) errs.push({ type: 'FieldValueInvalid', field, badValue: c.expression, detail });
  });
  return errs;
}

function validate(mutating: boolean) {
  return (o: KubeObject): FieldError[] => {
    const errs: FieldError[] = [];
    const names = new Set<string>();
    hooksOf(o).forEach((h, i) => {
      const p = `webhooks[${i}]`;
      errs.push(...fullyQualified(`${p}.name`, h.name));
      (h.rules ?? []).forEach((r, j) => errs.push(...ruleErrors(`${p}.rules[${j}]`, r)));
      errs.push(...notSupported(`${p}.failurePolicy`, h.failurePolicy, ['Fail', 'Ignore']));
      errs.push(...notSupported(`${p}.matchPolicy`, h.matchPolicy, ['Equivalent', 'Exact']));
      if (h.sideEffects === undefined)
        errs.push({
          type: 'FieldValueRequired',
          field: `${p}.sideEffects`,
          detail: 'must specify one of None, NoneOnDryRun',
        });
      else errs.push(...notSupported(`${p}.sideEffects`, h.sideEffects, ['None', 'NoneOnDryRun']));
      const t = h.timeoutSeconds;
      if (typeof t === 'number' && (t > 30 || t < 1))
        errs.push({
          type: 'FieldValueInvalid',
          field: `${p}.timeoutSeconds`,
          badValue: t,
          detail: 'the timeout value must be between 1 and 30 seconds',
        });
      if (mutating)
        errs.push(...notSupported(`${p}.reinvocationPolicy`, h.reinvocationPolicy, ['IfNeeded', 'Never']));
      errs.push(...clientConfigErrors(`${p}.clientConfig`, h.clientConfig));
      const versions = h.admissionReviewVersions ?? [];
      if (!versions.length)
        errs.push({
          type: 'FieldValueRequired',
          field: `${p}.admissionReviewVersions`,
          detail: 'must specify one of v1, v1beta1',
        });
      else if (!versions.some((v) => v === 'v1' || v === 'v1beta1'))
        errs.push({
          type: 'FieldValueInvalid',
          field: `${p}.admissionReviewVersions`,
          badValue: versions,
          detail: 'must include at least one of v1, v1beta1',
        });
      errs.push(...matchConditionErrors(`${p}.matchConditions`, h.matchConditions));
      if (h.name) {
        if (names.has(h.name))
          errs.push({ type: 'FieldValueDuplicate', field: `${p}.name`, badValue: h.name });
        names.add(h.name);
      }
    });
    return errs;
  };
}

const table = simple(
  [
    col(
      'Webhooks',
      'integer',
      0,
      'Webhooks indicates the number of webhooks registered in this configuration',
    ),
  ],
  (o) => [hooksOf(o).length],
);

export const validatingWebhookConfigurationStrategy: Strategy = {
  generation: 'nonStatus',
  defaults: defaults(false),
  validate: validate(false),
  table,
};

export const mutatingWebhookConfigurationStrategy: Strategy = {
  generation: 'nonStatus',
  defaults: defaults(true),
  validate: validate(true),
  table,
};
