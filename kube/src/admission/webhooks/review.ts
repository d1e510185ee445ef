/**
 * The AdmissionReview a webhook receives and the checks on what it answers (k8s.io/apiserver's
 * webhook/request), and a denial turned into the Status the client gets (webhook/errors ToStatusErr).
 */
import { randomUUID } from 'node:crypto';
import { KubeError, type StatusCause } from '../../errors.js';
import type { KubeObject } from '../../registry/types.js';
import type { AdmissionAttributes } from '../types.js';

const OPTIONS_KIND = { CREATE: 'CreateOptions', UPDATE: 'UpdateOptions', DELETE: 'DeleteOptions' } as const;

/** The first AdmissionReview version the webhook accepts that we speak, or undefined. */
export function reviewVersion(accepted: string[] | undefined): 'v1' | 'v1beta1' | undefined {
  for (const v of accepted ?? []) if (v === 'v1' || v === 'v1beta1') return v;
  return undefined;
}

/** The object as a webhook sees it: typed with the request's kind (the in-process client may leave it off). */
function versioned(a: AdmissionAttributes, o: KubeObject | undefined): KubeObject | null {
  if (!o) return null;
  const apiVersion = a.kind.group ? `${a.kind.group}/${a.kind.version}` : a.kind.version;
  return { ...o, apiVersion: o.apiVersion ?? apiVersion, kind: o.kind ?? a.kind.kind };
}

export function admissionReview(
  version: 'v1' | 'v1beta1',
  a: AdmissionAttributes,
  obj: KubeObject | undefined,
  old: KubeObject | undefined,
): { uid: string; review: Record<string, unknown> } {
  const uid = randomUUID();
  const u = a.user;
  const optionsKind = a.operation === 'CONNECT' ? undefined : OPTIONS_KIND[a.operation];
  const request: Record<string, unknown> = {
    uid,
    kind: a.kind,
    resource: a.resource,
    ...(a.subresource ? { subResource: a.subresource } : {}),
    requestKind: a.kind,
    requestResource: a.resource,
    ...(a.subresource ? { requestSubResource: a.subresource } : {}),
    ...(a.name ? { name: a.name } : {}),
    ...(a.namespace ? { namespace: a.namespace } : {}),
    operation: a.operation,
    userInfo: {
      username: u.name,
      ...(u.uid ? { uid: u.uid } : {}),
      ...(u.groups.length ? { groups: u.groups } : {}),
      ...(u.extra && Object.keys(u.extra).length ? { extra: u.extra } : {}),
    },
    object: versioned(a, obj),
    oldObject: versioned(a, old),
    dryRun: a.dryRun,
    options: optionsKind
      ? {
          kind: optionsKind,
          apiVersion: 'meta.k8s.io/v1',
          ...(a.operation === 'DELETE' ? {} : (a.options ?? {})),
          ...(a.dryRun ? { dryRun: ['All'] } : {}),
        }
      : (a.options ?? null),
  };
  return {
    uid,
    review: { kind: 'AdmissionReview', apiVersion: `admission.k8s.io/${version}`, request },
  };
}

export interface AdmissionResponse {
  allowed: boolean;
  result?: WebhookStatus;
  /** The JSON patch, decoded from base64, and its type (JSONPatch is the only one defined). */
  patch?: Buffer;
  patchType?: string;
  warnings: string[];
}

export interface WebhookStatus {
  status?: string;
  message?: string;
  reason?: string;
  code?: number;
  details?: {
    name?: string;
    group?: string;
    kind?: string;
    uid?: string;
    causes?: StatusCause[];
    retryAfterSeconds?: number;
  };
}

/** VerifyAdmissionResponse: throws an Error with kube-apiserver's text when the answer is malformed. */
export function verifyResponse(
  version: 'v1' | 'v1beta1',
  uid: string,
  mutating: boolean,
  answer: unknown,
): AdmissionResponse {
  const r = answer as {
    apiVersion?: string;
    kind?: string;
    response?: {
      uid?: string;
      allowed?: boolean;
      status?: WebhookStatus;
      patch?: string;
      patchType?: string;
      warnings?: string[];
    };
  } | null;
  const resp = r?.response;
  if (!resp) throw new Error('webhook response was absent');
  const patch = resp.patch ? Buffer.from(resp.patch, 'base64') : undefined;
  if (version === 'v1') {
    if (resp.uid !== uid) throw new Error(`expected response.uid="${uid}", got "${resp.uid ?? ''}"`);
    if (r.apiVersion !== 'admission.k8s.io/v1' || r.kind !== 'AdmissionReview')
      throw new Error(
        `expected webhook response of admission.k8s.io/v1, Kind=AdmissionReview, got ${gvkText(r.apiVersion, r.kind)}`,
      );
    if (mutating) {
      if (patch?.length && resp.patchType === undefined)
        throw new Error('webhook returned response.patch but not response.patchType');
      if (!patch?.length && resp.patchType !== undefined)
        throw new Error('webhook returned response.patchType but not response.patch');
      if (resp.patchType !== undefined && resp.patchType === '')
        throw new Error('webhook returned invalid response.patchType of ""');
    } else {
      if (patch?.length) throw new Error('validating webhook may not return response.patch');
      if (resp.patchType !== undefined)
        throw new Error('validating webhook may not return response.patchType');
    }
  }
  return {
    allowed: resp.allowed === true,
    ...(resp.status ? { result: resp.status } : {}),
    ...(mutating && patch?.length ? { patch, patchType: resp.patchType ?? 'JSONPatch' } : {}),
    warnings: Array.isArray(resp.warnings) ? resp.warnings.filter((w) => typeof w === 'string') : [],
  };
}

function gvkText(apiVersion: string | undefined, kind: string | undefined): string {
  const av = apiVersion ?? '';
  const i = av.indexOf('/');
  const [group, version] = i < 0 ? ['', av] : [av.slice(0, i), av.slice(i + 1)];
  return `${group}/${version}, Kind=${kind ?? ''}`;
}

/** ToStatusErr: the webhook's Status as the client gets it, its code (at least 400) and reason kept. */
export function denial(webhook: string, result: WebhookStatus | undefined): KubeError {
  const deniedBy = `admission webhook "${webhook}" denied the request`;
  const s = result ?? {};
  const code = typeof s.code === 'number' && s.code >= 400 ? s.code : 400;
  const message = s.message
    ? `${deniedBy}: ${s.message}`
    : s.reason
      ? `${deniedBy}: ${s.reason}`
      : `${deniedBy} without explanation`;
  const d = s.details ?? {};
  const e = new KubeError(
    'BadRequest',
    message,
    {
      ...(d.name ? { name: d.name } : {}),
      ...(d.group ? { group: d.group } : {}),
      ...(d.kind ? { kind: d.kind } : {}),
      ...(d.uid ? { uid: d.uid } : {}),
    },
    Array.isArray(d.causes) ? d.causes : [],
    d.retryAfterSeconds,
  );
  e.passThrough = { code, reason: typeof s.reason === 'string' ? s.reason : '' };
  return e;
}

/** apierrors.NewInternalError: 500, the error's text as message (prefixed) and as the one cause. */
export function internalError(message: string): KubeError {
  return new KubeError('InternalError', `Internal error occurred: ${message}`, {}, [{ message }]);
}
