/**
 * MutatingAdmissionWebhook and ValidatingAdmissionWebhook (k8s.io/apiserver's webhook dispatchers): the stored
 * configurations' webhooks that match a request are called with an AdmissionReview. Mutating ones run one after
 * the other (configurations by name), their JSON patches applied to the object and the object re-defaulted, and
 * those with reinvocationPolicy IfNeeded called once more when a later webhook changed the object. Validating
 * ones run all at once; the first failure wins. A call that fails is an internal error under failurePolicy Fail
 * and is skipped under Ignore; a denial reaches the client with the webhook's code and message.
 */
import { badRequest, forbidden, notFound } from '../../errors.js';
import type { Logger } from '../../log.js';
import { decodeJsonPatch, applyJsonPatchOps } from '../../patch/json-patch.js';
import type { JsonValue } from '../../patch/json.js';
import type { KubeObject } from '../../registry/types.js';
import type { AdmissionAttributes, MutatingPlugin, Operation, ValidatingPlugin } from '../types.js';
import { CallFailure, postReview, type Target } from './call.js';
import { evaluateMatchConditions } from './conditions.js';
import {
  isExemptConfiguration,
  namespaceMatches,
  needsNamespaceLabels,
  objectMatches,
  ruleMatches,
  type ConfiguredWebhook,
  type Webhook,
} from './match.js';
import { admissionReview, denial, internalError, reviewVersion, verifyResponse } from './review.js';

/** What the dispatchers read from the cluster. */
export interface WebhookEnv {
  /** The configurations' webhooks, configurations sorted by name. */
  webhooks(kind: 'mutating' | 'validating'): Promise<ConfiguredWebhook[]>;
  /** A namespace's labels; undefined when it does not exist. */
  namespaceLabels(name: string): Promise<Record<string, string> | undefined>;
  /** Where a Service-backed webhook answers; throws an Error with the resolver's text. */
  resolveService(namespace: string, name: string, port: number): Promise<{ host: string; port: number }>;
  /** The resource's defaults, run again on a patched object (kube-apiserver's ObjectDefaulter). */
  defaults(a: AdmissionAttributes, obj: KubeObject): void;
  log: Logger;
}

const DEFAULT_TIMEOUT_SECONDS = 10;

/** A failure to call, worded as ErrCallingWebhook. */
const callingError = (hook: string, why: string): CallFailure =>
  new CallFailure(`failed calling webhook "${hook}": ${why}`);

async function target(env: WebhookEnv, h: Webhook): Promise<Target> {
  const cc = h.clientConfig;
  const timeout = h.timeoutSeconds ?? DEFAULT_TIMEOUT_SECONDS;
  if (cc.url) {
    const url = new URL(cc.url);
    const host = url.hostname.replace(/^\[|\]$/g, '');
    return { url, shown: cc.url, host, port: Number(url.port || 443), serverName: host };
  }
  const svc = cc.service ?? {};
  const port = svc.port ?? 443;
  const serverName = `${svc.name}.${svc.namespace}.svc`;
  const shown = `https://${serverName}:${port}${svc.path ?? ''}`;
  const url = new URL(shown);
  try {
    const ep = await env.resolveService(svc.namespace ?? '', svc.name ?? '', port);
    return { url, shown, host: ep.host, port: ep.port, serverName };
  } catch (e) {
    throw new CallFailure(`Post "${shown}?timeout=${timeout}s": ${(e as Error).message}`);
  }
}

interface Outcome {
  response: ReturnType<typeof verifyResponse>;
}

/** One call: the review out, the answer checked. Throws CallFailure (transport) or KubeError (dry run). */
async function call(
  env: WebhookEnv,
  h: Webhook,
  mutating: boolean,
  a: AdmissionAttributes,
  obj: KubeObject | undefined,
  old: KubeObject | undefined,
): Promise<Outcome> {
  if (a.dryRun) {
    if (!h.sideEffects) throw callingError(h.name, 'Webhook SideEffects is nil');
    if (h.sideEffects !== 'None' && h.sideEffects !== 'NoneOnDryRun')
      throw badRequest(`admission webhook "${h.name}" does not support dry run`);
  }
  const version = reviewVersion(h.admissionReviewVersions);
  if (!version)
    throw callingError(
      h.name,
      'could not create admission objects: webhook does not accept known AdmissionReview versions (v1, v1beta1)',
    );
  const { uid, review } = admissionReview(version, a, obj, old);
  let answer: unknown;
  try {
    const t = await target(env, h);
    const caPem = h.clientConfig.caBundle
      ? Buffer.from(h.clientConfig.caBundle, 'base64').toString('utf8')
      : undefined;
    answer = await postReview(t, review, {
      timeoutSeconds: h.timeoutSeconds ?? DEFAULT_TIMEOUT_SECONDS,
      ...(caPem ? { caPem } : {}),
    });
  } catch (e) {
    throw callingError(h.name, `failed to call webhook: ${(e as Error).message}`);
  }
  try {
    return { response: verifyResponse(version, uid, mutating, answer) };
  } catch (e) {
    throw callingError(h.name, `received invalid webhook response: ${(e as Error).message}`);
  }
}

/** ShouldCallHook: rules, then namespace and object selectors, then matchConditions (CEL). */
async function shouldCall(
  env: WebhookEnv,
  h: Webhook,
  a: AdmissionAttributes,
  obj: KubeObject | undefined,
  old: KubeObject | undefined,
): Promise<boolean> {
  if (!(h.rules ?? []).some((r) => ruleMatches(r, a))) return false;
  if (!objectMatches(h, obj, old)) return false;
  if (!(await namespaceSelected(env, h, a, obj))) return false;
  const r = evaluateMatchConditions(h, a, obj, old);
  if ('matches' in r) return r.matches;
  // Failing closed (failurePolicy Fail): apierrors.NewForbidden over the resource and name.
  const { resource, group } = a.resource;
  const what = group ? `${resource}.${group}` : resource;
  env.log.warn('failed evaluating match conditions, failing closed', { webhook: h.name, error: r.error });
  throw forbidden(`${what}${a.name ? ` "${a.name}"` : ''} is forbidden: ${r.error}`, {
    kind: resource,
    ...(a.name ? { name: a.name } : {}),
    ...(group ? { group } : {}),
  });
}

async function namespaceSelected(
  env: WebhookEnv,
  h: Webhook,
  a: AdmissionAttributes,
  obj: KubeObject | undefined,
): Promise<boolean> {
  if (!needsNamespaceLabels(h, a)) return true;
  const isNamespace = a.resource.group === '' && a.resource.resource === 'namespaces' && !a.subresource;
  if (isNamespace && (a.operation === 'CREATE' || a.operation === 'UPDATE'))
    return namespaceMatches(h, obj?.metadata?.labels);
  const ns = a.namespace || a.name;
  const labels = await env.namespaceLabels(ns);
  if (labels === undefined) throw notFound('namespaces', ns);
  return namespaceMatches(h, labels);
}

function failOpen(env: WebhookEnv, hook: string, e: unknown): void {
  env.log.warn('failed calling webhook, failing open', { webhook: hook, error: (e as Error).message });
}

const everyOperation = (): boolean => true;

export class MutatingWebhooks implements MutatingPlugin {
  readonly name = 'MutatingAdmissionWebhook';
  readonly handles: (op: Operation) => boolean = everyOperation;

  constructor(private readonly env: WebhookEnv) {}

  async admit(
    a: AdmissionAttributes,
    obj: KubeObject | undefined,
    old: KubeObject | undefined,
  ): Promise<void> {
    if (isExemptConfiguration(a)) return;
    const hooks = await this.env.webhooks('mutating');
    if (!hooks.length) return;
    const key = (c: ConfiguredWebhook) => `${c.configuration}/${c.index}`;
    let previous = new Set<string>();
    const reinvoke = new Set<string>();
    for (const c of hooks) {
      if (!(await shouldCall(this.env, c.hook, a, obj, old))) continue;
      const changed = await this.callOne(c.hook, a, obj, old);
      if (changed) {
        for (const k of previous) reinvoke.add(k);
        previous = new Set();
      }
      if (c.hook.reinvocationPolicy === 'IfNeeded') previous.add(key(c));
    }
    // One more round for the IfNeeded webhooks that ran before a later change.
    for (const c of hooks)
      if (reinvoke.has(key(c)) && (await shouldCall(this.env, c.hook, a, obj, old)))
        await this.callOne(c.hook, a, obj, old);
  }

  /** Calls one webhook and applies its patch; whether the object changed. */
  private async callOne(
    h: Webhook,
    a: AdmissionAttributes,
    obj: KubeObject | undefined,
    old: KubeObject | undefined,
  ): Promise<boolean> {
    let out: Outcome;
    try {
      out = await call(this.env, h, true, a, obj, old);
    } catch (e) {
      if (!(e instanceof CallFailure)) throw e;
      if (h.failurePolicy === 'Ignore') {
        failOpen(this.env, h.name, e);
        return false;
      }
      throw internalError(e.message);
    }
    a.warnings?.push(...out.response.warnings);
    if (!out.response.allowed) throw denial(h.name, out.response.result);
    const patch = out.response.patch;
    if (!patch) return false;
    if (out.response.patchType !== 'JSONPatch') {
      const e = callingError(h.name, `unsupported patch type "${out.response.patchType}"`);
      if (h.failurePolicy === 'Ignore') return (failOpen(this.env, h.name, e), false);
      throw denial(h.name, out.response.result);
    }
    let ops: ReturnType<typeof decodeJsonPatch>['ops'];
    try {
      ops = decodeJsonPatch(patch.toString('utf8'), false).ops;
    } catch (e) {
      const err = callingError(
        h.name,
        `received undecodable patch in webhook response: ${(e as Error).message}`,
      );
      if (h.failurePolicy === 'Ignore') return (failOpen(this.env, h.name, err), false);
      throw internalError(err.message);
    }
    if (!ops.length) return false;
    if (!obj)
      throw internalError(
        `admission webhook "${h.name}" attempted to modify the object, which is not supported for this operation`,
      );
    let patched: KubeObject;
    try {
      patched = applyJsonPatchOps(obj as unknown as JsonValue, ops) as unknown as KubeObject;
    } catch (e) {
      const detail = (e as { detail?: string }).detail ?? (e as Error).message;
      throw internalError(detail);
    }
    this.env.defaults(a, patched);
    const before = JSON.stringify(obj);
    // The plugin contract: the caller's object changes in place.
    for (const k of Object.keys(obj)) delete obj[k];
    Object.assign(obj, patched);
    return JSON.stringify(obj) !== before;
  }
}

export class ValidatingWebhooks implements ValidatingPlugin {
  readonly name = 'ValidatingAdmissionWebhook';
  readonly handles: (op: Operation) => boolean = everyOperation;

  constructor(private readonly env: WebhookEnv) {}

  async validate(
    a: AdmissionAttributes,
    obj: KubeObject | undefined,
    old: KubeObject | undefined,
  ): Promise<void> {
    if (isExemptConfiguration(a)) return;
    const hooks = await this.env.webhooks('validating');
    if (!hooks.length) return;
    const relevant: Webhook[] = [];
    for (const c of hooks) if (await shouldCall(this.env, c.hook, a, obj, old)) relevant.push(c.hook);
    const errors = await Promise.all(
      relevant.map(async (h): Promise<Error | undefined> => {
        try {
          const out = await call(this.env, h, false, a, obj, old);
          a.warnings?.push(...out.response.warnings);
          return out.response.allowed ? undefined : denial(h.name, out.response.result);
        } catch (e) {
          if (!(e instanceof CallFailure)) return e as Error;
          if (h.failurePolicy !== 'Ignore') return internalError(e.message);
          failOpen(this.env, h.name, e);
          return undefined;
        }
      }),
    );
    const first = errors.find((e) => e !== undefined);
    if (first) throw first;
  }
}
