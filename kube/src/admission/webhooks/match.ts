/**
 * Which webhooks a request reaches (k8s.io/apiserver's webhook predicates): the rules (operations, groups,
 * versions, resources with their subresources, scope), then the namespace and object selectors. Pure: the
 * namespace's labels are looked up by the caller.
 */
import { fromStructured, matchesLabels, type StructuredSelector } from '../../selectors/labels.js';
import type { KubeObject } from '../../registry/types.js';
import type { AdmissionAttributes } from '../types.js';

export interface WebhookRule {
  operations?: string[];
  apiGroups?: string[];
  apiVersions?: string[];
  resources?: string[];
  scope?: string;
}

export interface WebhookClientConfig {
  url?: string;
  service?: { namespace?: string; name?: string; path?: string; port?: number };
  /** Base64 of PEM certificates. */
  caBundle?: string;
}

/** admissionregistration.k8s.io/v1 ValidatingWebhook / MutatingWebhook, defaulted. */
export interface Webhook {
  name: string;
  clientConfig: WebhookClientConfig;
  rules?: WebhookRule[];
  failurePolicy?: 'Fail' | 'Ignore';
  matchPolicy?: 'Exact' | 'Equivalent';
  namespaceSelector?: StructuredSelector;
  objectSelector?: StructuredSelector;
  sideEffects?: string;
  timeoutSeconds?: number;
  admissionReviewVersions?: string[];
  reinvocationPolicy?: 'Never' | 'IfNeeded';
  matchConditions?: Array<{ name: string; expression: string }>;
}

/** A webhook with the configuration it came from (a webhook's identity across reinvocation). */
export interface ConfiguredWebhook {
  configuration: string;
  index: number;
  hook: Webhook;
}

const exactOrWildcard = (items: string[] | undefined, v: string): boolean =>
  (items ?? []).some((i) => i === '*' || i === v);

function scopeMatches(rule: WebhookRule, a: AdmissionAttributes): boolean {
  const isNamespace = a.resource.group === '' && a.resource.resource === 'namespaces';
  switch (rule.scope ?? '*') {
    case '*':
      return true;
    case 'Namespaced':
      return !isNamespace && a.namespace !== '';
    case 'Cluster':
      return isNamespace || a.namespace === '';
    default:
      return false;
  }
}

function resourceMatches(rule: WebhookRule, a: AdmissionAttributes): boolean {
  return (rule.resources ?? []).some((r) => {
    const i = r.indexOf('/');
    const res = i < 0 ? r : r.slice(0, i);
    const sub = i < 0 ? '' : r.slice(i + 1);
    return (res === '*' || res === a.resource.resource) && (sub === '*' || sub === a.subresource);
  });
}

/** rules.Matcher: every part of one rule matches the request. */
export function ruleMatches(rule: WebhookRule, a: AdmissionAttributes): boolean {
  return (
    scopeMatches(rule, a) &&
    (rule.operations ?? []).some((op) => op === '*' || op === a.operation) &&
    exactOrWildcard(rule.apiGroups, a.resource.group) &&
    exactOrWildcard(rule.apiVersions, a.resource.version) &&
    resourceMatches(rule, a)
  );
}

/** The configuration kinds webhooks never see, so a broken webhook cannot lock its own repair out. */
export function isExemptConfiguration(a: AdmissionAttributes): boolean {
  return (
    a.kind.group === 'admissionregistration.k8s.io' &&
    [
      'ValidatingWebhookConfiguration',
      'MutatingWebhookConfiguration',
      'ValidatingAdmissionPolicy',
      'ValidatingAdmissionPolicyBinding',
      'MutatingAdmissionPolicy',
      'MutatingAdmissionPolicyBinding',
    ].includes(a.kind.kind)
  );
}

const isEmpty = (s: StructuredSelector | undefined): boolean =>
  !s || (!Object.keys(s.matchLabels ?? {}).length && !(s.matchExpressions ?? []).length);

/** Whether the namespace selector needs the namespace's labels (cluster-scoped requests always match). */
export function needsNamespaceLabels(h: Webhook, a: AdmissionAttributes): boolean {
  if (!a.namespace && a.resource.resource !== 'namespaces') return false;
  return !isEmpty(h.namespaceSelector);
}

export function namespaceMatches(h: Webhook, labels: Record<string, string> | undefined): boolean {
  return matchesLabels(fromStructured(h.namespaceSelector), labels);
}

/** The object selector: the new object or the old one carries matching labels. */
export function objectMatches(h: Webhook, obj: KubeObject | undefined, old: KubeObject | undefined): boolean {
  if (isEmpty(h.objectSelector)) return true;
  const sel = fromStructured(h.objectSelector);
  return [obj, old].some((o) => o !== undefined && matchesLabels(sel, o.metadata?.labels));
}
